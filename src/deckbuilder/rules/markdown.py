"""The Markdown and links family, read on markdown-it-py's CommonMark tokens.

Fences that swallow the rest of a field, links that are not http(s), mailto or #anchors, and
Markdown whose parse would cost more than the bounds below (refused before any parser runs).
Image links go to the media family.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from deckbuilder.errors import Location, Problem, error
from deckbuilder.mdsource import count_openers, parse
from deckbuilder.model import Question
from deckbuilder.rules.media import check_image


def check_markdown_fields(question: Question, root: Path, budget: ParseBudget) -> Iterator[Problem]:
    """Fences, links and images of every Markdown field, each within the parse budget."""
    for name, text in question.markdown_fields():
        at = partial(question.locate, name, text)
        too_complex = budget.spend(text, question.location.path)
        if too_complex:
            yield error(at(0), "markdown-complex", f"{name}: {too_complex}")
            continue
        parsed = parse(text)
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
    heavy = count_openers(text) + text.count("\\(") + text.count("\\[")
    light = text.count("$") + text.count("*") + text.count("_") + text.count("~")
    return len(text) * (10 * heavy + light)


class ParseBudget:
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


def _check_link(
    question: Question, root: Path, where: Location, image: bool, target: str, shown: str
) -> Iterator[Problem]:
    """``target`` as CommonMark decoded it; ``shown`` as the author wrote it (for messages)."""
    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", target, re.I)
    if image:
        yield from check_image(question, root, where, target, shown)
        return
    if target.startswith("#"):
        return
    if not scheme or scheme.group(1).lower() not in ("http", "https", "mailto"):
        yield error(where, "link-scheme", f"link {shown!r} must be an http(s) URL")


def check_references(question: Question) -> Iterator[Problem]:
    """Every reference's url is an http(s) URL."""
    for index, reference in enumerate(question.references):
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", reference.url):
            yield error(
                question.field_location(f"references[{index}]")[0],
                "link-scheme",
                f"references[{index}].url {reference.url!r} must be an http(s) URL",
            )
