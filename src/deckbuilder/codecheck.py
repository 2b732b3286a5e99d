"""Run every code answer with its hidden check, each in isolation (``deckbuilder check-code``).

A snippet is saved as ``solution.py`` and its check as ``check.py`` in a fresh temporary
folder and the check runs there, in a process of its own, with a time limit after which the
process is killed, no network access needed and one math thread per process.

Most checks import PyTorch, NumPy or scikit-learn, which costs seconds per fresh
interpreter: a multiprocessing fork server imports them once, and every check runs in a new
process forked from it, so a check starts in milliseconds yet shares no state with any
other. A failure is reported at the YAML line of the failing snippet or check line when the
traceback names one.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import runpy
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from deckbuilder.errors import Location
from deckbuilder.model import Question

DEFAULT_TIMEOUT = 120.0
#: Imported once in the fork server when installed (what the bank's checks use).
PRELOAD = ("numpy", "torch", "sklearn", "transformers")
_TRACEBACK_LINE = re.compile(r'File "[^"]*[/\\](solution|check)\.py", line (\d+)')
#: The environment every check sees: deterministic hashing, one math thread (two checks run
#: side by side on two cores), and model hubs switched off so nothing is downloaded.
CHECK_ENVIRONMENT = {
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "Agg",
}
_server_lock = threading.Lock()
_server_context: multiprocessing.context.ForkServerContext | None = None


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
    question: Question, *, source: str | None = None, timeout: float = DEFAULT_TIMEOUT
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
        process = _context().Process(target=_run_in_child, args=(folder,), daemon=True)
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            passed, output = False, f"timed out after {timeout:.0f} s"
        else:
            passed = process.exitcode == 0
            output = Path(folder, "output.txt").read_text("utf-8", errors="replace")
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


def _context() -> multiprocessing.context.ForkServerContext:
    """The fork server, started once with the check environment and the heavy imports."""
    global _server_context
    with _server_lock:
        if _server_context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([m for m in PRELOAD if find_spec(m) is not None])
            with _environment(CHECK_ENVIRONMENT):
                warm_up = context.Process(target=_nothing)
                warm_up.start()  # starts the server now, while the environment is set
                warm_up.join()
            _server_context = context
        return _server_context


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _nothing() -> None:
    """Target of the process that starts the fork server."""


def _run_in_child(folder: str) -> None:
    """In the forked process: run check.py beside solution.py as ``python check.py`` would."""
    os.chdir(folder)
    output = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(output, 1)
    os.dup2(output, 2)
    sys.path.insert(0, folder)
    sys.argv = [os.path.join(folder, "check.py")]
    code = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exit_request:
        code = exit_request.code if isinstance(exit_request.code, int) else 1
        if exit_request.code not in (None, 0) and not isinstance(exit_request.code, int):
            print(exit_request.code, file=sys.stderr)
        code = code or 0
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


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
