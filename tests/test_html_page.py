"""The study page in a real browser: Debian's Chromium driven by Playwright.

Each test opens the built file from disk (file://) in a fresh browser context, so storage
starts empty; every request the page makes is recorded and anything but the page itself is
aborted, and every Content-Security-Policy violation is recorded too.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import BANKS, hostile_rendered_bank
from deckbuilder.build_context import BuildContext
from deckbuilder.exporters.html import render_page
from deckbuilder.model import RenderedBank
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank

RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  (window.__violations = window.__violations || []).push(event.effectiveDirective);
});
"""
UNSANITISED = (
    '<img src="x" onerror="window.__pwned = \'onerror\'">'
    "<script>window.__pwned = 'script'</script>"
)


@dataclass
class Visit:
    page: Page
    requests: list[str]
    failed: list[tuple[str, str | None]]
    errors: list[str]

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__violations || []")
        return found


OpenPage = Callable[..., Visit]


def write_page(folder: Path, rendered: RenderedBank) -> str:
    context = BuildContext(output=folder, source_date_epoch=1_700_000_000)
    path = folder / f"{rendered.bank.slug}.html"
    path.write_text(render_page(rendered, context), "utf-8")
    return path.as_uri()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """File URLs of the built pages: the shared valid bank, the hostile bank, and the
    hostile bank with one explanation replaced by unsanitised HTML (the policy's test)."""
    urls = {
        "valid": write_page(
            tmp_path_factory.mktemp("valid"), render_bank(load_valid_bank(BANKS / "valid")[0])
        )
    }
    hostile = hostile_rendered_bank()
    urls["html-hostile"] = write_page(tmp_path_factory.mktemp("html-hostile"), hostile)
    first = dataclasses.replace(hostile.questions[0], explanation_html=UNSANITISED)
    unsanitised = RenderedBank(hostile.bank, (first, *hostile.questions[1:]))
    # The exporter sanitises every fragment again on its way into the page; switched off
    # here, so the policy is shown to hold on its own.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("deckbuilder.exporters.html.resanitised", lambda question: question)
        urls["unsanitised"] = write_page(tmp_path_factory.mktemp("unsanitised"), unsanitised)
    return urls


@pytest.fixture
def open_page(browser: Browser, pages: dict[str, str]) -> Iterator[OpenPage]:
    """``open_page(bank="valid", hash="", **context options)`` -> a loaded :class:`Visit`."""
    contexts = []

    def open_(bank: str = "valid", hash: str = "", **options: Any) -> Visit:
        context = browser.new_context(accept_downloads=True, **options)
        contexts.append(context)
        requests: list[str] = []
        failed: list[tuple[str, str | None]] = []
        context.on("request", lambda request: requests.append(request.url))
        context.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
        context.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(pages[bank] + hash)
        return Visit(page, requests, failed, errors)

    yield open_
    for context in contexts:
        context.close()


def shown(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        ".card:not([hidden])", "cards => cards.map((card) => card.id.slice(2))"
    )
    return ids


def choose(page: Page, name: str) -> None:
    """Click a filter chip the way a reader does: on its visible label, in the Filters sheet."""
    if page.locator("#filters").is_hidden():
        page.click("#filters-button")
    page.locator("label.chip", has_text=name).click()


ALL = ["what-is-tokenization", "softmax-temperature", "code-stable-softmax"]


def test_page_runs_its_script_with_no_error_and_no_violation(open_page: OpenPage) -> None:
    visit = open_page()
    expect(visit.page.locator("#count")).to_have_text("Showing 3 of 3")
    assert visit.page.evaluate("document.documentElement.className") == "js"
    assert visit.errors == []
    assert visit.violations() == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("softmax", ["softmax-temperature", "code-stable-softmax"]),
        ("SOFTMAX stable", ["code-stable-softmax"]),  # every word, any case
        ("decoding", ["softmax-temperature"]),  # a tag only
        ("BPE", ["what-is-tokenization"]),  # the explanation only
        ("sharpens", ["softmax-temperature"]),  # the answer only
        ("overflows", ["code-stable-softmax"]),
        ("   ", ALL),
    ],
)
def test_search_narrows_and_counts(open_page: OpenPage, query: str, expected: list[str]) -> None:
    page = open_page().page
    page.fill("#search", query)
    assert shown(page) == expected
    expect(page.locator("#count")).to_have_text(f"Showing {len(expected)} of 3")
    expect(page.locator("#empty")).to_be_hidden()


