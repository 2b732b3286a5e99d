"""Every folder in tests/banks/invalid/ is a bank with mistakes and its exact diagnostics.

``expected.txt`` holds what ``deckbuilder validate`` prints (run inside the folder) and
``expected-exit`` its exit code; ``pytest --update-golden`` rewrites both on purpose.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BANKS, assert_golden
from deckbuilder.cli import main

CASES = sorted(p for p in (BANKS / "invalid").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_bank_reports_exactly(
    case: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    monkeypatch.chdir(case)
    result = runner.invoke(main, ["validate", "--bank", "."])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output + result.stderr
    assert_golden(case / "expected.txt", result.stderr, update_golden)
    assert_golden(case / "expected-exit", f"{result.exit_code}\n", update_golden)


def test_every_case_names_file_line_column_and_rule() -> None:
    for case in CASES:
        lines = (case / "expected.txt").read_text("utf-8").splitlines()[:-1]
        assert lines, f"{case.name} reports nothing"
        for line in lines:
            location, severity, _rest = line.split(": ", 2)
            assert severity in ("error", "warning"), line
            assert location.count(":") == 2, f"no file:line:column in {line!r}"
            assert line.endswith("]") and " [" in line, f"no rule name in {line!r}"


def test_strict_turns_warnings_into_failure(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BANKS / "invalid" / "warnings-only")
    assert runner.invoke(main, ["validate", "--bank", "."]).exit_code == 0
    strict = runner.invoke(main, ["validate", "--bank", ".", "--strict"])
    assert strict.exit_code == 1
    assert "0 error(s), 4 warning(s)" in strict.stderr


def test_math_rules_do_not_depend_on_what_was_imported_before() -> None:
    """ziamath adds operator names to latex2mathml at import; the validator must not care."""
    probe = (
        "import sys\n"
        "if sys.argv[2] == 'ziamath-first':\n"
        "    import ziamath  # noqa: F401\n"
        "from pathlib import Path\n"
        "from deckbuilder.validate import validate_bank\n"
        "for p in validate_bank(Path(sys.argv[1])).problems:\n"
        "    print(p.rule, p.location.line)\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe, str(BANKS / "invalid" / "semantic-errors"), order],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for order in ("plain", "ziamath-first")
    ]
    assert runs[0] == runs[1]
    assert "math-unsupported 33" in runs[0]
