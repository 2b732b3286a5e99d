"""The ``deckbuilder`` command line: Click commands only, over a Click-free library.

Library errors (``BankError``, ``BuildError``) become messages and exit codes here, at one
boundary: 0 success, 1 problems in the bank or a failed build, 2 usage errors.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from deckbuilder import __version__
from deckbuilder.errors import BankError, BuildError, Problem, Severity, report_as_json

F = TypeVar("F", bound=Callable[..., Any])
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def _usable_path(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A path the system can look up: an over-long name is a usage error, not a traceback."""
    try:
        value.exists()
    except OSError as exc:
        raise click.BadParameter(f"{exc.strerror}: {str(value)[:80]}…") from exc
    return value


#: Shared by ``build`` and ``watch``.
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_usable_path,
    default=Path("dist"),
    show_default=True,
    help="Output folder.",
)
styles_option = click.option(
    "--styles",
    "styles_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder whose stylesheets replace the packaged ones, file by file.",
)


bank_option = click.option(
    "--bank",
    "bank_dir",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_usable_path,
    default=Path("questions"),
    show_default=True,
    envvar="DECKBUILDER_BANK",
    help="Folder holding bank.yaml and the question files.",
)
strict_option = click.option("--strict", is_flag=True, help="Treat warnings as errors.")


def jobs_option(help_text: str) -> Callable[[F], F]:
    """``-j/--jobs``: how many processes work at once (2 suits this project's 2-core CI)."""
    return click.option(
        "-j", "--jobs", type=click.IntRange(1, 32), default=2, show_default=True, help=help_text
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deckbuilder")
def main() -> None:
    """Validate the NLP Interview Master question bank and build its exports."""


@main.command()
@bank_option
@strict_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for CI annotations.",
)
def validate(bank_dir: Path, strict: bool, output_format: str) -> None:
    """Check every question file against the schema and the bank's rules.

    Reports every problem in every file at once, as FILE:LINE:COLUMN: SEVERITY: MESSAGE [RULE].
    """
    from deckbuilder.contentcache import ContentCache
    from deckbuilder.validate import check_bank

    # The build's cache: verdicts of unchanged files, and renderings a build reuses.
    cache = ContentCache.default()
    result = check_bank(bank_dir, cache)
    if result.files_checked:
        cache.prune()  # only a run that wrote can have grown it
    if output_format == "json":
        files = {"checked": result.files_checked, "cached": result.files_cached}
        click.echo(report_as_json(result.problems, questions=result.questions, files=files))
    else:
        _print_problems(result.problems, output_format)
    if output_format == "text":
        summary = f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)"
        if result.questions:
            summary = f"{result.questions} questions; {summary}"
        click.echo(summary, err=True)
    if result.failed(strict):
        sys.exit(EXIT_PROBLEMS)


@main.command()
@bank_option
@strict_option
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    metavar="FORMAT",
    help="Artifact to build (repeatable); default: every available format.",
)
@click.option(
    "--level", "levels", multiple=True, metavar="LEVEL", help="Only this level (repeatable)."
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="CATEGORY",
    help="Only this category (repeatable).",
)
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="Only questions with this tag (repeatable)."
)
@output_option
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="PDF paper size.",
)
@click.option(
    "--by",
    "guides_by",
    type=click.Choice(["level", "category"]),
    default="level",
    show_default=True,
    help="Markdown guides: one per level, or also one per category.",
)
@click.option("--force", is_flag=True, help="Rebuild formats whose inputs did not change.")
@jobs_option("Exporters run in parallel processes.")
@styles_option
def build(
    bank_dir: Path,
    strict: bool,
    formats: tuple[str, ...],
    levels: tuple[str, ...],
    categories: tuple[str, ...],
    tags: tuple[str, ...],
    output: Path,
    paper: str,
    guides_by: str,
    force: bool,
    jobs: int,
    styles_dir: Path | None,
) -> None:
    """Validate, render once, and write the chosen artifacts into the output folder.

    Nothing is written unless every artifact was built. Formats whose inputs did not change
    since the last build into the same folder are skipped.
    """
    from deckbuilder.build import BuildRequest, FilterError
    from deckbuilder.build import build as run_build

    request = BuildRequest(
        bank_dir=bank_dir,
        output=output,
        formats=formats,
        levels=levels,
        categories=categories,
        tags=tags,
        paper=paper,
        styles_dir=styles_dir,
        guides_by=guides_by,
        strict=strict,
        force=force,
        jobs=jobs,
    )
    try:
        with _ProgressBar() as bar:
            report = run_build(request, progress=bar.show if sys.stderr.isatty() else None)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: one line, no traceback
        number = getattr(exc, "signal_number", signal.SIGINT)
        click.echo(
            f"\ndeckbuilder: build interrupted ({signal.Signals(number).name});"
            f" nothing was written to {output}",
            err=True,
        )
        sys.exit(128 + number)
    except BankError as exc:
        _fail_with_problems(exc)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from exc
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:  # disk full, permission denied...: nothing was moved into place
        raise click.ClickException(
            f"cannot write {exc.filename or output}: {exc.strerror}"
        ) from exc
    _print_problems(report.warnings, "text")
    for artifact in report.artifacts:
        click.echo(f"{(output / artifact.relative_path).as_posix()}: {artifact.summary}")
    if report.up_to_date:
        click.echo(f"up to date: {', '.join(report.up_to_date)} (use --force to rebuild)", err=True)
    if report.questions is not None:
        click.echo(
            f"built {len(report.artifacts)} artifact(s) from {report.questions} questions"
            f" ({report.rendered_now} rendered now, the others read from the cache)",
            err=True,
        )


