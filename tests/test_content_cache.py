"""The content cache: an edit renders only what it touches, and never changes the output.

Every test compares a build that used the cache with one made from nothing (``--force`` and
an empty cache), byte for byte: a cache that saves time by serving stale results fails here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BANKS
from deckbuilder import contentcache
from deckbuilder.build import BuildReport, BuildRequest, build
from deckbuilder.buildcache import STAMP_NAME
from deckbuilder.cli import main
from deckbuilder.contentcache import ENVIRONMENT_VARIABLE, ContentCache

FAST_FORMATS = ("anki", "markdown", "html")
EXPLANATION = "Tokenizers map text to integer ids."


@pytest.fixture(autouse=True)
def _fixed_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(folder))
    return folder


def run(bank: Path, out: Path, formats: tuple[str, ...], force: bool = False) -> BuildReport:
    return build(BuildRequest(bank, out, formats=formats, force=force, jobs=1))


def cold_build(
    bank: Path, out: Path, formats: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> BuildReport:
    """A build from nothing: an empty cache of its own, and --force."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(out.parent / f"{out.name}-cache"))
    return run(bank, out, formats, force=True)


def files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != STAMP_NAME
    }


def edit(bank: Path, old: str, new: str) -> None:
    path = bank / "topic" / "basics.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def test_an_edit_renders_only_the_edited_question_and_equals_a_cold_build(
    bank_copy: Path, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(bank_copy, tmp_path / "warm", FAST_FORMATS)
    assert first.rendered_now == first.questions == 3
    edit(bank_copy, EXPLANATION, "Tokenizers turn text into integer ids.")
    second = run(bank_copy, tmp_path / "warm", FAST_FORMATS)
    assert second.rendered_now == 1
    guide = (tmp_path / "warm" / "guides" / "1-beginner.md").read_text("utf-8")
    assert "Tokenizers turn text into integer ids." in guide
    cold = cold_build(bank_copy, tmp_path / "cold", FAST_FORMATS, monkeypatch)
    assert cold.rendered_now == 3
    assert files(tmp_path / "warm") == files(tmp_path / "cold")


def test_a_question_moved_to_another_level_is_not_rendered_again(
    bank_copy: Path, tmp_path: Path, cache_dir: Path
) -> None:
    run(bank_copy, tmp_path / "out", FAST_FORMATS)
    edit(bank_copy, "    level: beginner\n", "    level: advanced\n")
    moved = run(bank_copy, tmp_path / "out", FAST_FORMATS)
    assert moved.rendered_now == 0
    assert "What is tokenization?" in (tmp_path / "out/guides/2-advanced.md").read_text("utf-8")


