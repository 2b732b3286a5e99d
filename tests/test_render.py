"""The render stage: Markdown -> sanitised HTML once, math marked, code highlighted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import TESTS, VALID_BANK, assert_golden
from deckbuilder.render import (
    highlight_code,
    iter_math,
    markdown_to_html,
    new_markdown,
    pygments_css,
    render_bank,
    replace_math,
)
from deckbuilder.validate import load_valid_bank


def html(text: str, *, inline: bool = False) -> str:
    return markdown_to_html(new_markdown(), text, inline=inline)


def rendered_text(bank_dir: Path) -> str:
    bank, _ = load_valid_bank(bank_dir)
    parts = []
    for q in render_bank(bank).questions:
        parts += [f"<!-- {q.source.number} {q.source.id} -->", q.question_html, q.answer_html]
        parts += [
            q.explanation_html,
            q.code_html or "",
            *(f.question_html for f in q.follow_ups),
            *q.pitfalls_html,
        ]
    return "\n".join(parts)


def test_rendered_bank_matches_the_reviewed_golden_file(update_golden: bool) -> None:
    assert_golden(TESTS / "golden" / "render-valid.html", rendered_text(VALID_BANK), update_golden)


def test_rendering_is_deterministic() -> None:
    assert rendered_text(VALID_BANK) == rendered_text(VALID_BANK)


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "javascript:"),
        ('<iframe src="https://example.org"></iframe>', "<iframe"),
        ('<div style="background:url(x)" onclick="steal()">x</div>', "onclick"),
        ("<svg><script>alert(1)</script></svg>", "alert"),
        ('<p onmouseover="x()">hover</p>', "onmouseover"),
    ],
)
def test_hostile_html_is_removed(hostile: str, forbidden: str) -> None:
    out = html(f"before {hostile} after")
    assert forbidden not in out.lower()
    assert "before" in out and "after" in out


def test_math_is_marked_for_the_exporters_and_tex_survives_escaping() -> None:
    out = html(r"Inline $a_i < b_j \& c$ and display:" + "\n\n" + r"$$\frac{x}{y} > 1$$")
    assert '<span class="math math-inline">a_i &lt; b_j \\&amp; c</span>' in out
    assert list(iter_math(out)) == [("inline", r"a_i < b_j \& c"), ("display", r"\frac{x}{y} > 1")]
    anki = replace_math(out, lambda kind, tex: f"[{kind}:{tex}]")
    assert "[inline:a_i < b_j \\& c]" in anki and "[display:\\frac{x}{y} > 1]" in anki


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and $10 per month.",
        r"Escaped \$HOME stays text.",
        "Code `$x$` stays code.",
        "```bash\necho $HOME $PATH\n```",
    ],
)
def test_dollars_that_are_not_math_stay_text(text: str) -> None:
    out = html(text)
    assert "math-inline" not in out and "math-display" not in out
    assert "$" in out


def test_fenced_code_is_highlighted_with_pygments_classes() -> None:
    out = html("```python\ndef f(x):\n    return x\n```")
    assert '<div class="highlight">' in out
    assert '<span class="k">def</span>' in out


def test_code_answer_is_highlighted_and_escaped() -> None:
    out = highlight_code("if a < b:\n    print('<script>')\n", "python")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert out.startswith('<div class="highlight"><pre>')


def test_inline_rendering_drops_the_paragraph() -> None:
    assert html("What is *BPE*?", inline=True) == "What is <em>BPE</em>?"


def test_tables_keep_alignment_without_inline_styles() -> None:
    out = html("| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert '<th align="left">a</th>' in out and "style=" not in out


def test_pygments_css_is_scoped() -> None:
    css = pygments_css("monokai", ".nightMode .highlight")
    assert re.search(r"^\.nightMode \.highlight \.k \{", css, re.M)


def test_question_number_follows_level_order_then_file_order() -> None:
    bank, _ = load_valid_bank(VALID_BANK)
    assert [(q.number, q.level) for q in bank.questions] == [
        (1, "beginner"),
        (2, "advanced"),
        (3, "math-code"),
    ]


def test_a_list_right_after_a_paragraph_line_is_a_list_as_in_commonmark() -> None:
    out = html(
        "**Algorithms.**\n- BPE\n- WordPiece\n\nSteps:\n1. count\n2. merge\n\n```text\na\n- b\n```"
    )
    assert "<ul>\n<li>BPE</li>" in out and "<ol>\n<li>count</li>" in out
    assert "a\n- b" in out  # code is untouched
    assert html("It costs 3 dollars\n- or less") != html("It costs 3 dollars - or less")