def test_no_match_says_so_and_clear_restores_everything(open_page: OpenPage) -> None:
    page = open_page().page
    page.fill("#search", "quaternion")
    choose(page, "Beginner")
    assert shown(page) == []
    expect(page.locator("#count")).to_have_text("Showing 0 of 3")
    expect(page.locator("#empty")).to_be_visible()
    page.click("#clear")
    assert shown(page) == ALL
    assert page.input_value("#search") == ""
    assert page.evaluate("location.hash") == ""


def test_search_ignores_accents(open_page: OpenPage) -> None:
    page = open_page("html-hostile").page
    page.fill("#search", "schutze")
    assert shown(page) == ["image-and-accents"]


def test_filters_combine_with_each_other_and_with_search(open_page: OpenPage) -> None:
    page = open_page().page
    choose(page, "Math & PyTorch")
    assert shown(page) == ["softmax-temperature", "code-stable-softmax"]
    choose(page, "Advanced")
    assert shown(page) == ["softmax-temperature"]
    expect(page.locator("#count")).to_have_text("Showing 1 of 3")
    choose(page, "All levels")
    page.fill("#search", "stable")
    assert shown(page) == ["code-stable-softmax"]
    choose(page, "NLP Fundamentals")
    assert shown(page) == []


def test_the_hash_keeps_filters_and_search_for_a_shared_link(open_page: OpenPage) -> None:
    visit = open_page()
    page = visit.page
    choose(page, "Math & PyTorch")
    choose(page, "Math & Code")
    page.fill("#search", "stable softmax")
    # Typing updates the address once it pauses (replaceState is slow on a big page).
    expect(page).to_have_url(
        re.compile(r"#q=stable\+softmax&category=math-pytorch&level=math-code$")
    )
    shared = page.url

    other = open_page(hash="#" + shared.split("#", 1)[1]).page
    assert shown(other) == ["code-stable-softmax"]
    assert other.input_value("#search") == "stable softmax"
    assert other.is_checked('input[name="category"][value="math-pytorch"]')
    assert other.is_checked('input[name="level"][value="math-code"]')

    other.evaluate("location.hash = 'level=beginner'")  # editing the address bar
    expect(other.locator("#count")).to_have_text("Showing 1 of 3")
    assert shown(other) == ["what-is-tokenization"]
    assert other.input_value("#search") == ""


def test_a_link_with_unknown_values_shows_everything(open_page: OpenPage) -> None:
    page = open_page(hash="#level=expert&category=robotics").page
    assert shown(page) == ALL
    assert page.is_checked('input[name="level"][value=""]')


def test_expanding_a_card_shows_explanation_code_and_references(open_page: OpenPage) -> None:
    page = open_page().page
    card = page.locator("#q-code-stable-softmax")
    expect(card.locator(".card-body")).to_be_hidden()
    expect(card.locator(".answer")).to_contain_text("Subtract the row maximum")
    card.locator(".toggle").click()
    expect(card.locator(".toggle")).to_have_attribute("aria-expanded", "true")
    expect(card.locator(".explanation")).to_contain_text("nothing overflows")
    expect(card.locator(".code pre")).to_contain_text("exps = [math.exp(x - m) for x in xs]")
    other = page.locator("#q-softmax-temperature")
    other.locator(".toggle").click()
    expect(
        other.get_by_role("link", name=re.compile("Distilling the Knowledge"))
    ).to_have_attribute("href", "https://arxiv.org/abs/1503.02531")
    expect(other.locator(".pitfalls")).to_contain_text("does not change the argmax")
    card.locator(".toggle").click()
    expect(card.locator(".card-body")).to_be_hidden()


def test_cards_work_from_the_keyboard(open_page: OpenPage) -> None:
    page = open_page().page
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type("tokenization")
    assert shown(page) == ["what-is-tokenization"]
    page.keyboard.press("Escape")
    assert shown(page) == ALL

    page.focus("#filters-button")  # the filters sheet is closed: the cards come next
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.className, document.activeElement.closest('.card').id]"
    )
    assert focused == ["toggle", "q-what-is-tokenization"]
    body = page.locator("#b-what-is-tokenization")
    page.keyboard.press("Enter")
    expect(body).to_be_visible()
    page.keyboard.press(" ")
    expect(body).to_be_hidden()
    page.keyboard.press("Tab")
    page.keyboard.press(" ")
    expect(page.locator("#learned-count")).to_have_text("1")


def test_copy_button_copies_the_code(open_page: OpenPage) -> None:
    page = open_page(permissions=["clipboard-read", "clipboard-write"]).page
    card = page.locator("#q-code-stable-softmax")
    card.locator(".toggle").click()
    card.locator(".code .copy").click()
    expect(card.locator(".code .copy")).to_have_text("Copied")
    source = load_valid_bank(BANKS / "valid")[0].questions[2].code
    assert source is not None
    assert page.evaluate("navigator.clipboard.readText()") == source.source


