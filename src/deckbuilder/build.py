"""The build: validate, select, render once, run the chosen exporters, then write.

Everything is gathered and rendered before anything is written (mkdocs' rule): exporters
stage their files, and only when all of them succeeded are the files moved into the output
folder.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.errors import BuildError, Problem
from deckbuilder.exporters import EXPORTERS
from deckbuilder.model import Bank
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank, question_files


class FilterError(BuildError):
    """A --level/--category/--tag value the bank does not know (a usage error)."""


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


@dataclass(frozen=True)
class BuildReport:
    bank: Bank
    artifacts: tuple[Artifact, ...]
    warnings: tuple[Problem, ...] = field(default=())


#: ``progress(exporter about to run or "" when all are done, exporters done, exporters total)``
Progress = Callable[[str, int, int], None]


def build(request: BuildRequest, progress: Progress | None = None) -> BuildReport:
    """Run a whole build; raises ``BankError``/``BuildError`` and then writes nothing."""
    bank, warnings = load_valid_bank(request.bank_dir, strict=request.strict)
    formats = request.formats or tuple(EXPORTERS)
    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown:
        raise FilterError(f"unknown format {unknown[0]!r}; available: {', '.join(EXPORTERS)}")
    selected = select(bank, request.levels, request.categories, request.tags)
    rendered = render_bank(selected)
    context = BuildContext(
        output=request.output,
        source_date_epoch=source_date_epoch(request.bank_dir),
        paper=request.paper,
        styles_dir=request.styles_dir,
        guides_by=request.guides_by,
        filtered=bool(request.levels or request.categories or request.tags),
    )
    staging = Staging(request.output)
    artifacts: list[Artifact] = []
    try:
        active = rendered.active()
        if not active.questions and not all(EXPORTERS[f].includes_retired for f in formats):
            raise FilterError("every selected question is retired")
        for done, name in enumerate(formats):
            if progress is not None:
                progress(name, done, len(formats))
            spec = EXPORTERS[name]
            given = rendered if spec.includes_retired else active
            artifacts.extend(spec.load()(given, context, staging))
        if progress is not None:
            progress("", len(formats), len(formats))
        staging.commit()
    finally:
        staging.discard()
    return BuildReport(selected, tuple(artifacts), warnings)


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


def source_date_epoch(bank_dir: Path) -> int:
    """The timestamp written into artifacts, so equal inputs give equal bytes.

    ``SOURCE_DATE_EPOCH`` if set (reproducible-builds.org convention); else the time of the
    last commit that touched the bank; else the newest bank file's modification time.
    """
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        try:
            return int(os.environ["SOURCE_DATE_EPOCH"])
        except ValueError as exc:
            raise BuildError("SOURCE_DATE_EPOCH must be a whole number of seconds") from exc
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
    return int(max(p.stat().st_mtime for p in files if p.exists()))


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
