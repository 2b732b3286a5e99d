"""Cards as a web view shows them: Anki's rendered HTML and the note type CSS in Chromium.

Anki renders a card into ``<body class="card card1">`` (plus ``nightMode``/``night_mode`` in
night mode); these tests build that page from what Anki's backend rendered and measure it
in headless Chromium: readable colours in both themes, nothing wider than a phone.
"""

from __future__ import annotations

import re

import pytest
from anki.collection import Collection
from playwright.sync_api import Browser, Page

from test_anki import FULL_BANK, build_deck, import_deck

NIGHT = "nightMode night_mode"


def card_page(html: str, css: str, body_class: str = "") -> str:
    """The page Anki's reviewer shows: note type CSS, then the card in ``body.card``."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{css}</style></head>"
        f'<body class="card card1 {body_class}">{html}</body></html>'
    )


@pytest.fixture(scope="module")
def backs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Question id -> (answer side HTML, CSS) as Anki's backend renders them."""
    folder = tmp_path_factory.mktemp("anki-screens")
    with pytest.MonkeyPatch.context() as monkeypatch:
        apkg = build_deck(FULL_BANK, folder / "dist", monkeypatch)
    (folder / "profile").mkdir()
    col = Collection(str(folder / "profile" / "collection.anki2"))
    try:
        import_deck(col, apkg)
        rendered = {}
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            output = card.render_output()
            rendered[card.note()["ID"]] = (output.answer_text, output.css)
    finally:
        col.close()
    return rendered


def show(browser: Browser, html: str, width: int = 900) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_content(html)
    return page


def colour(page: Page, selector: str, prop: str) -> tuple[float, float, float]:
    value = page.eval_on_selector(selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')")
    channels = [float(c) for c in re.findall(r"[\d.]+", value)[:3]]
    return channels[0], channels[1], channels[2]


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[float, float, float]) -> float:
        r, g, b = (
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in (x / 255 for x in rgb)
        )
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("body_class", ["", NIGHT, "night_mode"])
def test_text_and_code_are_readable_in_light_and_night_mode(
    browser: Browser, backs: dict[str, tuple[str, str]], body_class: str
) -> None:
    html, css = backs["code-stable-softmax"]
    page = show(browser, card_page(html, css, body_class))
    background = colour(page, "body", "background-color")
    night = bool(body_class)
    assert (sum(background) < 3 * 64) == night  # a dark page only in night mode
    for selector in (".dbk-question", ".dbk-explanation p", ".dbk-answer p", ".dbk-id"):
        assert contrast(colour(page, selector, "color"), background) >= 4.5, selector
    code_background = colour(page, ".dbk-code .highlight", "background-color")
    assert (sum(code_background) < 3 * 64) == night
    for token in (".kn", ".k", ".nf", ".nb", ".c1"):  # keywords, names, builtin, comment
        selector = f".dbk-code .highlight {token}"
        assert contrast(colour(page, selector, "color"), code_background) >= 3.0, selector
    level = ".dbk-badge.dbk-level"
    assert contrast(colour(page, level, "color"), colour(page, level, "background-color")) >= 4.5
    page.close()


@pytest.mark.parametrize("body_class", ["", NIGHT])
def test_long_code_lines_and_tables_scroll_inside_their_box_on_a_phone(
    browser: Browser, backs: dict[str, tuple[str, str]], body_class: str
) -> None:
    for question_id, wide in (
        ("code-stable-softmax", ".dbk-code pre"),
        ("softmax-temperature", "table"),
    ):
        html, css = backs[question_id]
        page = show(browser, card_page(html, css, body_class), width=360)
        page_width = page.evaluate("document.documentElement.scrollWidth")
        box = page.eval_on_selector(wide, "e => [e.scrollWidth, e.clientWidth]")
        assert page_width <= 360, question_id  # the card never scrolls sideways
        assert box[0] > box[1], question_id  # the wide element scrolls inside itself
        page.close()