def test_learned_updates_the_counter_and_survives_a_reload(open_page: OpenPage) -> None:
    page = open_page().page
    expect(page.locator(".progress")).to_contain_text("0 / 3 Learned")
    page.locator("#q-softmax-temperature .learn").click()
    expect(page.locator(".progress")).to_contain_text("1 / 3 Learned")
    expect(page.locator("#q-softmax-temperature .learn")).to_have_attribute("aria-pressed", "true")

    page.reload()
    expect(page.locator(".progress")).to_contain_text("1 / 3 Learned")
    assert page.eval_on_selector("#learned-bar", "bar => bar.value") == 1
    page.click("#filters-button")
    page.check("#todo")
    assert shown(page) == ["what-is-tokenization", "code-stable-softmax"]
    assert "todo=1" in page.evaluate("location.hash")

    # Marking one more while "not yet learned" is on hides it and keeps the focus on a card.
    page.locator("#q-what-is-tokenization .learn").click()
    assert shown(page) == ["code-stable-softmax"]
    assert page.evaluate("document.activeElement.closest('.card').id") == "q-code-stable-softmax"
    page.locator("#q-code-stable-softmax .learn").click()
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator(".progress")).to_contain_text("3 / 3 Learned")


def test_progress_shows_in_another_tab_of_the_same_page(open_page: OpenPage) -> None:
    first = open_page().page
    second = first.context.new_page()
    second.goto(first.url)
    first.locator("#q-what-is-tokenization .learn").click()
    expect(second.locator("#learned-count")).to_have_text("1")


def test_progress_export_and_import_round_trip(open_page: OpenPage, tmp_path: Path) -> None:
    page = open_page().page
    for card_id in ("code-stable-softmax", "what-is-tokenization"):
        page.locator(f"#q-{card_id} .learn").click()
    page.click("#filters-button")
    with page.expect_download() as download_info:
        page.click("#export")
    download = download_info.value
    assert download.suggested_filename == "test-bank-progress.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert json.loads(saved.read_text("utf-8")) == {
        "format": "deckbuilder-progress",
        "version": 2,
        "bank": "test-bank",
        "learned": ["code-stable-softmax", "what-is-tokenization"],
        "practice": {},
    }

    fresh = open_page().page  # a new browser profile: nothing learned yet
    expect(fresh.locator("#learned-count")).to_have_text("0")
    fresh.locator("#q-softmax-temperature .learn").click()
    fresh.click("#filters-button")
    with fresh.expect_file_chooser() as chooser:
        fresh.click("#import")
    chooser.value.set_files(saved)
    expect(fresh.locator("#status")).to_have_text("Imported 2 learned question(s), 2 new.")
    expect(fresh.locator("#learned-count")).to_have_text("3")  # merged, nothing lost
    fresh.reload()
    expect(fresh.locator("#learned-count")).to_have_text("3")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not a progress file: it is not JSON."),
        ('{"learned": ["x"]}', "is not a deckbuilder progress file."),
        (
            '{"format": "deckbuilder-progress", "version": 1, "bank": "other", "learned": ["a"]}',
            'holds progress for "other", not for this bank ("test-bank").',
        ),
    ],
)
def test_import_refuses_other_files(
    open_page: OpenPage, tmp_path: Path, content: str, message: str
) -> None:
    page = open_page().page
    wrong = tmp_path / "wrong.json"
    wrong.write_text(content)
    page.set_input_files("#import-file", wrong)
    expect(page.locator("#status")).to_have_text(f"wrong.json {message}")
    expect(page.locator("#learned-count")).to_have_text("0")


def test_the_page_makes_no_request_but_itself(open_page: OpenPage, pages: dict[str, str]) -> None:
    for bank in ("valid", "html-hostile"):
        visit = open_page(bank)
        page = visit.page
        for toggle in page.locator(".toggle").all():
            toggle.click()
        page.fill("#search", "a")
        page.locator(".learn").first.click()
        page.click("#theme")
        page.emulate_media(media="print")
        page.reload()
        assert visit.requests == [pages[bank], pages[bank]]
        assert visit.violations() == []


