"""The offline study page: the whole bank as one self-contained HTML file.

The page has to work from a USB stick or an e-mail attachment, so everything it needs is
inside the file: the stylesheet (``styles/html.css`` plus the generated code colours), the
script (``assets/html.js``) and the practice mode's scheduler (the vendored ``ts-fsrs``
browser build, ``assets/vendor/ts-fsrs/``), images as ``data:`` URIs and math as MathML,
which current browsers draw natively. The questions are placed as ready HTML cards, so the page is readable
(fully expanded) even with scripts off, and prints without any script.

The file must stay small (the real bank's page is budgeted at 3 MB), so the page's markup is
compacted where that changes nothing that is drawn (``html_compact``), code colours travel as
compact runs that the script turns into spans when a card is opened, and what only the
script uses (the "Learned" buttons, the ids that tie a card's parts together, a related
question's title) is added by the script instead of shipped.

A Content-Security-Policy admits only this build's stylesheet and scripts by their hashes and
allows no fetch at all: even if something slipped past the sanitiser, no injected script runs
and the page cannot reach the network.
"""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from latex2mathml.converter import convert_to_element
from markupsafe import Markup

from deckbuilder import __version__
from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.exporters.html_compact import (
    compact_code,
    compact_markup,
    compact_mathml,
    defer_code_colours,
)
from deckbuilder.model import Bank, RenderedBank, RenderedQuestion
from deckbuilder.render import (
    embed_media,
    embedded_media,
    pygments_css,
    replace_math,
    resanitised,
)
from deckbuilder.resources import asset_text, style_text, template_environment
from deckbuilder.sections import Section, answer_sections
from deckbuilder.texsupport import declare_operators

#: Pygments styles for code in the light and the dark theme.
LIGHT_CODE_STYLE = "default"
DARK_CODE_STYLE = "github-dark"
CODE_STYLES = (LIGHT_CODE_STYLE, DARK_CODE_STYLE)

#: The MathML attributes latex2mathml emits that only shape the rendering. Anything else it
#: copies from the TeX (``\href`` -> ``href``, ``\style`` -> ``style``) could navigate or
#: fetch, so it is dropped.
MATHML_ATTRIBUTES = frozenset(
    {
        "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "depth",
        "display", "displaystyle", "fence", "form", "height", "largeop", "linebreak",
        "linethickness", "lspace", "mathbackground", "mathcolor", "mathsize", "mathvariant",
        "maxsize", "minsize", "movablelimits", "notation", "rowalign", "rowlines",
        "rowspacing", "rspace", "scriptlevel", "separator", "stretchy", "symmetric",
        "voffset", "width", "xmlns",
    }
)  # fmt: skip

_CHARACTER_REFERENCE = re.compile(r"&#x([0-9A-Fa-f]+);")

#: The vendored scheduler: ts-fsrs's browser (UMD) build, refreshed by
#: ``scripts/vendor-ts-fsrs.sh``; its licence and pinned version sit beside it.
SCHEDULER = "vendor/ts-fsrs/ts-fsrs.umd.js"
#: A practice round shows every question due today, then at most this many new ones.
NEW_PER_ROUND = 20

#: Inline math and the punctuation right after it (or an opening bracket right before it)
#: go into one unbreakable span, so a line never starts with the comma after a formula.
#: (Inline math has no ``display``: see :func:`compact_mathml`.)
_INLINE_MATH = re.compile(
    r"""([(\[\u201c\u2018"']?)(<math\b(?![^>]*display="block")[^>]*>.*?</math>)"""
    r"""([.,;:!?)\]\u201d\u2019"'\u2026]*)""",
    re.S,
)
#: The render stage's own glue (formula and the punctuation after it, ``white-space: nowrap``).
_GLUE = '<span class="math-glue">'

#: A header cell with nothing in it names nothing for a screen reader: it is a data cell.
_EMPTY_HEADER = re.compile(r"<th( [^>]*)?>\s*</th>")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.M)


