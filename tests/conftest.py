"""Shared fixtures: the fixture banks, a Click runner, and the ``--update-golden`` flag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

TESTS = Path(__file__).parent
ROOT = TESTS.parent
BANKS = TESTS / "banks"
VALID_BANK = BANKS / "valid"


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


def assert_golden(path: Path, actual: str, update: bool) -> None:
    """Compare with a reviewed golden file; ``--update-golden`` rewrites it on purpose."""
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, "utf-8")
        if not update:
            pytest.fail(f"golden file {path} did not exist; created it, review and re-run")
    assert actual == path.read_text("utf-8"), f"output differs from {path}; see diff above"
