"""One entry point for the numbers that matter to maintainers and CI.

    .venv/bin/python bench/run.py [--scale 10] [--repeat 3] [--bank questions] [--no-edits]
                                  [--no-check-code | --only-check-code | --only-validate]

For the real bank and a synthetic bank ``--scale`` times larger it measures, ``--repeat``
times each, and prints medians (wall and CPU seconds) and ratios to the floors:

- ``deckbuilder --help``: the floor of every command (starting Python, Click, deckbuilder);
- ``validate``: ``deckbuilder validate`` in a fresh process (what a pre-commit hook costs),
  with an empty cache and with a warm one (every verdict cached), each as a ratio of the
  ``--help`` wall time; for the synthetic bank also ``x N / real``, its wall time over the real
  bank's (linear scaling would be about ``--scale``, less where start-up dominates).
  ``--only-validate`` measures just these, in a minute;
- ``full build``: ``deckbuilder build --force`` of every format in a fresh process;
- ``no-change rebuild``: the same command again without ``--force`` (everything up to date);
- ``edit: explanation`` / ``edit: answer``: one question's explanation (or short answer)
  edited, then ``deckbuilder build``: the edit loop of a maintainer. An explanation is not on
  the cheat sheet, so only the study guide is laid out again. The ratio is to a ``--force``
  build of the same edited bank (the line after it);
- ``pdf export`` / ``weasyprint floor`` and ``anki export`` / ``genanki floor``: the two
  heavy exporters next to their libraries alone on the same content (see pdf_bench.py and
  anki_bench.py, which this reuses);
- ``check-code`` / ``  --no-sandbox`` (real bank only): every code check, forked in bubblewrap
  by a check server that imported PyTorch and friends once, next to one fresh interpreter per
  check without the sandbox. The ratio is sandbox over no sandbox. The sandbox's processes are
  reaped by bwrap's own init, which is not waited for, so the CPU column of the sandboxed run
  misses the checks' CPU: compare wall seconds.

Fresh processes are timed with their children (``resource.RUSAGE_CHILDREN``), so parallel
exporters count in the CPU column.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from anki_bench import genanki_floor
from common import EPOCH, measure, write_synthetic_bank
from weasyprint import CSS, HTML

from deckbuilder.build_context import BuildContext, Staging
from deckbuilder.contentcache import ENVIRONMENT_VARIABLE, ContentCache
from deckbuilder.exporters import anki, pdf
from deckbuilder.render import render_bank
from deckbuilder.validate import check_bank, load_valid_bank

DECKBUILDER = [sys.executable, "-m", "deckbuilder"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="synthetic bank = scale x real")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bank", type=Path, default=Path("questions"))
    parser.add_argument(
        "--no-edits",
        dest="edits",
        action="store_false",
        help="skip the edit-loop stages (four more full builds per bank)",
    )
    checks = parser.add_mutually_exclusive_group()
    checks.add_argument(
        "--no-check-code",
        dest="check_code",
        action="store_false",
        help="skip the check-code stages (minutes on the real bank)",
    )
    checks.add_argument(
        "--only-check-code", action="store_true", help="run only the check-code stages"
    )
    checks.add_argument(
        "--only-validate", action="store_true", help="run only --help and the validate stages"
    )
    args = parser.parse_args()
    real_size = check_bank(args.bank, ContentCache.default()).questions
    print(f"{'bank':<22}{'stage':<20}{'median wall s':>14}{'median CPU s':>14}{'ratio':>8}")
    if args.check_code and not args.only_validate:
        bench_check_code("real", args.bank, args.repeat)
    if args.only_check_code:
        return
    floor = median(lambda: run([*DECKBUILDER, "--help"], dict(os.environ)), args.repeat)
    show("", "deckbuilder --help", floor)
    builds = not args.only_validate
    real = bench_bank("real", args.bank, args.repeat, args.edits, floor[0], builds)
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        synthetic = Path(folder) / "bank"
        write_synthetic_bank(synthetic, real_size * args.scale)
        label = f"synthetic x{args.scale}"
        scaled = bench_bank(label, synthetic, args.repeat, args.edits, floor[0], builds)
    for stage, this, that in zip(("cold", "warm"), scaled, real, strict=True):
        show("", f"{stage}, x{args.scale} / real", this, this[0] / that[0])


def bench_bank(
    label: str, source_bank: Path, repeat: int, edits: bool, floor: float, builds: bool
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Every stage on a copy of ``source_bank``; returns the cold and warm validate times."""
    with tempfile.TemporaryDirectory(prefix="bench-out-") as scratch:
        out, cache, bank_dir = (Path(scratch) / name for name in ("out", "cache", "bank"))
        shutil.copytree(source_bank, bank_dir)  # the edit stages change it
        env = {
            **os.environ,
            "SOURCE_DATE_EPOCH": str(EPOCH),
            ENVIRONMENT_VARIABLE: str(cache),
        }
        validate = [*DECKBUILDER, "validate", "--bank", str(bank_dir)]
        build = [*DECKBUILDER, "build", "--bank", str(bank_dir), "-o", str(out)]

        def cold_validate() -> tuple[float, float]:
            shutil.rmtree(cache, ignore_errors=True)
            return run(validate, env)

        cold = median(cold_validate, repeat)
        show(label, "validate (cold)", cold, cold[0] / floor)
        warm = median(lambda: run(validate, env), repeat)
        show("", "validate (warm)", warm, warm[0] / floor)
        if builds:
            bench_builds(bank_dir, out, env, build, repeat, edits)
        return cold, warm


