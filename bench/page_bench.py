"""The study page in the browser: first contentful paint against release 0.1.0's page, and
the time search takes per keystroke, on the real bank, in Debian's Chromium.

    .venv/bin/python bench/page_bench.py [--loads 15] [--rounds 3] [--baseline 79b2b6f]

Builds this checkout's page and the page of the baseline commit's code (from a temporary
``git worktree``, run with that commit's own source on this checkout's bank, or on the
commit's own bank when its code cannot read today's), then loads each ``--loads`` times,
alternating, in fresh browser contexts at 390 x 844, and reports the median first contentful
paint of each and their ratio.

Then it types queries into this checkout's page as a learner would: real key presses
(Playwright's keyboard), one character at a time, each after the last one's frame was drawn,
``--rounds`` times over, then clears the field. For each keystroke it reports two times,
median and 95th percentile, measured inside the page from the moment the ``input`` event
reaches the page (a capturing listener on ``window``, which runs before the page's own):

- *handling*: until the page's own handler has run and the style and layout it caused are
  done (a listener after the page's forces the layout);
- *to the next frame*: until the frame that shows the result has been produced (a task
  queued from the next animation frame runs after it). This includes waiting for the
  display's next frame (up to 16.7 ms at 60 Hz) and the work the page does for that frame
  (marks and snippets of the cards that came into view).

A benchmark, not a test: nothing here passes or fails. Timings on a shared machine measure
the neighbours too: the script prints the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
QUERIES = ("attention", "kv cache", "rlhf")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def build(source: Path, bank: Path, out: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(source / "src"), "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run(
        [sys.executable, "-m", "deckbuilder", "build", "-f", "html", "--bank", str(bank),
         "-o", str(out), "--force"],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    (page,) = out.glob("*.html")
    return page


def baseline_page(commit: str, work: Path) -> Path:
    tree = work / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
        check=True,
        capture_output=True,
    )
    try:
        return build(tree, ROOT / "questions", work / "baseline-out")
    except subprocess.CalledProcessError:
        print("baseline code cannot read today's bank; using the baseline's own bank")
        return build(tree, tree / "questions", work / "baseline-out")


def first_paint(browser: Browser, url: str) -> float:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(300_000)  # release 0.1.0's page blocks a busy machine for a minute
    page.goto(url, wait_until="commit")
    fcp = page.evaluate(
        """() => new Promise((done) => {
          const find = () => performance.getEntriesByName('first-contentful-paint')[0];
          const entry = find();
          if (entry) return done(entry.startTime);
          new PerformanceObserver(() => find() && done(find().startTime))
            .observe({ type: 'paint', buffered: true });
        })"""
    )
    context.close()
    return float(fcp)


#: Installed before typing: times each keystroke from the moment its input event reaches the
#: page. ``window``'s capturing listener runs before the page's own (on its form); the
#: bubbling one after it, where forcing the layout ends the *handling*; a task queued from
#: the next animation frame runs once that frame is produced.
TIMER = """() => {
  window.__keystrokes = [];
  window.addEventListener('input', () => {
    const start = performance.now();
    const record = {};
    window.__keystrokes.push(record);
    window.addEventListener('input', () => {
      document.body.getBoundingClientRect();
      record.handling = performance.now() - start;
    }, { once: true });
    window.__frame = new Promise((done) => requestAnimationFrame(() => setTimeout(() => {
      record.frame = performance.now() - start;
      done();
    }, 0)));
  }, true);
}"""


def keystrokes(browser: Browser, url: str, rounds: int) -> list[dict[str, float]]:
    """``{"handling": ms, "frame": ms}`` for each keystroke typed (clearing included)."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(300_000)
    page.goto(url)
    page.wait_for_timeout(1000)  # let the load's own work finish
    page.evaluate(TIMER)
    for _ in range(rounds):
        for query in QUERIES:
            page.focus("#search")
            for character in query:
                page.keyboard.type(character)
                page.evaluate("() => window.__frame")
            page.keyboard.press("Control+a")
            page.keyboard.press("Backspace")  # clearing shows every card again
            page.evaluate("() => window.__frame")
            page.wait_for_timeout(300)
    records: list[dict[str, float]] = page.evaluate("() => window.__keystrokes")
    context.close()
    return records


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=15, help="page loads of each page")
    parser.add_argument("--rounds", type=int, default=3, help="times each query is typed")
    parser.add_argument("--baseline", default="79b2b6f", help="commit of the baseline page")
    parser.add_argument(
        "--baseline-page", type=Path, help="an already built baseline page (skips its build)"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        try:
            current = build(ROOT, ROOT / "questions", work / "current-out")
            baseline = args.baseline_page or baseline_page(args.baseline, work)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
                )
                paints: dict[str, list[float]] = {"baseline": [], "current": []}
                for _ in range(args.loads):
                    paints["baseline"].append(first_paint(browser, baseline.as_uri()))
                    paints["current"].append(first_paint(browser, current.as_uri()))
                typed = keystrokes(browser, current.as_uri(), args.rounds)
                browser.close()
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "baseline")],
                check=False, capture_output=True,
            )  # fmt: skip
        sizes = {"baseline": baseline.stat().st_size, "current": current.stat().st_size}
    print(f"first contentful paint at 390 x 844, median of {args.loads} loads each:")
    for name, values in paints.items():
        print(
            f"  {name:<9} {statistics.median(values):7.1f} ms  (min {min(values):.1f}, "
            f"max {max(values):.1f}; page {sizes[name] / 1e6:.2f} MB)"
        )
    ratio = statistics.median(paints["current"]) / statistics.median(paints["baseline"])
    print(f"  ratio current / baseline: {ratio:.2f}x")
    print(
        f"search at 390 x 844, {len(typed)} keystrokes: {', '.join(map(repr, QUERIES))} typed "
        f"{args.rounds} times, each followed by clearing the field:"
    )
    for key, name in (("handling", "handling (input -> layout)"), ("frame", "to the next frame")):
        values = [record[key] for record in typed if key in record]
        print(
            f"  {name:<28} median {statistics.median(values):6.1f} ms, "
            f"p95 {percentile(values, 0.95):6.1f} ms, worst {max(values):6.1f} ms"
        )
    load_after = os.getloadavg()
    print(
        f"load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}; {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
