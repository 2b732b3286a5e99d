"""The study page in the browser: first contentful paint against release 0.1.0's page, and
the time search takes per keystroke, on the real bank, in Debian's Chromium.

    .venv/bin/python bench/page_bench.py [--loads 15] [--baseline 79b2b6f]

Builds this checkout's page and the page of the baseline commit's code (from a temporary
``git worktree``, run with that commit's own source on this checkout's bank, or on the
commit's own bank when its code cannot read today's), then loads each ``--loads`` times,
alternating, in fresh browser contexts at 390 x 844, and reports the median first contentful
paint of each and their ratio. Then it types queries one character at a time into this
checkout's page and reports, per keystroke, the time from the input event to the end of the
layout it causes (median and worst). A benchmark, not a test: nothing here passes or fails.
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
QUERIES = ("attention", "beam search", "softmax temperature", "lora rank", "bleu rouge")
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


def keystrokes(browser: Browser, url: str) -> list[float]:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(300_000)
    page.goto(url)
    times: list[float] = page.evaluate(
        """async (queries) => {
          const search = document.getElementById('search');
          const times = [];
          for (const query of queries) {
            for (let i = 1; i <= query.length; i += 1) {
              const start = performance.now();
              search.value = query.slice(0, i);
              search.dispatchEvent(new Event('input', { bubbles: true }));
              document.body.getBoundingClientRect();  // the layout the keystroke causes
              times.push(performance.now() - start);
              await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
            }
            search.value = '';
            search.dispatchEvent(new Event('input', { bubbles: true }));
          }
          return times;
        }""",
        list(QUERIES),
    )
    context.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=15, help="page loads of each page")
    parser.add_argument("--baseline", default="79b2b6f", help="commit of the baseline page")
    parser.add_argument(
        "--baseline-page", type=Path, help="an already built baseline page (skips its build)"
    )
    args = parser.parse_args()
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
                typed = keystrokes(browser, current.as_uri())
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
    print(f"search, {len(typed)} keystrokes over {len(QUERIES)} queries (input -> layout):")
    print(f"  median {statistics.median(typed):.1f} ms, worst {max(typed):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
