"""Released ids stay, retired questions leave every format but Anki, and `diff` tells what changed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from deckbuilder.cli import main
from deckbuilder.validate import load_valid_bank

BASICS = Path("topic") / "basics.yaml"


def edit(bank: Path, old: str, new: str) -> None:
    path = bank / BASICS
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_lock_ids_then_deleting_a_released_id_fails_validation(
    runner: CliRunner, bank_copy: Path
) -> None:
    result = runner.invoke(main, ["lock-ids", "--bank", str(bank_copy)])
    assert result.exit_code == 0, result.output
    lock = json.loads((bank_copy / "released-ids.json").read_text())
    assert lock == {
        "versions": {
            "1.2.3": ["code-stable-softmax", "softmax-temperature", "what-is-tokenization"]
        }
    }
    again = runner.invoke(main, ["lock-ids", "--bank", str(bank_copy)])
    assert "already recorded" in again.output

    edit(bank_copy, "  - id: what-is-tokenization", "  - id: tokenization-renamed")
    result = runner.invoke(main, ["validate", "--bank", str(bank_copy)])
    assert result.exit_code == 1
    assert (
        "released-ids.json:6:1: error: question id 'what-is-tokenization' was released in 1.2.3"
        " and must stay in the bank: mark the question `retired: true` instead of deleting or"
        " renaming it [released-id-missing]"
    ) in result.stderr.replace(str(bank_copy) + "/", "")


def test_retired_questions_leave_the_guides_and_number_last(
    runner: CliRunner, bank_copy: Path, tmp_path: Path
) -> None:
    edit(bank_copy, "    level: beginner\n", "    level: beginner\n    retired: true\n")
    bank, _ = load_valid_bank(bank_copy)
    assert [(q.id, q.number, q.retired) for q in bank.questions] == [
        ("softmax-temperature", 1, False),
        ("code-stable-softmax", 2, False),
        ("what-is-tokenization", 3, True),
    ]
    out = tmp_path / "dist"
    result = runner.invoke(
        main, ["build", "-f", "markdown", "--bank", str(bank_copy), "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    guides = " ".join(p.read_text() for p in (out / "guides").glob("*.md"))
    assert "What is tokenization?" not in guides
    assert "1-beginner.md" not in guides  # the level has no active question left
    only_retired = runner.invoke(
        main,
        [
            "build",
            "-f",
            "markdown",
            "--bank",
            str(bank_copy),
            "-o",
            str(out),
            "--level",
            "beginner",
        ],
    )
    assert only_retired.exit_code == 2
    assert "every selected question is retired" in only_retired.stderr


def make_v2(bank: Path) -> None:
    """One question changed, one re-levelled, one retired, one added."""
    edit(
        bank, "Splitting text into the units (tokens) a model reads.", "Splitting text into tokens."
    )
    edit(bank, "    level: advanced\n", "    level: math-code\n")
    edit(
        bank,
        "    level: math-code\n    categories: [math-pytorch]\n    tags: [softmax]\n",
        "    level: math-code\n    retired: true\n    categories: [math-pytorch]\n    tags: [softmax]\n",
    )
    (bank / "topic" / "new.yaml").write_text(
        "questions:\n  - id: brand-new\n    question: What is new?\n    level: beginner\n"
        "    categories: [nlp-fundamentals]\n    answer: This question.\n"
        "    explanation: It was added in version two of the bank, for the diff test.\n"
    )


def test_diff_between_two_folders(runner: CliRunner, bank_copy: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(bank_copy, old)
    make_v2(bank_copy)
    result = runner.invoke(main, ["diff", str(old), str(bank_copy), "--format", "json"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)
    assert [e["id"] for e in changes["added"]] == ["brand-new"]
    assert [(e["id"], e["detail"]) for e in changes["changed"]] == [
        ("what-is-tokenization", "answer")
    ]
    assert [(e["id"], e["detail"]) for e in changes["relevelled"]] == [
        ("softmax-temperature", "advanced → math-code")
    ]
    assert [e["id"] for e in changes["retired"]] == ["code-stable-softmax"]
    assert changes["removed"] == []
    markdown = runner.invoke(main, ["diff", str(old), str(bank_copy)]).stdout
    assert markdown.startswith(
        "## Question bank 1.2.3 → 1.2.3\n\n**1 added, 1 changed, 1 re-levelled, 1 retired.**\n"
    )
    assert (
        "- `softmax-temperature` What does the temperature $T$ do to a softmax? — advanced → math-code"
        in markdown
    )


def test_diff_between_git_refs(runner: CliRunner, bank_copy: Path) -> None:
    repo = bank_copy.parent
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    make_v2(bank_copy)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "v2"], check=True)
    result = runner.invoke(
        main, ["diff", "HEAD~1", "HEAD", "--bank", str(bank_copy), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)
    assert [e["id"] for e in changes["added"]] == ["brand-new"]
    assert [e["id"] for e in changes["retired"]] == ["code-stable-softmax"]
    bad = runner.invoke(main, ["diff", "no-such-ref", "--bank", str(bank_copy)])
    assert bad.exit_code == 2
    assert "'no-such-ref' is neither a bank folder nor a git ref" in bad.stderr
