"""Run every code answer with its hidden check, each in isolation (``deckbuilder check-code``).

A snippet is saved as ``solution.py`` and its check as ``check.py`` in a fresh temporary
folder, and ``python check.py`` runs there with a time limit, no network access needed and
one thread per process (two checks in parallel on a 2-core machine). A failure is reported
at the YAML line of the failing snippet line when the traceback names one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from deckbuilder.errors import Location
from deckbuilder.model import Question

DEFAULT_TIMEOUT = 120.0
_TRACEBACK_LINE = re.compile(r'File "[^"]*[/\\](solution|check)\.py", line (\d+)')


@dataclass(frozen=True)
class CheckResult:
    question_id: str
    passed: bool
    seconds: float
    output: str
    location: Location | None

    @property
    def summary(self) -> str:
        last = self.output.strip().splitlines()[-1:] or ["(no output)"]
        return last[0]


def runnable_questions(questions: Iterable[Question]) -> list[Question]:
    """Questions whose code is Python, runnable offline and carries a check."""
    return [
        q
        for q in questions
        if q.code is not None and q.code.language == "python" and q.code.runnable and q.code.check
    ]


def run_check(
    question: Question,
    *,
    source: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    python: str = sys.executable,
) -> CheckResult:
    """Run one question's check against its source (or against ``source``, for mutants)."""
    code = question.code
    assert code is not None and code.check is not None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="deckbuilder-check-") as folder:
        Path(folder, "solution.py").write_text(
            source if source is not None else code.source, "utf-8"
        )
        Path(folder, "check.py").write_text(code.check, "utf-8")
        try:
            completed = subprocess.run(
                [python, "check.py"],
                cwd=folder,
                env=_check_environment(folder),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            passed = completed.returncode == 0
            output = completed.stdout + completed.stderr
        except subprocess.TimeoutExpired:
            passed, output = False, f"timed out after {timeout:.0f} s"
    return CheckResult(
        question.id,
        passed,
        time.monotonic() - started,
        output,
        None if passed else _failure_location(question, output),
    )


def run_checks(
    questions: Iterable[Question],
    *,
    jobs: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run the checks of ``questions`` in parallel; results in the questions' order."""
    selected = runnable_questions(questions)

    def one(question: Question) -> CheckResult:
        result = run_check(question, timeout=timeout)
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, selected))


def _check_environment(folder: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=folder,
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(Path(folder, ".hf")),
        MPLBACKEND="Agg",
    )
    return env


def _failure_location(question: Question, output: str) -> Location | None:
    """The YAML line of the deepest snippet/check line in the traceback, if any."""
    code = question.code
    assert code is not None
    found = _TRACEBACK_LINE.findall(output)
    if not found:
        return code.check_location
    which, line = found[-1]
    start = code.source_location if which == "solution" else code.check_location
    if start is None:
        return None
    return Location(start.path, start.line + int(line) - 1, start.column)
