"""Shared by the benchmark scripts: a synthetic bank shaped like the real one, and a
measurement of wall time, CPU time and peak memory for one stage.

Timings on a shared machine mostly measure the neighbours: read the CPU column, and compare
runs made on the same machine.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from deckbuilder.errors import BankError

EPOCH = 1_700_000_000
LEVELS = ("beginner", "intermediate", "advanced", "math-code")
CATEGORIES = ("nlp-fundamentals", "transformers-llms", "math-pytorch", "evaluation")
PER_FILE = 100
T = TypeVar("T")
HEADER = (
    f"{'bank':<26}{'questions':>10}  {'stage':<18}{'wall s':>9}{'CPU s':>9}{'peak MiB':>10}"
    f"{'size':>11}"
)


def measure(stage: Callable[[], T]) -> tuple[T, tuple[float, float], float]:
    """``(result, (wall seconds, CPU seconds), peak resident growth in MiB)`` of one call.

    CPU time is reported too because wall time on a shared machine mostly measures the
    neighbours."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    result = stage()
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    return result, seconds, (_status_kib("VmHWM") - before) / 1024


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} missing from /proc/self/status")


def row(
    label: str,
    count: int | None,
    stage: str,
    seconds: tuple[float, float],
    peak: float,
    size: int | None,
) -> None:
    shown_count = "" if count is None else str(count)
    shown_size = "" if size is None else f"{size / 1024:.0f} KiB"
    wall, cpu = seconds
    print(
        f"{label:<26}{shown_count:>10}  {stage:<18}{wall:>9.2f}{cpu:>9.2f}{peak:>10.1f}"
        f"{shown_size:>11}",
        flush=True,
    )


def write_synthetic_bank(root: Path, total: int) -> None:
    """A valid bank shaped like the real one: math, tables, fenced and answer code, links."""
    root.mkdir(parents=True)
    levels = "".join(f"  - id: {level}\n    name: {level.title()}\n" for level in LEVELS)
    categories = "".join(f"  - id: {c}\n    name: {c.title()}\n" for c in CATEGORIES)
    (root / "bank.yaml").write_text(
        "title: Synthetic Bank\nslug: synthetic\ndescription: Benchmark bank.\n"
        "version: 1.0.0\nauthor: bench\nlicense: CC0-1.0\n"
        f"levels:\n{levels}categories:\n{categories}",
        "utf-8",
    )
    for start in range(0, total, PER_FILE):
        numbers = range(start + 1, min(start + PER_FILE, total) + 1)
        text = "questions:\n" + "".join(_question(n) for n in numbers)
        (root / f"part-{start // PER_FILE:04d}.yaml").write_text(text, "utf-8")


#: Words that make each synthetic question text different enough not to be a near-duplicate.
_TOPICS = (
    "attention", "beam", "cache", "dropout", "embedding", "fusion", "gradient", "hashing",
    "indexing", "jitter", "kernel", "lattice", "momentum", "normalisation", "overflow",
    "pruning", "quantile", "residual", "sampling", "tokeniser", "unigram", "vocabulary",
    "warmup", "xavier", "yield", "zipf", "entropy", "margin", "pooling", "rotation",
    "scaling", "sharding",
)  # fmt: skip


def _topic_words(n: int, count: int = 8) -> str:
    """``count`` words drawn by a generator seeded with ``n``: stable, and far apart."""
    return " ".join(random.Random(n).sample(_TOPICS, count))


def _question(n: int) -> str:
    level = LEVELS[n % len(LEVELS)]
    explanation = (
        f"Mechanism number {n}: the softmax of $z_{{{n}}}$ over $d_k = {n % 512 + 1}$"
        " dimensions is computed after subtracting the maximum, because the exponential"
        " overflows for large logits and the result does not change.\n\n"
        "$$p_i = \\frac{\\exp(z_i - m)}{\\sum_j \\exp(z_j - m)}$$\n\n"
        + "Interviewers then ask about gradients, temperature and numerical precision. " * 6
        + "\n\n| case | effect |\n|---|---|\n| small | fine |\n| large | overflow |\n"
        + ("\n```python\nprint('fenced', 1 < 2)\n```\n" if n % 5 == 0 else "")
    )
    first, second = CATEGORIES[n % len(CATEGORIES)], CATEGORIES[(n + 1) % len(CATEGORIES)]
    lines = [
        f"  - id: synthetic-{n:05d}",
        f"    question: How do {_topic_words(n)} change softmax logits in case {n} when $T < 1$?",
        f"    level: {level}",
        f"    categories: [{first}, {second}]",
        f"    tags: [softmax, case-{n % 50}]",
        "    answer: >-",
        f"      They are sharpened; the largest logit dominates in case {n}.",
        "    explanation: |",
        textwrap.indent(explanation, " " * 6).rstrip("\n"),
        "    references:",
        f"      - title: Reference {n}",
        f"        url: https://example.org/papers/{n}",
        "    follow_ups:",
        f"      - What if $T > 1$ in case {n}?",
    ]
    if level == "math-code":
        lines += [
            "    code:",
            "      language: python",
            "      source: |",
            "        def double(x):",
            "            return 2 * x",
            "      check: |",
            "        from solution import double",
            "        assert double(2) == 4",
        ]
    return "\n".join(lines) + "\n"


def real_and_synthetic(doc: str, default_size: int, run: Callable[[str, Path], None]) -> None:
    """The command line every per-exporter bench shares: run on the real bank, then on a
    synthetic one of ``--questions`` questions written to a temporary folder."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=default_size, help="synthetic bank size")
    parser.add_argument("--bank", type=Path, default=Path("questions"), help="the real bank")
    args = parser.parse_args()
    print(HEADER)
    try:
        run(f"real ({args.bank})", args.bank)
    except BankError as exc:
        print(f"{f'real ({args.bank})':<26}  skipped: {len(exc.problems)} problem(s) in the bank")
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        bank_dir = Path(folder) / "bank"
        write_synthetic_bank(bank_dir, args.questions)
        run("synthetic", bank_dir)
