"""Counts that tell a maintainer what the bank covers (``deckbuilder stats``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from deckbuilder.model import Bank
from deckbuilder.render import render_bank


@dataclass(frozen=True)
class BankStats:
    #: Active questions (what guides, PDFs and the page show); retired ones are counted apart.
    total: int
    retired: int
    by_level: tuple[tuple[str, int], ...]
    by_category: tuple[tuple[str, int], ...]
    by_tag: tuple[tuple[str, int], ...]
    with_code: int
    with_check: int
    with_math: int
    with_references: int
    #: Follow-up questions, and how many lead somewhere: to the question that answers them
    #: (``see``) or to an answer of their own.
    follow_ups: int
    follow_ups_linked: int
    follow_ups_answered: int

    @property
    def follow_ups_leading_somewhere(self) -> float:
        """The share of follow-ups that are linked or answered (1.0 when there are none)."""
        if not self.follow_ups:
            return 1.0
        return (self.follow_ups_linked + self.follow_ups_answered) / self.follow_ups

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "retired": self.retired,
            "by_level": dict(self.by_level),
            "by_category": dict(self.by_category),
            "by_tag": dict(self.by_tag),
            "with_code": self.with_code,
            "with_check": self.with_check,
            "with_math": self.with_math,
            "with_references": self.with_references,
            "follow_ups": self.follow_ups,
            "follow_ups_linked": self.follow_ups_linked,
            "follow_ups_answered": self.follow_ups_answered,
        }


def bank_stats(bank: Bank) -> BankStats:
    """Levels and categories in the bank's declared order (zeros included); tags by count.

    Everything is counted over the active questions, as learners see them.
    """
    questions = tuple(q for q in bank.questions if not q.retired)
    follow_ups = [f for q in questions for f in q.follow_ups]
    levels = Counter(q.level for q in questions)
    categories = Counter(c for q in questions for c in q.categories)
    tags = Counter(t for q in questions for t in q.tags)
    return BankStats(
        total=len(questions),
        retired=len(bank.questions) - len(questions),
        by_level=tuple((level.name, levels[level.id]) for level in bank.levels),
        by_category=tuple((c.name, categories[c.id]) for c in bank.categories),
        by_tag=tuple(sorted(tags.items(), key=lambda item: (-item[1], item[0]))),
        with_code=sum(q.code is not None for q in questions),
        with_check=sum(q.code is not None and q.code.check is not None for q in questions),
        with_math=sum(q.has_math for q in render_bank(bank).active().questions),
        with_references=sum(bool(q.references) for q in questions),
        follow_ups=len(follow_ups),
        follow_ups_linked=sum(f.see is not None for f in follow_ups),
        follow_ups_answered=sum(f.answer is not None for f in follow_ups),
    )
