"""The study page built from the real bank, as a learner uses it, in Debian's Chromium.

Practice mode (FSRS scheduling checked against the Python ``fsrs`` package), recall first,
phones (390 x 844), search ranking, keyboard, deep links, accessibility (axe-core), the page
without JavaScript and in print. Every request is recorded and any but the page's own aborted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler
from playwright.sync_api import Browser, Page, expect

from conftest import ROOT
from deckbuilder.build_context import BuildContext
from deckbuilder.exporters.html import render_page
from deckbuilder.model import RenderedBank
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PRACTICE_KEY = "deckbuilder:nlp-interview-master:practice"


@dataclass
class Visit:
    page: Page
    requests: list[str]
    errors: list[str]


OpenPage = Callable[..., Visit]


@pytest.fixture(scope="module", autouse=True)
def _patient_expectations() -> Iterator[None]:
    """Assertions that wait for the page wait up to a minute on a shared machine."""
    expect.set_options(timeout=60_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def real_rendered() -> RenderedBank:
    return render_bank(load_valid_bank(ROOT / "questions")[0])


@pytest.fixture(scope="module")
def real_page(tmp_path_factory: pytest.TempPathFactory, real_rendered: RenderedBank) -> str:
    folder = tmp_path_factory.mktemp("real")
    rendered = real_rendered
    path = folder / f"{rendered.bank.slug}.html"
    path.write_text(
        render_page(rendered, BuildContext(output=folder, source_date_epoch=1_700_000_000)), "utf-8"
    )
    return path.as_uri()


@pytest.fixture
def open_page(browser: Browser, real_page: str) -> Iterator[OpenPage]:
    """``open_page(hash="", clock=None, **context options)`` -> a loaded :class:`Visit`."""
    contexts = []

    def open_(hash: str = "", clock: datetime | None = None, **options: Any) -> Visit:
        context = browser.new_context(accept_downloads=True, timezone_id="UTC", **options)
        context.set_default_timeout(180_000)
        contexts.append(context)
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        context.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
        page = context.new_page()
        # A page of 248 cards on a shared 2-core machine can take longer than Playwright's
        # 30 s default to load; this is a ceiling for a hung page, not a timing assertion.
        page.set_default_timeout(180_000)
        if clock is not None:
            page.clock.set_fixed_time(clock)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(real_page + hash)
        return Visit(page, requests, errors)

    yield open_
    for context in contexts:
        context.close()


def shown(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#questions .card:not([hidden])", "cards => cards.map((card) => card.id.slice(2))"
    )
    return ids


def settle(page: Page) -> None:
    """Let the page's after-layout work (fitting formulas to the screen) run."""
    page.evaluate(
        "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => "
        "setTimeout(done, 100))))"
    )