def test_damaged_entries_are_misses_not_output(
    bank_copy: Path, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(bank_copy, tmp_path / "first", FAST_FORMATS)
    entries = [p for p in cache_dir.glob("??/*")]
    assert len(entries) >= 3
    for index, entry in enumerate(entries):
        # Not JSON, JSON of the wrong shape, and right shape with wrong types.
        garbage = (b"{not json", b"[1, 2]", b'{"question_html": 7}')[index % 3]
        entry.write_bytes(garbage)
    again = run(bank_copy, tmp_path / "second", FAST_FORMATS)
    assert again.rendered_now == 3
    cold = cold_build(bank_copy, tmp_path / "cold", FAST_FORMATS, monkeypatch)
    assert files(tmp_path / "second") == files(tmp_path / "cold")
    assert cold.rendered_now == 3


def test_new_code_or_library_versions_miss_every_entry(
    bank_copy: Path, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(bank_copy, tmp_path / "out", FAST_FORMATS)
    monkeypatch.setattr(contentcache, "tool_digest", lambda: "another deckbuilder")
    assert run(bank_copy, tmp_path / "out2", FAST_FORMATS).rendered_now == 3


def test_a_changed_image_renders_its_questions_again(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = tmp_path / "bank"
    shutil.copytree(BANKS / "anki-full", bank)
    formats = ("html",)
    first = run(bank, tmp_path / "a", formats)
    image = next(bank.rglob("*.png"))
    image.write_bytes(image.read_bytes() + b"\0")  # same name, new content
    second = run(bank, tmp_path / "a", formats)
    assert second.rendered_now == first.rendered_now > 0
    cold = cold_build(bank, tmp_path / "cold", formats, monkeypatch)
    assert files(tmp_path / "a") == files(tmp_path / "cold")
    assert cold.rendered_now == first.rendered_now


def test_pdf_layout_is_reused_only_for_a_document_whose_html_did_not_change(
    bank_copy: Path, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(bank_copy, tmp_path / "warm", ("pdf",))
    assert not any("reused" in a.summary for a in first.artifacts)
    # The cheat sheet shows questions and answers only: an explanation is not on it.
    edit(bank_copy, EXPLANATION, "Tokenizers turn text into integer ids.")
    second = {
        a.relative_path.name: a.summary
        for a in run(bank_copy, tmp_path / "warm", ("pdf",)).artifacts
    }
    assert "reused" in second["test-bank-cheat-sheet.pdf"]
    assert "reused" not in second["test-bank-study-guide.pdf"]
    cold_build(bank_copy, tmp_path / "cold", ("pdf",), monkeypatch)
    assert files(tmp_path / "warm") == files(tmp_path / "cold")


def test_an_unwritable_cache_folder_only_costs_time(
    bank_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(blocker))
    report = run(bank_copy, tmp_path / "out", FAST_FORMATS)
    again = run(bank_copy, tmp_path / "out2", FAST_FORMATS)
    assert report.rendered_now == again.rendered_now == 3
    assert files(tmp_path / "out") == files(tmp_path / "out2")


def test_the_cache_folder_marks_itself_as_a_cache(
    bank_copy: Path, tmp_path: Path, cache_dir: Path
) -> None:
    run(bank_copy, tmp_path / "out", ("markdown",))
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (
        (cache_dir / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )


def test_prune_drops_the_least_recently_used_entries_first(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    for number in range(6):
        before = set(tmp_path.glob("??/*"))
        cache.put_bytes("blob", number, b"x" * 1000)
        (added,) = set(tmp_path.glob("??/*")) - before
        os.utime(added, (1_000_000 + number, 1_000_000 + number))
    assert cache.get_bytes("blob", 0) == b"x" * 1000  # reading makes the oldest the newest
    cache.prune(max_bytes=3000)
    kept = [n for n in range(6) if cache.get_bytes("blob", n) is not None]
    assert kept == [0, 4, 5]


def test_force_ignores_stored_results_but_refreshes_them(
    bank_copy: Path, tmp_path: Path, cache_dir: Path
) -> None:
    run(bank_copy, tmp_path / "out", FAST_FORMATS)
    forced = run(bank_copy, tmp_path / "out", FAST_FORMATS, force=True)
    assert forced.rendered_now == 3
    assert run(bank_copy, tmp_path / "out2", FAST_FORMATS).rendered_now == 0


def test_validate_fills_the_cache_the_build_then_reads(
    bank_copy: Path, tmp_path: Path, cache_dir: Path
) -> None:
    """A pre-commit hook's validate leaves the renderings for the next build (and itself)."""
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank_copy)])
    assert result.exit_code == 0, result.output
    assert len(list(cache_dir.glob("??/*"))) >= 3
    assert run(bank_copy, tmp_path / "out", FAST_FORMATS).rendered_now == 0


def test_a_cache_inside_the_bank_folder_is_not_read_as_bank_content(
    bank_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running from inside questions/ puts the cache there; its files are not images."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(bank_copy / ".deckbuilder-cache"))
    run(bank_copy, tmp_path / "a", FAST_FORMATS)
    assert run(bank_copy, tmp_path / "b", FAST_FORMATS).rendered_now == 0


def test_trimming_a_cache_that_cannot_be_written_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate and build trim the cache after writing; a read-only one only costs room."""
    cache = ContentCache(tmp_path / "cache")
    cache.put_json("kind", "inputs", ["value"])

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    cache.prune(max_bytes=0)
    assert len(list((tmp_path / "cache").glob("??/*"))) == 1
