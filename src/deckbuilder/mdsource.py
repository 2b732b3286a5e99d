"""Reading question Markdown as source text (not rendering it).

:func:`parse` is the one CommonMark parse (markdown-it-py) that the validator's link, image,
HTML and fence rules and the Markdown guides' escaping read. :func:`blocks` is a plain
fence-aware line splitter kept for layout only: putting a blank line before lists for
Python-Markdown, and collapsing the blank lines the guide templates leave.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class Block:
    """A run of lines that is either prose or one fenced code block (fences included)."""

    text: str
    offset: int
    fenced: bool
    #: The fence's info string (language) for fenced blocks; "" when none was given.
    info: str = ""
    #: False for a fence that runs to the end of the text without a closing line.
    closed: bool = True


def blocks(text: str) -> Iterator[Block]:
    """Split Markdown into prose and fenced-code blocks, in order, covering all of ``text``."""
    offset = 0
    start = 0
    fence: tuple[str, int, str] | None = None  # marker, offset of the opening line, info
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line.rstrip("\r\n"))
        if fence is None and match:
            if offset > start:
                yield Block(text[start:offset], start, fenced=False)
            fence, start = (match.group(2), offset, match.group(3).strip()), offset
        elif fence is not None and match and _closes(fence[0], match):
            end = offset + len(line)
            yield Block(text[start:end], start, fenced=True, info=fence[2])
            fence, start = None, end
        offset += len(line)
    if offset > start:
        if fence is None:
            yield Block(text[start:], start, fenced=False)
        else:
            yield Block(text[start:], start, fenced=True, info=fence[2], closed=False)


def _closes(marker: str, match: re.Match[str]) -> bool:
    closing = match.group(2)
    return closing[0] == marker[0] and len(closing) >= len(marker) and not match.group(3).strip()


_LIST_START = re.compile(r"^ {0,3}(?:[-*+]|1[.)]) +\S")
_LIST_LINE = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)]) +\S")


def separate_lists(text: str) -> str:
    """Put a blank line before a list that directly follows a paragraph line.

    In CommonMark (GitHub, the Markdown guides) a bullet list, or an ordered list starting
    at 1, may interrupt a paragraph; Python-Markdown needs a blank line first and would
    otherwise print the items as running text with literal dashes. Code is left alone.
    """
    out = []
    for block in blocks(text):
        if block.fenced:
            out.append(block.text)
            continue
        lines = block.text.splitlines(keepends=True)
        fixed = []
        for index, line in enumerate(lines):
            previous = lines[index - 1] if index else ""
            if (
                _LIST_START.match(line)
                and previous.strip()
                and not _LIST_LINE.match(previous)
                and not previous.startswith((" ", "\t"))
            ):
                fixed.append("\n")
            fixed.append(line)
        out.append("".join(fixed))
    return "".join(out)


# --- the CommonMark parse -------------------------------------------------------------------
#
# Checks (validate) and transforms (the Markdown guides) read Markdown through one real
# CommonMark parser, markdown-it-py, instead of regular expressions: what it calls a link, an
# image, raw HTML or code is what GitHub and every other CommonMark renderer will. Its inline
# tokens carry no source positions, so the parser is given a few recording wrappers around its
# own inline rules; they note where each link, image, autolink and HTML tag starts and ends in
# the paragraph's text, which is then mapped back to an offset in the field.

#: The characters that can open a link, image, autolink or raw HTML.
OPENERS = "[<"


@dataclass(frozen=True)
class Span:
    """A link, image, autolink or raw HTML tag, where it stands in the field's text."""

    #: "link", "image", "autolink" or "html"
    kind: str
    #: Offsets in the field's text; -1 when the parse could not be mapped back.
    start: int
    end: int
    #: The destination as CommonMark decodes it (entities and escapes resolved); "" for html.
    href: str = ""
    #: Offsets of an inline destination ``(dest "title")`` in the field, for rewriting.
    dest_start: int = -1
    dest_end: int = -1
    #: The text a reader sees (the link text, the image's alt text).
    text: str = ""


