"""Smaller markup for the study page that draws exactly the same.

The page carries the whole bank in one file, and most of its bytes were markup, not text:
a ``<span>`` around every name and comma of the code, ``<mrow>`` around single symbols,
indentation from the template. Each step here removes only what the rules of HTML, CSS or
MathML Core guarantee has no effect on what is drawn, what is selected, or what a screen
reader reads:

- :func:`compact_code`: Pygments spans whose class gives their text no look of its own
  in either of the page's code styles (it is drawn in the block's own colour), and spans
  around whitespace that only set a colour, give way to their text; neighbouring spans of
  one class merge. The other exporters keep Pygments' full output (the PDF and Anki use
  other styles), so this is a page step, like MathML.
- :func:`defer_code_colours`: a block's code arrives as plain text, its colours as a short
  list of runs that the page's script turns into spans when the card first opens (or the
  page is printed). A span per token was the biggest share of the page's markup; without
  scripts the code reads the same, uncoloured.
- :func:`compact_mathml`: ``display="inline"`` (the default), an ``<mrow>`` that is the
  ``<math>`` element's only child (``<math>`` lays out its children as a row anyway), and an
  ``<mrow>`` around a single token other than ``<mo>`` (a row of one token is that token;
  a row does change an operator's form and spacing, so ``<mo>`` keeps its row).
- :func:`compact_markup`: runs of whitespace with a line break outside ``<pre>``,
  ``<textarea>``, ``<script>`` and ``<style>`` become one line break: HTML collapses them
  to one space anyway, and the page sets no ``white-space: pre*`` outside code blocks.
  Between two tags of elements that are blocks, list items or table parts it goes: no box
  draws whitespace there (the page makes none of these elements inline).
  Attribute values made only of letters, digits and ``#-_.:`` lose their quotes, which
  HTML does not need for them (``class=o``).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from functools import cache

from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Text, _TokenType

#: A highlighted block as Pygments writes it: flat spans inside ``<pre>``, text escaped.
_CODE_BLOCK = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre></div>)', re.S)
_SPAN = re.compile(r'<span class="([^"]*)">([^<]*)</span>|<span></span>')
_CODE = re.compile(r"<code>(.*?)</code>", re.S)
#: Blocks whose whitespace is drawn as written, or is not HTML at all.
_VERBATIM = re.compile(r"(<(pre|textarea|script|style)\b.*?</\2>)", re.S | re.I)
_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_BLANK_RUN = re.compile(r"[ \t\r\n]*\n[ \t\r\n]*")
_BLOCK_TAG = re.compile(
    r"</?(?:article|section|main|header|footer|div|p|ul|ol|li|h[1-6]|table|thead|tbody|tfoot"
    r"|tr|td|th|fieldset|legend|dl|dt|dd|dialog|form)\b[^>]*>",
    re.I,
)
_QUOTED = re.compile(r'(\s[a-zA-Z-]+)="([a-zA-Z0-9#_.:-]+)"')

#: MathML token elements besides ``<mo>``: a row holding only one of them is that token.
_TOKENS = frozenset({"mi", "mn", "mtext", "ms", "mspace"})


@cache
def _looks(style_name: str) -> dict[str, tuple[object, ...]]:
    """Each Pygments class's look in a style, as (colour, background, bold, italic,
    underline, border); a class the style leaves alone looks like the style's plain text."""
    style = get_style_by_name(style_name)

    def look(token: _TokenType) -> tuple[object, ...]:
        found = style.style_for_token(token)
        return tuple(
            found[key] for key in ("color", "bgcolor", "bold", "italic", "underline", "border")
        )

    return {short: look(token) for token, short in STANDARD_TYPES.items()} | {"": look(Text)}


