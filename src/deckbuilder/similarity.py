"""Near-duplicate question texts, the way a reader (and a spammer) sees them.

Two questions are near-duplicates when their texts, folded to a skeleton, are at least
:data:`NEAR_DUPLICATE_SCORE` similar. The skeleton folds what looks alike but is not the
same text: Unicode confusables (Cyrillic U+0430 for Latin "a", from the Unicode confusables data
that ``confusable-homoglyphs`` ships), compatibility forms (NFKC: full-width letters,
ligatures), case, punctuation and spacing. Similarity is rapidfuzz's normalised Indel ratio,
compared in C++ by rapidfuzz, each text only against those whose length could reach the bar.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache

from rapidfuzz import fuzz, process

#: Percent similarity of two skeletons above which questions are reported as near-duplicates.
NEAR_DUPLICATE_SCORE = 90
_NOT_WORD = re.compile(r"[\W_]+")
_PREFERRED = ["latin", "common"]


@cache
def _latin_lookalike(character: str) -> str:
    """The Latin character ``character`` is confusable with, or itself."""
    from confusable_homoglyphs import confusables  # 0.1 s to import: only for non-ASCII text

    found = confusables.is_confusable(character, greedy=True, preferred_aliases=_PREFERRED)
    for entry in found or ():
        for homoglyph in entry["homoglyphs"]:
            if homoglyph["n"].startswith("LATIN ") and len(homoglyph["c"]) == 1:
                return str(homoglyph["c"])
    return character


def skeleton(text: str) -> str:
    """``text`` with confusables folded to Latin, NFKC, case-folded, punctuation dropped."""
    folded = "".join(
        _latin_lookalike(ch) if not ch.isascii() else ch
        for ch in unicodedata.normalize("NFKC", text)
    )
    return " ".join(_NOT_WORD.sub(" ", folded.casefold()).split())


def near_duplicates(skeletons: Sequence[str]) -> list[tuple[int, int, int]]:
    """``(first, second, score)`` for each pair of :func:`skeleton` texts at least as similar
    as the bar.

    ``first < second``, in the order of ``skeletons``; the score is a whole percentage.
    """
    # The Indel ratio of lengths a <= b is at most 2a / (a + b), so a text is only compared
    # with the texts not much longer than itself: sorted by length, a sliding window.
    widest = 200 / NEAR_DUPLICATE_SCORE - 1
    order = sorted(range(len(skeletons)), key=lambda i: len(skeletons[i]))
    pairs = []
    end = 0
    for position, index in enumerate(order):
        limit = len(skeletons[index]) * widest
        end = max(end, position + 1)
        while end < len(order) and len(skeletons[order[end]]) <= limit:
            end += 1
        window = [skeletons[i] for i in order[position + 1 : end]]
        for _match, score, offset in process.extract(
            skeletons[index],
            window,
            scorer=fuzz.ratio,
            score_cutoff=NEAR_DUPLICATE_SCORE,
            limit=None,
        ):
            other = order[position + 1 + offset]
            pairs.append((min(index, other), max(index, other), round(score)))
    return sorted(pairs)
