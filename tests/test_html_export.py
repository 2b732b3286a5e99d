"""The study page as a file: one self-contained, deterministic page whose only script and
stylesheet are its own (checked against the page's policy), math as MathML, images inline.

What the page does in a browser is tested in ``test_html_page.py``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from latex2mathml.converter import convert

from conftest import BANKS, hostile_rendered_bank
from deckbuilder.build_context import BuildContext, Staging
from deckbuilder.cli import main
from deckbuilder.exporters.html import (
    CODE_STYLES,
    export,
    mathml,
    render_page,
    scheduler_script,
)
from deckbuilder.exporters.html_compact import compact_code, compact_markup, defer_code_colours
from deckbuilder.model import RenderedBank
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank

VALID = BANKS / "valid"
HOSTILE = BANKS / "html-hostile"
EPOCH = 1_700_000_000  # 2023-11-14 UTC


def rendered(bank_dir: Path) -> RenderedBank:
    return render_bank(load_valid_bank(bank_dir)[0])


def page_text(bank_dir: Path, styles_dir: Path | None = None) -> str:
    """The page's HTML; the hostile bank gets its hostile TeX injected (see conftest)."""
    context = BuildContext(output=Path("unused"), source_date_epoch=EPOCH, styles_dir=styles_dir)
    bank = hostile_rendered_bank() if bank_dir == HOSTILE else rendered(bank_dir)
    return render_page(bank, context)


