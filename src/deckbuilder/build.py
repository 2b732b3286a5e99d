"""The build: validate, select, render once, run the chosen exporters, then write.

Everything is gathered and rendered before anything is written (mkdocs' rule): exporters
stage their files, and only when all of them succeeded are the files moved into the output
folder. Formats whose inputs did not change since the last build are skipped (see
``buildcache``), and the others run in parallel processes, since they are independent.
Inside a format, questions, formulas and PDF layouts whose inputs did not change are read
back from the content cache (see ``contentcache``), so an edit costs what it touches.

A build that is stopped leaves nothing running and nothing half-placed: workers die with the
main process even when it is killed (``PR_SET_PDEATHSIG``), ignore Ctrl-C (the main process
alone handles it), and SIGTERM or Ctrl-C in the main process kills them, discards the staging
folder and raises :class:`BuildInterrupted`.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deckbuilder import buildcache
from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.contentcache import ContentCache
from deckbuilder.errors import BankError, BuildError, Problem
from deckbuilder.exporters import EXPORTERS
from deckbuilder.model import Bank, RenderedBank
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank, question_files, validate_bank


class FilterError(BuildError):
    """A --level/--category/--tag value the bank does not know (a usage error)."""


class BuildInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the build; workers are dead and nothing was placed."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


@dataclass(frozen=True)
class BuildRequest:
    bank_dir: Path
    output: Path
    formats: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    paper: str = "a4"
    styles_dir: Path | None = None
    guides_by: str = "level"
    strict: bool = False
    #: Rebuild even the formats whose inputs did not change.
    force: bool = False
    #: Exporters run in this many processes at once (the PDFs dominate a full build).
    jobs: int = 2


@dataclass(frozen=True)
class BuildReport:
    #: Questions in the build, or None when every format was up to date (bank not loaded).
    questions: int | None
    artifacts: tuple[Artifact, ...]
    warnings: tuple[Problem, ...] = field(default=())
    #: Formats skipped because their inputs did not change.
    up_to_date: tuple[str, ...] = ()
    #: Questions whose Markdown was rendered in this build (the others came from the cache).
    rendered_now: int = 0


#: ``progress(exporter just finished or "" at the start, exporters done, exporters total)``
Progress = Callable[[str, int, int], None]


def build(request: BuildRequest, progress: Progress | None = None) -> BuildReport:
    """Run a whole build; raises ``BankError``/``BuildError`` and then writes nothing.

    SIGINT and SIGTERM raise :class:`BuildInterrupted` (also writing nothing).
    """
    with _signals_interrupt() as received:
        return _build(request, progress, received)


@contextmanager
def _signals_interrupt() -> Iterator[list[int]]:
    """SIGINT and SIGTERM raise BuildInterrupted in the main thread while the build runs.

    The signals received are also recorded: Python may run a handler inside a finaliser,
    where its exception is only printed, so the build checks the record before placing files,
    and any exception raised once a signal came in becomes BuildInterrupted.
    """
    received: list[int] = []

    def interrupt(number: int, _frame: object) -> None:
        received.append(number)
        raise BuildInterrupted(number)

    try:
        saved = {n: signal.signal(n, interrupt) for n in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals to whoever owns them
        yield received
        return
    try:
        yield received
    except BaseException:
        if received:
            raise BuildInterrupted(received[0]) from None
        raise
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def _build(request: BuildRequest, progress: Progress | None, received: list[int]) -> BuildReport:
    formats = request.formats or tuple(EXPORTERS)
    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown:
        raise FilterError(f"unknown format {unknown[0]!r}; available: {', '.join(EXPORTERS)}")
    _refuse_output_in_bank(request.output, request.bank_dir)
    epoch = source_date_epoch(request.bank_dir)
    options = {**asdict(request), "formats": formats, "epoch": epoch, "force": None, "jobs": None}
    prints = buildcache.fingerprints(formats, request.bank_dir, request.styles_dir, options)
    fresh = set() if request.force else buildcache.up_to_date(request.output, prints)
    todo = tuple(f for f in formats if f not in fresh)
    if not todo:
        return BuildReport(None, (), (), tuple(formats))

    cache = ContentCache.default(read=not request.force)
    bank, warnings = load_valid_bank(request.bank_dir, strict=request.strict, cache=cache)
    selected = select(bank, request.levels, request.categories, request.tags)
    rendered = render_bank(selected, cache)  # validation rendered them: read from memory
    active = rendered.active()
    if not active.questions and not all(EXPORTERS[f].includes_retired for f in todo):
        raise FilterError("every selected question is retired")
    context = BuildContext(
        output=request.output,
        source_date_epoch=epoch,
        paper=request.paper,
        styles_dir=request.styles_dir,
        guides_by=request.guides_by,
        filtered=bool(request.levels or request.categories or request.tags),
        cache=cache,
    )
    staging = Staging(request.output)
    try:
        produced = _run_exporters(todo, rendered, active, context, staging, request.jobs, progress)
        written = {name: [a.relative_path for a in produced[name]] for name in todo}
        buildcache.stage_stamp(staging.root, request.output, prints, written)
        if received:
            raise BuildInterrupted(received[0])
        staging.commit(last=buildcache.STAMP_NAME)
    finally:
        staging.discard()
    cache.prune()
    artifacts = tuple(a for name in todo for a in produced[name])
    return BuildReport(
        len(selected.questions),
        artifacts,
        warnings,
        tuple(sorted(fresh)),
        rendered_now=cache.misses["render"],
    )


def _run_exporters(
    formats: Sequence[str],
    rendered: RenderedBank,
    active: RenderedBank,
    context: BuildContext,
    staging: Staging,
    jobs: int,
    progress: Progress | None,
) -> dict[str, list[Artifact]]:
    """Each exporter in a process of its own (they are independent), results by format."""
    if progress is not None:
        progress("", 0, len(formats))
    produced: dict[str, list[Artifact]] = {}
    if jobs <= 1 or len(formats) == 1:
        for name in formats:
            produced[name] = _export(name, rendered, active, context, staging.root)
            if progress is not None:
                progress(name, len(produced), len(formats))
        return produced
    # fork: workers inherit the loaded exporters and the rendered bank without re-importing.
    context_fork = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(formats)),
        mp_context=context_fork,
        initializer=_worker_started,
        initargs=(os.getpid(),),
    )
    try:
        # Forked workers start with the main process's handlers: keep SIGINT and SIGTERM
        # blocked until each worker has set its own (a signal then waits, it is not lost).
        stopping = {signal.SIGINT, signal.SIGTERM}
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
        try:
            futures = {
                pool.submit(_export, name, rendered, active, context, staging.root): name
                for name in formats
            }
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for future in as_completed(futures):
            produced[futures[future]] = future.result()
            if progress is not None:
                progress(futures[future], len(produced), len(formats))
    except BaseException:
        # Interrupted, or one exporter failed: the others' work is of no use, stop them now
        # instead of waiting for their PDFs. (The pool offers no public way to kill.)
        for process in list(pool._processes.values()):
            process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return produced


_PR_SET_PDEATHSIG = 1


def _worker_started(parent: int) -> None:
    """In each worker: die with the main process, and leave Ctrl-C to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C pending since the fork is dropped
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the main process died before prctl took effect
        os._exit(1)


