"""Printable PDFs via WeasyPrint: a full study guide and a two-column cheat sheet.

The exporter places the shared rendered HTML into print templates; its one per-target step
is math (images become data URIs, as on the HTML page): WeasyPrint runs no JavaScript and draws no MathML, so every distinct formula is
drawn once as SVG with ziamath (glyphs become paths: nothing to embed, same on every
machine) and aligned on the text baseline. Layout lives in ``templates/pdf/`` and
``styles/pdf-*.css``; fonts are the DejaVu families (Debian's fonts-dejavu-core/extra,
installed by scripts/bootstrap.sh), which cover Greek, arrows and math symbols.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.contentcache import ContentCache
from deckbuilder.errors import BuildError
from deckbuilder.model import Bank, RenderedBank, RenderedQuestion
from deckbuilder.render import (
    embed_media,
    embedded_media,
    pygments_css,
    replace_math,
    resanitised,
)
from deckbuilder.resources import style_text, template_environment
from deckbuilder.sections import SECTION, Section, answer_sections

#: Formula size per document, in CSS pixels (1px = 0.75pt), matching its body text
#: (10pt in the study guide, 7.6pt in the cheat sheet).
MATH_SIZE_PX = {"study-guide": 13.3, "cheat-sheet": 10.1}
#: Print-friendly Pygments style: dark text, no background fills.
CODE_STYLE = "friendly_grayscale"
_VIEWBOX = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"')


@dataclass(frozen=True)
class PrintQuestion:
    """A question's HTML with math already drawn, plus the labels the templates need."""

    number: int
    anchor: str
    level_name: str
    level_badge: str
    categories: str
    short_label: str
    question_html: str
    answer_html: str
    explanation_html: str
    code_html: str | None
    references: tuple[tuple[str, str], ...]
    #: ``(question HTML, answer HTML or "", anchor of the answering question or "")``.
    follow_ups: tuple[tuple[str, str, str], ...]
    pitfalls_html: tuple[str, ...]
    #: ``(anchor, number, question HTML)`` of each related question in this document.
    related: tuple[tuple[str, int, str], ...]
    #: What the question shows, in the canonical order (``deckbuilder.sections``).
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class PrintLevel:
    id: str
    name: str
    badge: str
    questions: tuple[PrintQuestion, ...]


@dataclass(frozen=True)
class PrintDocument:
    """One PDF before WeasyPrint: its file name, its HTML and the stylesheet it is laid out with."""

    kind: str
    label: str
    file_name: str
    html: str
    css: str


def export(rendered: RenderedBank, context: BuildContext, staging: Staging) -> list[Artifact]:
    artifacts = []
    for doc in print_documents(rendered, context):
        pdf, pages, reused = _lay_out(doc, context.cache, rendered)
        staging.write_bytes(doc.file_name, pdf)
        summary = f"{doc.label}: {pages} pages, {len(pdf) // 1024} KiB"
        if reused:
            summary += " (same HTML as before: layout reused from the cache)"
        artifacts.append(Artifact(Path(doc.file_name), summary))
    return artifacts


def _lay_out(
    doc: PrintDocument, cache: ContentCache, rendered: RenderedBank
) -> tuple[bytes, int, bool]:
    """``(PDF bytes, page count, whether they came from the cache)`` for one document.

    WeasyPrint's output is a function of the HTML, the CSS, its own version and the fonts
    installed (images are data URIs), not of deckbuilder's code: so a change to another
    exporter, or to a question the cheat sheet does not show, costs no new layout.
    """
    from weasyprint import CSS, HTML  # heavy: imported only when a PDF is laid out

    inputs = {
        "html": _sha256(doc.html),
        "css": _sha256(doc.css),
        "libraries": [metadata.version("weasyprint"), metadata.version("pydyf")],
        "fonts": _fonts_digest(),
    }
    pdf = cache.get_bytes("pdf", inputs, ours=False)
    facts = cache.get_json("pdf-facts", inputs, ours=False)
    if (
        pdf is not None
        and isinstance(facts, dict)
        and isinstance(facts.get("pages"), int)
        and facts.get("sha256") == hashlib.sha256(pdf).hexdigest()
    ):
        return pdf, facts["pages"], True
    identifier = _sha256(doc.html + doc.css)[:32]
    fetcher = sandboxed_fetcher()
    try:  # images inside SVG images are fetched while drawing, in write_pdf
        document = HTML(string=doc.html, url_fetcher=fetcher).render(
            stylesheets=[CSS(string=doc.css, url_fetcher=fetcher)]
        )
        pdf = document.write_pdf(pdf_identifier=identifier.encode())
    except RefusedFetch:
        pdf = None  # recorded by the fetcher (an SVG being drawn swallows it: check the record)
    if pdf is None or fetcher.refused:
        raise BuildError(f"{doc.label}: {refusal(fetcher.refused[0], rendered)}")
    pages = len(document.pages)
    cache.put_bytes("pdf", inputs, pdf, ours=False)
    facts = {"pages": pages, "sha256": hashlib.sha256(pdf).hexdigest()}
    cache.put_json("pdf-facts", inputs, facts, ours=False)
    return pdf, pages, False


