"""Cards as a learner sees them: Anki's reviewer, its CSS and its MathJax, in Chromium.

The cards come from Anki's backend (the deck is built, imported into a real collection and
rendered by ``card.render_output()``), and are shown by Anki's own ``reviewer.js`` with the
reviewer's CSS and MathJax (see ``anki_reviewer.py``). The tests measure what matters on a
phone and at night: colours, the folded back, and nothing wider than the screen.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from anki.collection import Collection
from playwright.sync_api import Browser, Page

from anki_reviewer import NIGHT, Reviewer
from conftest import TESTS
from test_anki import FULL_BANK, build_deck, import_deck

PHONE = 390


@dataclass(frozen=True)
class RenderedCard:
    """A card as Anki's backend renders it: both sides and the note type's CSS."""

    note_id: str
    question: str
    answer: str
    css: str
    fields: dict[str, str]


def rendered_cards(bank: Path, folder: Path) -> dict[str, RenderedCard]:
    """Build ``bank``'s deck, import it into a fresh collection and render every card."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        apkg = build_deck(bank, folder / "dist", monkeypatch)
    (folder / "profile").mkdir()
    col = Collection(str(folder / "profile" / "collection.anki2"))
    try:
        import_deck(col, apkg)
        cards = {}
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            note = card.note()
            output = card.render_output()
            cards[note["ID"]] = RenderedCard(
                note["ID"],
                output.question_text,
                output.answer_text,
                output.css,
                dict(note.items()),
            )
    finally:
        col.close()
    return cards


@pytest.fixture(scope="module")
def fixture_cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderedCard]:
    return rendered_cards(FULL_BANK, tmp_path_factory.mktemp("anki-screens"))


@pytest.fixture(scope="module")
def real_cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderedCard]:
    return rendered_cards(TESTS.parent / "questions", tmp_path_factory.mktemp("anki-real"))


@pytest.fixture
def reviewer(browser: Browser, fixture_cards: dict[str, RenderedCard]) -> Iterator[Reviewer]:
    view = Reviewer(browser, next(iter(fixture_cards.values())).css, width=900)
    yield view
    view.close()


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


def open_every_fold(page: Page) -> None:
    page.evaluate("document.querySelectorAll('#qa details').forEach(d => { d.open = true; })")
    page.wait_for_timeout(50)  # the template's script refits formulas on "toggle"


@pytest.mark.parametrize("body_class", ["", NIGHT, "night_mode"])
def test_text_and_code_are_readable_in_light_and_night_mode(
    reviewer: Reviewer, fixture_cards: dict[str, RenderedCard], body_class: str
) -> None:
    card = fixture_cards["code-stable-softmax"]
    page = reviewer.show(card.question, card.answer, body_class)
    open_every_fold(page)
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


def test_the_back_is_graded_from_the_short_answer(
    reviewer: Reviewer, fixture_cards: dict[str, RenderedCard]
) -> None:
    """Question and answer open; explanation and code folded; categories only on the back."""
    card = fixture_cards["code-stable-softmax"]
    page = reviewer.show(card.question, card.answer, side="question")
    assert page.locator(".dbk-category").count() == 0  # no hint on the front
    assert page.locator(".dbk-question").is_visible()
    page = reviewer.show(card.question, card.answer)
    assert page.locator(".dbk-answer").is_visible()
    for folded in (".dbk-explanation", ".dbk-code"):
        assert page.locator(f"{folded} > summary").is_visible()
        assert not page.locator(f"{folded} > :not(summary)").first.is_visible()
    page.locator(".dbk-explanation > summary").click()
    assert page.locator(".dbk-explanation p").first.is_visible()
    categories = page.locator(".dbk-back .dbk-category").inner_text()
    assert categories == html.unescape(card.fields["Categories"]) == "Math & PyTorch"


