"""The PDFs, read back with pypdf and pdfplumber and rendered with pdftoppm."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pdfplumber
import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from conftest import BANKS, VALID_BANK
from deckbuilder.cli import main
from deckbuilder.validate import load_valid_bank

PRINT_BANK = BANKS / "pdf-print"
MM = 72 / 25.4
#: Most printers cannot print the outer ~5 mm of a sheet.
PRINTABLE_INSET = 5 * MM
EPOCH = "1700000000"


def build_pdfs(out: Path, *extra: str, bank: Path = PRINT_BANK) -> tuple[Path, Path]:
    result = CliRunner(env={"SOURCE_DATE_EPOCH": EPOCH}).invoke(
        main, ["build", "-f", "pdf", "--bank", str(bank), "-o", str(out), *extra]
    )
    assert result.exit_code == 0, result.stderr
    return out / "test-bank-study-guide.pdf", out / "test-bank-cheat-sheet.pdf"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_pdfs(tmp_path_factory.mktemp("pdf"))


@pytest.fixture(scope="module")
def guide_pages(pdfs: tuple[Path, Path]) -> list[str]:
    with pdfplumber.open(pdfs[0]) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def squash(text: str) -> str:
    return " ".join(text.split())


def sheet_text(path: Path) -> str:
    """The cheat sheet's text column by column (plain extraction interleaves the columns)."""
    parts = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            middle = page.width / 2
            for box in ((0, 0, middle, page.height), (middle, 0, page.width, page.height)):
                parts.append(page.crop(box).extract_text() or "")
    return squash(" ".join(parts))


def outline_entries(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, 0-based page) for every bookmark, in order."""
    found: list[tuple[int, str, int]] = []

    def walk(items: list[object], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))  # type: ignore[attr-defined]

    walk(reader.outline, 0)
    return found


def test_page_count_is_sane(pdfs: tuple[Path, Path]) -> None:
    guide, sheet = (len(PdfReader(p).pages) for p in pdfs)
    # cover + contents + 3 level chapters (22 questions) + self-test
    assert 7 <= guide <= 20
    assert 1 <= sheet <= 3


def test_every_question_is_in_the_guide_and_the_sheet(
    pdfs: tuple[Path, Path], guide_pages: list[str]
) -> None:
    bank, _ = load_valid_bank(PRINT_BANK)
    sheet = sheet_text(pdfs[1])
    guide_text = squash(" ".join(guide_pages))
    for q in bank.questions:
        words = squash(re.sub(r"\$[^$]*\$", " ", q.question))
        assert words in guide_text, q.id
        assert words in sheet, q.id
        first_answer_words = " ".join(q.answer.split()[:6])
        assert first_answer_words in sheet, q.id


def test_outline_has_every_level_and_question_on_the_right_page(
    pdfs: tuple[Path, Path], guide_pages: list[str]
) -> None:
    reader = PdfReader(pdfs[0])
    entries = outline_entries(reader)
    top = [title for depth, title, _ in entries if depth == 0]
    assert top == ["Contents", "Beginner", "Advanced", "Math & Code", "Self-test"]
    questions = [(title, page) for depth, title, page in entries if depth == 1]
    bank, _ = load_valid_bank(PRINT_BANK)
    assert len(questions) == len(bank.questions)
    for (title, page), q in zip(questions, bank.questions, strict=True):
        assert title.startswith(f"{q.number}. ")
        assert len(title) <= 64
        heading = squash(f"{q.number}. {q.question}")[:30]
        assert heading in squash(guide_pages[page]), f"{title!r} points at page {page + 1}"


def test_table_of_contents_page_numbers_match_the_pages(
    pdfs: tuple[Path, Path], guide_pages: list[str]
) -> None:
    reader = PdfReader(pdfs[0])
    real = {
        title.split(".")[0]: page + 1
        for depth, title, page in outline_entries(reader)
        if depth == 1
    }
    toc = guide_pages[1]
    listed = dict(re.findall(r"^(\d+)\. .*?\.{3,}\s*(\d+)$", toc, re.M))
    assert len(listed) >= 10, toc
    for number, page in listed.items():
        assert real[number] == int(page), f"TOC says question {number} is on page {page}"


def test_self_test_appendix_points_at_answer_pages(
    pdfs: tuple[Path, Path], guide_pages: list[str]
) -> None:
    real = {
        title.split(".")[0]: page + 1
        for depth, title, page in outline_entries(PdfReader(pdfs[0]))
        if depth == 1
    }
    appendix = squash(" ".join(guide_pages[-2:]))
    refs = re.findall(r"(?:^|\s)(\d{1,3})\. (?:(?!\s\d+\. ).)*?answer → p\. (\d+)", appendix)
    assert len(refs) == len(real)
    for number, page in refs:
        assert real[number] == int(page)


def test_running_header_and_footer(guide_pages: list[str]) -> None:
    pages = len(guide_pages)
    for index, text in enumerate(guide_pages[2:], start=3):
        lines = text.splitlines()
        assert f"Page {index} of {pages}" in lines[-1]
        assert "Version 1.2.3" in lines[-1]
        assert lines[0].split()[0] in {"Beginner", "Advanced", "Math", "Self-test"}


def test_no_character_outside_the_printable_area(pdfs: tuple[Path, Path]) -> None:
    for path in pdfs:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                for char in page.chars:
                    assert (
                        char["x0"] >= PRINTABLE_INSET and char["x1"] <= page.width - PRINTABLE_INSET
                    )
                    assert (
                        char["top"] >= PRINTABLE_INSET
                        and char["bottom"] <= page.height - PRINTABLE_INSET
                    )


def test_long_code_lines_wrap(guide_pages: list[str]) -> None:
    text = " ".join(guide_pages)
    assert '"layer_8": 32}' in text  # the end of the 170-character line is on the page


def test_fonts_are_embedded_subset_and_documented(pdfs: tuple[Path, Path]) -> None:
    for path in pdfs:
        reader = PdfReader(path)
        names = set()
        for page in reader.pages:
            fonts = page["/Resources"].get("/Font", {})
            for ref in fonts.values():
                font = ref.get_object()
                descendant = (
                    font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
                )
                descriptor = descendant["/FontDescriptor"].get_object()
                assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
                    font["/BaseFont"]
                )
                tag, _, name = str(font["/BaseFont"]).lstrip("/").partition("+")
                assert name and len(tag) == 6 and tag.isupper(), (
                    f"{font['/BaseFont']} is not a subset"
                )
                names.add(name)
        # DejaVu for text, Droid Sans Fallback only for what DejaVu lacks (CJK, full-width forms)
        assert names and all(
            name.startswith(("DejaVu", "Droid-Sans-Fallback")) for name in names
        ), names
        assert any(name.startswith("DejaVu") for name in names)


def test_every_glyph_of_the_bank_is_drawn(guide_pages: list[str]) -> None:
    text = " ".join(guide_pages)
    for glyph in "αβγθλσ→←⇒≈≤≥≠⊤—ŁüáŁＡ。":  # noqa: RUF001
        assert glyph in text, glyph


def test_no_tex_source_is_left(pdfs: tuple[Path, Path], guide_pages: list[str]) -> None:
    for text in [*guide_pages, sheet_text(pdfs[1])]:
        assert not re.search(r"\\[a-zA-Z]+|\$", text), text


def test_formulas_are_drawn_as_vector_glyphs(pdfs: tuple[Path, Path]) -> None:
    """ziamath's SVG becomes glyph outlines (curves); text fonts never appear as curves."""
    with pdfplumber.open(pdfs[0]) as pdf:
        curves = [len(page.curves) for page in pdf.pages]
    # 20 inline formulas in the filler, 2 inline + 1 display in the other questions
    assert sum(curves) >= 23
    assert curves[0] == 0  # the cover has no formula