class RefusedFetch(BaseException):
    """Raised by the sandboxed fetcher: WeasyPrint lets a BaseException through its fetch
    wrapper (it turns every ``Exception`` into a logged warning), so the layout stops."""


def refusal(url: str, rendered: RenderedBank) -> str:
    """The build error for a refused URL, naming the question whose image asked for it."""
    owners = [
        q.source
        for q in rendered.questions
        if any(url.encode() in item.path.read_bytes() for item in q.media)
    ]
    shown = url if len(url) <= 100 else url[:99] + "…"
    where = f"question {owners[0].id!r} ({owners[0].location.display()})" if owners else "a page"
    return (
        f"{where} asks for {shown!r} while laying out; nothing outside the bank is fetched"
        " (deckbuilder validate names the image)"
    )


def sandboxed_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URIs only and refuses all else.

    Every image of the bank reaches WeasyPrint as a ``data:`` URI (see ``embedded_media``) and
    every formula as inline SVG, so a layout never needs the network or the file system: an
    SVG image that refers to ``http://...`` or ``file:///...`` stops the build instead.
    """
    from weasyprint.urls import URLFetcher

    class DataOnly(URLFetcher):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                self.refused.append(url)
                raise RefusedFetch(url)
            return super().fetch(url, headers)

    return DataOnly()


@cache
def _fonts_digest() -> str:
    """The installed font files (path, size, time), which fontconfig chooses from."""
    digest = hashlib.sha256()
    folders = ["/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts"]
    for folder in folders:
        for path in sorted(Path(folder).expanduser().rglob("*")):
            if path.is_file():
                status = path.stat()
                digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def print_documents(rendered: RenderedBank, context: BuildContext) -> list[PrintDocument]:
    """The study guide and the cheat sheet as HTML + CSS, math drawn (WeasyPrint's input)."""
    bank = rendered.bank
    date = datetime.fromtimestamp(context.source_date_epoch, tz=timezone.utc)
    environment = template_environment()
    documents = []
    for kind, label in (("study-guide", "study guide"), ("cheat-sheet", "cheat sheet")):
        # The cheat sheet shows only questions and short answers: draw only their math.
        levels = _print_levels(
            rendered, MATH_SIZE_PX[kind], context.cache, full=kind == "study-guide"
        )
        html = environment.get_template(f"pdf/{kind}.html.j2").render(
            bank=bank,
            levels=levels,
            total=sum(len(level.questions) for level in levels),
            date=date,
            # The day, as on the cover: an edit minutes later leaves the cheat sheet's HTML
            # (and so its cached layout) unchanged.
            iso_date=date.strftime("%Y-%m-%d"),
            paper=context.paper,
            filtered=context.filtered,
            keywords=", ".join(c.name for c in bank.categories),
        )
        css = "\n".join(
            [
                style_text("pdf-base.css", context.styles_dir),
                style_text(f"pdf-{kind}.css", context.styles_dir),
                pygments_css(CODE_STYLE, ".highlight"),
            ]
        )
        documents.append(PrintDocument(kind, label, f"{bank.slug}-{kind}.pdf", html, css))
    return documents


def _print_levels(
    rendered: RenderedBank, math_size: float, cache: ContentCache, full: bool
) -> tuple[PrintLevel, ...]:
    bank = rendered.bank
    linked = rendered.by_id()
    levels = []
    for level in bank.levels:
        chosen = [q for q in rendered.questions if q.source.level == level.id]
        if chosen:
            badge = _badge(bank, level.id)
            levels.append(
                PrintLevel(
                    level.id,
                    level.name,
                    badge,
                    tuple(_print_question(bank, q, math_size, cache, full, linked) for q in chosen),
                )
            )
    return tuple(levels)


def _badge(bank: Bank, level_id: str) -> str:
    """A letter that survives black-and-white printing: B, I, A, M... (first letter)."""
    return bank.level(level_id).name[:1].upper()


def _print_question(
    bank: Bank,
    q: RenderedQuestion,
    math_size: float,
    cache: ContentCache,
    full: bool,
    linked: dict[str, RenderedQuestion],
) -> PrintQuestion:
    """The print view of a question; ``full=False`` leaves out all but question and answer.

    ``linked`` holds the questions of this document, which follow-ups and related
    questions point to by anchor (with the page number the stylesheet adds).
    """
    q = resanitised(q)  # the boundary: nothing reaches the PDF unsanitised
    source = q.source
    images = embedded_media(q)

    def draw(fragment: str) -> str:
        return embed_media(draw_math(fragment, math_size, cache), images)

    def anchor(question_id: str | None) -> str:
        return f"q-{question_id}" if question_id in linked else ""

    shown = answer_sections(source) if full else (SECTION["answer"],)
    return PrintQuestion(
        number=source.number,
        anchor=f"q-{source.id}",
        level_name=bank.level(source.level).name,
        level_badge=_badge(bank, source.level),
        categories=", ".join(bank.category(c).name for c in source.categories),
        short_label=_short_label(source.number, source.question),
        question_html=draw(q.question_html),
        answer_html=draw(q.answer_html),
        explanation_html=draw(q.explanation_html) if full else "",
        code_html=q.code_html if full else None,
        references=tuple((r.title, r.url) for r in source.references) if full else (),
        follow_ups=tuple(
            (draw(f.question_html), draw(f.answer_html) if f.answer_html else "", anchor(f.see))
            for f in q.follow_ups
        )
        if full
        else (),
        pitfalls_html=tuple(draw(p) for p in q.pitfalls_html) if full else (),
        related=tuple(
            (anchor(i), linked[i].source.number, draw(resanitised(linked[i]).question_html))
            for i in source.related
            if i in linked
        )
        if full
        else (),
        sections=tuple(
            s for s in shown if s.key != "related" or any(i in linked for i in source.related)
        ),
    )


def _short_label(number: int, question: str, limit: int = 60) -> str:
    """A bookmark label: the question without Markdown/TeX marks, cut at a word boundary."""
    plain = re.sub(r"[`*_$\\]", "", " ".join(question.split()))
    if len(plain) > limit:
        plain = plain[:limit].rsplit(" ", 1)[0] + "…"
    return f"{number}. {plain}"


def draw_math(fragment: str, size: float, cache: ContentCache | None = None) -> str:
    """Replace every marked formula of a rendered fragment by its SVG drawing."""
    cache = cache if cache is not None else ContentCache(None)

    def drawn(kind: str, tex: str) -> str:
        stored = cache.get_json("pdf-formula", [kind, tex, size])
        if isinstance(stored, str):
            return stored
        try:
            image = _svg_img(kind, tex, size)
        except Exception as exc:  # validation refuses what is known to fail; never a traceback
            raise BuildError(
                f"the PDF renderer cannot draw the formula {tex[:60]!r} ({type(exc).__name__});"
                " please report it, with the formula"
            ) from None
        cache.put_json("pdf-formula", [kind, tex, size], image)
        return image

    return replace_math(fragment, drawn)


@cache
def _svg_img(kind: str, tex: str, size: float) -> str:
    """One formula as an ``<img>`` of SVG, drawn once per distinct (kind, TeX, size)."""
    import ziamath

    # Plain SVG 1.1 paths (no <symbol>/<use> per glyph) at 0.1 px precision halve the time
    # WeasyPrint spends parsing them; 0.1 px is 0.03 mm on paper.
    config = ziamath.config  # type: ignore[attr-defined]
    config.svg2 = False
    config.precision = 1
    inline = kind == "inline"
    svg = ziamath.Latex(tex, size=size, inline=inline).svg()  # type: ignore[attr-defined]
    width, height, depth = _svg_metrics(svg)
    data = base64.b64encode(svg.encode()).decode()
    css_class = "math-inline" if inline else "math-display"
    style = f"width:{width:.2f}px;height:{height:.2f}px"
    if inline:
        style += f";vertical-align:{-depth:.2f}px"
    alt = tex.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'<img class="{css_class}" alt="{alt}" style="{style}" src="data:image/svg+xml;base64,{data}">'


def _svg_metrics(svg: str) -> tuple[float, float, float]:
    """Width, height and depth below the baseline (ziamath puts the baseline at y = 0)."""
    match = _VIEWBOX.search(svg)
    if match is None:
        return 0.0, 0.0, 0.0
    _x, y, width, height = (float(v) for v in match.groups())
    return width, height, max(0.0, height + y)
