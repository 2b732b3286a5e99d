"""The identity family: what makes each question, level and category one of a kind.

Across files: ids and question texts are unique and no two texts are near-duplicates, levels
and categories are declared in bank.yaml, and ``see:``/``related:`` name active questions.
These run on every verdict's index entries (``verdicts.Entry``), so a warm ``validate`` needs
no file parsed. In bank.yaml: level and category ids are unique, and its texts are plain
text (they become deck names, headings and guide text). Released ids are ``releases``'.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from deckbuilder.contentcache import ContentCache
from deckbuilder.errors import Location, Problem, error, warning
from deckbuilder.model import Bank
from deckbuilder.rules.schema import field_name
from deckbuilder.verdicts import Entry

if TYPE_CHECKING:
    from deckbuilder.loader import Document, PathKey


def manifest_entries(
    document: Document, key: str, kind: type, problems: list[Problem]
) -> list[Any]:
    """bank.yaml's ``levels`` or ``categories`` as ``kind``, each id once (the later of two
    is a ``duplicate-id`` in ``problems``)."""
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


#: ``<`` that would open a tag in HTML or Markdown (``a < b`` stays fine).
_TAG_START = re.compile(r"<[A-Za-z/!?]")


def check_manifest_texts(manifest: Document) -> Iterator[Problem]:
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


def check_levels_and_categories(entries: list[Entry], manifest: Bank) -> Iterator[Problem]:
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


def _normalised(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def check_across_files(entries: list[Entry], cache: ContentCache) -> Iterator[Problem]:
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


def check_question_links(entries: list[Entry]) -> Iterator[Problem]:
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
