"""What changed between two versions of the bank (``deckbuilder diff``), for release notes.

Banks are compared by question id on their raw data rather than through the validator, so
an old release still diffs after the rules have grown stricter. Either side may be a bank
folder or a git ref; a ref is read straight from git (``git archive``), never checked out.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deckbuilder.errors import BankError, BuildError
from deckbuilder.loader import load_file
from deckbuilder.validate import MANIFEST_NAME, question_files

#: Fields compared for "changed"; level and retired have sections of their own.
COMPARED_FIELDS = (
    "question", "answer", "explanation", "code", "references", "follow_ups", "pitfalls",
    "categories", "tags",
)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    level: str
    detail: str = ""


@dataclass(frozen=True)
class BankDiff:
    old_version: str
    new_version: str
    added: tuple[Entry, ...]
    changed: tuple[Entry, ...]
    relevelled: tuple[Entry, ...]
    retired: tuple[Entry, ...]
    removed: tuple[Entry, ...]

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    def as_markdown(self) -> str:
        counts = [
            (len(self.added), "added"),
            (len(self.changed), "changed"),
            (len(self.relevelled), "re-levelled"),
            (len(self.retired), "retired"),
            (len(self.removed), "removed"),
        ]
        summary = ", ".join(f"{n} {label}" for n, label in counts if n) or "no question changed"
        lines = [f"## Question bank {self.old_version} → {self.new_version}", "", f"**{summary}.**"]
        sections = (
            ("Added", self.added),
            ("Changed", self.changed),
            ("Re-levelled", self.relevelled),
            ("Retired", self.retired),
            ("Removed (released ids must be retired instead)", self.removed),
        )
        for title, entries in sections:
            if entries:
                lines += ["", f"### {title} ({len(entries)})", ""]
                lines += [_markdown_line(e) for e in entries]
        return "\n".join(lines) + "\n"


def _markdown_line(entry: Entry) -> str:
    question = " ".join(entry.question.split())
    detail = f" — {entry.detail}" if entry.detail else ""
    return f"- `{entry.id}` {question}{detail}"


def diff_banks(old_dir: Path, new_dir: Path) -> BankDiff:
    old_version, old = _raw_questions(old_dir)
    new_version, new = _raw_questions(new_dir)
    added: list[Entry] = []
    changed: list[Entry] = []
    relevelled: list[Entry] = []
    retired: list[Entry] = []
    for qid, after in new.items():
        before = old.get(qid)
        if before is None:
            (retired if after.get("retired") else added).append(_entry(after))
            continue
        if after.get("retired") and not before.get("retired"):
            retired.append(_entry(after))
            continue
        if after.get("level") != before.get("level"):
            relevelled.append(_entry(after, f"{before.get('level')} → {after.get('level')}"))
        fields = [f for f in COMPARED_FIELDS if before.get(f) != after.get(f)]
        if fields:
            changed.append(_entry(after, ", ".join(fields)))
    removed = [_entry(before) for qid, before in old.items() if qid not in new]
    return BankDiff(
        old_version,
        new_version,
        *(
            tuple(sorted(group, key=lambda e: e.id))
            for group in (added, changed, relevelled, retired, removed)
        ),
    )


def _entry(raw: dict[str, Any], detail: str = "") -> Entry:
    return Entry(str(raw["id"]), str(raw.get("question", "")), str(raw.get("level", "")), detail)


def _raw_questions(root: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The bank's version and its questions by id, read without the validator's rules."""
    problems = []
    manifest, manifest_problems = load_file(root / MANIFEST_NAME)
    problems += manifest_problems
    questions: dict[str, dict[str, Any]] = {}
    for path in question_files(root):
        document, file_problems = load_file(path)
        problems += file_problems
        data = document.data if document is not None else None
        for raw in (data or {}).get("questions", []) if isinstance(data, dict) else []:
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                questions[raw["id"]] = raw
    if problems:
        raise BankError(problems)
    version = (
        manifest.data.get("version", "?") if manifest and isinstance(manifest.data, dict) else "?"
    )
    return str(version), questions


@contextmanager
def bank_at(spec: str, bank_dir: Path) -> Iterator[Path]:
    """A bank folder for ``spec``: an existing folder, or ``bank_dir`` as of git ref ``spec``."""
    if Path(spec).is_dir():
        yield Path(spec)
        return
    top = _git(bank_dir, "rev-parse", "--show-toplevel").decode().strip()
    prefix = Path(bank_dir).resolve().relative_to(Path(top).resolve()).as_posix()
    try:
        _git(bank_dir, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    except BuildError as exc:
        raise BuildError(f"{spec!r} is neither a bank folder nor a git ref") from exc
    archive = _git(top, "archive", "--format=tar", spec, "--", prefix)
    with tempfile.TemporaryDirectory(prefix="deckbuilder-diff-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / prefix


def _git(cwd: Path | str, *args: str) -> bytes:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"git {' '.join(args[:2])} failed in {cwd}") from exc
