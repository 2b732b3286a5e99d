"""Released ids: once a question id ships, it must stay in the bank for good.

Anki matches notes by GUID, which comes from the id: a renamed or deleted id would leave
learners with an orphaned card and give them a "new" duplicate. ``released-ids.json`` beside
``bank.yaml`` records the ids of every released version (``deckbuilder lock-ids`` writes it
when cutting a release); the validator refuses a bank that lost one. A question is withdrawn
by marking it ``retired: true`` instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from deckbuilder.errors import Location, Problem, error

LOCK_NAME = "released-ids.json"


def read_released(root: Path) -> dict[str, list[str]]:
    """``{version: [ids]}`` from the lock file; empty when nothing was released yet."""
    path = root / LOCK_NAME
    if not path.is_file():
        return {}
    data = json.loads(path.read_text("utf-8"))
    return {str(version): list(ids) for version, ids in data.get("versions", {}).items()}


def check_released_ids(root: Path, present: set[str]) -> Iterator[Problem]:
    """An error for every released id the bank no longer has, at its line in the lock file."""
    path = root / LOCK_NAME
    try:
        released = read_released(root)
    except (OSError, ValueError, AttributeError) as exc:
        yield error(Location(path), "released-ids", f"cannot read {LOCK_NAME}: {exc}")
        return
    if not released:
        return
    text = path.read_text("utf-8")
    reported: set[str] = set()
    for version, ids in released.items():
        for question_id in ids:
            if question_id in present or question_id in reported:
                continue
            reported.add(question_id)
            yield error(
                Location(path, _line_of(text, f'"{question_id}"'), 1),
                "released-id-missing",
                f"question id {question_id!r} was released in {version} and must stay in the"
                " bank: mark the question `retired: true` instead of deleting or renaming it",
            )


def record_release(root: Path, version: str, ids: Iterable[str]) -> bool:
    """Add ``version``'s ids to the lock file; returns False if it was already recorded."""
    released = read_released(root)
    new_ids = sorted(set(ids))
    if released.get(version) == new_ids:
        return False
    released[version] = new_ids
    ordered = dict(sorted(released.items(), key=lambda item: _version_key(item[0])))
    text = json.dumps({"versions": ordered}, indent=2, ensure_ascii=False) + "\n"
    (root / LOCK_NAME).write_text(text, "utf-8")
    return True


def _line_of(text: str, needle: str) -> int:
    return text.count("\n", 0, max(text.find(needle), 0)) + 1


def _version_key(version: str) -> tuple[int, ...]:
    core = version.split("-", 1)[0]
    return tuple(int(part) if part.isdigit() else 0 for part in core.split("."))
