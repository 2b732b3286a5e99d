"""Every character the real bank uses has a glyph in the fonts the PDFs are set in.

WeasyPrint draws an empty box (.notdef) for a character no font covers; reading the fonts'
character maps finds such a character in the whole bank in a second, without a PDF build.
"""

from __future__ import annotations

import subprocess

from fontTools.ttLib import TTFont

from conftest import ROOT
from deckbuilder.validate import load_valid_bank

#: The families styles/pdf-base.css names (Droid Sans Fallback covers CJK and full-width
#: forms, Lohit Devanagari the Hindi of the tokenizer questions).
PDF_FONTS = (
    "DejaVu Serif",
    "DejaVu Sans",
    "DejaVu Sans Mono",
    "Droid Sans Fallback",
    "Lohit Devanagari",
)


def font_file(family: str) -> str:
    found = subprocess.run(
        ["fc-match", "-f", "%{family}\n%{file}", family], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert family in found[0], f"{family} is not installed (scripts/bootstrap.sh installs it)"
    return found[1]


def test_every_character_of_the_bank_has_a_glyph() -> None:
    covered: set[int] = set()
    for family in PDF_FONTS:
        font = TTFont(font_file(family), fontNumber=0, lazy=True)
        covered.update(font.getBestCmap())
    bank, _ = load_valid_bank(ROOT / "questions")
    text = "".join(
        "".join(t for _, t in q.markdown_fields())
        + (q.code.source if q.code else "")
        + "".join(r.title for r in q.references)
        for q in bank.questions
    )
    used = {c for c in text if ord(c) > 127 and not c.isspace()}
    assert len(used) > 30  # Greek, arrows, math symbols, accents, dashes...
    missing = sorted(f"{c} U+{ord(c):04X}" for c in used if ord(c) not in covered)
    assert not missing, f"no PDF font draws: {missing}"
