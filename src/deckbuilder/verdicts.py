"""Per-file verdicts: what the checks of one file found, kept in the content cache.

A verdict holds what the rest of ``validate`` needs from one file: its diagnostics, and an
:class:`Entry` per question for the rules across files (ids, texts and their near-duplicate
skeletons, level, categories, links); for ``bank.yaml``, the bank's fields, levels and
categories. The file's questions themselves are stored beside it, for the build. Both are
kept under a hash of the file's bytes, its place in the bank, the bank's image files (an
image link is judged on the image), deckbuilder's code and the versions of the libraries
that judge it (see ``contentcache.tool_digest``). So a warm ``validate`` reads and hashes
every file, parses none that did not change, and runs only the cross-file rules on the
entries.

Entries are JSON. What is read back is not trusted: an entry whose shape or types are not
exactly what :func:`dump` writes is a miss and the file is checked again. Every location in
a verdict is in its own file, so only line and column are stored.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from deckbuilder.errors import Location, Problem, Severity
from deckbuilder.model import Bank, Category, Code, FollowUp, Level, Question, Reference

T = TypeVar("T")
KIND = "verdict"
#: The questions of a file, stored apart: only a build reads them, ``validate`` needs entries.
QUESTIONS_KIND = "verdict-questions"


@dataclass(frozen=True)
class Entry:
    """What the rules across files need of one question: ids and texts (duplicates, near
    duplicates), level and categories (declared in bank.yaml), links (``see:``, ``related:``)."""

    id: str
    location: Location
    question: str
    #: The text folded for near-duplicate checks (``similarity.skeleton``).
    skeleton: str
    retired: bool
    level: tuple[str, Location]
    categories: tuple[tuple[str, Location], ...]
    #: ``(field, id it names, where)`` for every ``follow_ups[i].see`` and ``related[i]``.
    links: tuple[tuple[str, str, Location], ...]

    @classmethod
    def of(cls, question: Question, skeleton: str) -> Entry:
        def at(name: str) -> Location:
            return question.field_location(name)[0]

        links = [(f"follow_ups[{i}].see", f.see) for i, f in enumerate(question.follow_ups)]
        links += [(f"related[{i}]", target) for i, target in enumerate(question.related)]
        return cls(
            id=question.id,
            location=question.location,
            question=question.question,
            skeleton=skeleton,
            retired=question.retired,
            level=(question.level, at("level")),
            categories=tuple(
                (c, at(f"categories[{i}]")) for i, c in enumerate(question.categories)
            ),
            links=tuple((name, target, at(name)) for name, target in links if target is not None),
        )


@dataclass(frozen=True)
class FileVerdict:
    """What checking one file found. ``bank`` is set for a usable ``bank.yaml`` only, and
    holds no questions; ``entries`` index the questions of a question file that passed the
    schema, and ``questions`` are those questions, or None when they were not read."""

    problems: tuple[Problem, ...]
    entries: tuple[Entry, ...] = ()
    questions: tuple[Question, ...] | None = ()
    bank: Bank | None = None


def key(path: Path, root: Path, raw: bytes, media: str) -> dict[str, str]:
    """The inputs a verdict depends on, besides deckbuilder's code and libraries."""
    return {
        "file": Path(os.path.relpath(path, root)).as_posix(),
        "bytes": hashlib.sha256(raw).hexdigest(),
        "media": media,
    }


def dump(verdict: FileVerdict, path: Path) -> tuple[dict[str, Any], list[Any]] | None:
    """The JSON forms of a verdict and of its questions, or None when it names another file
    (it is then not kept)."""
    questions = verdict.questions or ()
    places = [p.location for p in verdict.problems] + [e.location for e in verdict.entries]
    if verdict.questions is None or any(at.path != path for at in places):
        return None
    bank = verdict.bank
    entry = {
        "problems": [
            [p.location.line, p.location.column, p.severity.value, p.rule, p.message]
            for p in verdict.problems
        ],
        "entries": [_dump_entry(e) for e in verdict.entries],
        "bank": None
        if bank is None
        else {
            "texts": [
                bank.title,
                bank.slug,
                bank.description,
                bank.version,
                bank.author,
                bank.license,
                bank.homepage,
            ],
            "levels": [[x.id, x.name, x.description] for x in bank.levels],
            "categories": [[x.id, x.name, x.description] for x in bank.categories],
        },
    }
    return entry, [_dump_question(q) for q in questions]


def load(entry: object, path: Path, root: Path) -> FileVerdict | None:
    """The verdict stored as ``entry`` for ``path`` (its questions not read), or None when it
    is not exactly one."""
    try:
        return _load(_of(dict, entry), path, root)
    except (KeyError, ValueError, TypeError):
        return None


def load_questions(stored: object, verdict: FileVerdict, path: Path) -> FileVerdict | None:
    """``verdict`` with the questions stored as ``stored``, or None when they are not exactly
    the questions its entries index."""
    try:
        questions = tuple(_load_question(_of(dict, item), path) for item in _list(stored))
    except (KeyError, ValueError, TypeError):
        return None
    if [q.id for q in questions] != [e.id for e in verdict.entries]:
        return None
    return replace(verdict, questions=questions)


