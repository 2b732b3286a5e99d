"""Shared fixtures: the fixture banks, a Click runner, and the ``--update-golden`` flag."""

from __future__ import annotations

import dataclasses
import html
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, sync_playwright

from deckbuilder.contentcache import ENVIRONMENT_VARIABLE
from deckbuilder.model import RenderedBank
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank

TESTS = Path(__file__).parent
ROOT = TESTS.parent
BANKS = TESTS / "banks"
VALID_BANK = BANKS / "valid"
#: Debian's Chromium, driven by Playwright (never a browser Playwright downloads). The flags
#: keep it from reaching for the network this machine does not have.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden files from the current output (review the diff like code)",
    )


@pytest.fixture(scope="session", autouse=True)
def _private_content_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Builds in tests (subprocesses too) share one cache of their own, not the checkout's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path_factory.mktemp("content-cache")))
        yield


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    """A writable copy of the small valid bank, for tests that edit it."""
    target = tmp_path / "bank"
    shutil.copytree(VALID_BANK, target)
    return target


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


#: TeX the validator refuses (markup inside \\text) but an exporter must still neutralise if
#: it ever got through: the html-hostile bank carries placeholders that are swapped for these
#: after rendering, as if a formula had slipped past validation.
HOSTILE_TEX = {
    "HOSTILE-QUESTION": "<img src=x onerror=\"window.__pwned = 'math'\">",
    "HOSTILE-ANSWER": "<b onmouseover=\"window.__pwned = 'answer'\">x</b>",
    "HOSTILE-DISPLAY": "</math><script>window.__pwned = 'display'</script>",
}


def hostile_rendered_bank() -> RenderedBank:
    """The html-hostile bank rendered, with the hostile TeX put into its math elements."""
    rendered = render_bank(load_valid_bank(BANKS / "html-hostile")[0])

    def inject(fragment: str) -> str:
        for placeholder, tex in HOSTILE_TEX.items():
            fragment = fragment.replace(placeholder, html.escape(tex, quote=False))
        return fragment

    questions = tuple(
        dataclasses.replace(
            q,
            question_html=inject(q.question_html),
            answer_html=inject(q.answer_html),
            explanation_html=inject(q.explanation_html),
        )
        for q in rendered.questions
    )
    return RenderedBank(rendered.bank, questions)


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a reviewed golden file; ``--update-golden`` rewrites it on purpose."""
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, "utf-8")
        if not update:
            pytest.fail(f"golden file {path} did not exist; created it, review and re-run")
    assert actual == path.read_text("utf-8"), f"output differs from {path}; see diff above"
