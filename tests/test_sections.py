"""One card, every format: the same sections, with the same labels, in the same order.

The bank ``every-section`` has a question with every section a card can have (short
answer, explanation, code, pitfalls, follow-ups with an answer and with a link, related
questions, references). All four formats are built from it, and each is read back the way
a learner meets it: the Anki card rendered by Anki's backend, the page in Chromium, the
guide through a CommonMark parser, the study guide's text through pdfplumber.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pdfplumber
import pytest
from anki.collection import Collection
from click.testing import CliRunner
from markdown_it import MarkdownIt
from playwright.sync_api import Browser

from conftest import BANKS
from deckbuilder.cli import main
from deckbuilder.sections import SECTIONS
from test_anki import import_deck

BANK = BANKS / "every-section"
QUESTION_ID = "stable-softmax-code"
#: What follows the question, in the canonical order.
LABELS = [section.label for section in SECTIONS if section.key != "question"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("every-section") / "dist"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        result = CliRunner().invoke(main, ["build", "--bank", str(BANK), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_fixture_has_every_section() -> None:
    text = (BANK / "topic" / "softmax.yaml").read_text("utf-8")
    for key in ("code:", "pitfalls:", "follow_ups:", "related:", "references:", "see:"):
        assert key in text


def test_anki_card(built: Path, tmp_path: Path) -> None:
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        import_deck(col, built / "every-section.apkg")
        card = col.get_card(col.find_cards(f'"ID:{QUESTION_ID}"')[0])
        back = card.answer()
    finally:
        col.close()
    labels = re.findall(r'<(?:div|summary) class="dbk-heading">([^<]+)</', back)
    assert labels == LABELS
    # Anki cannot link notes: the answering and related question are named by their text.
    assert back.count("What does a softmax compute?") == 1 + 1  # related + "see" target


def test_study_page(built: Path, browser: Browser) -> None:
    page = browser.new_page()
    page.goto((built / "every-section.html").as_uri())
    labels = page.eval_on_selector_all(
        f"#q-{QUESTION_ID} h3",
        "hs => hs.map(h => h.firstChild.textContent.trim())",
    )
    assert labels == LABELS
    assert page.locator(f"#q-{QUESTION_ID} .related a").get_attribute("href") == (
        "#q-softmax-definition"
    )
    assert page.locator(f"#q-{QUESTION_ID} .follow-ups a.see").get_attribute("href") == (
        "#q-softmax-definition"
    )
    page.close()


def test_markdown_guide(built: Path) -> None:
    tokens = MarkdownIt("commonmark").parse((built / "guides" / "2-math-code.md").read_text())
    labels = []
    for index, token in enumerate(tokens):
        if token.type == "html_block":
            labels += re.findall(r"<summary>([^<]+)</summary>", token.content)
        elif token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            children = [c for c in token.children or [] if c.type != "text" or c.content]
            if [c.type for c in children] == ["strong_open", "text", "strong_close"]:
                labels.append(children[1].content)
    assert labels == LABELS


def test_pdf_study_guide(built: Path) -> None:
    with pdfplumber.open(built / "every-section-study-guide.pdf") as pdf:
        text = next(
            page.extract_text()
            for page in pdf.pages
            if "Write a numerically stable" in (page.extract_text() or "")
            and "SHORT ANSWER" in (page.extract_text() or "")
        )
    wanted = "|".join(re.escape(label.upper()) for label in LABELS)
    labels = re.findall(rf"^\s*({wanted})\b", text, re.M)
    assert labels == [label.upper() for label in LABELS]


def test_stats_count_follow_ups_that_lead_somewhere() -> None:
    result = CliRunner().invoke(main, ["stats", "--bank", str(BANK), "--format", "json"])
    numbers = json.loads(result.stdout)
    assert (numbers["follow_ups"], numbers["follow_ups_linked"]) == (2, 1)
    assert numbers["follow_ups_answered"] == 1
    text = CliRunner().invoke(main, ["stats", "--bank", str(BANK)]).stdout
    assert "(100% lead somewhere)" in text
