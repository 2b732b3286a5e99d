"""The Markdown guides, read back with a real CommonMark parser (markdown-it-py)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

from conftest import BANKS, TESTS, VALID_BANK, assert_golden
from deckbuilder.cli import main
from deckbuilder.exporters.markdown import GithubSlugs
from deckbuilder.validate import load_valid_bank

TRICKY = BANKS / "markdown-tricky"
ALLOWED_RAW_HTML = {
    "<details>",
    "<summary>Short answer</summary>",
    "<summary>Explanation</summary>",
    "</details>",
}


def build(runner: CliRunner, bank: Path, out: Path, *extra: str) -> Path:
    result = runner.invoke(
        main, ["build", "-f", "markdown", "--bank", str(bank), "-o", str(out), *extra]
    )
    assert result.exit_code == 0, result.stderr
    return out / "guides"


def parse(path: Path) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(path.read_text("utf-8"))


def github_slug(text: str) -> str:
    """GitHub's anchor rule, written independently of the exporter's: lower-case, keep
    letters, digits, marks, '-', '_' and spaces, then spaces -> '-'."""
    kept = [c for c in text.lower() if unicodedata.category(c)[0] in "LNM" or c in "-_ "]
    return "".join(kept).replace(" ", "-")


def heading_anchors(tokens: list[Token]) -> list[str]:
    anchors: list[str] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[i + 1]
            text = "".join(child.content for child in inline.children or [])
            base = github_slug(text)
            count = sum(
                1 for a in anchors if a == base or re.fullmatch(rf"{re.escape(base)}-\d+", a)
            )
            anchors.append(base if count == 0 else f"{base}-{count}")
    return anchors


def links(tokens: list[Token]) -> list[str]:
    found = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrs["href"]))
            if child.type == "image":
                found.append(str(child.attrs["src"]))
    return found


@pytest.fixture(scope="module")
def tricky_guides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(CliRunner(), TRICKY, tmp_path_factory.mktemp("md"), "--by", "category")


@pytest.fixture(scope="module")
def valid_guides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(CliRunner(), VALID_BANK, tmp_path_factory.mktemp("md"))


@pytest.mark.parametrize("which", ["tricky_guides", "valid_guides"])
def test_every_internal_and_relative_link_resolves(
    which: str, request: pytest.FixtureRequest
) -> None:
    guides: Path = request.getfixturevalue(which)
    checked = 0
    for path in sorted(guides.glob("*.md")):
        tokens = parse(path)
        anchors = set(heading_anchors(tokens))
        for target in links(tokens):
            if target.startswith(("http://", "https://")):
                continue
            file_part, _, fragment = target.partition("#")
            document = path if not file_part else guides / unquote(file_part)
            assert document.is_file(), f"{path.name}: link to missing {target}"
            if fragment:
                wanted = anchors if document == path else set(heading_anchors(parse(document)))
                assert fragment in wanted, f"{path.name}: no heading for #{fragment}"
            checked += 1
    assert checked > 10


def test_every_question_appears_once_in_its_level_guide(valid_guides: Path) -> None:
    bank, _ = load_valid_bank(VALID_BANK)
    guide_of = {
        "beginner": "1-beginner.md",
        "advanced": "2-advanced.md",
        "math-code": "3-math-code.md",
    }
    for question in bank.questions:
        for name in guide_of.values():
            tokens = parse(valid_guides / name)
            headings = [
                tokens[i + 1].content
                for i, t in enumerate(tokens)
                if t.type == "heading_open" and t.tag == "h3"
            ]
            hits = [h for h in headings if h.startswith(f"{question.number}. ")]
            assert len(hits) == (1 if name == guide_of[question.level] else 0)


def test_code_blocks_are_fenced_with_a_language_and_backticks_survive(tricky_guides: Path) -> None:
    fences = [
        t
        for p in sorted(tricky_guides.glob("*.md"))
        for t in parse(p)
        if t.type in ("fence", "code_block")
    ]
    assert fences, "no code in the tricky bank's guides"
    assert all(t.type == "fence" and t.info.strip() for t in fences)
    code = [t for t in fences if t.info == "python"]
    assert code[0].content == 'FENCE = "```"\nprint(FENCE + "python")\n'
    assert code[0].markup == "````"


def test_details_are_balanced_and_the_only_raw_html(tricky_guides: Path) -> None:
    for path in sorted(tricky_guides.glob("*.md")):
        tokens = parse(path)
        raw = [t.content.strip() for t in tokens if t.type == "html_block"]
        raw += [c.content for t in tokens for c in t.children or [] if c.type == "html_inline"]
        lines = [line for block in raw for line in block.splitlines()]
        assert set(lines) <= ALLOWED_RAW_HTML, (
            f"{path.name}: raw HTML {set(lines) - ALLOWED_RAW_HTML}"
        )
        assert lines.count("<details>") == lines.count("</details>")
        depth = 0
        for line in lines:
            depth += {"<details>": 1, "</details>": -1}.get(line, 0)
            assert 0 <= depth <= 2  # the explanation's <details> nests in the answer's


def test_hostile_html_in_question_text_is_shown_as_text(tricky_guides: Path) -> None:
    rendered = MarkdownIt("commonmark").render((tricky_guides / "1-beginner.md").read_text())
    assert "<script" not in rendered and '<img src="x"' not in rendered
    assert "&lt;script&gt;alert" in rendered
    assert "<code>&lt;b&gt;</code>" in rendered


def test_images_are_copied_next_to_the_guides(tricky_guides: Path) -> None:
    media = sorted((tricky_guides / "media").iterdir())
    assert [m.name for m in media] == ["dbm-370d0388760d-attention-map.png"]
    assert media[0].read_bytes() == (TRICKY / "images" / "attention map.png").read_bytes()


def test_learned_checkbox_per_question(valid_guides: Path) -> None:
    text = (valid_guides / "2-advanced.md").read_text()
    rendered = MarkdownIt("commonmark").use(tasklists_plugin).render(text)
    assert rendered.count('type="checkbox"') == 1


def test_by_category_adds_a_guide_per_used_category(tricky_guides: Path) -> None:
    names = sorted(p.name for p in tricky_guides.glob("*.md"))
    assert names == [
        "1-beginner.md",
        "3-math-code.md",
        "README.md",
        "category-math-pytorch.md",
        "category-nlp-fundamentals.md",
    ]


def test_guides_are_deterministic_and_match_golden(tmp_path: Path, update_golden: bool) -> None:
    first = build(CliRunner(), VALID_BANK, tmp_path / "a")
    second = build(CliRunner(), VALID_BANK, tmp_path / "b")
    for path in sorted(first.rglob("*.md")):
        assert path.read_bytes() == (second / path.relative_to(first)).read_bytes()
        assert_golden(
            TESTS / "golden" / "markdown" / path.name, path.read_text("utf-8"), update_golden
        )


def test_github_slugs_number_repeated_headings() -> None:
    slugs = GithubSlugs()
    assert [slugs.slug(t) for t in ("Q & A", "Q & A", "q-a-1", "Q & A")] == [
        "q--a",
        "q--a-1",
        "q-a-1",
        "q--a-2",
    ]
    assert github_slug("Q & A") == "q--a"


def test_code_answers_are_copied_byte_for_byte(valid_guides: Path) -> None:
    bank, _ = load_valid_bank(VALID_BANK)
    source = next(q.code.source for q in bank.questions if q.code)
    fences = [t for t in parse(valid_guides / "3-math-code.md") if t.type == "fence"]
    assert [t.content for t in fences if t.info == "python"] == [source]
