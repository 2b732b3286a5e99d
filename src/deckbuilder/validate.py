"""Schema + semantic rules -> every problem in every file, then a :class:`Bank`.

The JSON Schemas in ``deckbuilder/schema/`` are the one definition of the format; the rules
here cover what a schema cannot say (ids unique across files, levels declared in the
manifest, code that compiles, TeX that parses...). Nothing stops at the first problem:
all files are read and all rules run, then the caller fails once.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deckbuilder import verdicts
from deckbuilder.contentcache import ContentCache
from deckbuilder.errors import BankError, Location, Problem, Severity, error, warning
from deckbuilder.model import Bank, Category, Code, FollowUp, Level, Question, Reference
from deckbuilder.releases import check_released_ids
from deckbuilder.rules.schema import field_name
from deckbuilder.sources import media_digest, read_source, regular_file_problem
from deckbuilder.verdicts import Entry, FileVerdict

if TYPE_CHECKING:  # the heavy modules are imported where a file is checked, not from the cache
    from deckbuilder.loader import Document, PathKey

MANIFEST_NAME = "bank.yaml"
#: Longer first answers stop being what a candidate says in the first 20 seconds.
ANSWER_MAX_WORDS = 60
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
        problems.extend(_check_levels_and_categories(entries, manifest))
    problems.extend(_check_across_files(entries, cache))
    problems.extend(_check_question_links(entries))
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

    document, load_problems = parse_source(path, raw)
    problems.extend(load_problems)
    if document is None:
        return None, set()
    problems.extend(_comments_in_text(document))
    schema_errors, rejected = schema_problems(document, schema)
    problems.extend(schema_errors)
    if not schema_errors:
        return document, rejected
    data = document.data
    keep = (
        schema == "questions" and isinstance(data, dict) and isinstance(data.get("questions"), list)
    )
    return (document if keep else None), rejected


#: Fields holding prose, where a ``#`` is far more likely text than a comment.
_PROSE_FIELDS = {"question", "answer", "title", "follow_ups", "pitfalls", "description"}


def _comments_in_text(document: Document) -> Iterator[Problem]:
    for path, where in sorted(document.trailing_comments.items(), key=lambda item: item[1]):
        names = [part for part in path if isinstance(part, str)]
        if names and names[-1] in _PROSE_FIELDS:
            yield warning(
                where,
                "comment-in-text",
                f"{field_name(path)}: unquoted text followed by ' #' ends there, and the rest"
                " of the line is a YAML comment; put the whole text in quotes if '#' belongs"
                " to it",
            )


# --- building questions -----------------------------------------------------------------------


def _check_manifest(
    path: Path, raw: bytes, root: Path, _cache: ContentCache, _media: str
) -> FileVerdict:
    """``bank.yaml``: its problems, and the bank without questions when it is usable."""
    problems: list[Problem] = []
    manifest = _check_document(path, raw, "bank", problems)[0]
    if manifest is None or not isinstance(manifest.data, dict):
        return FileVerdict(tuple(problems))
    levels = _entries(manifest, "levels", Level, problems)
    categories = _entries(manifest, "categories", Category, problems)
    problems.extend(_check_manifest_texts(manifest))
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


#: ``<`` that would open a tag in HTML or Markdown (``a < b`` stays fine).
_TAG_START = re.compile(r"<[A-Za-z/!?]")


def _check_manifest_texts(manifest: Document) -> Iterator[Problem]:
    """bank.yaml's texts become deck names, page headings and guide text: plain text only.

    Warnings (``--strict`` in CI fails on them): every exporter already writes these texts as
    text, and leaves out a homepage that is not http(s).
    """
    data = manifest.data
    paths: list[PathKey] = [(key,) for key in ("title", "description", "author", "license")]
    for key in ("levels", "categories"):
        entries = data.get(key)
        if isinstance(entries, list):
            paths += [
                (key, i, field) for i in range(len(entries)) for field in ("name", "description")
            ]
    for path in paths:
        value: Any = data
        for part in path:
            value = (
                value.get(part)
                if isinstance(value, dict)
                else (
                    value[part]
                    if isinstance(value, list) and isinstance(part, int) and part < len(value)
                    else None
                )
            )
        if isinstance(value, str) and _TAG_START.search(value):
            yield warning(
                manifest.locate(path),
                "markup-in-text",
                f"{field_name(path)} holds an HTML tag; bank.yaml's texts are plain text"
                " (write '< ' with a space, or leave the tag out)",
            )
    homepage = data.get("homepage")
    if isinstance(homepage, str) and not re.match(r"^https?://[^\s/]+\.[^\s<>\"']+$", homepage):
        yield warning(
            manifest.locate(("homepage",)),
            "homepage-scheme",
            f"homepage {homepage!r} is not an http(s) URL; the exporters leave it out",
        )


def _entries(document: Document, key: str, kind: type, problems: list[Problem]) -> list[Any]:
    seen: dict[str, Location] = {}
    entries = []
    for index, raw in enumerate(document.data.get(key) or []):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            continue
        where = document.locate((key, index, "id"))
        if raw["id"] in seen:
            problems.append(
                error(
                    where,
                    "duplicate-id",
                    f"{key[:-1]} id {raw['id']!r} is declared twice"
                    f" (first at line {seen[raw['id']].line})",
                )
            )
            continue
        seen[raw["id"]] = where
        entries.append(
            kind(raw["id"], str(raw.get("name", raw["id"])), str(raw.get("description", "")))
        )
    return entries


def _check_questions_file(
    path: Path, raw: bytes, root: Path, cache: ContentCache, media: str
) -> FileVerdict:
    """Every rule that reads one question file alone, and the questions it holds."""
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
    budget = _ParseBudget()
    renderable = []
    for question in questions:
        found = list(_check_question(question, root, budget))
        if not any(p.rule == "markdown-complex" for p in found):
            renderable.append(question)  # else rendering costs what the budget refused
        problems.extend(found)
    problems.extend(_check_math(renderable, root, cache, media))
    entries = tuple(Entry.of(q, skeleton(q.question)) for q in questions)
    return FileVerdict(tuple(problems), entries, tuple(questions))


def _check_levels_and_categories(entries: list[Entry], manifest: Bank) -> Iterator[Problem]:
    """Each question's level and categories are declared in bank.yaml."""
    level_ids = [level.id for level in manifest.levels]
    category_ids = [c.id for c in manifest.categories]
    for entry in entries:
        level, at = entry.level
        if level_ids and level not in level_ids:
            yield _unknown(at, "unknown-level", level, level_ids)
        for category, at in entry.categories:
            if category_ids and category not in category_ids:
                yield _unknown(at, "unknown-category", category, category_ids)