def _dump_entry(e: Entry) -> list[Any]:
    return [
        e.id,
        _dump_at(e.location),
        e.question,
        e.skeleton,
        e.retired,
        [e.level[0], _dump_at(e.level[1])],
        [[name, _dump_at(at)] for name, at in e.categories],
        [[name, target, _dump_at(at)] for name, target, at in e.links],
    ]


def _dump_question(q: Question) -> dict[str, Any]:
    code = q.code
    return {
        "id": q.id,
        "texts": [q.question, q.level, q.answer, q.explanation],
        "categories": list(q.categories),
        "tags": list(q.tags),
        "code": None
        if code is None
        else [
            code.language,
            code.source,
            code.check,
            code.runnable,
            code.reason,
            _dump_at(code.source_location),
            _dump_at(code.check_location),
        ],
        "references": [[r.title, r.url] for r in q.references],
        "follow_ups": [[f.question, f.answer, f.see] for f in q.follow_ups],
        "pitfalls": list(q.pitfalls),
        "related": list(q.related),
        "at": _dump_at(q.location),
        "retired": q.retired,
        "fields": [[name, at.line, at.column, literal] for name, at, literal in q.field_locations],
    }


def _dump_at(location: Location | None) -> list[int] | None:
    return None if location is None else [location.line, location.column]


class _Malformed(ValueError):
    """A cached value of the wrong type."""


def _load(entry: dict[str, Any], path: Path, root: Path) -> FileVerdict:
    problems = []
    for item in _list(entry["problems"]):
        line, column, severity, rule, message = _list(item, 5)
        where = _at([line, column], path)
        problems.append(
            Problem(where, Severity(_of(str, severity)), _of(str, rule), _of(str, message))
        )
    entries = []
    for item in _list(entry["entries"]):
        id_, at, question, skeleton, retired, level, categories, links = _list(item, 8)
        level_id, level_at = _list(level, 2)
        entries.append(
            Entry(
                id=_of(str, id_),
                location=_at(at, path),
                question=_of(str, question),
                skeleton=_of(str, skeleton),
                retired=_of(bool, retired),
                level=(_of(str, level_id), _at(level_at, path)),
                categories=tuple(
                    (_of(str, name), _at(where, path))
                    for name, where in (_list(c, 2) for c in _list(categories))
                ),
                links=tuple(
                    (_of(str, name), _of(str, target), _at(where, path))
                    for name, target, where in (_list(link, 3) for link in _list(links))
                ),
            )
        )
    bank = None
    if entry["bank"] is not None:
        manifest = _of(dict, entry["bank"])
        title, slug, description, version, author, license_, homepage = _list(manifest["texts"], 7)
        bank = Bank(
            title=_of(str, title),
            slug=_of(str, slug),
            description=_of(str, description),
            version=_of(str, version),
            author=_of(str, author),
            license=_of(str, license_),
            homepage=_opt_str(homepage),
            levels=tuple(Level(*_strs(x, 3)) for x in _list(manifest["levels"])),
            categories=tuple(Category(*_strs(x, 3)) for x in _list(manifest["categories"])),
            questions=(),
            root=root,
        )
    return FileVerdict(tuple(problems), tuple(entries), None, bank)


def _load_question(q: dict[str, Any], path: Path) -> Question:
    question, level, answer, explanation = (_of(str, x) for x in _list(q["texts"], 4))
    code = None
    if q["code"] is not None:
        language, source, check, runnable, reason, source_at, check_at = _list(q["code"], 7)
        code = Code(
            language=_of(str, language),
            source=_of(str, source),
            check=_opt_str(check),
            runnable=_of(bool, runnable),
            reason=_opt_str(reason),
            source_location=None if source_at is None else _at(source_at, path),
            check_location=None if check_at is None else _at(check_at, path),
        )
    references = []
    for reference in _list(q["references"]):
        title, url = _list(reference, 2)
        references.append(Reference(_of(str, title), _of(str, url)))
    follow_ups = []
    for follow_up in _list(q["follow_ups"]):
        text, short, see = _list(follow_up, 3)
        follow_ups.append(FollowUp(_of(str, text), _opt_str(short), _opt_str(see)))
    places = []
    for field in _list(q["fields"]):
        name, line, column, literal = _list(field, 4)
        places.append((_of(str, name), _at([line, column], path), _of(bool, literal)))
    return Question(
        id=_of(str, q["id"]),
        question=question,
        level=level,
        categories=_strs(q["categories"]),
        tags=_strs(q["tags"]),
        answer=answer,
        explanation=explanation,
        code=code,
        references=tuple(references),
        follow_ups=tuple(follow_ups),
        pitfalls=_strs(q["pitfalls"]),
        related=_strs(q["related"]),
        location=_at(q["at"], path),
        retired=_of(bool, q["retired"]),
        field_locations=tuple(places),
    )


def _at(value: object, path: Path) -> Location:
    line, column = _list(value, 2)
    return Location(path, _int(line), _int(column))


def _of(kind: type[T], value: object) -> T:
    """``value`` if it is a ``kind`` (a bool is no int here), else the entry is malformed."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Malformed(kind.__name__)
    return value


def _list(value: object, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise _Malformed("a list")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _of(str, value)


def _strs(value: object, length: int | None = None) -> tuple[str, ...]:
    return tuple(_of(str, item) for item in _list(value, length))


def _int(value: object) -> int:
    """A line or column."""
    number = _of(int, value)
    if number < 0:
        raise _Malformed("a line or column")
    return number
