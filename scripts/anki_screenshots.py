"""Screenshots of one Anki card of the real bank, front and back, by day and by night.

    .venv/bin/python scripts/anki_screenshots.py [--id QUESTION_ID] [--out docs/screenshots]

The deck is built from ``questions/``, imported into a scratch collection with Anki's own
backend, and shown at phone width (390 px) by Anki's own reviewer.js, CSS and MathJax, as
the tests do (``tests/anki_reviewer.py``). The README's Anki section shows the result.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from anki.collection import Collection
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from anki_reviewer import NIGHT, Reviewer  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from deckbuilder.build import BuildRequest, build  # noqa: E402
from test_anki import import_deck  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--id", default="scaled-dot-product-attention-step-by-step")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        build(BuildRequest(bank_dir=REPO / "questions", output=folder, formats=("anki",)))
        col = Collection(str(folder / "collection.anki2"))
        try:
            import_deck(col, next(folder.glob("*.apkg")))
            card = col.get_card(col.find_cards(f'"ID:{args.id}"')[0])
            output = card.render_output()
        finally:
            col.close()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        view = Reviewer(browser, output.css, width=390, height=700)
        for theme, body_class in (("day", ""), ("night", NIGHT)):
            for side in ("front", "back"):
                page = view.show(
                    output.question_text,
                    output.answer_text,
                    body_class,
                    side="answer" if side == "back" else "question",
                )
                target = args.out / f"anki-{side}-{theme}.png"
                page.screenshot(path=str(target), full_page=True)
                print(target)
        browser.close()


if __name__ == "__main__":
    main()
