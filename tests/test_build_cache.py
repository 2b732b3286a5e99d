"""Rebuilds skip unchanged formats; two builds of the same commit are byte-identical."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckbuilder.build import BuildRequest, build, source_date_epoch
from deckbuilder.buildcache import STAMP_NAME
from deckbuilder.cli import main

FAST_FORMATS = ("markdown", "html")


def request(bank: Path, out: Path, **changes: object) -> BuildRequest:
    return BuildRequest(bank, out, formats=FAST_FORMATS, **changes)  # type: ignore[arg-type]


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != STAMP_NAME
    }


def test_nothing_changed_means_nothing_rebuilt(
    bank_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "dist"
    first = build(request(bank_copy, out))
    assert first.questions == 3 and len(first.artifacts) == 5
    before = snapshot(out)

    again = build(request(bank_copy, out))
    assert (again.questions, again.artifacts, again.up_to_date) == (None, (), FAST_FORMATS)
    assert snapshot(out) == before  # not even rewritten: same bytes, same mtimes

    forced = build(request(bank_copy, out, force=True))
    assert len(forced.artifacts) == 5


def test_a_change_rebuilds_and_a_damaged_output_is_rebuilt(
    bank_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "dist"
    build(request(bank_copy, out))
    basics = bank_copy / "topic" / "basics.yaml"
    basics.write_text(basics.read_text().replace("Splitting text", "Cutting text"))
    changed = build(request(bank_copy, out))
    assert changed.up_to_date == () and changed.questions == 3
    assert "Cutting text" in (out / "test-bank.html").read_text()

    (out / "guides" / "README.md").unlink()
    repaired = build(request(bank_copy, out))
    assert repaired.up_to_date == ("html",)
    assert (out / "guides" / "README.md").is_file()

    other_option = build(request(bank_copy, out, paper="letter"))
    assert other_option.up_to_date == ()


def test_cli_reports_up_to_date_formats(runner: CliRunner, bank_copy: Path, tmp_path: Path) -> None:
    args = ["build", "-f", "markdown", "--bank", str(bank_copy), "-o", str(tmp_path / "dist")]
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    assert runner.invoke(main, args, env=env).exit_code == 0
    result = runner.invoke(main, args, env=env)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "up to date: markdown (use --force to rebuild)\n"


def test_two_builds_of_one_commit_are_byte_identical(
    bank_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No SOURCE_DATE_EPOCH: the time of the last commit touching the bank is used."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(bank_copy)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    env = {
        **os.environ,
        "GIT_COMMITTER_DATE": "2024-05-01T12:00:00Z",
        "GIT_AUTHOR_DATE": "2024-05-01T12:00:00Z",
    }
    subprocess.run([*git, "commit", "-qm", "bank"], check=True, env=env)
    assert source_date_epoch(bank_copy) == 1714564800

    every_format = ("anki", "pdf", "markdown", "html")
    first = build(BuildRequest(bank_copy, tmp_path / "a", formats=every_format))
    # --force: everything computed again, nothing taken from the content cache.
    second = build(BuildRequest(bank_copy, tmp_path / "b", formats=every_format, force=True))
    assert {a.relative_path for a in first.artifacts} == {a.relative_path for a in second.artifacts}
    names = sorted(a.relative_path.as_posix() for a in first.artifacts)
    assert any(n.endswith(".apkg") for n in names) and any(n.endswith(".pdf") for n in names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