def wide_cards(cards: dict[str, RenderedCard], per_kind: int = 16) -> list[RenderedCard]:
    """A stratified sample of at least 60 cards: the widest inline and display formulas,
    the longest code lines, the widest tables, and every fifth of the rest."""

    def longest(pattern: str, text: str) -> int:
        return max((len(m) for m in re.findall(pattern, text, re.S)), default=0)

    measures = {
        "inline": lambda c: longest(r"\\\((.*?)\\\)", c.answer),
        "display": lambda c: longest(r"\\\[(.*?)\\\]", c.answer),
        "code": lambda c: max((len(line) for line in c.fields["Code"].splitlines()), default=0),
        "table": lambda c: max((row.count("<td") for row in c.answer.split("<tr")), default=0),
    }
    chosen: dict[str, RenderedCard] = {}
    for measure in measures.values():
        ranked = sorted(cards.values(), key=lambda c: (-measure(c), c.note_id))
        chosen.update((c.note_id, c) for c in ranked[:per_kind] if measure(c))
    rest = sorted(set(cards) - set(chosen))
    chosen.update((note_id, cards[note_id]) for note_id in rest[::5])
    return [chosen[note_id] for note_id in sorted(chosen)]


#: Per card: what is wider than it should be. Every fold is open, so the explanation and
#: the code are measured too.
OVERFLOW_REPORT = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) problems.push(`page ${root.scrollWidth}px wide`);
  for (const box of document.querySelectorAll(
      '#qa pre, #qa table, #qa .dbk-math-display')) {
    if (box.scrollWidth <= box.clientWidth + 1) continue;
    const style = getComputedStyle(box);
    if (!['auto', 'scroll'].includes(style.overflowX)) problems.push(`${box.tagName} cut off`);
    if (!style.backgroundImage.includes('gradient')) problems.push(`${box.tagName} no shadow`);
  }
  for (const math of document.querySelectorAll('#qa mjx-container:not([display="true"])')) {
    const block = math.parentElement.closest('p, li, td, th, div, summary');
    const right = block.getBoundingClientRect().right - parseFloat(getComputedStyle(block).paddingRight);
    if (math.closest('pre, table, .dbk-math-display')) continue;
    if (math.getBoundingClientRect().right > right + 1) problems.push('inline math too wide');
  }
  for (const glue of document.querySelectorAll('#qa .math-glue')) {
    const rects = [...glue.getClientRects()].filter(r => r.width > 0);
    const tops = new Set(rects.map(r => Math.round(r.bottom)));
    if (tops.size > 1) problems.push(`punctuation split from its formula: ${glue.textContent}`);
  }
  return problems;
}"""


def test_no_card_of_the_real_bank_overflows_a_phone(
    browser: Browser, real_cards: dict[str, RenderedCard]
) -> None:
    sample = wide_cards(real_cards)
    assert len(sample) >= 60
    view = Reviewer(browser, sample[0].css, width=PHONE)
    failures = {}
    try:
        for card in sample:
            page = view.show(card.question, card.answer)
            open_every_fold(page)
            problems = page.evaluate(OVERFLOW_REPORT)
            if problems:
                failures[card.note_id] = problems
    finally:
        view.close()
    assert failures == {}


def test_a_long_formula_is_scaled_and_its_comma_stays_with_it(
    browser: Browser, fixture_cards: dict[str, RenderedCard]
) -> None:
    """A made-up answer whose inline formula is wider than a phone, followed by a comma."""
    card = fixture_cards["softmax-temperature"]
    long_tex = r"\(" + " + ".join(f"x_{{{i}}}^{{2}}" for i in range(40)) + r"\)"
    answer = card.answer.replace(
        '<div class="dbk-answer">',
        f'<div class="dbk-answer"><p>Sum <span class="math-glue">{long_tex},</span> end.</p>',
        1,
    )
    assert answer != card.answer
    view = Reviewer(browser, card.css, width=PHONE)
    try:
        page = view.show(card.question, answer)
        assert page.evaluate(OVERFLOW_REPORT) == []
        scaled = page.eval_on_selector(".dbk-answer mjx-container", "e => e.style.fontSize")
        assert scaled.endswith("%") and float(scaled[:-1]) < 100
    finally:
        view.close()