@dataclass(frozen=True)
class Card:
    """One question as the page shows it: its source plus every fragment finished for HTML."""

    question: RenderedQuestion
    level_index: int
    question_html: Markup
    answer_html: Markup
    explanation_html: Markup
    code_html: Markup | None
    follow_ups: tuple[PageFollowUp, ...]
    pitfalls_html: tuple[Markup, ...]
    related: tuple[PageLink, ...]
    #: What the card shows, in the canonical order (``deckbuilder.sections``).
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class PageLink:
    """Another card of the page: its id (the anchor is ``q-<id>``) and number. The page's
    script writes the card's question into the link when it is seen: the page carries each
    question once."""

    id: str
    number: int


@dataclass(frozen=True)
class PageFollowUp:
    question_html: Markup
    answer_html: Markup | None
    #: Id and number of the card that answers it, when that card is on the page.
    target: str | None
    target_number: int


def export(rendered: RenderedBank, context: BuildContext, staging: Staging) -> list[Artifact]:
    """Write ``<bank slug>.html``."""
    name = f"{rendered.bank.slug}.html"
    data = render_page(rendered, context).encode("utf-8")
    staging.write_bytes(name, data)
    count = len(rendered.questions)
    return [Artifact(Path(name), f"offline study page, {count} questions, {len(data) // 1024} KiB")]


def render_page(rendered: RenderedBank, context: BuildContext) -> str:
    """The complete page; equal inputs give equal text (the date comes from the context)."""
    bank = rendered.bank
    linked = rendered.by_id()
    if bank.homepage and not re.match(r"^https?://", bank.homepage, re.I):
        bank = replace(bank, homepage=None)  # validate warns; never a live link
    css = inline_text(style_text("html.css", context.styles_dir) + code_stylesheet())
    script = asset_text("html.js")
    scheduler = scheduler_script()
    levels = Counter(q.source.level for q in rendered.questions)
    categories = Counter(c for q in rendered.questions for c in q.source.categories)
    built = datetime.fromtimestamp(context.source_date_epoch, tz=timezone.utc)
    page = (
        template_environment()
        .get_template("html/page.html.j2")
        .render(
            bank=bank,
            cards=[card(q, bank, linked) for q in rendered.questions],
            levels=[(level, levels[level.id]) for level in bank.levels if levels[level.id]],
            categories=[(c, categories[c.id]) for c in bank.categories if categories[c.id]],
            css=Markup(css),
            script=Markup(script),
            scheduler=Markup(scheduler),
            new_per_round=NEW_PER_ROUND,
            content_security_policy=content_security_policy(css, script, scheduler),
            built=built.date().isoformat(),
            version=__version__,
        )
    )
    return compact_markup(page)


def card(question: RenderedQuestion, bank: Bank, linked: dict[str, RenderedQuestion]) -> Card:
    """Finish every fragment of one question: MathML for math, ``data:`` URIs for images.

    ``linked`` holds the page's cards, which follow-ups and related questions link to.
    """
    question = resanitised(question)  # the boundary: nothing reaches the page unsanitised
    images = embedded_media(question)
    source = question.source

    def finish(fragment: str) -> Markup:
        fragment = defer_code_colours(compact_code(fragment, CODE_STYLES))
        return Markup(page_fragment(embed_media(replace_math(fragment, mathml), images)))

    def link(question_id: str) -> PageLink:
        return PageLink(question_id, linked[question_id].source.number)

    related = tuple(link(i) for i in source.related if i in linked)
    return Card(
        question=question,
        level_index=bank.levels.index(bank.level(source.level)),
        question_html=finish(question.question_html),
        answer_html=finish(question.answer_html),
        explanation_html=finish(question.explanation_html),
        code_html=(
            Markup(defer_code_colours(compact_code(question.code_html, CODE_STYLES)))
            if question.code_html is not None
            else None
        ),
        follow_ups=tuple(
            PageFollowUp(
                finish(item.question_html),
                finish(item.answer_html) if item.answer_html else None,
                item.see if item.see in linked else None,
                linked[item.see].source.number if item.see in linked else 0,
            )
            for item in question.follow_ups
        ),
        pitfalls_html=tuple(finish(text) for text in question.pitfalls_html),
        related=related,
        sections=tuple(s for s in answer_sections(source) if s.key != "related" or related),
    )