@main.command()
@bank_option
@strict_option
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    default=("html",),
    show_default=True,
    metavar="FORMAT",
    help="Artifact to rebuild on every save (repeatable).",
)
@output_option
@styles_option
@click.option(
    "--serve",
    is_flag=True,
    help="Serve the output on 127.0.0.1 and reload the open page after each build.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port for --serve (0: any free port).",
)
def watch(
    bank_dir: Path,
    strict: bool,
    formats: tuple[str, ...],
    output: Path,
    styles_dir: Path | None,
    serve: bool,
    port: int,
) -> None:
    """Rebuild on every save of the bank, the styles or the templates, until Ctrl-C.

    Each rebuild is a normal build (validated, all-or-nothing); a save that breaks the bank
    is reported and the watch goes on.
    """
    from deckbuilder.build import BuildRequest
    from deckbuilder.exporters import EXPORTERS
    from deckbuilder.watch import LiveReload, rebuilds, watched_folders

    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown:
        raise click.UsageError(f"unknown format {unknown[0]!r}; available: {', '.join(EXPORTERS)}")
    request = BuildRequest(
        bank_dir=bank_dir, output=output, formats=formats, styles_dir=styles_dir, strict=strict
    )
    live = None
    try:
        if serve:
            output.mkdir(parents=True, exist_ok=True)
            live = LiveReload(output, port)
            live.start()
        folders = ", ".join(str(folder) for folder in watched_folders(request))
        click.echo(f"watching {folders} (Ctrl-C to stop)", err=True)
        builds = 0
        for rebuild in rebuilds(request):
            if rebuild.changed:
                click.echo(f"changed: {', '.join(str(p) for p in rebuild.changed)}", err=True)
            _print_problems(rebuild.problems or (), "text")
            if rebuild.error:
                click.echo(f"Error: {rebuild.error}", err=True)
            elif rebuild.problems:
                click.echo("not rebuilt: the bank has errors (still watching)", err=True)
            elif rebuild.report is not None:
                _print_problems(rebuild.report.warnings, "text")
                for artifact in rebuild.report.artifacts:
                    click.echo(
                        f"{(output / artifact.relative_path).as_posix()}: {artifact.summary}"
                    )
                builds += 1
                if rebuild.report.up_to_date and not rebuild.report.artifacts:
                    click.echo(f"up to date: {', '.join(rebuild.report.up_to_date)}", err=True)
                click.echo(f"build {builds} done in {rebuild.seconds:.1f} s", err=True)
                if live is not None:
                    live.announce_build()
                    if builds == 1:
                        page = next(output.glob("*.html"), None)
                        shown = page.name if page else ""
                        click.echo(f"serving {live.url(shown)}", err=True)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {exc.strerror}") from exc
    finally:
        if live is not None:
            live.close()
    click.echo("stopped watching", err=True)


