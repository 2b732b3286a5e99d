"""Markdown study guides for GitHub and any Markdown viewer (``dist/guides/``).

GitHub renders Markdown, not our HTML, so this exporter places each question's *source*
Markdown (the one format every other exporter derives from) after making it safe for that
target: raw HTML in question text is escaped (GitHub would render it), fences get a
language, images are copied next to the guides, and ``$..$`` math stays as GitHub renders it.
Everything else is layout, in the Jinja2 templates under ``templates/markdown/``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import markdown

from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.mdsource import blocks, parse
from deckbuilder.media import resolve_media
from deckbuilder.model import Bank, Question, RenderedBank
from deckbuilder.render import media_name
from deckbuilder.resources import template_environment
from deckbuilder.sections import Section, answer_sections

GUIDES = Path("guides")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class GuideQuestion:
    """One question as the guide template shows it (Markdown strings, already made safe)."""

    id: str
    number: int
    anchor: str
    heading: str
    level: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    answer: str
    explanation: str
    code: str | None
    code_language: str
    #: A backtick fence longer than any backtick run inside the code.
    code_fence: str
    references: tuple[tuple[str, str], ...]
    #: ``(question, its answer or "", id of the question answering it or "")``.
    follow_ups: tuple[tuple[str, str, str], ...]
    pitfalls: tuple[str, ...]
    related: tuple[str, ...]
    #: What the question shows after its heading, in the canonical order.
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Guide:
    file_name: str
    title: str
    description: str
    questions: tuple[GuideQuestion, ...]


def export(rendered: RenderedBank, context: BuildContext, staging: Staging) -> list[Artifact]:
    bank = _plain_bank(rendered.bank)
    copied: dict[str, Path] = {}
    guides = _guides(bank, context.guides_by, copied)
    environment = template_environment(autoescape=False)
    guide_template = environment.get_template("markdown/guide.md.j2")
    # Links between questions go to the question's level guide (every question has one).
    homes = {
        q.id: (g.file_name, q)
        for g in guides
        if not g.file_name.startswith("category-")
        for q in g.questions
    }
    artifacts = []
    for index, guide in enumerate(guides):

        def link(question_id: str, guide: Guide = guide) -> str:
            """``[Question N](file#anchor)``, or "" when the question is not in these guides."""
            if question_id not in homes:
                return ""
            file_name, target = homes[question_id]
            where = "" if file_name == guide.file_name else file_name
            return f"[Question {target.number}]({where}#{target.anchor})"

        text = guide_template.render(
            bank=bank,
            guide=guide,
            link=link,
            homes=homes,
            previous=guides[index - 1] if index > 0 else None,
            next=guides[index + 1] if index + 1 < len(guides) else None,
        )
        staging.write_text(GUIDES / guide.file_name, _tidy(text))
        artifacts.append(
            Artifact(GUIDES / guide.file_name, f"{len(guide.questions)} question(s): {guide.title}")
        )
    index_text = environment.get_template("markdown/index.md.j2").render(
        bank=bank,
        guides=guides,
        level_counts=_counts(bank, [(level.id, level.name) for level in bank.levels]),
        category_counts=_counts(bank, [(c.id, c.name) for c in bank.categories], categories=True),
        total=len(bank.questions),
    )
    staging.write_text(GUIDES / "README.md", _tidy(index_text))
    for name, source in sorted(copied.items()):
        staging.write_bytes(GUIDES / "media" / name, source.read_bytes())
    media_note = f", {len(copied)} image(s)" if copied else ""
    artifacts.insert(
        0, Artifact(GUIDES / "README.md", f"index of {len(guides)} guides{media_note}")
    )
    return artifacts


def _guides(bank: Bank, by: str, copied: dict[str, Path]) -> list[Guide]:
    """One guide per level in study order, then (``by == "category"``) one per category."""
    guides = []
    for position, level in enumerate(bank.levels, start=1):
        chosen = [q for q in bank.questions if q.level == level.id]
        if chosen:
            guides.append(
                Guide(
                    f"{position}-{level.id}.md",
                    level.name,
                    level.description,
                    _guide_questions(bank, chosen, copied),
                )
            )
    if by == "category":
        for category in bank.categories:
            chosen = [q for q in bank.questions if category.id in q.categories]
            if chosen:
                guides.append(
                    Guide(
                        f"category-{category.id}.md",
                        category.name,
                        category.description,
                        _guide_questions(bank, chosen, copied),
                    )
                )
    return guides


def _guide_questions(
    bank: Bank, questions: list[Question], copied: dict[str, Path]
) -> tuple[GuideQuestion, ...]:
    slugs = GithubSlugs()
    for fixed_heading in ("Contents", "Questions"):  # the template's own headings come first
        slugs.slug(fixed_heading)
    return tuple(_guide_question(bank, q, slugs, copied) for q in questions)


def _guide_question(
    bank: Bank, q: Question, slugs: GithubSlugs, copied: dict[str, Path]
) -> GuideQuestion:
    def safe(text: str) -> str:
        return _safe_markdown(text, q, bank.root, copied)

    heading = f"{q.number}. {_single_line(safe(q.question))}"
    code = q.code
    return GuideQuestion(
        id=q.id,
        number=q.number,
        anchor=slugs.slug(heading_text(heading)),
        heading=heading,
        level=bank.level(q.level).name,
        categories=tuple(bank.category(c).name for c in q.categories),
        tags=q.tags,
        answer=safe(q.answer).strip(),
        explanation=safe(q.explanation).strip(),
        code=code.source.rstrip("\n") if code else None,
        code_language=code.language if code else "text",
        code_fence=_fence_for(code.source if code else ""),
        references=tuple((_link_text(r.title), _link_url(r.url)) for r in q.references),
        follow_ups=tuple(
            (
                _single_line(safe(f.question)),
                _single_line(safe(f.answer)) if f.answer else "",
                f.see or "",
            )
            for f in q.follow_ups
        ),
        pitfalls=tuple(_single_line(safe(t)) for t in q.pitfalls),
        related=q.related,
        sections=answer_sections(q),
    )


def _safe_markdown(text: str, question: Question, root: Path, copied: dict[str, Path]) -> str:
    """Question Markdown made safe for GitHub, edited where CommonMark says things are.

    One CommonMark parse (``mdsource.parse``, as for validation) finds raw HTML, links, images
    and fences: raw HTML is escaped (it shows as text), links other than http(s), mailto and
    ``#anchors`` become their text, images point at the copies next to the guides (or go,
    when they are not files of the bank), and fences get a language. The result is parsed
    again; should anything unsafe remain, the whole text is written as escaped plain text.
    """
    parsed = parse(text)
    if parsed.unplaced:
        return escape_all(text)
    starts = [0, *(i + 1 for i, char in enumerate(text) if char == "\n")]
    edits: list[tuple[int, int, str]] = []
    for first, last in parsed.html_blocks:
        end = starts[last] if last < len(starts) else len(text)
        edits += [(i, i + 1, "&lt;") for i in range(starts[first], end) if text[i] == "<"]
    for span in parsed.spans:
        if span.kind == "html":
            edits.append((span.start, span.start + 1, "&lt;"))
        elif span.kind == "image":
            source = resolve_media(question, span.href, root)
            if source is None or re.match(r"^[a-z][a-z0-9+.-]*:|//", span.href, re.I):
                edits.append((span.start, span.end, ""))  # validation refused it already
                continue
            name = media_name(source)
            copied[name] = source
            if span.dest_start >= 0:
                edits.append((span.dest_start, span.dest_end, f"media/{name}"))
            else:
                edits.append((span.start, span.end, f"![{_link_text(span.text)}](media/{name})"))
        elif not _allowed_link(span.href):
            edits.append((span.start, span.end, _link_text(span.text)))
    for fence in parsed.fences:
        if not fence.info:
            end = text.find("\n", fence.offset)
            end = len(text) if end < 0 else end
            opening = text[fence.offset : end]
            edits.append((fence.offset, end, opening.rstrip() + "text"))
    out, position = [], 0
    for start, end, replacement in sorted(edits):
        if start < position:
            continue  # inside a construct already replaced as a whole
        out += [text[position:start], replacement]
        position = end
    out.append(text[position:])
    result = "".join(out)
    return result if is_safe_markdown(result) else escape_all(text)


def _allowed_link(href: str) -> bool:
    return href.startswith("#") or bool(re.match(r"^(https?|mailto):", href, re.I))


def is_safe_markdown(text: str) -> bool:
    """Whether CommonMark finds no raw HTML, no other links than allowed ones, and no
    image but the guides' own copies in ``text``."""
    parsed = parse(text)
    if parsed.unplaced or parsed.html_blocks:
        return False
    for span in parsed.spans:
        if span.kind == "html":
            return False
        if span.kind == "image" and not re.match(r"^media/dbm-[0-9a-f]{12}-[^/]*$", span.href):
            return False
        if span.kind in ("link", "autolink") and not _allowed_link(span.href):
            return False
    return True


def escape_all(text: str) -> str:
    """Every ASCII punctuation character backslash-escaped: CommonMark shows it as text."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def _plain_text(text: str) -> str:
    """A name or description from bank.yaml as Markdown text: no link, image or tag."""
    return _link_text(text).replace("<", "&lt;")


def _plain_bank(bank: Bank) -> Bank:
    """The bank with its own texts (title, description, names) made plain Markdown text."""
    return replace(
        bank,
        title=_plain_text(bank.title),
        description=_plain_text(bank.description),
        author=_plain_text(bank.author),
        license=_plain_text(bank.license),
        levels=tuple(
            replace(level, name=_plain_text(level.name), description=_plain_text(level.description))
            for level in bank.levels
        ),
        categories=tuple(
            replace(c, name=_plain_text(c.name), description=_plain_text(c.description))
            for c in bank.categories
        ),
    )


def _link_url(url: str) -> str:
    """A reference URL as a Markdown link destination that cannot end early or open a tag."""
    url = url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    if url.count("(") != url.count(")"):
        url = url.replace("(", "%28").replace(")", "%29")
    return url


def _fence_for(source: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    return "`" * max(3, longest + 1)


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _link_text(title: str) -> str:
    return re.sub(r"([\[\]\\])", r"\\\1", _single_line(title)).replace("<", "&lt;")


def _counts(
    bank: Bank, entries: Iterable[tuple[str, str]], *, categories: bool = False
) -> list[tuple[str, str, int]]:
    rows = []
    for entry_id, name in entries:
        if categories:
            count = sum(entry_id in q.categories for q in bank.questions)
        else:
            count = sum(q.level == entry_id for q in bank.questions)
        rows.append((entry_id, name, count))
    return rows


def _tidy(text: str) -> str:
    """Collapse the blank lines templates leave (never inside code), end with one newline."""
    parts = [
        block.text if block.fenced else re.sub(r"\n{3,}", "\n\n", block.text)
        for block in blocks(text)
    ]
    return "".join(parts).strip("\n") + "\n"


_PLAIN = markdown.Markdown()


def heading_text(heading_markdown: str) -> str:
    """The text content a Markdown renderer gives a heading (what GitHub slugs)."""
    _PLAIN.reset()
    rendered = _PLAIN.convert(f"# {heading_markdown}")  # as a heading: "12." is no list
    return html.unescape(_TAG.sub("", rendered)).strip()


class GithubSlugs:
    """GitHub's heading anchors (github-slugger): lower-case, punctuation dropped,
    spaces to hyphens, and ``-1``, ``-2`` ... appended to repeats within one document."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, text: str) -> str:
        base = "".join(
            ch
            for ch in text.lower()
            if ch.isalnum() or ch in "-_ " or unicodedata.category(ch).startswith("M")
        ).replace(" ", "-")
        count = self._seen.get(base, 0)
        self._seen[base] = count + 1
        if count == 0:
            return base
        candidate = f"{base}-{count}"
        while candidate in self._seen:
            count += 1
            candidate = f"{base}-{count}"
        self._seen[candidate] = 1
        return candidate