def _unknown(at: Location, rule: str, value: str, known: list[str]) -> Problem:
    """``unknown-level``/``unknown-category``, with the closest declared id as a hint."""
    close = difflib.get_close_matches(value, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"declared in bank.yaml: {', '.join(known)}"
    what = rule.removeprefix("unknown-")
    return error(at, rule, f"unknown {what} {value!r}; {hint}")


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


# --- semantic rules ---------------------------------------------------------------------------


def _normalised(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _check_across_files(entries: list[Entry], cache: ContentCache) -> Iterator[Problem]:
    """Ids and question texts are unique, and no two texts are near-duplicates."""
    ids: dict[str, Entry] = {}
    texts: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in ids:
            first = ids[entry.id].location
            yield error(
                entry.location,
                "duplicate-id",
                f"question id {entry.id!r} is already used at {first.display()}",
            )
        else:
            ids[entry.id] = entry
        key = _normalised(entry.question)
        if key in texts:
            earlier = texts[key]
            yield error(
                entry.location,
                "duplicate-question",
                f"question text repeats question {earlier.id!r} at {earlier.location.display()}",
            )
        else:
            texts[key] = entry
    # Near-duplicates among the distinct active texts (a retired question may keep the text
    # its replacement improves on).
    distinct = [entry for entry in texts.values() if not entry.retired]
    for one, other, score in _near_duplicates([entry.skeleton for entry in distinct], cache):
        earlier, later = sorted((distinct[one], distinct[other]), key=lambda e: e.location)
        yield error(
            later.location,
            "duplicate-question",
            f"question text is {score}% like question {earlier.id!r} at"
            f" {earlier.location.display()} (confusable letters, case and punctuation"
            " ignored); merge the two or ask something different",
        )


def _near_duplicates(skeletons: list[str], cache: ContentCache) -> list[tuple[int, int, int]]:
    """``similarity.near_duplicates``, kept in the cache under the texts it compared: a warm
    run whose question texts did not change does not compare them again."""
    stored = cache.get_json("near-duplicates", skeletons)
    if isinstance(stored, list) and all(
        isinstance(pair, list)
        and len(pair) == 3
        and all(isinstance(n, int) for n in pair)
        and 0 <= pair[0] < pair[1] < len(skeletons)
        for pair in stored
    ):
        return [(one, other, score) for one, other, score in stored]
    from deckbuilder.similarity import near_duplicates

    pairs = near_duplicates(skeletons)
    cache.put_json("near-duplicates", skeletons, pairs)
    return pairs


def _check_question_links(entries: list[Entry]) -> Iterator[Problem]:
    """``see:`` and ``related:`` name questions that exist, are active and are not the same."""
    by_id = {entry.id: entry for entry in entries}
    for entry in entries:
        for name, target, where in entry.links:
            found = by_id.get(target)
            if found is None:
                close = difflib.get_close_matches(target, list(by_id), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                yield error(
                    where, "unknown-question", f"{name} names no question: {target!r}{hint}"
                )
            elif found.retired and not entry.retired:
                yield error(
                    where, "retired-question", f"{name} names the retired question {target!r}"
                )
            elif found.id == entry.id:
                yield error(where, "self-link", f"{name} names the question itself")


def _check_question(question: Question, root: Path, budget: _ParseBudget) -> Iterator[Problem]:
    yield from _check_markdown_fields(question, root, budget)
    yield from _check_references(question)
    yield from _check_code(question)
    answer_words = len(question.answer.split())
    answer_at = question.field_location("answer")[0]
    if answer_words > ANSWER_MAX_WORDS:
        yield warning(
            answer_at,
            "answer-too-long",
            f"answer has {answer_words} words; keep the first answer under"
            f" {ANSWER_MAX_WORDS} and move detail to the explanation",
        )
    if answer_words > len(question.explanation.split()):
        yield warning(
            answer_at,
            "answer-longer-than-explanation",
            "answer is longer than the explanation; the explanation should go deeper",
        )


def _check_markdown_fields(
    question: Question, root: Path, budget: _ParseBudget
) -> Iterator[Problem]:
    from deckbuilder.mdsource import parse as parse_markdown

    for name, text in question.markdown_fields():
        at = _field_position(question, name, text)
        too_complex = budget.spend(text, question.location.path)
        if too_complex:
            yield error(at(0), "markdown-complex", f"{name}: {too_complex}")
            continue
        parsed = parse_markdown(text)
        for fence in parsed.fences:
            if not fence.closed:
                yield error(
                    at(fence.offset),
                    "unclosed-fence",
                    f"{name}: code fence {fence.markup[:3]} is never closed",
                )
        for span in parsed.spans:
            if span.kind == "html":
                continue  # sanitised in the render stage, escaped in the guides
            shown = (
                text[span.dest_start : span.dest_end].strip("<>")
                if 0 <= span.dest_start < span.dest_end
                else span.href
            )
            yield from _check_link(
                question, root, at(max(span.start, 0)), span.kind == "image", span.href, shown
            )


#: What reading one field costs, in units of "characters x openers". markdown-it-py parses in
#: linear time, but Python-Markdown (the render stage) rescans the rest of a paragraph for
#: every ``[``, ``<``, ``\\(`` or ``\\[`` that opens nothing, and (ten times more cheaply) for
#: every unmatched ``$``, ``*``, ``_`` or ``~``: quadratic time on hostile text. The real
#: bank's largest field costs 0.46 million units and its largest file 1.9 million; the bounds
#: below are 10 and 25 times that, and a field, or the rest of a file, over them is refused
#: before it is parsed. Bounding each file (at most 2 MiB) keeps validation linear in the
#: bank's size (bench/pathological.py measures the worst case per file).
MAX_PARSE_COST_PER_FIELD = 5_000_000
MAX_PARSE_COST_PER_FILE = 50_000_000


def parse_cost(text: str) -> int:
    """The parse-cost units of one Markdown text (see :data:`MAX_PARSE_COST_PER_FIELD`)."""
    from deckbuilder.mdsource import count_openers

    heavy = count_openers(text) + text.count("\\(") + text.count("\\[")
    light = text.count("$") + text.count("*") + text.count("_") + text.count("~")
    return len(text) * (10 * heavy + light)


class _ParseBudget:
    """Refuses, before parsing, Markdown whose parse would cost more than the bounds above."""

    def __init__(self) -> None:
        self.spent: dict[Path, int] = {}

    def spend(self, text: str, file: Path) -> str | None:
        cost = parse_cost(text)
        if cost > MAX_PARSE_COST_PER_FIELD:
            return (
                f"too many '[', '<', '$', '*', '_' for {len(text)} characters of text"
                f" ({cost / 1e6:.1f} million parse units; at most"
                f" {MAX_PARSE_COST_PER_FIELD / 1e6:.0f} per field): split the text, or write"
                " literal brackets as \\[ and &lt;"
            )
        spent = self.spent.get(file, 0)
        if spent + cost > MAX_PARSE_COST_PER_FILE:
            return (
                f"this file's Markdown is over {MAX_PARSE_COST_PER_FILE / 1e6:.0f} million parse"
                " units; this field is not parsed (split the file)"
            )
        self.spent[file] = spent + cost
        return None


def _check_math(
    questions: Sequence[Question], root: Path, cache: ContentCache, media: str
) -> Iterator[Problem]:
    """Every formula as the render stage finds it (which also fills the render cache)."""
    from deckbuilder.render import iter_math, render_questions

    rendered_questions = render_questions(questions, root, cache, media)
    for question, rendered in zip(questions, rendered_questions, strict=True):
        for (name, text), fragment in zip(
            question.markdown_fields(), rendered.html_fields(), strict=True
        ):
            at = _field_position(question, name, text)
            for _kind, tex in iter_math(fragment):
                for rule, problem in _formula_problems(tex):
                    yield error(
                        at(max(text.find(tex), 0)), rule, f"{name}: TeX `{_clip(tex)}` {problem}"
                    )


def _field_position(question: Question, name: str, text: str) -> Callable[[int], Location]:
    """Where an offset inside a field is: its exact line for ``|`` blocks (lines map 1:1),
    the field's start otherwise."""
    start, literal = question.field_location(name)

    def at(offset: int) -> Location:
        if not literal:
            return start
        return Location(start.path, start.line + text.count("\n", 0, offset), start.column)

    return at


@functools.cache
def _formula_problems(tex: str) -> tuple[tuple[str, str], ...]:
    """:func:`_tex_problems`, once per distinct formula in a process. Across runs the file's
    verdict is what is kept: a formula is judged again only when its file changed."""
    return tuple(_tex_problems(tex))


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TEX_ERRORS = {
    "NoAvailableTokensError": "a command is missing an argument or a closing brace",
    "ExtraLeftOrMissingRightError": "\\left without a matching \\right",
    "MissingSuperScriptOrSubscriptError": "^ or _ without anything to attach",
    "DoubleSubscriptsError": "double subscript (write x_{ab} or {x_a}_b)",
    "DoubleSuperscriptsError": "double superscript (write x^{ab} or {x^a}^b)",
    "DenominatorNotFoundError": "\\frac needs a numerator and a denominator",
    "NumeratorNotFoundError": "\\frac needs a numerator and a denominator",
    "MissingEndError": "\\begin without \\end",
}


#: TeX commands that turn a formula into a link or inject styles/ids: Anki's MathJax and
#: the MathML converter would carry them into pages that run scripts.
_UNSAFE_TEX = re.compile(r"\\(href|url|style|class|cssId|html\w*|data|unicode)(?![A-Za-z])")
#: A command latex2mathml did not know stays as text (``<mi>\arg</mi>``): the HTML page and
#: the PDF (ziamath builds on latex2mathml) would print it literally.
_UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")


def _pdf_renderer_reads(tex: str) -> bool:
    """Whether ziamath's own TeX -> MathML step gives well-formed XML.

    latex2mathml un-escapes the text it copies (``\\text{a < b}`` -> ``<mtext>a < b``), and
    ziamath parses that string, so the PDF build would abort. Only formulas with ``<`` or
    ``&`` can go wrong, so only they pay for importing ziamath here.
    """
    from ziamath.tex import tex2mml

    try:
        ElementTree.fromstring(tex2mml(tex))
    except ElementTree.ParseError:
        return False
    return True


def _tex_problems(tex: str) -> Iterator[tuple[str, str]]:
    """``(rule, why)`` for TeX that is unsafe, unparsable, or that a renderer would misdraw."""
    import latex2mathml.converter

    from deckbuilder.texsupport import declare_operators

    unsafe = _UNSAFE_TEX.search(tex)
    if unsafe:
        yield "math-unsafe", f"uses \\{unsafe.group(1)}, which is not allowed in the bank"
        return
    try:
        declare_operators()  # the same names whether or not ziamath was imported
        mathml = latex2mathml.converter.convert(tex)
    except Exception as exc:  # latex2mathml raises a zoo of exception types for bad TeX
        name = type(exc).__name__
        if name in _TEX_ERRORS:
            why = _TEX_ERRORS[name]
        else:
            words = re.sub(r"(?<!^)([A-Z])", r" \1", name.removesuffix("Error")).lower()
            why = f"{words}{': ' + str(exc) if str(exc) else ''}"
        yield "math-syntax", f"does not parse: {why}"
        return
    if ("<" in tex or "&" in tex) and not _pdf_renderer_reads(tex):
        yield (
            "math-unsupported",
            "becomes MathML the PDF renderer cannot read (usually '<' or '&' inside \\text;"
            " write the symbol outside \\text, e.g. $a < b$ or \\langle/s\\rangle)",
        )
    for command in sorted(set(_UNKNOWN_COMMAND.findall(mathml))):
        yield (
            "math-unsupported",
            f"uses {command}, which the page and PDF renderers do not know"
            f" (write \\mathrm{{{command[1:]}}} or \\operatorname{{{command[1:]}}})",
        )
    if "\\operatorname*" in tex:
        yield "math-unsupported", "uses \\operatorname*, which the renderers draw as a stray '*'"
    yield from _undrawable(tex, mathml)


#: Commands after which ``\limits``/``\nolimits`` mean something (big operators, functions).
_LIMITS_BASE = re.compile(
    r"(\\(sum|prod|coprod|int|iint|iiint|oint|bigcup|bigcap|bigsqcup|bigvee|bigwedge|bigodot"
    r"|bigoplus|bigotimes|biguplus|lim|liminf|limsup|max|min|sup|inf|det|gcd|Pr|arg)"
    r"|\\(operatorname|mathop)\s*\{[^{}]*\})\s*$"
)
_LIMITS = re.compile(r"\\(no)?limits(?![A-Za-z])")
#: MathML elements with a fixed number of children (MathML Core, "Script and limit schemata",
#: "Fractions", "Radicals"); latex2mathml can emit them short (``\max\limits`` with no limits
#: gives an empty <munderover>) and ziamath asserts on the count.
_MATHML_ARITY = {
    "mfrac": 2, "mroot": 2, "msub": 2, "msup": 2, "msubsup": 3,
    "munder": 2, "mover": 2, "munderover": 3,
}  # fmt: skip
_TAG = re.compile(r"\\tag\b")


def _undrawable(tex: str, mathml: str) -> Iterator[tuple[str, str]]:
    """What latex2mathml reads but the PDF renderer (ziamath) cannot draw: it would crash."""
    if _TAG.search(tex):
        yield (
            "math-unsupported",
            "uses \\tag, which the PDF renderer cannot draw; number it in the text",
        )
    for match in _LIMITS.finditer(tex):
        if not _LIMITS_BASE.search(tex[: match.start()]):
            yield (
                "math-unsupported",
                f"uses {match.group(0)} after something that is not a big operator"
                " (\\sum, \\int, \\lim, \\operatorname{...})",
            )
            break
    try:
        tree = ElementTree.fromstring(mathml)
    except ElementTree.ParseError:
        return  # reported by _pdf_renderer_reads where it matters
    for element in tree.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in _MATHML_ARITY and len(element) != _MATHML_ARITY[tag]:
            yield (
                "math-unsupported",
                f"leaves a script, limit, fraction or root without its parts (<{tag}> with"
                f" {len(element)} of {_MATHML_ARITY[tag]} children), which the PDF renderer"
                " cannot draw; check every \\limits, ^, _, \\frac and \\sqrt has its arguments",
            )
            break
    for element in tree.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "mtext" and not element.text and not len(element):
            yield (
                "math-unsupported",
                "has an empty \\text{} (or \\mbox{}, \\textbf{}), which the PDF renderer"
                " cannot draw; leave it out",
            )
            break
    for element in tree.iter():
        if element.tag.rsplit("}", 1)[-1] == "mtable" and not len(element):
            yield (
                "math-unsupported",
                "has an empty matrix, array or cases environment, which the PDF renderer"
                " cannot draw",
            )
            break


def _check_link(
    question: Question, root: Path, where: Location, image: bool, target: str, shown: str
) -> Iterator[Problem]:
    """``target`` as CommonMark decoded it; ``shown`` as the author wrote it (for messages)."""
    from deckbuilder.media import unsafe_svg
    from deckbuilder.render import media_path, resolve_media

    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", target, re.I)
    if image:
        if scheme or target.startswith("//"):
            yield error(
                where,
                "remote-media",
                f"image {shown!r} must be a file inside questions/,"
                " not a URL (decks and PDFs must work offline)",
            )
        elif not media_path(question, target).is_relative_to(root.resolve()):
            yield error(
                where,
                "media-outside-bank",
                f"image {shown!r} points outside the bank folder; keep images inside it",
            )
        else:
            path = resolve_media(question, target, root)
            if path is None:
                yield error(where, "media-missing", f"image {shown!r} does not exist")
            else:
                for why in unsafe_svg(path):
                    yield error(where, "media-unsafe", f"image {shown!r}: {why}")
        return
    if target.startswith("#"):
        return
    if not scheme or scheme.group(1).lower() not in ("http", "https", "mailto"):
        yield error(where, "link-scheme", f"link {shown!r} must be an http(s) URL")


def _check_references(question: Question) -> Iterator[Problem]:
    for index, reference in enumerate(question.references):
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", reference.url):
            yield error(
                question.field_location(f"references[{index}]")[0],
                "link-scheme",
                f"references[{index}].url {reference.url!r} must be an http(s) URL",
            )


def _check_code(question: Question) -> Iterator[Problem]:
    code = question.code
    if code is None or code.language != "python":
        return
    for label, text, start in (
        ("source", code.source, code.source_location),
        ("check", code.check, code.check_location),
    ):
        if text is None or start is None:
            continue
        try:
            compile(text, f"{question.id}:{label}", "exec")
        except SyntaxError as exc:
            line = start.line + (exc.lineno or 1) - 1
            column = start.column + (exc.offset or 1) - 1
            yield error(
                Location(start.path, line, column),
                "code-syntax",
                f"code.{label} does not compile: {exc.msg}",
            )
    if code.runnable and code.check is None:
        yield warning(
            code.source_location or question.location,
            "code-without-check",
            "runnable Python code has no check script proving it right",
        )
