"""The stages before export, in order: load -> check -> render; every problem, then a Bank.

Each file is loaded (``loader``) and checked against its JSON Schema (``rules.schema``, the
one definition of the format), its questions are built, the rules that read one question
run (``rules.markdown``, ``rules.media``, ``rules.code``, ``rules.writing``), and the render
stage renders them and reports what it cannot finish (``render.render_problems``, with the
math rules). That file's verdict is kept (``verdicts``). The rules across files
(``rules.identity``, ``releases``) then run on all verdicts' index entries. Nothing stops at
the first problem: all files are read and all rules run, then the caller fails once.
Nothing is written but the content cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deckbuilder import verdicts
from deckbuilder.contentcache import ContentCache
from deckbuilder.errors import BankError, Location, Problem, Severity, error, warning
from deckbuilder.model import Bank, Category, Code, FollowUp, Level, Question, Reference
from deckbuilder.releases import check_released_ids
from deckbuilder.rules import identity
from deckbuilder.sources import media_digest, read_source, regular_file_problem
from deckbuilder.verdicts import Entry, FileVerdict

if TYPE_CHECKING:  # the heavy modules are imported where a file is checked, not from the cache
    from deckbuilder.loader import Document, PathKey

MANIFEST_NAME = "bank.yaml"
_MARKDOWN_FIELDS = ("question", "answer", "explanation")


@dataclass(frozen=True)
class ValidationResult:
    #: The bank, when it has no errors (and was asked for: see :func:`check_bank`).
    bank: Bank | None
    problems: tuple[Problem, ...]
    #: Questions in the bank when it has no errors, else 0.
    questions: int = 0
    #: Files judged in this run, and files whose verdict came from the cache.
    files_checked: int = 0
    files_cached: int = 0

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors or (strict and self.warnings))


#: File name endings read as question files (exactly these, in lower case).
QUESTION_SUFFIXES = (".yaml", ".yml")


def question_files(root: Path) -> list[Path]:
    """Every question file below ``root`` in a stable order (the manifest excluded)."""
    return scan_bank(root)[0]


def scan_bank(root: Path) -> tuple[list[Path], list[Problem]]:
    """The question files below ``root``, and a problem for each one that cannot be read.

    The folder is walked without following symbolic links to folders; every ``*.yaml`` entry
    is checked with ``lstat`` first (see :func:`regular_file_problem`), and a name whose
    ending is only a misspelling of ``.yaml`` (``.YAML``, ``.Yml``) is warned about: it would
    otherwise be skipped without a word.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    if not root.is_dir():
        return files, problems
    manifest = root / MANIFEST_NAME
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        base = Path(folder)
        for name in sorted([*names, *dirs]):
            path = base / name
            suffix = path.suffix
            if suffix in QUESTION_SUFFIXES:
                if path == manifest:
                    continue
                refused = regular_file_problem(path, root)
                if refused is None:
                    files.append(path)
                else:
                    problems.append(refused)
            elif suffix.lower() in QUESTION_SUFFIXES or name.lower().endswith(".yaml.txt"):
                problems.append(
                    warning(
                        Location(path),
                        "skipped-file",
                        f"{name} is not read: only files ending in lower-case .yaml are"
                        " question files; rename it",
                    )
                )
    return sorted(files), problems


def validate_bank(root: Path, cache: ContentCache | None = None) -> ValidationResult:
    """Read and check the whole bank below ``root``; never raises for bad input.

    Each file is judged on its own first, and its verdict kept in ``cache`` (see
    ``verdicts``): a file whose bytes, images, deckbuilder's code and libraries did not
    change is not parsed again. The rules across files then run on the verdicts' entries.
    Math is checked on the render stage's output (what the exporters will see); the build's
    ``cache`` lets the build reuse those renderings instead of rendering again.
    """
    return _validate(root, cache, with_questions=True)


def check_bank(root: Path, cache: ContentCache | None = None) -> ValidationResult:
    """:func:`validate_bank` without building the :class:`Bank` (``result.bank`` is None):
    what ``deckbuilder validate`` needs, and all a warm run reads is the verdicts' entries."""
    return _validate(root, cache, with_questions=False)


