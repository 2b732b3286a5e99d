"""The command line: exit codes, output formats, filters and the no-half-written-file rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BANKS, ROOT, VALID_BANK
from deckbuilder import build as build_module
from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.cli import main
from deckbuilder.exporters import EXPORTERS, ExporterSpec
from deckbuilder.model import RenderedBank

SEMANTIC = BANKS / "invalid" / "semantic-errors"


def test_validate_clean_bank(runner: CliRunner) -> None:
    result = runner.invoke(main, ["validate", "--bank", str(VALID_BANK)])
    assert result.exit_code == 0
    assert result.stderr == "3 questions; 0 error(s), 0 warning(s)\n"


def test_validate_json_lists_every_problem(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SEMANTIC)
    result = runner.invoke(main, ["validate", "--bank", ".", "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["questions"] == 0  # the bank has errors
    assert sum(report["files"].values()) == 3  # bank.yaml, a.yaml, b.yaml (see test_verdicts)
    problems = report["problems"]
    assert len(problems) == 16
    assert problems[0] == {
        "file": "a.yaml",
        "line": 9,
        "column": 7,
        "severity": "error",
        "rule": "math-syntax",
        "message": "explanation: TeX `\\frac{1}{` does not parse: a command is missing an"
        " argument or a closing brace",
    }


def test_validate_github_annotations(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SEMANTIC)
    result = runner.invoke(main, ["validate", "--bank", ".", "--format", "github"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 16
    assert lines[6] == (
        "::error file=b.yaml,line=2,col=5,title=duplicate-id::"
        "question id 'shared-id' is already used at a.yaml:2:5"
    )
    assert lines[4].startswith("::warning file=a.yaml,line=15,col=13,")


def test_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["validate", "--format", "xml"]).exit_code == 2
    assert runner.invoke(main, ["no-such-command"]).exit_code == 2
    result = runner.invoke(
        main, ["build", "--bank", str(VALID_BANK), "-o", str(tmp_path), "-f", "docx"]
    )
    assert result.exit_code == 2
    assert "unknown format 'docx'" in result.stderr
    result = runner.invoke(
        main, ["build", "--bank", str(VALID_BANK), "-o", str(tmp_path), "--level", "expert"]
    )
    assert result.exit_code == 2
    assert "unknown level 'expert'; known: advanced, beginner, math-code" in result.stderr


def test_build_of_invalid_bank_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = runner.invoke(main, ["build", "--bank", str(SEMANTIC), "-o", str(out)])
    assert result.exit_code == 1
    assert "nothing was built" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.rglob("*"))


def _half_then_fail(
    rendered: RenderedBank, context: BuildContext, staging: Staging
) -> list[Artifact]:
    staging.write_text("half.txt", "first half")
    raise build_module.BuildError("the exporter broke half-way")


def _one_file(rendered: RenderedBank, context: BuildContext, staging: Staging) -> list[Artifact]:
    staging.write_text("complete.txt", "\n".join(q.source.id for q in rendered.questions))
    return [Artifact(Path("complete.txt"), f"{len(rendered.questions)} ids")]


def test_failed_exporter_leaves_no_file_behind(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every exporter stages its files; one failure means nothing at all is moved in."""
    monkeypatch.setitem(EXPORTERS, "good", ExporterSpec("good", "test", "tests"))
    monkeypatch.setitem(EXPORTERS, "broken", ExporterSpec("broken", "test", "tests"))
    monkeypatch.setattr(
        ExporterSpec, "load", lambda self: _one_file if self.name == "good" else _half_then_fail
    )
    out = tmp_path / "dist"
    result = runner.invoke(
        main, ["build", "--bank", str(VALID_BANK), "-o", str(out), "-f", "good", "-f", "broken"]
    )
    assert result.exit_code == 1
    assert "the exporter broke half-way" in result.stderr
    assert list(out.rglob("*")) == []

    result = runner.invoke(main, ["build", "--bank", str(VALID_BANK), "-o", str(out), "-f", "good"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{(out / 'complete.txt').as_posix()}: 3 ids\n"
    assert sorted(p.name for p in out.rglob("*")) == [".deckbuilder-build.json", "complete.txt"]


def test_filters_select_questions(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(EXPORTERS, "good", ExporterSpec("good", "test", "tests"))
    monkeypatch.setattr(ExporterSpec, "load", lambda self: _one_file)
    out = tmp_path / "dist"
    args = ["build", "--bank", str(VALID_BANK), "-o", str(out), "-f", "good"]
    result = runner.invoke(
        main, [*args, "--level", "advanced", "--level", "math-code", "--tag", "softmax"]
    )
    assert result.exit_code == 0, result.stderr
    assert (out / "complete.txt").read_text() == "softmax-temperature\ncode-stable-softmax"
    result = runner.invoke(main, [*args, "--category", "nlp-fundamentals", "--tag", "softmax"])
    assert result.exit_code == 2
    assert "no question matches the given filters" in result.stderr


def test_stats(runner: CliRunner) -> None:
    result = runner.invoke(main, ["stats", "--bank", str(VALID_BANK), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "total": 3,
        "retired": 0,
        "by_level": {"Beginner": 1, "Advanced": 1, "Math & Code": 1},
        "by_category": {"NLP Fundamentals": 1, "Transformers & LLMs": 1, "Math & PyTorch": 2},
        "by_tag": {"softmax": 2, "decoding": 1, "tokenization": 1},
        "with_code": 1,
        "with_check": 1,
        "with_math": 2,
        "with_references": 1,
        "follow_ups": 1,
        "follow_ups_linked": 0,
        "follow_ups_answered": 0,
    }
    text = runner.invoke(main, ["stats", "--bank", str(VALID_BANK)]).stdout
    assert "  Math & Code                     1\n" in text


@pytest.mark.parametrize("kind", ["questions", "bank"])
def test_schema_prints_the_shipped_draft_2020_12_schema(runner: CliRunner, kind: str) -> None:
    result = runner.invoke(main, ["schema", kind])
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    shipped = ROOT / "src" / "deckbuilder" / "schema" / f"{kind}.schema.json"
    assert result.stdout == shipped.read_text("utf-8")


def test_check_code_runs_checks_and_maps_failures_to_yaml_lines(
    runner: CliRunner, bank_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(main, ["check-code", "--bank", str(bank_copy)])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("1 passed, 0 failed\n")

    basics = bank_copy / "topic" / "basics.yaml"
    basics.write_text(basics.read_text().replace("return [e / total", "return [e / (total + 1)"))
    monkeypatch.chdir(bank_copy)
    result = runner.invoke(main, ["check-code", "--bank", "."])
    assert result.exit_code == 1
    assert result.stdout.endswith("0 passed, 1 failed\n")
    # The failing assert is line 5 of the check, whose first line is YAML line 64.
    assert "topic/basics.yaml:68:9: error: check of 'code-stable-softmax' failed" in result.stderr


def test_check_code_unknown_id_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["check-code", "--bank", str(VALID_BANK), "--id", "nope"])
    assert result.exit_code == 2


def test_validate_and_help_do_not_import_heavy_exporters() -> None:
    """validate and --help stay fast: WeasyPrint and genanki load only when building."""
    probe = (
        "import sys\n"
        "from deckbuilder.cli import main\n"
        "for args in (['--help'], ['validate', '--bank', sys.argv[1]]):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('weasyprint', 'genanki', 'anki'))\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(VALID_BANK)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert "HEAVY []" in result.stdout
