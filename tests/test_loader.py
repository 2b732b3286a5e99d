"""The loader keeps positions and turns hostile YAML into diagnostics, never tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from deckbuilder.errors import Location
from deckbuilder.loader import MAX_DEPTH, load_file
from deckbuilder.sources import MAX_FILE_BYTES


def write(tmp_path: Path, text: str | bytes, name: str = "q.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, "utf-8")
    else:
        path.write_bytes(text)
    return path


def only_problem(path: Path) -> tuple[str, int, int, str]:
    document, problems = load_file(path)
    assert document is None
    assert len(problems) == 1
    problem = problems[0]
    return problem.rule, problem.location.line, problem.location.column, problem.message


def test_values_keep_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "questions:\n  - id: a\n    tags: [x, y]\n    answer: |\n      line one\n      line two\n",
    )
    document, problems = load_file(path)
    assert problems == []
    assert document is not None
    assert document.data == {
        "questions": [{"id": "a", "tags": ["x", "y"], "answer": "line one\nline two\n"}]
    }
    assert document.positions[("questions", 0, "id")] == Location(path, 2, 9)
    assert document.positions[("questions", 0, "tags", 1)] == Location(path, 3, 15)
    assert document.key_positions[("questions", 0, "tags")] == Location(path, 3, 5)
    # A literal block's text starts on the line after the indicator, at its indentation.
    assert document.block_starts[("questions", 0, "answer")] == Location(path, 5, 7)
    assert document.is_literal_block(("questions", 0, "answer"))


def test_locate_falls_back_to_the_nearest_parent(tmp_path: Path) -> None:
    document, _ = load_file(write(tmp_path, "questions:\n  - id: a\n"))
    assert document is not None
    assert document.locate(("questions", 0, "missing", 3)) == Location(tmp_path / "q.yaml", 2, 5)


def test_duplicate_keys_are_an_error_not_silently_merged(tmp_path: Path) -> None:
    path = write(tmp_path, "questions:\n  - id: a\n    answer: one\n    answer: two\n")
    rule, line, column, message = only_problem(path)
    assert (rule, line, column) == ("duplicate-key", 4, 5)
    assert "first defined at line 3" in message


def test_alias_bomb_is_refused_before_expansion(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
    rule, line, _column, _message = only_problem(write(tmp_path, "\n".join(lines) + "\n"))
    assert (rule, line) == ("yaml-alias", 2)


def test_python_object_tag_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "questions: !!python/object/apply:os.system ['echo hi']\n")
    rule, line, column, message = only_problem(path)
    assert (rule, line, column) == ("yaml-tag", 1, 12)
    assert "python/object/apply:os.system" in message


def test_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    rule, line, _column, message = only_problem(path)
    assert (rule, line) == ("file-too-large", 0)
    assert "50.0 MiB" in message and f"{MAX_FILE_BYTES // 2**20} MiB" in message


def test_binary_bytes_are_reported_at_their_position(tmp_path: Path) -> None:
    rule, line, column, _ = only_problem(write(tmp_path, b"questions:\n  - id: a\x00b\n"))
    assert (rule, line, column) == ("binary-file", 2, 10)


def test_invalid_utf8_points_at_the_byte(tmp_path: Path) -> None:
    rule, line, column, message = only_problem(write(tmp_path, b"a: 1\nb: caf" + b"\xe9\n"))
    assert (rule, line, column) == ("encoding", 2, 7)
    assert "0xe9" in message


def test_utf16_is_named(tmp_path: Path) -> None:
    rule, _, _, message = only_problem(write(tmp_path, "a: 1\n".encode("utf-16")))
    assert rule == "encoding" and "UTF-16" in message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    document, problems = load_file(write(tmp_path, "\ufeffa: 1\n"))
    assert problems == [] and document is not None and document.data == {"a": 1}


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused(tmp_path: Path, opening: str) -> None:
    depth = 5000
    closing = "]" if opening == "[" else "}"
    rule, _line, _column, _message = only_problem(
        write(tmp_path, opening * depth + "1" + closing * depth + "\n")
    )
    assert rule == "too-deep"
    assert depth > MAX_DEPTH


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    rule, line, column, message = only_problem(
        write(tmp_path, "questions:\n  - id: a\n   answer: b\n")
    )
    assert rule == "yaml-syntax"
    assert (line, column) == (3, 4)
    assert message.startswith("invalid YAML: ")


def test_several_documents_in_one_file_are_refused(tmp_path: Path) -> None:
    rule, line, _, _ = only_problem(write(tmp_path, "a: 1\n---\nb: 2\n"))
    assert (rule, line) == ("yaml-syntax", 2)


def test_non_string_keys_are_refused(tmp_path: Path) -> None:
    rule, line, column, _ = only_problem(write(tmp_path, "questions:\n  1: a\n"))
    assert (rule, line, column) == ("key-type", 2, 3)


def test_empty_file_is_a_document_of_nothing(tmp_path: Path) -> None:
    document, problems = load_file(write(tmp_path, "# only a comment\n"))
    assert problems == [] and document is not None and document.data is None


def test_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    """libyaml parses UTF-8; the columns reported are still the editor's character columns."""
    document, _ = load_file(write(tmp_path, "é: [ü, 'ß', x]\n"))
    assert document is not None
    assert document.positions[("é", 2)] == Location(tmp_path / "q.yaml", 1, 13)


def test_a_tab_used_for_indentation_is_named(tmp_path: Path) -> None:
    rule, line, column, message = only_problem(write(tmp_path, "questions:\n\t- id: a\n"))
    assert (rule, line, column) == ("yaml-syntax", 2, 1)
    assert message == "invalid YAML: a tab cannot indent YAML; indent with spaces"


def test_an_unclosed_quote_names_the_line_it_opened_on(tmp_path: Path) -> None:
    path = write(tmp_path, 'questions:\n  - id: "a\n    level: b\n')
    rule, line, _column, message = only_problem(path)
    assert (rule, line) == ("yaml-syntax", 4)
    assert "quoted scalar that starts on line 2" in message


def test_a_block_scalar_after_blank_lines_starts_at_its_first_text(tmp_path: Path) -> None:
    path = write(tmp_path, "a: >-\n\n\n    folded text\n    more\nb: 1\n")
    document, _ = load_file(path)
    assert document is not None
    assert document.block_starts[("a",)] == Location(path, 4, 5)
    assert not document.is_literal_block(("a",))


def test_a_comment_after_an_unquoted_value_is_recorded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'a: Annex #15, Normalization\nb: "Annex #15"  # a real comment\nc: plain\nd: x  # note\n',
    )
    document, _ = load_file(path)
    assert document is not None
    assert document.data["a"] == "Annex"  # what YAML does, and why the validator warns
    assert document.trailing_comments == {
        ("a",): Location(path, 1, 10),
        ("d",): Location(path, 4, 7),
    }