def bench_builds(
    bank_dir: Path, out: Path, env: dict[str, str], build: list[str], repeat: int, edits: bool
) -> None:
    """Full build, no-change rebuild, the edit loop and the two heavy exporters."""
    show("", "full build", median(lambda: run([*build, "--force"], env), repeat))
    show("", "no-change rebuild", median(lambda: run(build, env), repeat))
    counter = itertools.count()
    for field in ("explanation", "answer") if edits else ():
        # Each sample: edit, rebuild with the cache, then rebuild the same edited bank from
        # nothing. One more line can move page breaks and change what the layout costs, so
        # the fair comparison is with the same bank, not with the unedited full build.
        samples = []
        for _ in range(repeat):
            edit_one_question(bank_dir, field, f"Benchmark edit {next(counter)}.")
            samples.append((run(build, env), run([*build, "--force"], env)))
        cached = (
            statistics.median(s[0][0] for s in samples),
            statistics.median(s[0][1] for s in samples),
        )
        cold = (
            statistics.median(s[1][0] for s in samples),
            statistics.median(s[1][1] for s in samples),
        )
        show("", f"edit: {field}", cached, cached[1] / cold[1])
        show("", "  same bank, --force", cold)

    rendered = render_bank(load_valid_bank(bank_dir)[0])
    context = BuildContext(output=Path(out), source_date_epoch=EPOCH)
    staging = Staging(Path(out))
    pdf_time = median(lambda: timed(lambda: pdf.export(rendered, context, staging)), repeat)
    documents = pdf.print_documents(rendered, context)
    weasy = median(lambda: timed(lambda: [weasyprint(d) for d in documents]), repeat)
    show("", "pdf export", pdf_time, pdf_time[1] / weasy[1])
    show("", "weasyprint floor", weasy)
    anki_time = median(lambda: timed(lambda: anki.export(rendered, context, staging)), repeat)
    floor = median(lambda: timed(lambda: genanki_floor(rendered, Path(out) / "floor.apkg")), repeat)
    show("", "anki export", anki_time, anki_time[1] / floor[1])
    show("", "genanki floor", floor)
    staging.discard()


def bench_check_code(label: str, bank: Path, repeat: int) -> None:
    """``deckbuilder check-code`` with and without the sandbox (exit status 1 is a result)."""
    check = [*DECKBUILDER, "check-code", "--bank", str(bank)]
    sandboxed = median(lambda: run(check, dict(os.environ), allow_failure=True), repeat)
    bare = median(lambda: run([*check, "--no-sandbox"], dict(os.environ), True), repeat)
    show(label, "check-code", sandboxed, sandboxed[0] / bare[0])
    show("", "  --no-sandbox", bare)


def edit_one_question(bank_dir: Path, field: str, sentence: str) -> None:
    """Put ``sentence`` first in the ``field`` block (``|`` or ``>-``) of the last question."""
    path = max(p for p in bank_dir.rglob("*.yaml") if p.name != "bank.yaml")
    lines = path.read_text("utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if re.match(rf"^ +{field}: [|>]-?\s*$", line)]
    if not starts:
        raise SystemExit(f"bench: no block-style {field} in {path}")
    first = starts[-1] + 1
    indent = len(lines[first]) - len(lines[first].lstrip(" "))
    lines.insert(first, " " * indent + sentence + "\n")
    path.write_text("".join(lines), "utf-8")


def weasyprint(document: pdf.PrintDocument) -> bytes:
    return HTML(string=document.html).write_pdf(stylesheets=[CSS(string=document.css)])


def run(
    command: list[str], env: dict[str, str], allow_failure: bool = False
) -> tuple[float, float]:
    """Wall and CPU seconds of a fresh process and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, check=False, capture_output=True)
    if done.returncode not in ((0, 1) if allow_failure else (0,)):
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{done.stderr.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - start, cpu


def timed(stage: Callable[[], object]) -> tuple[float, float]:
    _, seconds, _ = measure(stage)
    return seconds


def median(sample: Callable[[], tuple[float, float]], repeat: int) -> tuple[float, float]:
    runs = [sample() for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def show(label: str, stage: str, seconds: tuple[float, float], ratio: float | None = None) -> None:
    shown = f"{ratio:.2f}x" if ratio is not None else ""
    print(f"{label:<22}{stage:<20}{seconds[0]:>14.2f}{seconds[1]:>14.2f}{shown:>8}", flush=True)


if __name__ == "__main__":
    main()