@dataclass(frozen=True)
class Fence:
    """A fenced code block: its opening line, marker, info string and whether it closes."""

    offset: int
    line: int
    end_line: int
    markup: str
    info: str
    closed: bool


@dataclass(frozen=True)
class Parsed:
    """What CommonMark makes of one Markdown text."""

    text: str
    spans: tuple[Span, ...]
    fences: tuple[Fence, ...]
    #: ``(first line, line after the last)`` (0-based) of every raw HTML block.
    html_blocks: tuple[tuple[int, int], ...]
    #: ``(first line, line after the last)`` of every fenced or indented code block.
    code_blocks: tuple[tuple[int, int], ...]
    #: True when some inline construct could not be placed in the text (then the guides
    #: fall back to escaping everything, and validation still sees every destination).
    unplaced: bool


#: ``(rule, start, end, first token it made, the source it parsed)`` per recorded construct.
Recorded = tuple[str, int, int, "Token | None", str]


def _recording(name: str, rule: Callable[[StateInline, bool], bool]) -> Any:
    def recorded(state: StateInline, silent: bool) -> bool:
        start = state.pos
        found = len(state.tokens)
        if not rule(state, silent):
            return False
        if not silent:
            # Later core rules merge text tokens (indices shift) but keep these objects.
            made = state.tokens[found:]
            opening = next((t for t in made if t.type in ("link_open", "image")), None)
            log = state.env.setdefault("_deckbuilder_spans", {})
            log.setdefault(id(state.src), []).append((name, start, state.pos, opening, state.src))
        return True

    return recorded


@cache
def commonmark() -> MarkdownIt:
    """CommonMark with GitHub's tables and strikethrough, every link kept for the checks.

    markdown-it drops links whose scheme it deems unsafe (``javascript:``) and leaves them as
    text; here every link stays a link, so the rules see it and decide.
    """
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    for name in ("link", "image", "autolink", "html_inline"):
        rules = md.inline.ruler.__rules__
        index = md.inline.ruler.__find__(name)
        rules[index].fn = _recording(name, rules[index].fn)
    md.inline.ruler.__compile__()
    return md


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _placer(text: str, starts: list[int], token: Token) -> Callable[[int], int] | None:
    """Map offsets in an inline token's content back to offsets in ``text``."""
    if token.map is None:
        return None
    first, last = token.map
    pieces: list[tuple[int, int]] = []  # (content offset, text offset) per content line
    content_offset = 0
    cursor = starts[first] if first < len(starts) else len(text)
    for index, piece in enumerate(token.content.split("\n")):
        line_number = first + index
        if line_number >= len(starts):
            return None
        line_start = starts[line_number]
        line_end = starts[line_number + 1] - 1 if line_number + 1 < len(starts) else len(text)
        line = text[line_start:line_end].rstrip("\r")
        if line.endswith(piece) and line_start + len(line) - len(piece) >= cursor:
            found = line_start + len(line) - len(piece)
        elif (
            line.rstrip().endswith(piece) and line_start + len(line.rstrip()) - len(piece) >= cursor
        ):
            found = line_start + len(line.rstrip()) - len(piece)
        else:
            found = text.find(piece, max(cursor, line_start), line_end + 1) if piece else line_start
            if found < 0 or line_number >= max(last, first + 1):
                return None
        pieces.append((content_offset, found))
        content_offset += len(piece) + 1
        cursor = found + len(piece)

    def place(offset: int) -> int:
        for content_start, text_start in reversed(pieces):
            if offset >= content_start:
                return text_start + offset - content_start
        return pieces[0][1] + offset

    return place


def _plain(tokens: list[Token]) -> str:
    return "".join(t.content for t in tokens if t.type in ("text", "code_inline", "image"))


