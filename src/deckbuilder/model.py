"""The frozen values that pass between stages.

loader -> validate produces a :class:`Bank`; render turns it into a :class:`RenderedBank`
exactly once; exporters only read these. Everything is immutable so no exporter can change
what another one sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from deckbuilder.errors import Location


@dataclass(frozen=True)
class Level:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Reference:
    title: str
    url: str


@dataclass(frozen=True)
class FollowUp:
    """A question an interviewer may ask next, and where a learner finds its answer.

    Either ``see`` names the question of the bank that answers it, or ``answer`` gives a
    short answer itself; a plain follow-up (both ``None``) is still allowed but counted as
    leading nowhere by ``deckbuilder stats``.
    """

    question: str
    answer: str | None = None
    see: str | None = None


@dataclass(frozen=True)
class Code:
    """A code answer. ``source`` is shown; ``check`` is hidden and proves ``source`` right."""

    language: str
    source: str
    check: str | None = None
    runnable: bool = True
    reason: str | None = None
    #: Where the first line of ``source`` / ``check`` sits in the YAML file, so a failure
    #: inside the snippet can be reported at its YAML line.
    source_location: Location | None = None
    check_location: Location | None = None


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    level: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    answer: str
    explanation: str
    code: Code | None = None
    references: tuple[Reference, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    pitfalls: tuple[str, ...] = ()
    #: Ids of other questions worth studying next to this one.
    related: tuple[str, ...] = ()
    #: Position of the question's mapping in its YAML file.
    location: Location = field(default_factory=lambda: Location(Path(".")))
    #: 1-based position in the whole bank (level order, then file, then place in file).
    number: int = 0
    #: Released once, now withdrawn: kept for the Anki deck only (see ``RenderedBank.active``).
    retired: bool = False
    #: ``(field, where its first line is, whether it is a literal ``|`` block)`` for the
    #: Markdown fields and references, so diagnostics inside a field name the YAML line.
    field_locations: tuple[tuple[str, Location, bool], ...] = ()

    def markdown_fields(self) -> tuple[tuple[str, str], ...]:
        """``(field name, Markdown text)`` for every field rendered as Markdown."""
        return (
            ("question", self.question),
            ("answer", self.answer),
            ("explanation", self.explanation),
            *((f"follow_ups[{i}]", item.question) for i, item in enumerate(self.follow_ups)),
            *(
                (f"follow_ups[{i}].answer", item.answer)
                for i, item in enumerate(self.follow_ups)
                if item.answer is not None
            ),
            *((f"pitfalls[{i}]", text) for i, text in enumerate(self.pitfalls)),
        )

    def field_location(self, name: str) -> tuple[Location, bool]:
        """Where a field starts and whether lines inside it map 1:1 to YAML lines."""
        for field_name, location, literal in self.field_locations:
            if field_name == name:
                return location, literal
        return self.location, False

    def locate(self, name: str, text: str, offset: int) -> Location:
        """Where ``offset`` in field ``name`` (whose text is ``text``) is: its exact line for
        ``|`` blocks (lines map 1:1), the field's start otherwise."""
        start, literal = self.field_location(name)
        if not literal:
            return start
        return Location(start.path, start.line + text.count("\n", 0, offset), start.column)


@dataclass(frozen=True)
class Bank:
    """A validated question bank, questions in study order."""

    title: str
    slug: str
    description: str
    version: str
    author: str
    license: str
    levels: tuple[Level, ...]
    categories: tuple[Category, ...]
    questions: tuple[Question, ...]
    root: Path
    homepage: str | None = None

    def level(self, level_id: str) -> Level:
        return next(level for level in self.levels if level.id == level_id)

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def select(
        self,
        levels: Iterable[str] = (),
        categories: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> Bank:
        """The questions matching every given filter (each filter matches any of its values)."""
        wanted_levels, wanted_categories, wanted_tags = set(levels), set(categories), set(tags)
        kept = tuple(
            q
            for q in self.questions
            if (not wanted_levels or q.level in wanted_levels)
            and (not wanted_categories or wanted_categories.intersection(q.categories))
            and (not wanted_tags or wanted_tags.intersection(q.tags))
        )
        return replace(self, questions=kept)


@dataclass(frozen=True)
class Media:
    """An image a question shows: where it is in the bank and its safe packaged name."""

    path: Path
    name: str


@dataclass(frozen=True)
class RenderedFollowUp:
    """A follow-up rendered: its question, its own answer or the id of the answering question."""

    question_html: str
    answer_html: str | None = None
    see: str | None = None


@dataclass(frozen=True)
class RenderedQuestion:
    """A question with every Markdown field turned into sanitised HTML once.

    Math stays TeX inside ``<span class="math inline">`` / ``<div class="math display">``
    so each exporter finishes it for its target (MathJax, MathML, SVG, ``$..$``).
    """

    source: Question
    question_html: str
    answer_html: str
    explanation_html: str
    code_html: str | None
    follow_ups: tuple[RenderedFollowUp, ...]
    pitfalls_html: tuple[str, ...]
    has_math: bool
    media: tuple[Media, ...] = ()

    def html_fields(self) -> tuple[str, ...]:
        """The rendered Markdown fields, in the order of ``Question.markdown_fields``."""
        return (
            self.question_html,
            self.answer_html,
            self.explanation_html,
            *(item.question_html for item in self.follow_ups),
            *(item.answer_html for item in self.follow_ups if item.answer_html is not None),
            *self.pitfalls_html,
        )


@dataclass(frozen=True)
class RenderedBank:
    bank: Bank
    questions: tuple[RenderedQuestion, ...]

    def active(self) -> RenderedBank:
        """Without retired questions: what guides, PDFs and the page show."""
        kept = tuple(q for q in self.questions if not q.source.retired)
        return RenderedBank(replace(self.bank, questions=tuple(q.source for q in kept)), kept)

    def by_id(self) -> dict[str, RenderedQuestion]:
        """Each question by its id: follow-ups and related questions link through it."""
        return {q.source.id: q for q in self.questions}

    def select(self, bank: Bank) -> RenderedBank:
        """Keep the rendered questions that ``bank`` (a selection of this bank) holds."""
        kept = {q.id for q in bank.questions}
        return RenderedBank(bank, tuple(q for q in self.questions if q.source.id in kept))
