"""Counts that tell a maintainer what the bank covers (``deckbuilder stats``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from deckbuilder.model import Bank
from deckbuilder.render import render_bank


@dataclass(frozen=True)
class BankStats:
    total: int
    by_level: tuple[tuple[str, int], ...]
    by_category: tuple[tuple[str, int], ...]
    by_tag: tuple[tuple[str, int], ...]
    with_code: int
    with_check: int
    with_math: int
    with_references: int

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "by_level": dict(self.by_level),
            "by_category": dict(self.by_category),
            "by_tag": dict(self.by_tag),
            "with_code": self.with_code,
            "with_check": self.with_check,
            "with_math": self.with_math,
            "with_references": self.with_references,
        }


def bank_stats(bank: Bank) -> BankStats:
    """Levels and categories in the bank's declared order (zeros included); tags by count."""
    questions = bank.questions
    levels = Counter(q.level for q in questions)
    categories = Counter(c for q in questions for c in q.categories)
    tags = Counter(t for q in questions for t in q.tags)
    return BankStats(
        total=len(questions),
        by_level=tuple((level.name, levels[level.id]) for level in bank.levels),
        by_category=tuple((c.name, categories[c.id]) for c in bank.categories),
        by_tag=tuple(sorted(tags.items(), key=lambda item: (-item[1], item[0]))),
        with_code=sum(q.code is not None for q in questions),
        with_check=sum(q.code is not None and q.code.check is not None for q in questions),
        with_math=sum(q.has_math for q in render_bank(bank).questions),
        with_references=sum(bool(q.references) for q in questions),
    )
