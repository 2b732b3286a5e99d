"""Per-file verdicts: a warm ``validate`` re-checks only what changed, and trusts nothing.

Every test here gives validation a cache folder of its own and compares a run that used the
cache with one that computed everything: a cache that saves time by serving stale or foreign
verdicts fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BANKS, ROOT, VALID_BANK
from deckbuilder.cli import main
from deckbuilder.contentcache import ENVIRONMENT_VARIABLE, ContentCache
from deckbuilder.validate import check_bank, validate_bank

FIXTURE_BANKS = sorted(
    p for p in [*BANKS.iterdir(), *(BANKS / "invalid").iterdir()] if (p / "bank.yaml").exists()
)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(folder))
    return folder


def validate_json(bank: Path) -> dict[str, object]:
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def verdict_entries(cache_dir: Path) -> list[Path]:
    """The cache's files that hold a verdict or a file's questions (as verdicts.dump writes)."""
    found = []
    for entry in cache_dir.glob("??/*"):
        data = json.loads(entry.read_bytes())
        if (isinstance(data, dict) and "entries" in data) or (
            isinstance(data, list) and data and isinstance(data[0], dict) and "texts" in data[0]
        ):
            found.append(entry)
    return found


@pytest.mark.parametrize("bank", FIXTURE_BANKS, ids=[p.name for p in FIXTURE_BANKS])
def test_a_cached_verdict_is_the_verdict(bank: Path, tmp_path: Path) -> None:
    fresh = validate_bank(bank, ContentCache(tmp_path / "cache"))
    cached = validate_bank(bank, ContentCache(tmp_path / "cache"))
    assert cached.files_cached == fresh.files_checked > 0
    assert cached.files_checked == 0
    assert cached.problems == fresh.problems
    assert cached.bank == fresh.bank
    checked = check_bank(bank, ContentCache(tmp_path / "cache"))
    assert checked.problems == fresh.problems
    assert checked.questions == (len(fresh.bank.questions) if fresh.bank else 0)


def test_editing_one_file_re_checks_that_file_only(bank_copy: Path, cache_dir: Path) -> None:
    extra = bank_copy / "topic" / "more.yaml"
    text = (bank_copy / "topic" / "basics.yaml").read_text("utf-8")
    prefix = "Explain to a colleague who never trained a model, "
    extra.write_text(text.replace("id: ", "id: more-").replace("question: ", f"question: {prefix}"))
    first = validate_json(bank_copy)
    assert first["files"] == {"checked": 3, "cached": 0}
    assert validate_json(bank_copy)["files"] == {"checked": 0, "cached": 3}

    extra.write_text(extra.read_text("utf-8").replace("Tokenizers map", "Tokenisers map"))
    edited = validate_json(bank_copy)
    assert edited["files"] == {"checked": 1, "cached": 2}
    assert edited["problems"] == first["problems"] == []
    assert edited["questions"] == first["questions"] == 6


def test_the_cross_file_rules_see_cached_files(bank_copy: Path, cache_dir: Path) -> None:
    """A new file that repeats an id of a cached one is caught without re-checking the other."""
    validate_json(bank_copy)
    (bank_copy / "copy.yaml").write_text((bank_copy / "topic" / "basics.yaml").read_text("utf-8"))
    report = validate_json(bank_copy)
    assert report["files"] == {"checked": 1, "cached": 2}
    rules = {p["rule"] for p in report["problems"]}  # type: ignore[attr-defined]
    assert rules == {"duplicate-id", "duplicate-question"}


def test_a_changed_image_is_judged_again(bank_copy: Path, cache_dir: Path) -> None:
    basics = bank_copy / "topic" / "basics.yaml"
    text = basics.read_text("utf-8")
    basics.write_text(text.replace("integer ids.", "integer ids. ![ids](figure.png)"))
    before = validate_json(bank_copy)
    assert [p["rule"] for p in before["problems"]] == ["media-missing"]  # type: ignore[attr-defined]
    (bank_copy / "topic" / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    after = validate_json(bank_copy)
    assert after["files"] == {"checked": 1, "cached": 1}  # the question file, not bank.yaml
    assert after["problems"] == []


@pytest.mark.parametrize(
    "garbage",
    [b"not json", b"[]", b'{"problems": "x"}', b"null"],
    ids=["not-json", "list", "wrong-type", "null"],
)
def test_a_corrupted_verdict_cache_is_recomputed(
    garbage: bytes, tmp_path: Path, cache_dir: Path
) -> None:
    bank = BANKS / "invalid" / "semantic-errors"
    expected = validate_json(bank)
    corrupted = verdict_entries(cache_dir)
    assert len(corrupted) == 5  # 3 verdicts, the questions of a.yaml and b.yaml
    for entry in corrupted:
        entry.write_bytes(garbage)
    again = validate_json(bank)
    assert again["files"] == {"checked": 3, "cached": 0}
    assert again["problems"] == expected["problems"]


def test_a_foreign_verdict_with_the_right_shape_but_wrong_types_is_a_miss(
    bank_copy: Path, cache_dir: Path
) -> None:
    expected = validate_json(bank_copy)
    for entry in verdict_entries(cache_dir):
        data = json.loads(entry.read_bytes())
        if isinstance(data, dict):
            for item in data["entries"]:
                item[1] = ["1", 1]  # a line that is not a number
            data["problems"] = [[1, 1, "fatal", "x", "y"]]  # no such severity
            entry.write_text(json.dumps(data))
    again = validate_json(bank_copy)
    assert again["files"] == {"checked": 2, "cached": 0}
    assert again["problems"] == expected["problems"]


def test_a_warm_validate_imports_neither_the_render_stack_nor_the_parsers(
    tmp_path: Path,
) -> None:
    """Cached verdicts need no YAML parser, schema validator, Markdown or math library."""
    probe = (
        "import sys\n"
        "from deckbuilder.cli import main\n"
        "try:\n"
        "    main(['validate', '--bank', sys.argv[1]])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['yaml', 'jsonschema', 'jsonschema_rs', 'markdown', 'markdown_it', 'pygments',\n"
        "         'nh3', 'latex2mathml', 'ziamath', 'weasyprint', 'genanki', 'jinja2',\n"
        "         'confusable_homoglyphs', 'rapidfuzz', 'defusedxml']\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    env = {**dict(__import__("os").environ), ENVIRONMENT_VARIABLE: str(tmp_path / "cache")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe, str(VALID_BANK)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    assert "markdown" in runs[0].stdout.split()  # cold: everything was checked
    assert runs[1].stdout.split() == []
    assert runs[1].stderr == "3 questions; 0 error(s), 0 warning(s)\n"