def _export(
    name: str, rendered: RenderedBank, active: RenderedBank, context: BuildContext, root: Path
) -> list[Artifact]:
    """Run one exporter (in a worker process): retired questions only where it wants them."""
    spec = EXPORTERS[name]
    return spec.load()(rendered if spec.includes_retired else active, context, Staging.at(root))


def select(
    bank: Bank, levels: Sequence[str], categories: Sequence[str], tags: Sequence[str]
) -> Bank:
    """Apply the filters, refusing values the bank does not know (a typo is not "no match")."""
    known = {
        "level": {level.id for level in bank.levels},
        "category": {c.id for c in bank.categories},
        "tag": {t for q in bank.questions for t in q.tags},
    }
    for kind, values in (("level", levels), ("category", categories), ("tag", tags)):
        for value in values:
            if value not in known[kind]:
                raise FilterError(
                    f"unknown {kind} {value!r}; known: {', '.join(sorted(known[kind]))}"
                )
    selected = bank.select(levels, categories, tags)
    if not selected.questions:
        raise FilterError("no question matches the given filters")
    return selected


def _refuse_output_in_bank(output: Path, bank_dir: Path) -> None:
    """Artifacts written into the bank would be read back as bank files (or replace them)."""
    out, bank = output.resolve(), bank_dir.resolve()
    if out == bank or out.is_relative_to(bank):
        raise FilterError(
            f"output folder {output} is inside the bank folder {bank_dir}; choose another -o"
        )


#: The ZIP format (the .apkg) stores no date after 2107; later epochs are refused, not wrapped.
MAX_EPOCH = 4354819199  # 2107-12-31T23:59:59Z


def source_date_epoch(bank_dir: Path) -> int:
    """The timestamp written into artifacts, so equal inputs give equal bytes.

    ``SOURCE_DATE_EPOCH`` if set (reproducible-builds.org convention); else the time of the
    last commit that touched the bank; else the newest bank file's modification time.
    """
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        try:
            epoch = int(os.environ["SOURCE_DATE_EPOCH"])
        except ValueError as exc:
            raise BuildError("SOURCE_DATE_EPOCH must be a whole number of seconds") from exc
        if not 0 <= epoch <= MAX_EPOCH:
            raise BuildError(
                f"SOURCE_DATE_EPOCH={epoch} is outside 0..{MAX_EPOCH} (1970 to 2107, what the"
                " .apkg's ZIP dates can hold)"
            )
        return epoch
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%ct", "--", "."],
            cwd=bank_dir,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        if out and not _has_uncommitted_changes(bank_dir):
            return int(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    files = [*question_files(bank_dir), bank_dir / "bank.yaml"]
    times = [p.stat().st_mtime for p in files if p.is_file()]
    if not times:  # nothing to date the build by: report what validation says is missing
        raise BankError(validate_bank(bank_dir).problems)
    return min(int(max(times)), MAX_EPOCH)


def _has_uncommitted_changes(bank_dir: Path) -> bool:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "."],
        cwd=bank_dir,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return bool(status.stdout.strip())