@main.command()
@bank_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def stats(bank_dir: Path, output_format: str) -> None:
    """Counts by level, category and tag; code, math, references and follow-ups."""
    from deckbuilder.stats import bank_stats

    numbers = bank_stats(_load(bank_dir))
    if output_format == "json":
        click.echo(json.dumps(numbers.as_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"questions: {numbers.total} (retired, kept for Anki: {numbers.retired})")
    for title, rows in (("by level", numbers.by_level), ("by category", numbers.by_category)):
        click.echo(f"{title}:")
        for name, count in rows:
            click.echo(f"  {name:<28} {count:>4}")
    click.echo("by tag (top 15):")
    for name, count in numbers.by_tag[:15]:
        click.echo(f"  {name:<28} {count:>4}")
    click.echo(f"with code: {numbers.with_code} (with a check: {numbers.with_check})")
    click.echo(f"with math: {numbers.with_math}")
    click.echo(f"with references: {numbers.with_references}")
    click.echo(
        f"follow-ups: {numbers.follow_ups}, of which {numbers.follow_ups_linked} name the"
        f" question that answers them and {numbers.follow_ups_answered} carry their own answer"
        f" ({numbers.follow_ups_leading_somewhere:.0%} lead somewhere)"
    )


@main.command()
@click.argument("kind", type=click.Choice(["questions", "bank"]), default="questions")
def schema(kind: str) -> None:
    """Print the JSON Schema of a question file (default) or of bank.yaml."""
    from deckbuilder.rules.schema import schema_text

    click.echo(schema_text(kind), nl=False)


@main.command("check-code")
@bank_option
@click.option("--id", "ids", multiple=True, metavar="ID", help="Only this question (repeatable).")
@jobs_option("Checks run in parallel.")
@click.option(
    "--timeout",
    type=click.FloatRange(1, 3600),
    default=120.0,
    show_default=True,
    help="Seconds per check.",
)
@click.option(
    "--memory",
    "memory_mib",
    type=click.IntRange(64, 2**20),
    default=2048,
    show_default=True,
    metavar="MIB",
    help="Address space per check, in MiB.",
)
@click.option(
    "--no-sandbox",
    is_flag=True,
    help="Run checks without bubblewrap (where it cannot run): no isolation at all.",
)
def check_code(
    bank_dir: Path,
    ids: tuple[str, ...],
    jobs: int,
    timeout: float,
    memory_mib: int,
    no_sandbox: bool,
) -> None:
    """Run every code answer with its hidden check, in a sandbox (bubblewrap)."""
    from deckbuilder.codecheck import Limits, SandboxUnavailable, run_checks, runnable_questions

    bank = _load(bank_dir)
    questions = [q for q in bank.questions if not ids or q.id in ids]
    unknown = sorted(set(ids) - {q.id for q in bank.questions})
    if unknown:
        raise click.UsageError(f"unknown question id {unknown[0]!r}")
    if not runnable_questions(questions):
        raise click.UsageError("no runnable code answer with a check among the selected questions")
    if no_sandbox:
        click.echo(
            "warning: --no-sandbox: checks run unconfined, with your files and network", err=True
        )

    def report(result: object) -> None:
        from deckbuilder.codecheck import CheckResult

        assert isinstance(result, CheckResult)
        mark = "ok  " if result.passed else "FAIL"
        click.echo(f"{mark} {result.question_id} ({result.seconds:.1f} s)")

    limits = Limits(timeout=timeout, memory_mib=memory_mib, sandbox=not no_sandbox)
    try:
        results = run_checks(questions, jobs=jobs, limits=limits, on_result=report)
    except SandboxUnavailable as exc:
        raise click.ClickException(f"{exc}; pass --no-sandbox to run checks unconfined") from exc
    failures = [r for r in results if not r.passed]
    for failure in failures:
        where = failure.location.display() if failure.location else failure.question_id
        click.echo(
            f"{where}: error: check of {failure.question_id!r} failed: {failure.summary} [code-check]",
            err=True,
        )
        click.echo(_indent(failure.output), err=True)
    click.echo(f"{len(results) - len(failures)} passed, {len(failures)} failed")
    if failures:
        sys.exit(EXIT_PROBLEMS)


class _ProgressBar:
    """A bar on stderr, one step per finished exporter, only when stderr is a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None

    def show(self, name: str, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(
                length=total,
                label="building",
                file=sys.stderr,
                show_eta=False,
                item_show_func=lambda item: item,
            )
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos, f"{name} done" if name else None)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@main.command("diff")
@bank_option
@click.argument("old")
@click.argument("new", required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="markdown for a release body, json for tools.",
)
def diff_command(bank_dir: Path, old: str, new: str | None, output_format: str) -> None:
    """List questions added, changed, re-levelled and retired between OLD and NEW.

    OLD and NEW are bank folders or git refs (tags, commits); NEW defaults to the bank as it
    is now.
    """
    from deckbuilder.diff import bank_at, diff_banks

    try:
        with bank_at(old, bank_dir) as old_dir, bank_at(new or str(bank_dir), bank_dir) as new_dir:
            changes = diff_banks(old_dir, new_dir)
    except BankError as exc:
        _fail_with_problems(exc)
    except BuildError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(changes.as_json() if output_format == "json" else changes.as_markdown(), nl=False)


@main.command("lock-ids")
@bank_option
def lock_ids(bank_dir: Path) -> None:
    """Record the ids of this bank version in released-ids.json (run when releasing).

    From then on, validate fails if one of them disappears: retire questions instead.
    """
    from deckbuilder.releases import LOCK_NAME, record_release

    bank = _load(bank_dir)
    changed = record_release(bank_dir, bank.version, (q.id for q in bank.questions))
    state = "recorded" if changed else "already recorded"
    click.echo(
        f"{len(bank.questions)} ids of version {bank.version} {state} in {bank_dir / LOCK_NAME}"
    )


def _load(bank_dir: Path):  # type: ignore[no-untyped-def]
    from deckbuilder.contentcache import ContentCache
    from deckbuilder.validate import load_valid_bank

    try:
        bank, _warnings = load_valid_bank(bank_dir, cache=ContentCache.default())
    except BankError as exc:
        _fail_with_problems(exc)
    return bank


def _print_problems(problems: tuple[Problem, ...] | list[Problem], output_format: str) -> None:
    """``text`` (to stderr) or ``github`` annotations (to stdout)."""
    for problem in problems:
        line = problem.format_github() if output_format == "github" else problem.format_text()
        click.echo(line, err=output_format == "text")


def _fail_with_problems(exc: BankError) -> NoReturn:
    _print_problems(exc.problems, "text")
    errors = sum(p.severity is Severity.ERROR for p in exc.problems)
    click.echo(
        f"{errors} error(s), {len(exc.problems) - errors} warning(s): nothing was built", err=True
    )
    sys.exit(EXIT_PROBLEMS)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-25:])
