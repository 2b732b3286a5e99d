"""The writing standards: what reads badly on a card, as warnings (``--strict`` fails on them).

A first answer is what a candidate says in the first 20 seconds; the explanation goes deeper;
an unquoted ``#`` in YAML prose silently ends the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from deckbuilder.errors import Problem, warning
from deckbuilder.model import Question
from deckbuilder.rules.schema import field_name

if TYPE_CHECKING:
    from deckbuilder.loader import Document

#: Longer first answers stop being what a candidate says in the first 20 seconds.
ANSWER_MAX_WORDS = 60


def check_answer(question: Question) -> Iterator[Problem]:
    """The short answer is short, and shorter than the explanation."""
    answer_words = len(question.answer.split())
    answer_at = question.field_location("answer")[0]
    if answer_words > ANSWER_MAX_WORDS:
        yield warning(
            answer_at,
            "answer-too-long",
            f"answer has {answer_words} words; keep the first answer under"
            f" {ANSWER_MAX_WORDS} and move detail to the explanation",
        )
    if answer_words > len(question.explanation.split()):
        yield warning(
            answer_at,
            "answer-longer-than-explanation",
            "answer is longer than the explanation; the explanation should go deeper",
        )


#: Fields holding prose, where a ``#`` is far more likely text than a comment.
_PROSE_FIELDS = {"question", "answer", "title", "follow_ups", "pitfalls", "description"}


def comments_in_text(document: Document) -> Iterator[Problem]:
    """Prose cut short by a ``#`` that YAML reads as the start of a comment."""
    for path, where in sorted(document.trailing_comments.items(), key=lambda item: item[1]):
        names = [part for part in path if isinstance(part, str)]
        if names and names[-1] in _PROSE_FIELDS:
            yield warning(
                where,
                "comment-in-text",
                f"{field_name(path)}: unquoted text followed by ' #' ends there, and the rest"
                " of the line is a YAML comment; put the whole text in quotes if '#' belongs"
                " to it",
            )
