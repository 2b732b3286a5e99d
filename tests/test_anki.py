"""The Anki exporter, checked with Anki's own backend (the ``anki`` package).

Every test imports the built ``.apkg`` into a fresh collection, because what learners depend
on (notes updated in place, review history kept, no conflicts) is decided by Anki's
importer, not by what the package looks like.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER, ImportResponse
from anki.notes import Note
from anki.scheduler.v3 import CardAnswer
from click.testing import CliRunner

from conftest import BANKS, TESTS
from deckbuilder.build import BuildRequest, build
from deckbuilder.cli import main
from deckbuilder.exporters import anki as exporter
from deckbuilder.render import pygments_css
from deckbuilder.resources import asset_text
from deckbuilder.validate import validate_bank

FULL_BANK = BANKS / "anki-full"
HOSTILE_BANK = BANKS / "anki-hostile"
T1 = 1_700_000_000  # 2023-11-14
T2 = T1 + 86_400
DECK = "NLP Interview Master"
LEVEL_DECKS = {
    "beginner": f"{DECK}::1. Beginner",
    "intermediate": f"{DECK}::2. Intermediate",
    "advanced": f"{DECK}::3. Advanced",
    "math-code": f"{DECK}::4. Math & Code",
}
#: The note type learners have in their collections, per NOTE_TYPE_VERSION. Anki compares
#: field and template names; changing them without a new version and model id turns every
#: update into a conflict. Add a row here only together with such a bump.
RELEASED_NOTE_TYPES = {
    1: (
        1_741_203_355,
        (
            "ID",
            "Sort",
            "Question",
            "Answer",
            "Explanation",
            "Code",
            "Pitfalls",
            "Follow-ups",
            "References",
            "Level",
            "Categories",
        ),
        ("Recall",),
    ),
}


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    """A fresh, empty Anki collection (a learner who has not imported anything yet)."""
    folder = tmp_path / "anki-profile"
    folder.mkdir()
    collection = Collection(str(folder / "collection.anki2"))
    yield collection
    collection.close()


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """A writable copy of the full fixture bank."""
    return Path(shutil.copytree(FULL_BANK, tmp_path / "bank"))


def build_deck(
    bank_dir: Path,
    output: Path,
    monkeypatch: pytest.MonkeyPatch,
    epoch: int | None = T1,
    levels: tuple[str, ...] = (),
    styles_dir: Path | None = None,
) -> Path:
    """Run the real build for the anki format; ``epoch=None`` leaves SOURCE_DATE_EPOCH unset."""
    if epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    request = BuildRequest(
        bank_dir, output, formats=("anki",), levels=levels, styles_dir=styles_dir
    )
    report = build(request)
    return output / report.artifacts[0].relative_path


def import_deck(col: Collection, apkg: Path) -> ImportResponse.Log:
    """Import as Anki's import dialog does by default (update notes and note types if newer)."""
    options = ImportAnkiPackageOptions(
        merge_notetypes=False,
        update_notes=IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        with_scheduling=False,
        with_deck_configs=False,
    )
    return col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(apkg), options=options)
    ).log


def notes_by_id(col: Collection) -> dict[str, Note]:
    return {col.get_note(nid)["ID"]: col.get_note(nid) for nid in col.find_notes("")}


def deck_of(col: Collection, question_id: str) -> str:
    (nid,) = col.find_notes(f'"ID:{question_id}"')
    (card,) = col.get_note(nid).cards()
    return str(col.decks.name(card.did))


def text_of(html_text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html_text)).strip()


# --- what the deck is --------------------------------------------------------------------------