def test_hostile_content_never_runs(open_page: OpenPage) -> None:
    visit = open_page("html-hostile")
    page = visit.page
    for toggle in page.locator(".toggle").all():
        toggle.click()
    page.hover("#b-raw-html-script .pitfalls b")
    page.click("#q-math-injection math >> nth=0")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert visit.errors == []
    assert visit.violations() == []  # sanitised away before the policy had to act
    # What the questions say is shown as text.
    expect(page.locator("#b-raw-html-script .code")).to_contain_text(
        "</script><script>window.__pwned = 'code'</script>"
    )
    expect(page.locator("#t-math-injection mtext")).to_have_text(
        "<img src=x onerror=\"window.__pwned = 'math'\">"
    )
    assert page.title().startswith('Hostile <script>window.__pwned = "title"</script>')


def test_the_policy_stops_script_the_sanitiser_missed(open_page: OpenPage) -> None:
    visit = open_page("unsanitised")
    page = visit.page
    page.locator("#q-raw-html-script .toggle").click()
    expect(page.locator("#count")).to_have_text("Showing 3 of 3")  # the page's own script ran
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert {"script-src-elem", "script-src-attr", "img-src"} <= set(visit.violations())
    image = visit.requests[0].rsplit("/", 1)[0] + "/x"
    assert visit.requests[1:] == [image]
    assert visit.failed == [(image, "csp")]  # stopped by the policy before any fetch


def test_math_is_drawn_as_mathml(open_page: OpenPage) -> None:
    page = open_page().page
    page.locator("#q-softmax-temperature .toggle").click()
    fraction = page.locator("#b-softmax-temperature math[display=block] mfrac")
    numerator = fraction.locator(":scope > :first-child").bounding_box()
    denominator = fraction.locator(":scope > :last-child").bounding_box()
    assert numerator and denominator
    assert numerator["y"] + numerator["height"] <= denominator["y"] + 1  # stacked, not inline
    inline = page.locator("#t-softmax-temperature math")
    assert inline.get_attribute("display") is None  # MathML's default: inline
    assert inline.evaluate("m => getComputedStyle(m).display") == "math"


@pytest.mark.parametrize(
    ("system", "clicks", "theme", "label", "background"),
    [
        ("light", 0, "light", "Theme: auto", "rgb(245, 246, 250)"),
        ("dark", 0, "dark", "Theme: auto", "rgb(14, 17, 23)"),
        ("dark", 1, "light", "Theme: light", "rgb(245, 246, 250)"),
        ("light", 2, "dark", "Theme: dark", "rgb(14, 17, 23)"),
        ("dark", 3, "dark", "Theme: auto", "rgb(14, 17, 23)"),
    ],
)
def test_theme_follows_the_system_until_chosen_and_remembers_the_choice(
    open_page: OpenPage, system: str, clicks: int, theme: str, label: str, background: str
) -> None:
    page = open_page(color_scheme=system).page
    for _ in range(clicks):
        page.click("#theme")
    page.reload()
    page.locator("#q-code-stable-softmax .toggle").click()  # its code is coloured when seen
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    expect(page.locator("#theme")).to_have_text(label)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    code_keyword = page.evaluate(
        "getComputedStyle(document.querySelector('#b-code-stable-softmax .highlight .kn')).color"
    )
    assert code_keyword == ("rgb(0, 128, 0)" if theme == "light" else "rgb(255, 123, 114)")


def test_printing_shows_every_shown_card_expanded_in_dark_ink(open_page: OpenPage) -> None:
    page = open_page(color_scheme="dark").page
    choose(page, "Math & PyTorch")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what printing sends first
    page.emulate_media(media="print")
    expect(page.locator("#controls")).to_be_hidden()
    expect(page.locator("#b-softmax-temperature")).to_be_visible()
    expect(page.locator("#b-code-stable-softmax")).to_be_visible()
    expect(page.locator("#q-what-is-tokenization")).to_be_hidden()
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(28, 34, 48)"
    keyword = page.locator("#b-code-stable-softmax .highlight .kn")
    assert keyword.evaluate("k => getComputedStyle(k).color") == "rgb(0, 128, 0)"


@pytest.mark.parametrize("bank", ["valid", "html-hostile"])
def test_nothing_is_wider_than_a_phone(open_page: OpenPage, bank: str) -> None:
    page = open_page(bank, viewport={"width": 360, "height": 740}, is_mobile=True).page
    for toggle in page.locator(".toggle").all():
        toggle.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_without_script_every_card_is_readable(open_page: OpenPage) -> None:
    page = open_page(java_script_enabled=False).page
    expect(page.locator("#controls")).to_be_hidden()
    for card_id in ALL:
        expect(page.locator(f"#q-{card_id} .card-body")).to_be_visible()
    # Code reads as plain text (its colours come with the script).
    expect(page.locator("#q-code-stable-softmax .code pre")).to_contain_text("def softmax(xs):")
    assert page.locator("#q-code-stable-softmax .code pre span").count() == 0