def _validate(root: Path, cache: ContentCache | None, with_questions: bool) -> ValidationResult:
    cache = cache if cache is not None else ContentCache(None)
    problems: list[Problem] = []
    counts = {"checked": 0, "cached": 0}

    def judge(path: Path, media: str, check: _FileCheck) -> FileVerdict:
        verdict, fresh = _file_verdict(path, root, cache, media, check, with_questions)
        counts["checked" if fresh else "cached"] += 1
        problems.extend(verdict.problems)
        return verdict

    manifest_path = root / MANIFEST_NAME
    manifest = None
    if not os.path.lexists(manifest_path):
        problems.append(
            error(Location(manifest_path), "missing-manifest", f"no {MANIFEST_NAME} in {root}")
        )
    else:
        manifest = judge(manifest_path, "", _check_manifest).bank
    files, file_problems = scan_bank(root)
    problems.extend(file_problems)
    if not files and not any(p.severity is Severity.ERROR for p in file_problems):
        problems.append(error(Location(root), "empty-bank", "no question files (*.yaml) found"))
    media = media_digest(root) if files else ""
    entries: list[Entry] = []
    questions: list[Question] = []
    for path in files:
        verdict = judge(path, media, _check_questions_file)
        entries.extend(verdict.entries)
        questions.extend(verdict.questions or ())

    if manifest is not None:
        problems.extend(identity.check_levels_and_categories(entries, manifest))
    problems.extend(identity.check_across_files(entries, cache))
    problems.extend(identity.check_question_links(entries))
    files_checked, files_cached = counts["checked"], counts["cached"]
    failed = any(p.severity is Severity.ERROR for p in problems)
    if not failed and manifest is not None:
        problems.extend(check_released_ids(root, {e.id for e in entries}))
        failed = any(p.severity is Severity.ERROR for p in problems)
    if failed or manifest is None:
        return ValidationResult(None, tuple(_sorted(problems)), 0, files_checked, files_cached)
    bank = None
    if with_questions:
        order = {level.id: i for i, level in enumerate(manifest.levels)}
        # Retired questions go last, so the numbers learners see stay dense.
        ordered = sorted(
            enumerate(questions), key=lambda iq: (iq[1].retired, order[iq[1].level], iq[0])
        )
        numbered = tuple(replace(q, number=n) for n, (_, q) in enumerate(ordered, start=1))
        bank = replace(manifest, questions=numbered)
    return ValidationResult(
        bank, tuple(_sorted(problems)), len(entries), files_checked, files_cached
    )


#: ``check(path, its bytes, bank root, content cache, media digest)``: one file's verdict.
_FileCheck = Callable[[Path, bytes, Path, ContentCache, str], FileVerdict]


def _file_verdict(
    path: Path,
    root: Path,
    cache: ContentCache,
    media: str,
    check: _FileCheck,
    with_questions: bool,
) -> tuple[FileVerdict, bool]:
    """The verdict on one file (with its questions if asked), from the cache when it holds
    it; and whether it was computed now."""
    raw = read_source(path, root)
    if isinstance(raw, Problem):
        return FileVerdict((raw,)), True
    inputs = verdicts.key(path, root, raw, media)
    found = verdicts.load(cache.get_json(verdicts.KIND, inputs), path, root)
    if found is not None and with_questions:
        stored = cache.get_json(verdicts.QUESTIONS_KIND, inputs)
        found = verdicts.load_questions(stored, found, path)
    if found is not None:
        return found, False
    verdict = check(path, raw, root, cache, media)
    forms = verdicts.dump(verdict, path)
    if forms is not None:
        cache.put_json(verdicts.KIND, inputs, forms[0])
        cache.put_json(verdicts.QUESTIONS_KIND, inputs, forms[1])
    return verdict, True


def load_valid_bank(
    root: Path, strict: bool = False, cache: ContentCache | None = None
) -> tuple[Bank, tuple[Problem, ...]]:
    """The bank, or :class:`BankError` with every problem; also returns the warnings."""
    result = validate_bank(root, cache)
    if result.failed(strict) or result.bank is None:
        raise BankError(result.problems)
    return result.bank, result.warnings


def _sorted(problems: Iterable[Problem]) -> list[Problem]:
    """File, line, column order; a problem two schema keywords found is listed once."""
    return sorted(set(problems), key=lambda p: (p.location, p.rule, p.message))


# --- schema -------------------------------------------------------------------------------


def _check_document(
    path: Path, raw: bytes, schema: str, problems: list[Problem]
) -> tuple[Document | None, set[int]]:
    """The document if it can be used, and the indices of its questions the schema rejects.

    A question file whose errors lie inside single questions is kept: its other questions
    are still checked.
    """
    from deckbuilder.loader import parse_source
    from deckbuilder.rules.schema import schema_problems
    from deckbuilder.rules.writing import comments_in_text

    document, load_problems = parse_source(path, raw)
    problems.extend(load_problems)
    if document is None:
        return None, set()
    problems.extend(comments_in_text(document))
    schema_errors, rejected = schema_problems(document, schema)
    problems.extend(schema_errors)
    if not schema_errors:
        return document, rejected
    data = document.data
    keep = (
        schema == "questions" and isinstance(data, dict) and isinstance(data.get("questions"), list)
    )
    return (document if keep else None), rejected


# --- building questions -----------------------------------------------------------------------


def _check_manifest(
    path: Path, raw: bytes, root: Path, _cache: ContentCache, _media: str
) -> FileVerdict:
    """``bank.yaml``: its problems, and the bank without questions when it is usable."""
    problems: list[Problem] = []
    manifest = _check_document(path, raw, "bank", problems)[0]
    if manifest is None or not isinstance(manifest.data, dict):
        return FileVerdict(tuple(problems))
    levels = identity.manifest_entries(manifest, "levels", Level, problems)
    categories = identity.manifest_entries(manifest, "categories", Category, problems)
    problems.extend(identity.check_manifest_texts(manifest))
    data = manifest.data
    bank = Bank(
        title=data["title"],
        slug=data["slug"],
        description=data["description"],
        version=data["version"],
        author=data["author"],
        license=data["license"],
        homepage=data.get("homepage"),
        levels=tuple(levels),
        categories=tuple(categories),
        questions=(),
        root=root,
    )
    return FileVerdict(tuple(problems), bank=bank)


