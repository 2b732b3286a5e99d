"""The sections of a card, in the one order every format shows them.

A learner moves between the Anki deck, the study page, the PDFs and the Markdown guides, so
a question must read the same everywhere: recall first (question, short answer), then study
(explanation, code, pitfalls), then where to go next (follow-ups, related questions,
references). Every exporter and template walks :func:`sections_of` instead of keeping an
order of its own; ``tests/test_sections.py`` builds all four formats and compares.
"""

from __future__ import annotations

from dataclasses import dataclass

from deckbuilder.model import Question


@dataclass(frozen=True)
class Section:
    """One part of a card: ``key`` names it in templates, ``label`` is what readers see."""

    key: str
    label: str
    #: An optional section is left out (label and all) when a question has nothing for it.
    optional: bool = True


SECTIONS: tuple[Section, ...] = (
    Section("question", "Question", optional=False),
    Section("answer", "Short answer", optional=False),
    Section("explanation", "Explanation", optional=False),
    Section("code", "Code"),
    Section("pitfalls", "Common pitfalls"),
    Section("follow_ups", "Follow-up questions"),
    Section("related", "Related questions"),
    Section("references", "References"),
)
SECTION = {section.key: section for section in SECTIONS}


def has_section(question: Question, key: str) -> bool:
    """Whether ``question`` has content for the section ``key``."""
    if not SECTION[key].optional:
        return True
    return bool(getattr(question, key))


def sections_of(question: Question) -> tuple[Section, ...]:
    """The sections ``question`` shows, in canonical order."""
    return tuple(s for s in SECTIONS if has_section(question, s.key))


def answer_sections(question: Question) -> tuple[Section, ...]:
    """What follows the question: everything a learner uncovers after trying to recall."""
    return tuple(s for s in sections_of(question) if s.key != "question")