def test_metadata(pdfs: tuple[Path, Path]) -> None:
    reader = PdfReader(pdfs[0])
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Test Bank · Study guide"
    assert meta.author == "Tests"
    assert meta.subject and meta.subject.startswith("Study guide of Test Bank 1.2.3")
    assert "Transformers & LLMs" in str(meta.get("/Keywords"))
    assert str(meta.get("/CreationDate")).startswith("D:20231114")
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_external_links_are_printed(guide_pages: list[str]) -> None:
    text = re.sub(r"\s+", "", " ".join(guide_pages))  # a long URL may wrap at any point
    assert "theattentionpaper(https://arxiv.org/abs/1706.03762)" in text


def test_same_bank_and_epoch_give_identical_bytes(tmp_path: Path, pdfs: tuple[Path, Path]) -> None:
    again = build_pdfs(tmp_path / "again", "--force")  # laid out again, not read from the cache
    for first, second in zip(pdfs, again, strict=True):
        assert first.read_bytes() == second.read_bytes()


def test_paper_sizes(tmp_path: Path, pdfs: tuple[Path, Path]) -> None:
    a4 = PdfReader(pdfs[0]).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    guide, sheet = build_pdfs(tmp_path / "letter", "--paper", "letter", bank=VALID_BANK)
    for path in (guide, sheet):
        box = PdfReader(path).pages[-1].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_cheat_sheet_uses_two_columns(pdfs: tuple[Path, Path]) -> None:
    with pdfplumber.open(pdfs[1]) as pdf:
        page = pdf.pages[0]
        middle = page.width / 2
        left = [c for c in page.chars if c["x1"] < middle - 5]
        right = [c for c in page.chars if c["x0"] > middle + 5]
        assert len(left) > 500 and len(right) > 500


def test_pages_render_with_pdftoppm(pdfs: tuple[Path, Path], tmp_path: Path) -> None:
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-f",
            "3",
            "-l",
            "3",
            "-png",
            str(pdfs[0]),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 0.005 * image.width * image.height  # real text was drawn, not a blank page


def test_question_images_are_printed(tmp_path: Path) -> None:
    """Images reach the PDF as data URIs (WeasyPrint has no bank folder to load them from)."""
    build_pdfs(tmp_path, bank=BANKS / "anki-full")
    with pdfplumber.open(tmp_path / "anki-fixture-study-guide.pdf") as pdf:
        images = [image for page in pdf.pages for image in page.images]
    assert len(images) == 2  # the two plots of the anki-full bank
    assert all(image["width"] > 10 and image["height"] > 10 for image in images)