def real_questions() -> list[Any]:
    return list(load_valid_bank(ROOT / "questions")[0].questions)


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["attention", "beam search", "BLEU", "LoRA rank"])
def test_after_typing_the_first_match_is_fully_on_a_phone_screen(
    open_page: OpenPage, query: str
) -> None:
    page = open_page(**PHONE).page
    page.mouse.wheel(0, 6000)  # a reader deep in the list types a new search
    page.wait_for_timeout(100)
    page.locator("#search").click()
    page.keyboard.type(query)
    first = page.locator(f"#q-{shown(page)[0]}")
    box = first.bounding_box()
    bar = page.locator("#controls").bounding_box()
    assert box and bar
    assert bar["y"] >= -1 and bar["y"] + bar["height"] <= box["y"]  # the search stays on top
    assert box["y"] + box["height"] <= 844
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_first_screen_of_a_phone_is_compact(open_page: OpenPage) -> None:
    page = open_page(**PHONE).page
    expect(page.locator(".lede")).to_be_hidden()
    expect(page.locator("#filters")).to_be_hidden()
    expect(page.locator(".search-hint")).to_be_hidden()  # no "/" on a touch screen
    first = page.locator("#questions .card").first.bounding_box()
    assert first and first["y"] < 300
    for selector in ("#search", "#filters-button", "#mode-practice", "#answers", ".toggle"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["height"] >= 44, selector
    page.click("#filters-button")
    sheet = page.locator("#filters")
    expect(sheet).to_be_visible()
    page.locator("label.chip", has_text="Advanced").click()
    expect(page.locator("#filters-button")).to_have_text("Filters (1)")
    page.click("#filters-done")
    expect(sheet).to_be_hidden()


def test_no_card_of_the_real_bank_overflows_a_phone(open_page: OpenPage) -> None:
    """Every card open at 390 px: the page and each card stay as wide as the screen; what is
    wider scrolls in its own box, which shows it and takes the keyboard focus; inline math
    keeps its punctuation on its line."""
    page = open_page(**PHONE).page
    page.click("#answers")
    page.evaluate("document.querySelectorAll('#questions .toggle').forEach((b) => b.click())")
    settle(page)
    report = page.evaluate(
        """() => {
        const out = {cards: 0, wide: [], boxes: 0, unmarked: [], nofocus: [], lonely: [], inline: []};
        for (const card of document.querySelectorAll('#questions .card')) {
          out.cards += 1;
          if (card.scrollWidth > card.clientWidth + 1) {
            const edge = card.getBoundingClientRect().right;
            const culprit = [...card.querySelectorAll('*')].find((el) =>
              el.getBoundingClientRect().right > edge + 1 && getComputedStyle(el).overflowX === 'visible'
              && !el.closest('.math-display, .table-scroll, pre, .too-wide, .question, .answer, p, ul, ol'));
            out.wide.push([card.id, card.scrollWidth, culprit && culprit.outerHTML.slice(0, 200)]);
          }
          for (const box of card.querySelectorAll('.math-display, .table-scroll, pre, .too-wide')) {
            if (box.scrollWidth <= box.clientWidth + 1) continue;
            out.boxes += 1;
            if (getComputedStyle(box).backgroundImage === 'none') out.unmarked.push(card.id);
            if (box.tabIndex !== 0) out.nofocus.push(card.id);
          }
          for (const math of card.querySelectorAll('math:not([display="block"])')) {
            const unit = math.closest('.math-glue') || math.closest('.math-inline') || math;
            const next = unit.nextSibling;
            if (next && next.nodeType === 3 && /^[.,;:!?)]/.test(next.data)) out.lonely.push(card.id);
            const line = unit.parentElement.closest('p, li, h2, h3, div, td, th');
            if (unit.getBoundingClientRect().width > line.clientWidth + 1
                && !unit.classList.contains('too-wide')) out.inline.push(card.id);
          }
        }
        out.page = document.documentElement.scrollWidth;
        return out;
    }"""
    )
    assert report["cards"] == len(real_questions())
    assert report["page"] <= 390
    assert report["wide"] == []
    assert report["boxes"] > 0  # the bank has formulas and code wider than a phone
    assert report["unmarked"] == []
    assert report["nofocus"] == []
    assert report["lonely"] == []
    assert report["inline"] == []


# --- recall first ------------------------------------------------------------------------------


def test_answers_stay_hidden_until_a_card_opens_or_show_answers_is_on(open_page: OpenPage) -> None:
    page = open_page(**DESKTOP).page
    first = page.locator("#questions .card").first
    expect(first.locator(".answer")).to_be_hidden()
    first.locator(".toggle").click()
    expect(first.locator(".answer")).to_be_visible()
    second = page.locator("#questions .card").nth(1)
    page.click("#answers")
    expect(page.locator("#answers")).to_have_attribute("aria-pressed", "true")
    expect(second.locator(".answer")).to_be_visible()
    page.reload()
    expect(page.locator("#answers")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#questions .card").nth(1).locator(".answer")).to_be_visible()


# --- search -------------------------------------------------------------------------------------


def test_search_ranks_the_question_above_answer_tags_and_explanation(open_page: OpenPage) -> None:
    page = open_page(**DESKTOP).page
    page.fill("#search", "attention")
    ids = shown(page)
    by_id = {q.id: q for q in real_questions()}

    def where(question: Any) -> int:
        if "attention" in question.question.lower():
            return 0
        if "attention" in question.answer.lower():
            return 1
        if any("attention" in tag for tag in question.tags):
            return 2
        return 3

    ranks = [where(by_id[i]) for i in ids]
    assert ranks[0] == 0 and 3 in ranks
    assert ranks == sorted(ranks)
    # Words are marked in the cards a reader can see; the others get their marks (and
    # snippets) when they come near the screen, so a keystroke never touches every card.
    assert marked(page, ids[0]) and marked(page, ids[1])
    last = ids[ranks.index(3)]
    assert not marked(page, last)
    page.locator(f"#q-{last}").scroll_into_view_if_needed()
    # A card that matches only in its hidden explanation says so in a line.
    body_only = page.locator(f"#q-{last} .snippet")
    expect(body_only).to_be_visible()
    expect(body_only).to_contain_text(re.compile("In the explanation: .*attention", re.I))
    assert marked(page, last)
    expect(page.locator(f"#q-{ids[0]} .snippet")).to_be_hidden()


def marked(page: Page, question_id: str) -> bool:
    """Whether a search mark lies in the card."""
    found: bool = page.evaluate(
        """(id) => [...(CSS.highlights.get('search') || [])].some(
          (range) => document.getElementById(`q-${id}`).contains(range.startContainer))""",
        question_id,
    )
    return found


def test_chip_counts_reflect_the_other_filters(open_page: OpenPage) -> None:
    page = open_page(**DESKTOP).page
    questions = real_questions()
    page.click("#filters-button")
    page.locator("label.chip", has_text="Advanced").click()
    advanced = [q for q in questions if q.level == "advanced"]
    for category in {c for q in questions for c in q.categories}:
        expected = sum(category in q.categories for q in advanced)
        count = page.locator(f'small[data-count="{category}"]')
        expect(count).to_have_text(str(expected))
    # The level chips keep counting every level, within the (all) categories.
    expect(page.locator('input[name="level"] + span small[data-count="advanced"]')).to_have_text(
        str(len(advanced))
    )


# --- keyboard and links -------------------------------------------------------------------------


def test_keyboard_moves_opens_marks_and_lists_the_keys(open_page: OpenPage) -> None:
    page = open_page(**DESKTOP).page
    ids = shown(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    focused = (
        "document.activeElement.closest('.card') && document.activeElement.closest('.card').id"
    )
    assert page.evaluate(focused) == f"q-{ids[1]}"
    page.keyboard.press("k")
    assert page.evaluate(focused) == f"q-{ids[0]}"
    page.keyboard.press("o")
    expect(page.locator(f"#b-{ids[0]}")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator(f"#b-{ids[0]}")).to_be_hidden()
    page.keyboard.press("l")
    expect(page.locator("#learned-count")).to_have_text("1")
    page.keyboard.press("?")
    expect(page.locator("#keys-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#keys-dialog")).to_be_hidden()


def test_a_deep_link_opens_its_card(open_page: OpenPage) -> None:
    target = real_questions()[150].id
    page = open_page(hash=f"#q-{target}", **PHONE).page
    expect(page.locator(f"#b-{target}")).to_be_visible()
    box = page.locator(f"#q-{target}").bounding_box()
    assert box and 0 <= box["y"] < 844
    assert page.evaluate("document.activeElement.closest('.card').id") == f"q-{target}"


# --- practice -----------------------------------------------------------------------------------


def unique_query(page: Page, start: int) -> tuple[str, str]:
    """A question from ``start`` on and words of it that find it alone (the practice scope
    is what the search shows)."""
    for question in real_questions()[start:]:
        words = re.findall(r"[A-Za-z]{4,}", question.question)
        for size in range(2, len(words) + 1):
            query = " ".join(words[:size])
            page.fill("#search", query)
            if shown(page) == [question.id]:
                return question.id, query
    raise AssertionError("no query finds a question alone")


def stored(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.evaluate(f"localStorage.getItem('{PRACTICE_KEY}')"))
    return data


def test_practice_hides_the_answer_until_revealed(open_page: OpenPage) -> None:
    page = open_page(**PHONE).page
    page.click("#mode-practice")
    expect(page.locator("#questions")).to_be_hidden()
    page.click("#practice-begin")
    card_id = page.get_attribute("#practice-card", "data-id")
    answer = page.locator(f"#q-{card_id} .answer p").first.text_content() or ""
    assert answer
    assert answer[:40] not in page.evaluate("document.body.innerText")
    expect(page.locator("#practice-answer")).to_be_hidden()
    page.keyboard.press(" ")
    expect(page.locator("#practice-answer")).to_be_visible()
    assert answer[:40] in page.evaluate("document.body.innerText")
    expect(page.locator("#practice-body")).to_be_hidden()
    page.click("#practice-more")
    expect(page.locator("#practice-body")).to_be_visible()


GRADES = [3, 3, 1, 3, 4, 2, 3]


def test_grading_schedules_exactly_as_the_python_fsrs_package(open_page: OpenPage) -> None:
    """Each review happens an hour after the card fell due; after each, the page's stored due
    date equals the one the ``fsrs`` package computes for the same grades at the same times."""
    when = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    visit = open_page(clock=when, **DESKTOP)
    page = visit.page
    question_id, query = unique_query(page, 40)
    scheduler = Scheduler(enable_fuzzing=False)
    expected = FsrsCard(due=when)
    for grade in GRADES:
        page.clock.set_fixed_time(when)
        page.goto(page.url.split("#")[0] + "#" + f"q={query.replace(' ', '+')}&mode=practice")
        page.reload()
        expect(page.locator("#practice-scope")).to_contain_text(
            "1 new." if grade == GRADES[0] and expected.last_review is None else "1 due today"
        )
        page.click("#practice-begin")
        assert page.get_attribute("#practice-card", "data-id") == question_id
        page.keyboard.press(" ")
        page.keyboard.press(str(grade))
        expected, _ = scheduler.review_card(expected, Rating(grade), review_datetime=when)
        record = stored(page)[question_id]
        assert datetime.fromisoformat(record["due"].replace("Z", "+00:00")) == expected.due
        assert record["stability"] == pytest.approx(expected.stability, rel=1e-6)
        assert record["difficulty"] == pytest.approx(expected.difficulty, rel=1e-6)
        assert record["state"] == expected.state.value
        when = expected.due + timedelta(hours=1)
    assert visit.errors == []


def test_a_round_counts_per_level_and_ends_with_a_summary(open_page: OpenPage) -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    page = open_page(clock=now, **DESKTOP).page
    questions = real_questions()
    page.click("#filters-button")
    page.locator("label.chip", has_text="Advanced").click()
    page.click("#filters-done")
    page.click("#mode-practice")
    advanced = [q for q in questions if q.level == "advanced"]
    expect(page.locator("#practice-scope")).to_contain_text(
        f"Practise Advanced: 0 due today, {len(advanced)} new."
    )
    expect(page.locator('#practice-counts tr[data-level="advanced"] .new')).to_have_text(
        str(len(advanced))
    )
    expect(page.locator('#practice-counts tr[data-level="beginner"] .new')).to_have_text("0")
    page.click("#practice-begin")
    expect(page.locator("#practice-position")).to_have_text("1 of 20")
    for _ in range(20):
        page.keyboard.press(" ")
        page.keyboard.press("4")  # Easy: a new card graduates at once
    expect(page.locator("#practice-summary")).to_be_visible()
    expect(page.locator("#practice-summary-text")).to_contain_text(
        "Reviewed 20 question(s), Again 0 time(s). Next due:"
    )
    page.click("#practice-again")
    expect(page.locator("#practice-scope")).to_contain_text(
        f"0 due today, {len(advanced) - 20} new."
    )
    assert len(stored(page)) == 20


def test_practice_state_survives_reload_and_export_clear_import(
    open_page: OpenPage, tmp_path: Path
) -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    page = open_page(clock=now, **DESKTOP).page
    page.click("#mode-practice")
    page.click("#practice-begin")
    for grade in ("3", "1", "4"):
        page.keyboard.press(" ")
        page.keyboard.press(grade)
    before = stored(page)
    assert len(before) == 3
    page.reload()
    assert stored(page) == before
    expect(page.locator("#mode-practice")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("tfoot .due")).to_have_text("2")  # Good and Again: due again today

    page.click("#filters-button")
    with page.expect_download() as download_info:
        page.click("#export")
    saved = tmp_path / "progress.json"
    download_info.value.save_as(saved)
    exported = json.loads(saved.read_text("utf-8"))
    assert exported["version"] == 2 and exported["practice"] == before

    page.evaluate("localStorage.clear()")
    page.reload()
    expect(page.locator("tfoot .due")).to_have_text("0")
    page.click("#filters-button")
    page.set_input_files("#import-file", saved)
    expect(page.locator("#status")).to_contain_text("practice history of 3 question(s)")
    assert stored(page) == before
    expect(page.locator("tfoot .due")).to_have_text("2")


def test_practising_and_reading_the_real_page_make_no_request(
    open_page: OpenPage, real_page: str
) -> None:
    visit = open_page(**PHONE)
    page = visit.page
    page.fill("#search", "transformer")
    page.locator("#questions .card:not([hidden]) .toggle").first.click()
    page.click("#mode-practice")
    page.click("#practice-begin")
    page.keyboard.press(" ")
    page.click("#practice-more")
    page.keyboard.press("3")
    page.emulate_media(media="print")
    page.reload()
    assert visit.requests == [real_page, real_page]
    assert visit.errors == []


# --- accessibility ------------------------------------------------------------------------------


#: Every pair of device, view and colour scheme, in four runs rather than eight (a pairwise
#: design): a violation that needs two of them together (dark phone controls, a light practice
#: card) is still met, and axe on the 346-card page is the slowest step of the test suite.
AXE_RUNS = [
    ("desktop", "reading", "light"),
    ("desktop", "practice", "dark"),
    ("phone", "reading", "dark"),
    ("phone", "practice", "light"),
]


@pytest.mark.parametrize(("device", "view", "scheme"), AXE_RUNS)
def test_no_serious_or_critical_axe_violation(
    open_page: OpenPage, device: str, view: str, scheme: str
) -> None:
    options = PHONE if device == "phone" else DESKTOP
    page = open_page(color_scheme=scheme, **options).page
    if view == "practice":
        page.click("#mode-practice")
        page.click("#practice-begin")
        page.keyboard.press(" ")
        page.click("#practice-more")
    else:
        page.fill("#search", "attention")
        page.locator("#questions .card:not([hidden]) .toggle").first.click()
        page.locator("#questions .card:not([hidden]) .toggle").nth(3).click()
    settle(page)
    # The card list in practice (main[hidden]) and the cards a filter hid are display: none on
    # screen, so no rule can fail on them; leaving them out of axe's context spares it a third
    # of its time or more. The test below asserts they are really not rendered.
    unrendered = ["main[hidden]", "#questions .card[hidden]"]
    assert page.evaluate(
        "(selectors) => selectors.every((s) => [...document.querySelectorAll(s)].every("
        "(element) => !element.checkVisibility()))",
        unrendered,
    )
    results = Axe().run(page, context={"exclude": [[s] for s in unrendered]})
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:5])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


# --- without JavaScript, and on paper -----------------------------------------------------------


def test_without_javascript_every_answer_is_readable(open_page: OpenPage) -> None:
    page = open_page(java_script_enabled=False, **PHONE).page
    expect(page.locator("#controls")).to_be_hidden()
    expect(page.locator("#practice")).to_be_hidden()
    hidden = page.evaluate(
        """() => [...document.querySelectorAll('#questions .card')].filter((card) =>
            !card.querySelector('.answer').checkVisibility() ||
            !card.querySelector('.card-body').checkVisibility()).length"""
    )
    assert hidden == 0
    assert page.locator("#questions .card").count() == len(real_questions())


def test_printing_shows_the_filtered_cards_expanded(open_page: OpenPage) -> None:
    page = open_page(**DESKTOP).page
    page.fill("#search", "attention")
    ids = shown(page)
    page.click("#mode-practice")  # even from practice, paper gets the reading view
    page.emulate_media(media="print")
    expect(page.locator("#practice")).to_be_hidden()
    for card_id in ids[:5]:
        expect(page.locator(f"#q-{card_id} .answer")).to_be_visible()
        expect(page.locator(f"#b-{card_id}")).to_be_visible()
    hidden = next(q.id for q in real_questions() if q.id not in ids)
    expect(page.locator(f"#q-{hidden}")).to_be_hidden()


# --- size ---------------------------------------------------------------------------------------


def test_the_real_page_stays_under_its_3_mb_budget(real_rendered: RenderedBank) -> None:
    """The page carries the whole bank; markup that draws nothing must not creep back.
    Measured on what a build ships: the active questions."""
    context = BuildContext(output=ROOT, source_date_epoch=1_700_000_000)
    size = len(render_page(real_rendered.active(), context).encode("utf-8"))
    assert size < 3_000_000, f"the real bank's page is {size:,} bytes"
