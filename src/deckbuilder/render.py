"""Markdown, code and math -> sanitised HTML, once per question.

Every exporter places this HTML; none re-renders Markdown. The stage is pure: the same bank
gives byte-identical HTML. It reports what it cannot finish for every format as problems
(:func:`render_problems`: TeX a math renderer cannot convert), so ``validate``, which runs
load, check and render in that order, reports them with the rest.

Math is left as TeX inside marked elements::

    <span class="math math-inline">TeX</span>     <div class="math math-display">TeX</div>

(TeX HTML-escaped), because each target finishes it differently: Anki's MathJax, MathML for
browsers, SVG for WeasyPrint. Raw HTML in any field is cut down to an allow-list by nh3,
because Anki and browsers execute what reaches them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import mimetypes
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeGuard

import markdown
import nh3
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES

from deckbuilder.contentcache import ContentCache
from deckbuilder.errors import Problem, error
from deckbuilder.mdsource import separate_lists
from deckbuilder.media import resolve_media
from deckbuilder.model import (
    Bank,
    Media,
    Question,
    RenderedBank,
    RenderedFollowUp,
    RenderedQuestion,
)
from deckbuilder.rules.math import clip, formula_problems
from deckbuilder.sources import media_digest

#: Tags a rendered field may contain. Everything else (script, style, iframe, form...) goes.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "*": {"class"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
#: The only ``class`` values a fragment keeps: the ones deckbuilder itself produces (code
#: highlighting and math markers). A class from the content (``card``, ``visually-hidden``)
#: would reach the page's script and stylesheet, so it is dropped; ``id`` never passes.
ALLOWED_CLASSES = frozenset(
    {"highlight", "arithmatex", "math", "math-inline", "math-display", "math-glue"}
    | {name for name in STANDARD_TYPES.values() if name}
)

_MARKDOWN_EXTENSIONS = [
    "tables",
    "sane_lists",
    "pymdownx.superfences",
    "pymdownx.highlight",
    "pymdownx.arithmatex",
    "pymdownx.tilde",
    # Curly quotes and en/em dashes from straight ones and -- / ---; never inside code or math.
    "smarty",
]
_MARKDOWN_CONFIG = {
    "tables": {"use_align_attribute": True},
    "pymdownx.highlight": {"use_pygments": True, "css_class": "highlight", "guess_lang": False},
    "pymdownx.arithmatex": {"generic": True, "smart_dollar": True},
    "pymdownx.tilde": {"subscript": False},
}

_INLINE_MATH = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
_DISPLAY_MATH = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)
MATH_ELEMENT = re.compile(
    r'<(span|div) class="math math-(inline|display)">(.*?)</\1>', re.S
)  # groups: tag, kind, escaped TeX


def new_markdown() -> markdown.Markdown:
    """One configured converter; reuse it (``reset()`` between fields) for speed."""
    return markdown.Markdown(extensions=_MARKDOWN_EXTENSIONS, extension_configs=_MARKDOWN_CONFIG)


def markdown_to_html(
    converter: markdown.Markdown,
    text: str,
    *,
    inline: bool = False,
    media: Callable[[str], str | None] | None = None,
) -> str:
    """Render one Markdown field to sanitised HTML with math marked for the exporters.

    ``inline`` drops the wrapping paragraph (question texts, list items). ``media`` maps an
    image's relative path to its packaged name, or ``None`` to drop the image.
    """
    converter.reset()
    raw = converter.convert(separate_lists(text))
    raw = _INLINE_MATH.sub(r'<span class="math math-inline">\1</span>', raw)
    raw = _DISPLAY_MATH.sub(r'<div class="math math-display">\1</div>', raw)
    cleaned = glue_punctuation(sanitise(raw, media))
    if inline and cleaned.startswith("<p>") and cleaned.endswith("</p>"):
        inner = cleaned[3:-4]
        if "<p>" not in inner:
            cleaned = inner
    return cleaned


#: Inline math followed by punctuation: the pair is kept on one line, so a line never starts
#: with the comma after a formula (every format: Anki, page and PDF).
_MATH_THEN_PUNCTUATION = re.compile(
    r'(<span class="math math-inline">[^<]*</span>)([,.;:!?\u2019\u201d)\]]+)'
)


def glue_punctuation(fragment: str) -> str:
    """Wrap ``formula,`` in ``<span class="math-glue">`` (``white-space: nowrap``)."""
    return _MATH_THEN_PUNCTUATION.sub(r'<span class="math-glue">\1\2</span>', fragment)


def sanitise(
    fragment: str,
    media: Callable[[str], str | None] | None = None,
    own_classes: frozenset[str] = frozenset(),
) -> str:
    """Cut HTML down to the allow-list: no scripts, no ``on*=``, no ``javascript:`` URLs.

    ``own_classes`` are extra class names an exporter's own markup may keep (its field
    templates); content never gets them, because content is sanitised without them first.
    """

    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            if re.match(r"^[a-z][a-z0-9+.-]*:", value, re.I) or media is None:
                return None  # remote or unresolvable images are not packaged
            return media(value)
        if attribute == "class":
            kept = [n for n in value.split() if n in ALLOWED_CLASSES or n in own_classes]
            return " ".join(kept) or None
        return value

    cleaned: str = nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        attribute_filter=filter_attribute,
        link_rel="noopener noreferrer",
    )
    return cleaned


def resanitised(question: RenderedQuestion) -> RenderedQuestion:
    """Every HTML string of a rendered question through the sanitiser again.

    Exporters call this on their way into an artifact, and the content cache on every read:
    HTML that was stored on disk (or injected into a cache committed to the repository) is
    trusted no more than the bank. Images keep only the packaged names of the question's
    own media. Sanitising sanitised HTML returns it unchanged, and costs little next to
    rendering.
    """
    names = {item.name for item in question.media}

    def keep(name: str) -> str | None:
        return name if name in names else None

    def clean(fragment: str) -> str:
        return sanitise(fragment, keep)

    return replace(
        question,
        question_html=clean(question.question_html),
        answer_html=clean(question.answer_html),
        explanation_html=clean(question.explanation_html),
        code_html=None if question.code_html is None else clean(question.code_html),
        follow_ups=tuple(
            RenderedFollowUp(
                clean(item.question_html),
                None if item.answer_html is None else clean(item.answer_html),
                item.see,
            )
            for item in question.follow_ups
        ),
        pitfalls_html=tuple(clean(text) for text in question.pitfalls_html),
    )


def highlight_code(source: str, language: str) -> str:
    """Pygments HTML with CSS classes (``.highlight``), styled by :func:`pygments_css`."""
    lexer = get_lexer_by_name(language if language != "text" else "text", stripnl=False)
    return highlight(source, lexer, HtmlFormatter(cssclass="highlight", wrapcode=True))


def pygments_css(style: str, scope: str = ".highlight") -> str:
    """The rules of one Pygments style, every one under ``scope``.

    Pygments also emits unscoped ``pre``/line-number rules; they are dropped, or they would
    leak into the whole card or page (and a dark theme's into the light one).
    """
    formatter: Any = HtmlFormatter(style=style)
    css = str(formatter.get_style_defs(scope))
    return "\n".join(line for line in css.splitlines() if line.startswith(scope))


def render_problems(rendered: Sequence[RenderedQuestion]) -> Iterator[Problem]:
    """What the render stage marked but an exporter could not finish: each formula must
    convert in every math renderer (the math rules, ``rules.math``), located at the formula."""
    for item in rendered:
        question = item.source
        fields = zip(question.markdown_fields(), item.html_fields(), strict=True)
        for (name, text), fragment in fields:
            for _kind, tex in iter_math(fragment):
                for rule, why in formula_problems(tex):
                    yield error(
                        question.locate(name, text, max(text.find(tex), 0)),
                        rule,
                        f"{name}: TeX `{clip(tex)}` {why}",
                    )


def iter_math(fragment: str) -> Iterator[tuple[str, str]]:
    """Yield ``(kind, tex)`` for every math element of a rendered fragment."""
    for match in MATH_ELEMENT.finditer(fragment):
        yield match.group(2), html.unescape(match.group(3))


def replace_math(fragment: str, convert: Callable[[str, str], str]) -> str:
    """Replace every math element with ``convert(kind, tex)`` (the exporters' one math step)."""
    return MATH_ELEMENT.sub(lambda m: convert(m.group(2), html.unescape(m.group(3))), fragment)


def media_name(path: Path) -> str:
    """A collision-free, safe file name for packaged media: content hash + tidy stem."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-")[:40] or "media"
    return f"dbm-{digest}-{stem}{path.suffix.lower()}"


def embedded_media(question: RenderedQuestion) -> dict[str, str]:
    """``{packaged name: data URI}`` for a question's images (self-contained page and PDF)."""
    uris = {}
    for item in question.media:
        mime = mimetypes.guess_type(item.name)[0] or "application/octet-stream"
        uris[item.name] = f"data:{mime};base64,{base64.b64encode(item.path.read_bytes()).decode()}"
    return uris


def embed_media(fragment: str, uris: dict[str, str]) -> str:
    """Point the fragment's images at their data URIs (names are content hashes: no false hit)."""
    for name, uri in uris.items():
        fragment = fragment.replace(f'src="{name}"', f'src="{uri}"')
    return fragment


def render_question(
    converter: markdown.Markdown, question: Question, root: Path
) -> RenderedQuestion:
    packaged: dict[str, Media] = {}

    def media(relative: str) -> str | None:
        path = resolve_media(question, relative, root)
        if path is None:
            return None
        item = Media(path, media_name(path))
        packaged[item.name] = item
        return item.name

    def field(text: str, *, inline: bool = False) -> str:
        return markdown_to_html(converter, text, inline=inline, media=media)

    question_html = field(question.question, inline=True)
    answer_html = field(question.answer)
    explanation_html = field(question.explanation)
    follow_ups = tuple(
        RenderedFollowUp(
            field(item.question, inline=True),
            field(item.answer) if item.answer is not None else None,
            item.see,
        )
        for item in question.follow_ups
    )
    pitfalls = tuple(field(text, inline=True) for text in question.pitfalls)
    code_html = (
        highlight_code(question.code.source, question.code.language) if question.code else None
    )
    rendered = RenderedQuestion(
        source=question,
        question_html=question_html,
        answer_html=answer_html,
        explanation_html=explanation_html,
        code_html=code_html,
        follow_ups=follow_ups,
        pitfalls_html=pitfalls,
        has_math=False,
        media=tuple(packaged[name] for name in sorted(packaged)),
    )
    return replace(rendered, has_math=any(MATH_ELEMENT.search(f) for f in rendered.html_fields()))


def render_bank(bank: Bank, cache: ContentCache | None = None) -> RenderedBank:
    """Render every question of ``bank`` once (or take it from ``cache``)."""
    return RenderedBank(bank, render_questions(bank.questions, bank.root, cache))


def render_questions(
    questions: Sequence[Question],
    root: Path,
    cache: ContentCache | None = None,
    media_files: str | None = None,
) -> tuple[RenderedQuestion, ...]:
    """Each question rendered, or read back from ``cache`` when its inputs did not change.

    The inputs are the Markdown fields, the code, the file the question is in (image links
    are relative to it) and the bank's media files (``media_files``, their digest, when the
    caller has it); not the id, level or number, so moving a question to another level or
    file position does not render it again.
    """
    cache = cache if cache is not None else ContentCache(None)
    media_files = media_files if media_files is not None else media_digest(root)
    converter: markdown.Markdown | None = None
    rendered = []
    for question in questions:
        inputs = {
            "fields": question.markdown_fields(),
            "code": [question.code.language, question.code.source] if question.code else None,
            "file": Path(os.path.relpath(question.location.path, root)).as_posix(),
            "media": media_files,
        }
        result = _from_cached(question, root, cache.get_json("render", inputs))
        if result is None:
            converter = converter or new_markdown()
            result = render_question(converter, question, root)
            cache.put_json("render", inputs, _to_cached(result, root))
        rendered.append(result)
    return tuple(rendered)


_CACHED_TEXT = ("question_html", "answer_html", "explanation_html")


def _to_cached(rendered: RenderedQuestion, root: Path) -> dict[str, object]:
    return {
        **{name: getattr(rendered, name) for name in _CACHED_TEXT},
        # ``see`` is not rendered (and not in the key): it comes from the question on read.
        "follow_ups": [[f.question_html, f.answer_html] for f in rendered.follow_ups],
        "pitfalls_html": rendered.pitfalls_html,
        "code_html": rendered.code_html,
        "has_math": rendered.has_math,
        "media": [[m.path.relative_to(root.resolve()).as_posix(), m.name] for m in rendered.media],
    }


def _from_cached(question: Question, root: Path, entry: object) -> RenderedQuestion | None:
    """The cached rendering of ``question``, or None when the entry is missing or malformed."""
    if not isinstance(entry, dict):
        return None
    texts = [entry.get(name) for name in _CACHED_TEXT]
    follow_ups, pitfalls = entry.get("follow_ups"), entry.get("pitfalls_html")
    code_html, has_math, media = entry.get("code_html"), entry.get("has_math"), entry.get("media")
    if not (
        _strings(texts)
        and isinstance(follow_ups, list)
        and len(follow_ups) == len(question.follow_ups)
        and all(_follow_up_entry(item) for item in follow_ups)
        and isinstance(pitfalls, list)
        and _strings(pitfalls)
        and (code_html is None or isinstance(code_html, str))
        and isinstance(has_math, bool)
        and isinstance(media, list)
        and all(isinstance(m, list) and len(m) == 2 and _strings(m) for m in media)
    ):
        return None
    bank = root.resolve()
    items = []
    for path, name in media:
        where = (bank / path).resolve()
        if not where.is_relative_to(bank) or not where.is_file() or name != media_name(where):
            return None  # a cached entry may name only the bank's own media, by content
        items.append(Media(where, name))
    cached = RenderedQuestion(
        source=question,
        question_html=texts[0],
        answer_html=texts[1],
        explanation_html=texts[2],
        code_html=code_html,
        follow_ups=tuple(
            RenderedFollowUp(html, answer, item.see)
            for (html, answer), item in zip(follow_ups, question.follow_ups, strict=True)
        ),
        pitfalls_html=tuple(pitfalls),
        has_math=has_math,
        media=tuple(items),
    )
    return resanitised(cached)


def _follow_up_entry(item: object) -> bool:
    """``[question_html, answer_html or None]`` as ``_to_cached`` writes it."""
    return (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and (item[1] is None or isinstance(item[1], str))
    )


def _strings(values: list[Any]) -> TypeGuard[list[str]]:
    return all(isinstance(value, str) for value in values)