@cache
def _classes(styles: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(classes drawn as plain text in every style, classes that paint only glyphs)."""
    plain = set(STANDARD_TYPES.values())
    glyphs_only = set(STANDARD_TYPES.values())
    for name in styles:
        looks = _looks(name)
        text = looks[""]
        plain &= {short for short, look in looks.items() if look == text}
        # Colour, weight and slant change nothing on a space; a background, an underline
        # or a border would.
        glyphs_only &= {
            short for short, look in looks.items() if not any(look[i] for i in (1, 4, 5))
        }
    return frozenset(plain), frozenset(glyphs_only)


def compact_code(fragment: str, styles: tuple[str, ...]) -> str:
    """Every highlighted block of ``fragment`` with the spans ``styles`` draw as plain text
    unwrapped (see the module's docstring); the text of the code is unchanged."""
    plain, glyphs_only = _classes(styles)

    def block(match: re.Match[str]) -> str:
        pieces: list[tuple[str, str]] = []  # (class or "" for bare text, escaped text)
        at = 0
        body = match.group(2)
        for span in _SPAN.finditer(body):
            if span.start() > at:
                pieces.append(("", body[at : span.start()]))
            at = span.end()
            names, text = span.group(1) or "", span.group(2) or ""
            if not text:
                continue
            classes = set(names.split())
            if classes <= plain or (not text.strip() and classes <= glyphs_only):
                names = ""
            if pieces and pieces[-1][0] == names:
                pieces[-1] = (names, pieces[-1][1] + text)
            else:
                pieces.append((names, text))
        if at < len(body):
            pieces.append(("", body[at:]))
        out = "".join(f'<span class="{c}">{t}</span>' if c else t for c, t in pieces)
        return match.group(1) + out + match.group(3)

    return _CODE_BLOCK.sub(block, fragment)


def defer_code_colours(fragment: str) -> str:
    """Every highlighted block's ``<code>`` as plain text with ``data-c``: its runs, each
    ``<length><class>`` (``4k``; classes joined by ``.``) or a bare ``<length>`` for text
    without a class, lengths in UTF-16 code units as the browser counts them; the text after
    the last run has no class. Run it after :func:`compact_code`."""

    def block(match: re.Match[str]) -> str:
        def code(inner: re.Match[str]) -> str:
            runs: list[str] = []
            text: list[str] = []
            at = 0
            body = inner.group(1)
            for span in _SPAN.finditer(body):
                if span.start() > at:
                    runs.append(_run(body[at : span.start()], ""))
                    text.append(body[at : span.start()])
                at = span.end()
                if span.group(2):
                    runs.append(_run(span.group(2), span.group(1)))
                    text.append(span.group(2))
            if at < len(body):
                text.append(body[at:])  # the last plain run needs no entry
            colours = f' data-c="{" ".join(runs)}"' if runs else ""
            return f"<code{colours}>{''.join(text)}</code>"

        return match.group(1) + _CODE.sub(code, match.group(2)) + match.group(3)

    return _CODE_BLOCK.sub(block, fragment)


def _run(escaped: str, names: str) -> str:
    length = len(html.unescape(escaped).encode("utf-16-le")) // 2
    return f"{length}{names.replace(' ', '.')}"  # "n nx" (never seen) would be "n.nx"


def compact_mathml(root: ElementTree.Element) -> None:
    """Remove, in place, the MathML that MathML Core draws as if it were not there."""
    if root.get("display") == "inline":
        del root.attrib["display"]
    while len(root) == 1 and root[0].tag == "mrow" and not root[0].attrib and not root[0].text:
        row = root[0]
        root.remove(row)
        root.extend(list(row))
    _unwrap_single_token_rows(root)


def _unwrap_single_token_rows(element: ElementTree.Element) -> None:
    for index, child in enumerate(list(element)):
        _unwrap_single_token_rows(child)
        if (
            child.tag == "mrow"
            and not child.attrib
            and not (child.text or "").strip()
            and len(child) == 1
            and child[0].tag in _TOKENS
        ):
            token = child[0]
            token.tail = child.tail
            element[index] = token


def compact_markup(page: str) -> str:
    """Outside verbatim blocks, each run of whitespace holding a line break becomes one line
    break, and simple attribute values lose their quotes (in ``<pre>`` too, whose tags are
    tags; its text keeps every space)."""
    out = []
    parts = _VERBATIM.split(page)  # text, verbatim block, its element's name, text, ...
    for index, part in enumerate(parts):
        if index % 3 == 2:
            continue
        verbatim = index % 3 == 1
        if verbatim and parts[index + 1].lower() != "pre":
            out.append(part)  # script, style, textarea: not markup, left as they are
            continue
        pieces = _TAG_OR_TEXT.split(part)
        for i, piece in enumerate(pieces):
            if i % 2:
                piece = _QUOTED.sub(r"\1=\2", piece) if not piece.startswith("<!") else piece
            elif not verbatim:
                piece = _BLANK_RUN.sub("\n", piece)
                between_blocks = 0 < i < len(pieces) - 1 and all(
                    _BLOCK_TAG.fullmatch(pieces[j]) for j in (i - 1, i + 1)
                )
                if between_blocks and not piece.strip():
                    piece = ""
            out.append(piece)
    return "".join(out)