def parse(text: str) -> Parsed:
    """Parse ``text`` as CommonMark and collect what the checks and the guides need."""
    env: dict[str, Any] = {}
    tokens = commonmark().parse(text, env)
    log: dict[int, list[Recorded]] = env.get("_deckbuilder_spans", {})
    starts = _line_starts(text)
    spans: list[Span] = []
    fences: list[Fence] = []
    html_blocks: list[tuple[int, int]] = []
    code_blocks: list[tuple[int, int]] = []
    unplaced = False
    for token in tokens:
        if token.type == "fence" and token.map:
            first, last = token.map
            fences.append(
                Fence(
                    starts[first] if first < len(starts) else len(text),
                    first,
                    last,
                    token.markup,
                    token.info.strip(),
                    _fence_closes(text, starts, token),
                )
            )
            code_blocks.append((first, last))
        elif token.type == "code_block" and token.map:
            code_blocks.append((token.map[0], token.map[1]))
        elif token.type == "html_block" and token.map:
            html_blocks.append((token.map[0], token.map[1]))
        elif token.type == "inline" and token.children is not None:
            recorded = [r for r in log.get(id(token.content), []) if r[4] is token.content]
            place = _placer(text, starts, token) if recorded else None
            if recorded and place is None:
                unplaced = True
            spans.extend(_spans(token, recorded, place))
    return Parsed(
        text, tuple(spans), tuple(fences), tuple(html_blocks), tuple(code_blocks), unplaced
    )


def _spans(
    token: Token, recorded: list[Recorded], place: Callable[[int], int] | None
) -> Iterator[Span]:
    children = token.children or []
    source = token.content

    def at(offset: int) -> int:
        return place(offset) if place is not None else -1

    for name, start, end, opening, _src in recorded:
        if name == "html_inline":
            yield Span("html", at(start), at(end))
            continue
        if opening is None:
            continue
        first_token = next((i for i, child in enumerate(children) if child is opening), -1)
        href = str(opening.attrGet("href") or opening.attrGet("src") or "")
        if name == "image":
            text = opening.content
        else:
            closing = _closing(children, first_token)
            text = _plain(children[first_token + 1 : closing]) if first_token >= 0 else ""
        dest_start = dest_end = -1
        if name in ("link", "image"):
            dest = _inline_destination(source, start, end, name == "image")
            if dest is not None:
                dest_start, dest_end = at(dest[0]), at(dest[1])
        kind = "autolink" if name == "autolink" else name
        yield Span(kind, at(start), at(end), href, dest_start, dest_end, text)


def _closing(children: list[Token], opening: int) -> int:
    depth = 0
    for index in range(opening, len(children)):
        if children[index].type == "link_open":
            depth += 1
        elif children[index].type == "link_close":
            depth -= 1
            if depth == 0:
                return index
    return len(children)


def _inline_destination(source: str, start: int, end: int, image: bool) -> tuple[int, int] | None:
    """Offsets of ``dest`` in ``[label](dest "title")``, or None for a reference link.

    The label's end is found the way the link rule found it: the ``](`` or ``][`` right
    before the part that ends the construct is recognised from the end, which CommonMark
    made unambiguous (the construct ends at ``end``).
    """
    if source[end - 1] != ")":
        return None
    md = commonmark()
    state = StateInline(source, md, {}, [])
    label_end = md.helpers.parseLinkLabel(state, start + 1 if image else start, not image)
    if label_end < 0 or label_end + 1 >= end or source[label_end + 1] != "(":
        return None
    pos = label_end + 2
    while pos < end and source[pos] in " \t\n":
        pos += 1
    result = md.helpers.parseLinkDestination(source, pos, end)
    if not result.ok:
        return None
    return pos, result.pos


_CLOSING_FENCE = re.compile(r"^[ >\t]*(`{3,}|~{3,})[ \t]*$")


def _fence_closes(text: str, starts: list[int], token: Token) -> bool:
    assert token.map is not None
    first, last = token.map
    if last - 1 <= first or last - 1 >= len(starts):
        return False
    line_start = starts[last - 1]
    line_end = starts[last] - 1 if last < len(starts) else len(text)
    match = _CLOSING_FENCE.match(text[line_start:line_end].rstrip("\r"))
    return bool(
        match and match.group(1)[0] == token.markup[0] and len(match.group(1)) >= len(token.markup)
    )


def count_openers(text: str) -> int:
    """How many characters could open a link, image, autolink or tag: what parsing costs."""
    return sum(text.count(char) for char in OPENERS)
