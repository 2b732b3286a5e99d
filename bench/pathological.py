"""Validation time of hostile Markdown: the bound the README states.

    .venv/bin/python bench/pathological.py [--repeat 3]

Each case is a bank whose one question file (just under the 2 MiB file limit) holds Markdown
built to make parsers backtrack: ``[a](`` or ``![a](`` repeated, nested brackets, unclosed
tags, ``\\(`` openers, links in block quotes. ``single`` puts it all into one explanation
(refused by the parse-cost bound before any parser sees it); ``many`` splits it into as many
questions as fit, each just under the per-field bound, until the per-file bound stops them:
the worst case a pull request can make ``deckbuilder validate`` pay. Printed: median wall and
CPU seconds of ``deckbuilder validate`` in a fresh process, and the rules it reported.

Not a test: timings on a shared machine measure the neighbours too (read the CPU column).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from deckbuilder.rules.markdown import MAX_PARSE_COST_PER_FIELD, parse_cost

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "banks" / "valid" / "bank.yaml"
FILE_BUDGET = 2 * 1024 * 1024 - 64 * 1024  # room for the YAML around the text
UNITS = ["[a](", "![a](", "[[[[a]]", "<a ", "\\(a", "> [a](", "$a", "*a_"]

QUESTION = """\
  - id: q{n}
    question: What is hostile question {n}?
    level: beginner
    categories: [nlp-fundamentals]
    answer: A short answer.
    explanation: |
      {text}
"""


def write_bank(folder: Path, texts: list[str]) -> None:
    folder.mkdir(parents=True)
    shutil.copy(MANIFEST, folder / "bank.yaml")
    body = "".join(QUESTION.format(n=n, text=text) for n, text in enumerate(texts))
    (folder / "q.yaml").write_text("questions:\n" + body, "utf-8")


def single(unit: str) -> list[str]:
    return ["Some words. " + unit * (FILE_BUDGET // len(unit))]


def many(unit: str) -> list[str]:
    """Fields as long as the per-field bound allows, as many as fit in the file."""
    repeat = 1  # the field's text ends with the block scalar's newline
    while parse_cost("Some words. " + unit * (repeat + 1) + "\n") <= MAX_PARSE_COST_PER_FIELD:
        repeat += 1
    text = "Some words. " + unit * repeat
    return [text] * max(1, FILE_BUDGET // (len(text) + 200))


def validate(bank: Path) -> tuple[float, float, Counter[str]]:
    env = {**os.environ, "DECKBUILDER_CACHE_DIR": str(bank.parent / "cache")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "deckbuilder", "validate", "--bank", str(bank), "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if "Traceback" in result.stderr:
        raise SystemExit(result.stderr)
    rules = Counter(p["rule"] for p in json.loads(result.stdout or "[]"))
    return wall, cpu, rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'unit':<10}{'shape':<8}{'fields':>7}{'MiB':>6}{'wall s':>9}{'CPU s':>9}  rules")
    for unit in UNITS:
        for shape, texts in (("single", single(unit)), ("many", many(unit))):
            with tempfile.TemporaryDirectory(prefix="bench-hostile-") as scratch:
                bank = Path(scratch) / "bank"
                write_bank(bank, texts)
                size = (bank / "q.yaml").stat().st_size / 2**20
                runs = []
                for _ in range(args.repeat):
                    shutil.rmtree(Path(scratch) / "cache", ignore_errors=True)
                    runs.append(validate(bank))
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rules = ", ".join(f"{rule} x{n}" for rule, n in sorted(runs[0][2].items()))
                print(
                    f"{unit!r:<10}{shape:<8}{len(texts):>7}{size:>6.2f}{wall:>9.2f}{cpu:>9.2f}"
                    f"  {rules}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
