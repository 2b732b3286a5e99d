"""Shared fixtures: the fixture banks, a Click runner, and the ``--update-golden`` flag."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, sync_playwright

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


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a reviewed golden file; ``--update-golden`` rewrites it on purpose."""
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, "utf-8")
        if not update:
            pytest.fail(f"golden file {path} did not exist; created it, review and re-run")
    assert actual == path.read_text("utf-8"), f"output differs from {path}; see diff above"
