"""Diagnostics shared by every stage.

Each stage reports what is wrong as :class:`Problem` values instead of raising on the first
one, so a contributor sees every mistake in every file in one run, compiler style. The one
exception type, :class:`BankError`, carries the whole list across the library/CLI boundary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Severity(str, Enum):
    """How bad a problem is; ``--strict`` promotes warnings to failures."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based line and column in a source file.

    0 means "the whole file" (too large, missing...); it is shown as 1:1 so every
    diagnostic has the same ``file:line:column`` shape editors and CI can jump to.
    """

    path: Path
    line: int = 0
    column: int = 0

    def display(self, root: Path | None = None) -> str:
        return f"{_relative(self.path, root)}:{self.line or 1}:{self.column or 1}"


@dataclass(frozen=True)
class Problem:
    """One diagnostic: where, how bad, what rule and a human sentence."""

    location: Location
    severity: Severity
    rule: str
    message: str

    def format_text(self, root: Path | None = None) -> str:
        where = self.location.display(root)
        return f"{where}: {self.severity.value}: {self.message} [{self.rule}]"

    def format_github(self, root: Path | None = None) -> str:
        """A GitHub Actions workflow command, so CI annotates the offending line."""
        level = "error" if self.severity is Severity.ERROR else "warning"
        parts = [
            f"file={_escape_property(_relative(self.location.path, root))}",
            f"line={self.location.line or 1}",
            f"col={self.location.column or 1}",
            f"title={_escape_property(self.rule)}",
        ]
        return f"::{level} {','.join(parts)}::{_escape_data(self.message)}"

    def as_dict(self, root: Path | None = None) -> dict[str, object]:
        return {
            "file": _relative(self.location.path, root),
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity.value,
            "rule": self.rule,
            "message": self.message,
        }


def _escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped, so no line can start a command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and ``:`` and ``,`` too (they end
    the value), so a file name cannot end the annotation early or add properties."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error(location: Location, rule: str, message: str) -> Problem:
    return Problem(location, Severity.ERROR, rule, message)


def warning(location: Location, rule: str, message: str) -> Problem:
    return Problem(location, Severity.WARNING, rule, message)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File order, then line and column, so output is stable and reads top to bottom."""
    return sorted(problems, key=lambda p: (p.location, p.rule, p.message))


def report_as_json(problems: Sequence[Problem], **summary: object) -> str:
    """``{"problems": [...], **summary}``: every problem for tools, and the run's counts."""
    report = {"problems": [p.as_dict() for p in problems], **summary}
    return json.dumps(report, indent=2, ensure_ascii=False)


class BankError(Exception):
    """Raised when a stage cannot go on; carries every problem found so far."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sort_problems(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the question bank")


class BuildError(Exception):
    """An exporter could not produce its artifact (missing system library, bad option...)."""


def _relative(path: Path, root: Path | None) -> str:
    base = root if root is not None else Path.cwd()
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
    except (RuntimeError, OSError):  # a symlink loop: name the link itself
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(base)).as_posix()
        except ValueError:
            return path.as_posix()