def test_deck_tree_notes_cards_and_tags_follow_the_bank(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = import_deck(col, build_deck(FULL_BANK, tmp_path / "dist", monkeypatch))

    assert len(log.new) == col.note_count() == 7
    assert col.card_count() == 7
    names = sorted(d.name for d in col.decks.all_names_and_ids() if d.name != "Default")
    assert names == [DECK, *LEVEL_DECKS.values()]  # Anki's alphabetical order = bank order
    assert deck_of(col, "what-is-tokenization") == LEVEL_DECKS["beginner"]
    assert deck_of(col, "why-layer-norm") == LEVEL_DECKS["intermediate"]
    assert deck_of(col, "code-stable-softmax") == LEVEL_DECKS["math-code"]
    note = notes_by_id(col)["softmax-temperature"]
    assert sorted(note.tags) == [
        "nlp-interview-master::category::math-pytorch",
        "nlp-interview-master::category::transformers-llms",
        "nlp-interview-master::level::advanced",
        "nlp-interview-master::tag::decoding",
        "nlp-interview-master::tag::softmax",
    ]
    assert len(col.find_notes("tag:nlp-interview-master::level::beginner")) == 3
    assert len(col.find_notes("tag:nlp-interview-master::tag::softmax")) == 2
    assert note.guid == exporter.note_guid("softmax-temperature")
    assert note["Level"] == "Advanced"
    assert note["Sort"] == "What does the temperature T do to a softmax?"  # plain text
    description = col.decks.get(col.decks.id_for_name(DECK))["desc"]
    assert "2.0.0" in description and "2023-11-14" in description
    assert 'href="https://example.org/nlp-interview-master"' in description
    level_description = col.decks.get(col.decks.id_for_name(LEVEL_DECKS["math-code"]))["desc"]
    assert "Formulas and code." in level_description


def test_new_cards_come_in_bank_order(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_deck(col, build_deck(FULL_BANK, tmp_path / "dist", monkeypatch))
    col.decks.select(col.decks.id_for_name(DECK))
    queued = col.sched.get_queued_cards(fetch_limit=7).cards
    order = [col.get_card(q.card.id).note()["ID"] for q in queued]
    assert order[:3] == ["what-is-tokenization", "what-is-a-stop-word", "bag-of-words"]
    # The browser's sort column is the question as plain text.
    by_text = [col.get_note(n)["Sort"] for n in col.find_notes("", order="n.sfld")]
    assert by_text == sorted(by_text, key=str.casefold)
    assert "What is tokenization?" in by_text


def test_every_card_renders_its_question_and_answer(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_deck(col, build_deck(FULL_BANK, tmp_path / "dist", monkeypatch))
    for card in (col.get_card(cid) for cid in col.find_cards("")):
        note = card.note()
        output = card.render_output()
        front, back = output.question_text, output.answer_text
        for side in (front, back):
            assert "no field called" not in side.lower() and "{{" not in side
        assert text_of(note["Question"]) in text_of(front)
        assert text_of(note["Answer"]) in text_of(back)
        assert text_of(note["Explanation"]) in text_of(back)
        assert 'class="dbk-badge dbk-level"' in front
    back = col.get_card(col.find_cards('"ID:softmax-temperature"')[0]).answer()
    for heading in ("Short answer", "Common pitfalls", "Follow-up questions", "References"):
        assert f'<div class="dbk-heading">{heading}</div>' in back
    assert '<a href="https://arxiv.org/abs/1503.02531"' in back
    code_back = col.get_card(col.find_cards('"ID:code-stable-softmax"')[0]).answer()
    assert '<summary class="dbk-heading">Code</summary>' in code_back
    assert '<span class="k">def</span>' in code_back  # Pygments classes survive


def test_math_is_left_for_ankis_mathjax_and_dollars_stay_text(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # genanki warns about unescaped "<" in fields
        apkg = build_deck(FULL_BANK, tmp_path / "dist", monkeypatch)
    import_deck(col, apkg)
    note = notes_by_id(col)["softmax-temperature"]
    assert note["Question"] == r"What does the temperature \(T\) do to a softmax?"
    assert r"\(0 &lt; T &lt; 1\)" in note["Answer"]
    explanation = note["Explanation"]
    assert (
        r'<div class="dbk-math-display">\[\begin{aligned} p_i &amp;= '
        r"\frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)} \\ T &amp;&lt; 1 \Rightarrow"
    ) in explanation
    assert "A price like $5 stays text" in explanation
    assert "<code>$HOME</code>" in explanation
    assert r'a literal <span class="mathjax_ignore tex2jax_ignore">\(</span> in' in explanation
    assert "math math-" not in explanation  # no marked element left unfinished
    assert r"\(T &gt; 1\)" in note["Follow-ups"]
    back = col.get_card(note.cards()[0].id).answer()
    assert r"\(0 &lt; T &lt; 1\)" in back  # what MathJax reads in the web view


def test_media_are_packaged_under_collision_free_names(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apkg = build_deck(FULL_BANK, tmp_path / "dist", monkeypatch)
    with zipfile.ZipFile(apkg) as archive:
        assert archive.namelist() == ["collection.anki2", "media", "0", "1"]
    import_deck(col, apkg)
    notes = notes_by_id(col)
    sources = [
        src
        for i in ("what-is-tokenization", "what-is-a-stop-word")
        for src in re.findall(r'<img alt="[^"]*" src="([^"]+)"', notes[i]["Explanation"])
    ]
    assert len(sources) == 2
    assert sources[0] != sources[1]  # same file name "plot.png" in two folders
    assert all(re.fullmatch(r"dbm-[0-9a-f]{12}-plot\.png", s) for s in sources)
    media = Path(col.media.dir())
    for source, folder in zip(sources, ("a", "b"), strict=True):
        assert (media / source).read_bytes() == (
            FULL_BANK / "images" / folder / "plot.png"
        ).read_bytes()


class _Tags(HTMLParser):
    """Every start tag and attribute of an HTML string, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def dangerous_markup(html_text: str) -> list[str]:
    parser = _Tags()
    parser.feed(html_text)
    problems = []
    for tag, attrs in parser.found:
        if tag in ("script", "iframe", "object", "embed", "svg", "style"):
            problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                problems.append(f"{tag} {name}=")
            if re.sub(r"\s", "", value or "").lower().startswith(("javascript:", "data:")):
                problems.append(f"{tag} {name}={value}")
    return problems


def test_no_script_handler_or_javascript_url_reaches_anki(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "\n".join(p.read_text("utf-8") for p in sorted(HOSTILE_BANK.rglob("*.yaml")))
    assert dangerous_markup(source)  # the fixture is hostile in the first place
    import_deck(col, build_deck(HOSTILE_BANK, tmp_path / "dist", monkeypatch))

    (note,) = (col.get_note(nid) for nid in col.find_notes(""))
    notetype = note.note_type()
    assert notetype is not None
    shown = [
        *note.fields,
        *(d["desc"] for d in col.decks.all() if d["name"] != "Default"),
        *(t[side] for t in notetype["tmpls"] for side in ("qfmt", "afmt")),
        *(
            getattr(note.cards()[0].render_output(), part)
            for part in ("question_text", "answer_text")
        ),
    ]
    # The one script allowed is the note type's own formula fitter, from deckbuilder's assets
    # (exactly that text, nothing from a field).
    own_script = f"<script>\n{asset_text('anki-fit-math.js')}\n</script>"
    assert all(text.count("<script") == text.count(own_script) for text in shown)
    shown = [text.replace(own_script, "") for text in shown]
    assert [problem for text in shown for problem in dangerous_markup(text)] == []
    assert "<script" not in notetype["css"].lower()
    # The text around the removed markup is still there, escaped where it was code.
    assert "doing here?" in note["Question"]
    assert "&lt;script&gt;" in note["Code"]
    assert '&lt;script&gt;alert("reference")&lt;/script&gt; A title' in note["References"]
    assert "Web &lt;img" in note["Categories"]


def test_an_image_outside_the_bank_is_a_validation_error(bank: Path) -> None:
    (bank.parent / "secret.png").write_bytes((bank / "images" / "a" / "plot.png").read_bytes())
    edit(
        bank,
        "beginner/basics.yaml",
        "![Token counts](../images/a/plot.png)",
        "![x](../../secret.png)",
    )
    result = validate_bank(bank)
    assert [(p.location.line, p.rule) for p in result.errors] == [(12, "media-outside-bank")]


def test_tags_anki_cannot_store_are_rejected_by_the_validator() -> None:
    result = validate_bank(BANKS / "anki-bad-tag")
    assert [(p.location.line, p.rule) for p in result.errors] == [(6, "tag-format")]


# --- updating: what learners keep -------------------------------------------------------------


def answer_cards(col: Collection, count: int) -> dict[int, tuple[int, int, int, int, int]]:
    """Study ``count`` new cards (Easy) as a learner would; return their scheduling."""
    col.decks.select(col.decks.id_for_name(DECK))
    for queued in col.sched.get_queued_cards(fetch_limit=count).cards:
        card = col.get_card(queued.card.id)
        card.start_timer()
        col.sched.answer_card(
            col.sched.build_answer(card=card, states=queued.states, rating=CardAnswer.EASY)
        )
    return scheduling(col)


def scheduling(col: Collection) -> dict[int, tuple[int, int, int, int, int]]:
    """Card id -> (type, queue, interval, due, reps) for every studied card."""
    rows = col.db.all("select id, type, queue, ivl, due, reps from cards where reps > 0")
    return {row[0]: tuple(row[1:]) for row in rows}


def edit(bank_dir: Path, relative: str, old: str, new: str) -> None:
    path = bank_dir / relative
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def move_stop_word_to_intermediate(bank_dir: Path) -> None:
    """what-is-a-stop-word changes level (a studied card: its deck must not change)."""
    edit(
        bank_dir,
        "beginner/basics.yaml",
        "    level: beginner\n    categories: [nlp-fundamentals]\n    tags: [preprocessing]",
        "    level: intermediate\n    categories: [nlp-fundamentals]\n    tags: [preprocessing]",
    )


def test_update_in_place_keeps_review_history(
    col: Collection, bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_deck(col, build_deck(bank, tmp_path / "v1", monkeypatch, epoch=T1))
    studied = answer_cards(col, 2)
    assert len(studied) == 2
    revlog = col.db.all("select id, cid, ease, ivl from revlog order by id")
    assert len(revlog) == 2

    edit(bank, "beginner/basics.yaml", "Tokenizers map text", "NEW: tokenizers map text")
    edit(bank, "advanced/attention.yaml", "Layer normalisation normalises", "NEW: it normalises")
    move_stop_word_to_intermediate(bank)
    log = import_deck(col, build_deck(bank, tmp_path / "v2", monkeypatch, epoch=T2))

    assert (len(log.new), len(log.duplicate), len(log.conflicting)) == (0, 0, 0)
    assert len(log.updated) == 7
    assert col.note_count() == 7 and col.card_count() == 7
    assert len(col.models.all_names_and_ids()) == 7  # Anki's 6 stock types + ours, once
    notes = notes_by_id(col)
    assert notes["what-is-tokenization"]["Explanation"].startswith("<p>NEW: tokenizers")
    assert notes["why-layer-norm"]["Explanation"].startswith("<p>NEW: it normalises")
    moved = notes["what-is-a-stop-word"]
    assert "nlp-interview-master::level::intermediate" in moved.tags
    assert "nlp-interview-master::level::beginner" not in moved.tags
    assert moved["Level"] == "Intermediate"
    # Anki never moves an existing card: the level tag is how the learner finds it.
    assert deck_of(col, "what-is-a-stop-word") == LEVEL_DECKS["beginner"]
    assert scheduling(col) == studied
    assert col.db.all("select id, cid, ease, ivl from revlog order by id") == revlog


def test_a_note_is_updated_only_by_a_newer_build(
    col: Collection, bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_deck(col, build_deck(bank, tmp_path / "v1", monkeypatch, epoch=T1))
    edit(bank, "beginner/basics.yaml", "Tokenizers map text", "Edited: tokenizers map text")

    same_time = import_deck(col, build_deck(bank, tmp_path / "same", monkeypatch, epoch=T1))
    assert (len(same_time.updated), len(same_time.duplicate)) == (0, 7)
    assert "Edited" not in notes_by_id(col)["what-is-tokenization"]["Explanation"]

    later = import_deck(col, build_deck(bank, tmp_path / "later", monkeypatch, epoch=T2))
    assert (len(later.updated), len(later.new), len(later.conflicting)) == (7, 0, 0)
    assert "Edited" in notes_by_id(col)["what-is-tokenization"]["Explanation"]
    assert {note.mod for note in notes_by_id(col).values()} == {T2}


def test_without_source_date_epoch_an_edited_bank_still_updates(
    col: Collection, bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside git the build time is the newest bank file's mtime: an edit makes it newer."""
    for path in bank.rglob("*.yaml"):
        os.utime(path, (T1, T1))
    import_deck(col, build_deck(bank, tmp_path / "v1", monkeypatch, epoch=None))
    edit(bank, "advanced/attention.yaml", "Layer normalisation normalises", "Edited: it normalises")
    os.utime(bank / "advanced" / "attention.yaml", (T2, T2))

    log = import_deck(col, build_deck(bank, tmp_path / "v2", monkeypatch, epoch=None))
    assert (len(log.updated), len(log.new), len(log.conflicting)) == (7, 0, 0)
    assert "Edited" in notes_by_id(col)["why-layer-norm"]["Explanation"]


def test_changed_css_updates_the_note_type_in_place(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_deck(col, build_deck(FULL_BANK, tmp_path / "v1", monkeypatch, epoch=T1))
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "anki.css").write_text(".card { --dbk-accent: #123456; }\n", "utf-8")

    log = import_deck(
        col, build_deck(FULL_BANK, tmp_path / "v2", monkeypatch, epoch=T2, styles_dir=styles)
    )
    assert (len(log.new), len(log.conflicting)) == (0, 0)
    ours = [m for m in col.models.all() if m["name"].startswith("NLP Interview Master")]
    assert len(ours) == 1
    assert "#123456" in ours[0]["css"]
    assert ".nightMode .highlight .k" in ours[0]["css"]  # code colours stay packaged


def test_subset_imports_next_to_the_full_deck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = build_deck(FULL_BANK, tmp_path / "dist", monkeypatch)
    subset = build_deck(FULL_BANK, tmp_path / "dist", monkeypatch, levels=("beginner",))
    assert (full.name, subset.name) == ("anki-fixture.apkg", "anki-fixture-subset.apkg")

    for order in ((full, subset), (subset, full)):
        folder = tmp_path / f"profile-{order[0].stem}"
        folder.mkdir()
        col = Collection(str(folder / "collection.anki2"))
        try:
            first, second = (import_deck(col, apkg) for apkg in order)
            assert len(first.new) + len(second.new) == col.note_count() == 7
            assert (len(second.conflicting), len(first.conflicting)) == (0, 0)
            assert len(second.new) == (0 if order[0] == full else 4)
            assert deck_of(col, "bag-of-words") == LEVEL_DECKS["beginner"]
            assert len([d for d in col.decks.all_names_and_ids() if d.name != "Default"]) == 5
        finally:
            col.close()


# --- the package itself -------------------------------------------------------------------------


def test_same_input_and_epoch_give_byte_identical_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_deck(FULL_BANK, tmp_path / "a", monkeypatch).read_bytes()
    second = build_deck(FULL_BANK, tmp_path / "b", monkeypatch).read_bytes()
    later = build_deck(FULL_BANK, tmp_path / "c", monkeypatch, epoch=T2).read_bytes()
    assert first == second
    assert first != later
    release = tmp_path / "a" / "anki-fixture-2.0.0.apkg"
    assert release.read_bytes() == first
    with zipfile.ZipFile(tmp_path / "a" / "anki-fixture.apkg") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_note_type_is_frozen_per_version(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fails when fields or templates change without a deliberate NOTE_TYPE_VERSION bump."""
    model_id, fields, templates = RELEASED_NOTE_TYPES[exporter.NOTE_TYPE_VERSION]
    assert model_id == exporter.MODEL_ID
    assert (fields, templates) == (exporter.FIELDS, (exporter.TEMPLATE_NAME,))
    assert str(exporter.NOTE_TYPE_VERSION) in exporter.MODEL_NAME
    import_deck(col, build_deck(FULL_BANK, tmp_path / "dist", monkeypatch))
    ours = [m for m in col.models.all() if m["name"] == exporter.MODEL_NAME]
    assert len(ours) == 1
    assert ours[0]["id"] == model_id
    assert tuple(f["name"] for f in ours[0]["flds"]) == fields
    assert tuple(t["name"] for t in ours[0]["tmpls"]) == templates
    # Never moved: a new sort field index makes Anki stamp every note modified at import.
    assert ours[0]["flds"][ours[0]["sortf"]]["name"] == "Sort"


def test_note_guid_depends_on_the_question_id_only() -> None:
    # Pinned: a different value here means every learner's notes would be duplicated.
    assert exporter.note_guid("softmax-temperature") == "CGtK>SCd}-"
    assert exporter.note_guid("softmax-temperature") != exporter.note_guid("attention-scaling")


def test_night_mode_colours_every_code_token_that_light_mode_colours() -> None:
    def coloured(style: str) -> set[str]:
        css = pygments_css(style, ".x")
        return {m.group(1) for m in re.finditer(r"^\.x (\.\w+) \{[^}]*color:", css, re.M)}

    assert coloured(exporter.LIGHT_CODE_STYLE) <= coloured(exporter.NIGHT_CODE_STYLE)
    css = exporter.note_type_css(None)
    assert ".nightMode .highlight .k {" in css and ".night_mode .highlight .k {" in css
    assert "\npre {" not in css and "span.linenos" not in css  # nothing unscoped leaks


# --- command line ------------------------------------------------------------------------------


def test_build_reports_notes_per_deck(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(T1))
    out = tmp_path / "dist"
    result = runner.invoke(main, ["build", "-f", "anki", "--bank", str(FULL_BANK), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{out.as_posix()}/anki-fixture.apkg: 7 notes in deck 'NLP Interview Master':"
        " 1. Beginner 3, 2. Intermediate 1, 3. Advanced 2, 4. Math & Code 1",
        f"{out.as_posix()}/anki-fixture-2.0.0.apkg: release copy of anki-fixture.apkg",
    ]


def test_release_with_a_retired_and_a_relevelled_question(
    col: Collection, bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v1 -> v2 as a learner lives it: ids locked at v1, one question retired, one moved."""
    assert CliRunner().invoke(main, ["lock-ids", "--bank", str(bank)]).exit_code == 0
    import_deck(col, build_deck(bank, tmp_path / "v1", monkeypatch, epoch=T1))
    studied = answer_cards(col, 2)

    edit(
        bank,
        "beginner/basics.yaml",
        "  - id: what-is-tokenization\n",
        "  - id: what-is-tokenization\n    retired: true\n",
    )
    move_stop_word_to_intermediate(bank)
    log = import_deck(col, build_deck(bank, tmp_path / "v2", monkeypatch, epoch=T2))

    assert (len(log.new), len(log.duplicate), len(log.conflicting)) == (0, 0, 0)
    assert col.note_count() == 7  # nothing deleted: the retired note stays, tagged
    notes = notes_by_id(col)
    assert "nlp-interview-master::retired" in notes["what-is-tokenization"].tags
    assert [n for n in notes.values() if "nlp-interview-master::retired" in n.tags] == [
        notes["what-is-tokenization"]
    ]
    assert col.find_notes("tag:nlp-interview-master::retired") == [notes["what-is-tokenization"].id]
    assert "nlp-interview-master::level::intermediate" in notes["what-is-a-stop-word"].tags
    assert scheduling(col) == studied

    # Deleting the released id instead of retiring it is refused before anything is built.
    text = (bank / "beginner/basics.yaml").read_text("utf-8")
    (bank / "beginner/basics.yaml").write_text(text.replace("what-is-tokenization", "tokenization"))
    result = CliRunner().invoke(
        main, ["build", "-f", "anki", "--bank", str(bank), "-o", str(tmp_path / "v3")]
    )
    assert result.exit_code == 1
    assert "[released-id-missing]" in result.stderr


#: Release 0.1.0 (the repository keeps no tags): learners have decks built by this code.
RELEASE_0_1_0 = "79b2b6f"


def build_deck_with_release(commit: str, bank_dir: Path, output: Path, epoch: int) -> Path:
    """The deck that release ``commit``'s own code builds from ``bank_dir``.

    Its ``src/`` and ``styles/`` come out of git history into a scratch folder and run with
    today's libraries; this is what a learner who imported that release has.
    """
    root = output / "release-code"
    root.mkdir(parents=True)
    repo = TESTS.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit, "src", "styles"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "SOURCE_DATE_EPOCH": str(epoch)}
    out = output / "dist"
    command = ["build", "-f", "anki", "--bank", str(bank_dir), "-o", str(out), "--force"]
    result = subprocess.run(
        [sys.executable, "-m", "deckbuilder", *command],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (
        str(root / "src")
        in subprocess.run(
            [sys.executable, "-c", "import deckbuilder; print(deckbuilder.__file__)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    return next(out.glob("*.apkg"))


def test_importing_over_release_0_1_0_keeps_reviews_and_takes_the_new_layout(
    col: Collection, bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A learner of 0.1.0 imports today's deck with Anki's default options."""
    old = build_deck_with_release(RELEASE_0_1_0, bank, tmp_path / "old", epoch=T1)
    import_deck(col, old)
    # Cards are read through the backend: col.models caches note types in Python and would
    # not see the import replace them.
    card_id = col.find_cards('"ID:softmax-temperature"')[0]
    assert "<details" not in col.get_card(card_id).answer()  # really the old layout
    assert "dbk-category" in col.get_card(card_id).question()
    studied = answer_cards(col, 3)
    revlog = col.db.all("select id, cid, ease, ivl from revlog order by id")

    log = import_deck(col, build_deck(bank, tmp_path / "new", monkeypatch, epoch=T2))

    assert (len(log.new), len(log.duplicate), len(log.conflicting)) == (0, 0, 0)
    assert len(log.updated) == 7
    assert col.note_count() == 7 and col.card_count() == 7
    col.models._clear_cache()  # Python's copy of the note types predates the import
    ours = [m for m in col.models.all() if m["name"].startswith("NLP Interview Master")]
    assert len(ours) == 1 and ours[0]["id"] == exporter.MODEL_ID  # updated, not duplicated
    assert ours[0]["tmpls"][0]["afmt"] == exporter.card_template("back")
    assert ours[0]["tmpls"][0]["qfmt"] == exporter.card_template("front")
    assert ours[0]["flds"][ours[0]["sortf"]]["name"] == "Sort"
    notes = notes_by_id(col)
    assert notes["softmax-temperature"]["Sort"].startswith("What does the temperature")
    assert {note.mod for note in notes.values()} == {T2}  # the release's notes, not "now"
    assert "<span" not in notes["softmax-temperature"]["Categories"]  # plain text now
    assert scheduling(col) == studied
    assert col.db.all("select id, cid, ease, ivl from revlog order by id") == revlog
    card = col.get_card(card_id)
    assert '<details class="dbk-section dbk-fold dbk-explanation">' in card.answer()
    assert "dbk-category" not in card.question()