class Page(HTMLParser):
    """What a browser's parser sees: elements with their attributes and raw script/style text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._inside: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        if tag in self.raw:
            self._inside = tag
            self.raw[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.raw[self._inside][-1] += data

    def policy(self) -> dict[str, list[str]]:
        meta = next(a for _, a in self.elements if a.get("http-equiv") == "Content-Security-Policy")
        directives = (part.split() for part in meta["content"].split(";"))
        return {words[0]: words[1:] for words in directives}


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_export_stages_one_page_named_after_the_bank(tmp_path: Path) -> None:
    staging = Staging(tmp_path)
    context = BuildContext(output=tmp_path, source_date_epoch=EPOCH)
    artifacts = export(rendered(VALID), context, staging)
    staging.commit()

    assert [a.relative_path for a in artifacts] == [Path("test-bank.html")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test-bank.html"]
    size = (tmp_path / "test-bank.html").stat().st_size
    assert artifacts[0].summary == f"offline study page, 3 questions, {size // 1024} KiB"


def test_cli_builds_the_page(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["build", "-f", "html", "--bank", str(VALID), "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert f"{(tmp_path / 'test-bank.html').as_posix()}: offline study page" in result.output
    assert "<title>Test Bank</title>" in (tmp_path / "test-bank.html").read_text("utf-8")


def test_same_bank_gives_the_same_bytes_and_the_build_date() -> None:
    first = page_text(VALID)
    assert first == page_text(VALID)
    assert "Built 2023-11-14 with deckbuilder" in first


def test_every_question_is_a_card_in_bank_order() -> None:
    page = Page(page_text(VALID))
    cards = [a for tag, a in page.elements if tag == "article" and a.get("class") == "card"]
    assert [(c["id"], c["data-level"], c["data-categories"]) for c in cards] == [
        ("q-what-is-tokenization", "beginner", "nlp-fundamentals"),
        ("q-softmax-temperature", "advanced", "transformers-llms math-pytorch"),
        ("q-code-stable-softmax", "math-code", "math-pytorch"),
    ]


def test_the_only_script_and_style_are_the_ones_the_policy_admits() -> None:
    page = Page(page_text(VALID))
    policy = page.policy()
    # The page's own script, and the practice mode's scheduler (the vendored ts-fsrs).
    assert len(page.raw["script"]) == 2
    assert (
        page.raw["script"][1].rstrip().endswith(scheduler_script().rstrip())
        and "sourceMappingURL" not in page.raw["script"][1]
    )
    assert len(page.raw["style"]) == 1
    assert policy["script-src"] == [sha256(script) for script in page.raw["script"]]
    assert policy["style-src"] == [sha256(page.raw["style"][0])]
    assert policy["default-src"] == ["'none'"]
    assert policy["img-src"] == ["data:"]


def test_the_page_refers_to_nothing_outside_itself() -> None:
    """Links the reader may follow are fine; nothing is loaded from anywhere."""
    page = Page(page_text(HOSTILE))
    loaded = [
        (tag, name, value)
        for tag, attributes in page.elements
        for name, value in attributes.items()
        if name in {"src", "srcset", "data", "poster", "background"}
        or (name == "href" and tag != "a")
    ]
    assert loaded and all(value.startswith("data:image/png;base64,") for _, _, value in loaded)
    assert not {"iframe", "link", "object", "embed", "frame", "svg"} & {t for t, _ in page.elements}
    assert not re.search(r"url\(|@import", page.raw["style"][0])


def test_images_are_embedded_byte_for_byte() -> None:
    page = Page(page_text(HOSTILE))
    (source,) = [a["src"] for tag, a in page.elements if tag == "img" and "src" in a]
    embedded = base64.b64decode(source.removeprefix("data:image/png;base64,"))
    assert embedded == (HOSTILE / "topic" / "red.png").read_bytes()


def test_hostile_fields_arrive_as_text_or_not_at_all() -> None:
    text = page_text(HOSTILE)
    page = Page(text)
    assert len(page.raw["script"]) == 2  # the page's own and the scheduler
    assert not any("window.__pwned" in script for script in page.raw["script"])
    handlers = [n for _, attributes in page.elements for n in attributes if n.startswith("on")]
    assert handlers == []
    assert not any(
        value.lower().startswith("javascript:") for _, a in page.elements for value in a.values()
    )
    # Visible as characters, so a reader sees what the question says.
    assert "&lt;script&gt;window.__pwned = &#34;reference&#34;&lt;/script&gt; OWASP" in text
    assert "<title>Hostile &lt;script&gt;window.__pwned" in text


def test_user_stylesheet_replaces_the_packaged_one_and_cannot_close_style(
    tmp_path: Path,
) -> None:
    (tmp_path / "html.css").write_text(
        "body { color: rebeccapurple }\n/* </style><script>window.__pwned = 1</script> */\n"
    )
    page = Page(page_text(VALID, styles_dir=tmp_path))
    (style,) = page.raw["style"]
    assert style.startswith("body { color: rebeccapurple }")
    assert "--surface" not in style  # the packaged html.css is replaced, not extended
    assert ".highlight .k" in style  # code colours are still appended
    assert len(page.raw["script"]) == 2
    assert page.policy()["style-src"] == [sha256(style)]


def test_display_math_becomes_block_mathml_inside_a_scrolling_box() -> None:
    markup = mathml("display", r"\frac{a}{b}")
    assert markup.startswith('<div class="math-display"><math ')
    assert 'display="block"' in markup
    assert mathml("inline", "x") == "<math><mi>x</mi></math>"  # inline is MathML's default


@pytest.mark.parametrize(
    "tex",
    [
        r"p_i = \frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)}",
        r"\mathrm{softmax}(QK^\top / \sqrt{d_k}) V",
        r"\begin{pmatrix} a & b \\ c & d \end{pmatrix} \le \infty",
        r"\hat{y} = \operatorname{arg\,max}_k \; \mathbb{E}[x] \neq 0",
    ],
)
def test_mathml_keeps_what_latex2mathml_produces(tex: str) -> None:
    """Serialising the tree ourselves must not lose or change any of latex2mathml's markup
    but the xmlns (which HTML's parser implies), display="inline" (the default) and rows
    that group nothing."""
    ours = ElementTree.fromstring(mathml("inline", tex))
    theirs = ElementTree.fromstring(
        convert(tex).replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "")
    )
    del theirs.attrib["display"]
    assert ElementTree.tostring(without_rows(ours)) == ElementTree.tostring(without_rows(theirs))
    assert len(list(ours.iter())) < len(list(theirs.iter()))


def without_rows(element: ElementTree.Element) -> ElementTree.Element:
    """A copy with every attribute-free ``<mrow>`` replaced by its children."""

    def children(parent: ElementTree.Element) -> Iterator[ElementTree.Element]:
        for child in parent:
            if child.tag == "mrow" and not child.attrib:
                yield from children(child)
            else:
                yield without_rows(child)

    copy = ElementTree.Element(element.tag, element.attrib)
    copy.text = element.text
    copy.extend(children(element))
    copy.tail = element.tail
    return copy


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        # <math> lays its children out as a row: its own single <mrow> goes.
        ("a+b", "<math><mi>a</mi><mo>+</mo><mi>b</mi></math>"),
        # A row of one token is that token...
        (r"\sum_{i} x", "<math><msub><mo>∑</mo><mi>i</mi></msub><mi>x</mi></math>"),
        # ...but not for an operator, whose form and spacing depend on its row,
        ("x_{+}", "<math><msub><mi>x</mi><mrow><mo>+</mo></mrow></msub></math>"),
        # and a row of several stays a row.
        (
            "x^{a+b}",
            "<math><msup><mi>x</mi><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow></msup></math>",
        ),
    ],
)
def test_mathml_drops_only_rows_that_change_nothing(tex: str, expected: str) -> None:
    assert mathml("inline", tex) == expected


CODE = (
    '<div class="highlight"><pre><span></span><code><span class="k">def</span>'
    '<span class="w"> </span><span class="nf">f</span><span class="p">(</span>'
    '<span class="n">x</span><span class="p">):</span>\n    <span class="k">return</span>'
    '<span class="w"> </span><span class="n">x</span><span class="o">*</span>'
    '<span class="o">*</span><span class="mi">2</span>  <span class="c1"># “é” 😀</span>\n'
    "</code></pre></div>"
)


def test_code_keeps_spans_only_for_colours_of_their_own() -> None:
    """Names, punctuation and spaces are drawn in the block's own colour in both code
    styles of the page: they lose their spans; neighbours of one class merge."""
    compact = compact_code(CODE, CODE_STYLES)
    assert compact == (
        '<div class="highlight"><pre><code><span class="k">def</span> <span class="nf">f</span>'
        '(x):\n    <span class="k">return</span> x<span class="o">**</span>'
        '<span class="mi">2</span>  <span class="c1"># “é” 😀</span>\n</code></pre></div>'
    )
    assert re.sub("<[^>]+>", "", compact) == re.sub("<[^>]+>", "", CODE)


def test_code_colours_travel_as_runs_of_the_plain_text() -> None:
    deferred = defer_code_colours(compact_code(CODE, CODE_STYLES))
    runs = re.search(r'data-c="([^"]*)"', deferred)
    assert runs is not None
    # In UTF-16 code units, as JavaScript counts: “é” are one each, 😀 is two.
    assert runs.group(1) == "3k 1 1nf 9 6k 2 2o 1mi 2 8c1"
    assert re.sub("<[^>]+>", "", deferred) == re.sub("<[^>]+>", "", CODE)
    plain = '<div class="highlight"><pre><code>just text\n</code></pre></div>'
    assert defer_code_colours(plain) == plain  # nothing to colour, no attribute


def test_markup_loses_whitespace_and_quotes_only_where_they_do_nothing() -> None:
    page = (
        '<main id="questions">\n  <section class="a b">\n    <p>One\n      two</p>\n'
        '    <span class="x">1</span>\n    <span class="y">2</span>\n  </section>\n'
        '<pre class="p">  keep\n    this  </pre>\n<script>if (a < b && c > "d") {\n  x = "y";\n}'
        '</script>\n<a href="https://example.com/a b">x</a></main>'
    )
    assert compact_markup(page) == (
        '<main id=questions><section class="a b"><p>One\ntwo</p>\n<span class=x>1</span>\n'
        "<span class=y>2</span>\n</section>\n"
        '<pre class=p>  keep\n    this  </pre>\n<script>if (a < b && c > "d") {\n  x = "y";\n}'
        '</script>\n<a href="https://example.com/a b">x</a></main>'
    )


@pytest.mark.parametrize(
    ("tex", "absent"),
    [
        (r"\text{<script>alert(1)</script>}", "<script"),
        (r"\text{</math><img src=x onerror=alert(1)>}", "<img"),
        (r"\href{javascript:alert(1)}{x}", "href"),
        (r"\style{background: url(https://example.com/x.png)}{y}", "style="),
    ],
)
def test_mathml_from_hostile_tex_cannot_inject_markup(tex: str, absent: str) -> None:
    assert absent in convert(tex)  # what latex2mathml alone would let through
    assert absent not in mathml("inline", tex)