def mathml(kind: str, tex: str) -> str:
    """TeX -> MathML that is safe to place in HTML.

    latex2mathml's own ``convert`` un-escapes its serialised output to keep its character
    references, which also un-escapes text: ``\\text{<script>}`` would come out as a live
    script element. So the element tree is serialised here instead: its character
    references are decoded to characters, attributes go through :data:`MATHML_ATTRIBUTES`,
    and ElementTree escapes every text.
    """
    declare_operators()
    root = convert_to_element(tex, display="block" if kind == "display" else "inline")
    for element in root.iter():
        for attribute in set(element.attrib) - MATHML_ATTRIBUTES:
            del element.attrib[attribute]
        element.text = element.text and _decode_references(element.text)
        element.tail = element.tail and _decode_references(element.tail)
    # The HTML parser puts <math> in the MathML namespace by itself: xmlns on each of the
    # bank's ~3,000 formulas would only add 130 KB to the page.
    root.attrib.pop("xmlns", None)
    compact_mathml(root)
    markup = ElementTree.tostring(root, encoding="unicode")
    # A wide display formula scrolls inside its own box instead of widening a phone's page.
    return f'<div class="math-display">{markup}</div>' if kind == "display" else markup


def page_fragment(fragment: str) -> str:
    """Finish a fragment's layout for screens of any width.

    Inline math is glued to the punctuation around it (``<span class="math-inline">``), where
    there is some and the render stage has not glued it already (a formula alone needs no
    span: nothing breaks inside it). The page's script scales a formula that is still wider
    than a phone. Tables scroll inside their own box (``<div class="table-scroll">``), and an
    empty header cell becomes a data cell.
    """

    def glue(m: re.Match[str]) -> str:
        before, formula, after = m.groups()
        glued = fragment.endswith(_GLUE, 0, m.start())
        if not before and (not after or glued):
            return formula + after
        return f'<span class="math-inline">{before}{formula}{after}</span>'

    fragment = _INLINE_MATH.sub(glue, fragment)
    fragment = _EMPTY_HEADER.sub(lambda m: f"<td{m.group(1) or ''}></td>", fragment)
    return fragment.replace("<table", '<div class="table-scroll"><table').replace(
        "</table>", "</table></div>"
    )


def scheduler_script() -> str:
    """The vendored ts-fsrs browser build, without its source-map comment (nothing to fetch)."""
    return _SOURCE_MAP.sub("", asset_text(SCHEDULER)).rstrip() + "\n"


def _decode_references(text: str) -> str:
    return _CHARACTER_REFERENCE.sub(lambda m: chr(int(m.group(1), 16)), text)


def code_stylesheet() -> str:
    """Pygments colours for both themes.

    The dark rules apply on screen only (printing always uses the light ones, dark code
    colours are unreadable on paper); their reset keeps a light rule the dark style does not
    override (bold keywords, say) from leaking into the dark theme. Pygments' unscoped rules
    (line numbers, which the page does not use) are left out so neither theme leaks.
    """
    light = ".highlight"
    dark = '[data-theme="dark"] .highlight'
    reset = f"{dark} span {{ color: inherit; background: none; font: inherit; border: 0 }}"
    return "\n".join(
        [
            pygments_css(LIGHT_CODE_STYLE, light),
            "@media screen {",
            reset,
            pygments_css(DARK_CODE_STYLE, dark),
            "}",
            "",
        ]
    )


def inline_text(css: str) -> str:
    """A stylesheet safe inside ``<style>``: ``<\\/`` is ``</`` to CSS but closes nothing.

    Only the stylesheet needs this, since ``--styles`` lets a user supply it; the script is
    deckbuilder's own.
    """
    return css.replace("</", "<\\/")


def content_security_policy(css: str, *scripts: str) -> str:
    """Only this page's own style and scripts; no fetch of any kind; images only inline."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(f"'{_sha256(script)}'" for script in scripts),
            f"style-src '{_sha256(css)}'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")