def _check_questions_file(
    path: Path, raw: bytes, root: Path, cache: ContentCache, media: str
) -> FileVerdict:
    """One question file through the stages, in order: load (with the schema), the rules
    that read one question, then the render stage, which reports what it cannot finish."""
    from deckbuilder.render import render_problems, render_questions
    from deckbuilder.rules.code import check_code
    from deckbuilder.rules.markdown import ParseBudget, check_markdown_fields, check_references
    from deckbuilder.rules.writing import check_answer
    from deckbuilder.similarity import skeleton

    problems: list[Problem] = []
    document, rejected = _check_document(path, raw, "questions", problems)
    if document is None:
        return FileVerdict(tuple(problems))
    questions = [
        _question(document, ("questions", index), item)
        for index, item in enumerate(document.data["questions"])
        if index not in rejected  # its schema errors are already reported
    ]
    budget = ParseBudget()
    renderable = []
    for question in questions:
        found = [
            *check_markdown_fields(question, root, budget),
            *check_references(question),
            *check_code(question),
            *check_answer(question),
        ]
        if not any(p.rule == "markdown-complex" for p in found):
            renderable.append(question)  # else rendering costs what the budget refused
        problems.extend(found)
    problems.extend(render_problems(render_questions(renderable, root, cache, media)))
    entries = tuple(Entry.of(q, skeleton(q.question)) for q in questions)
    return FileVerdict(tuple(problems), entries, tuple(questions))


def _question(document: Document, base: PathKey, raw: dict[str, Any]) -> Question:
    code = None
    if "code" in raw:
        c = raw["code"]
        code = Code(
            language=c["language"],
            source=c["source"],
            check=c.get("check"),
            runnable=c.get("runnable", True),
            reason=c.get("reason"),
            source_location=_text_start(document, (*base, "code", "source")),
            check_location=_text_start(document, (*base, "code", "check"))
            if "check" in c
            else None,
        )
    return Question(
        id=raw["id"],
        question=raw["question"],
        level=raw["level"],
        categories=tuple(raw["categories"]),
        tags=tuple(raw.get("tags", ())),
        answer=raw["answer"],
        explanation=raw["explanation"],
        code=code,
        references=tuple(Reference(r["title"], r["url"]) for r in raw.get("references", ())),
        follow_ups=tuple(_follow_up(item) for item in raw.get("follow_ups", ())),
        pitfalls=tuple(raw.get("pitfalls", ())),
        related=tuple(raw.get("related", ())),
        retired=raw.get("retired", False),
        location=document.locate(base),
        field_locations=_field_locations(document, base, raw),
    )


def _follow_up(raw: str | dict[str, str]) -> FollowUp:
    if isinstance(raw, str):
        return FollowUp(raw)
    return FollowUp(raw["question"], raw.get("answer"), raw.get("see"))


def _text_start(document: Document, path: PathKey) -> Location:
    """Where line 1 of a text value is: the first content line of a block scalar."""
    return document.block_starts.get(path) or document.locate(path)


def _field_locations(
    document: Document, base: PathKey, raw: dict[str, Any]
) -> tuple[tuple[str, Location, bool], ...]:
    """Where each Markdown field and reference of a question starts (see ``Question``)."""
    names: list[tuple[str, PathKey]] = [(name, (*base, name)) for name in _MARKDOWN_FIELDS]
    for i, item in enumerate(raw.get("follow_ups", ())):
        at: PathKey = (*base, "follow_ups", i)
        if isinstance(item, dict):
            names += [(f"follow_ups[{i}]", (*at, "question"))]
            names += [(f"follow_ups[{i}].answer", (*at, "answer"))] if "answer" in item else []
        else:
            names += [(f"follow_ups[{i}]", at)]
    names += [
        (f"pitfalls[{i}]", (*base, "pitfalls", i)) for i in range(len(raw.get("pitfalls", ())))
    ]
    names += [
        (f"references[{i}]", (*base, "references", i, "url"))
        for i in range(len(raw.get("references", ())))
    ]
    names += [
        (f"follow_ups[{i}].see", (*base, "follow_ups", i, "see"))
        for i, item in enumerate(raw.get("follow_ups", ()))
        if isinstance(item, dict) and "see" in item
    ]
    names += [(f"related[{i}]", (*base, "related", i)) for i in range(len(raw.get("related", ())))]
    # Level and categories point at their value as written (for unknown-level/-category).
    values = [("level", (*base, "level"))]
    values += [
        (f"categories[{i}]", (*base, "categories", i)) for i in range(len(raw["categories"]))
    ]
    return (
        *(
            (name, _text_start(document, path), document.is_literal_block(path))
            for name, path in names
        ),
        *((name, document.locate(path), False) for name, path in values),
    )
