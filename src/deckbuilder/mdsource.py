"""Reading question Markdown as source text (not rendering it).

The validator needs to find an unclosed fence; the Markdown exporter needs to leave code
alone while it neutralises raw HTML and tags fences with a language. Both walk the same
CommonMark fence rules, so they share this one scanner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
#: ``<`` that would open an HTML tag, comment or declaration in CommonMark.
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")


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


def neutralise_html(prose: str) -> str:
    """Escape every ``<`` that would start raw HTML, leaving inline code spans untouched."""
    pieces = []
    last = 0
    for span in _CODE_SPAN.finditer(prose):
        pieces.append(_HTML_START.sub("&lt;", prose[last : span.start()]))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(_HTML_START.sub("&lt;", prose[last:]))
    return "".join(pieces)


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
