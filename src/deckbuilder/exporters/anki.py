"""The Anki deck (``dist/<slug>.apkg``): one sub-deck per level, updatable in place.

Learners import the deck once, study it for months, and import every new release over it.
Anki keeps their review history only when the new package looks like the old one to its
importer, so the identifiers below are a contract, not implementation details:

- a note is found again by its GUID, derived from the question's stable ``id`` alone
  (never its text, never the bank slug), so an edited answer updates the note in place;
- the note type is matched by id and by the names of its fields and card templates: change
  any of them and Anki imports a *second* note type and reports every existing note as a
  conflict instead of updating it. They only change with ``NOTE_TYPE_VERSION``;
- a note is only updated when its modification time is newer than the learner's copy, so
  notes carry the build's ``source_date_epoch`` (a later build is a newer note);
- decks are matched by name and existing cards never move between decks, so level and
  categories are also tags: a question whose level changed is still found by its tag.

Math is finished for Anki's own MathJax (``\\(..\\)`` / ``\\[..\\]``); everything else is the
render stage's sanitised HTML, placed into fields.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
import shutil
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import genanki
import jinja2
from markupsafe import Markup

from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.model import Bank, RenderedBank, RenderedQuestion
from deckbuilder.render import (
    MATH_ELEMENT,
    pygments_css,
    replace_math,
    resanitised,
    sanitise,
)
from deckbuilder.resources import asset_text, style_text, template_environment
from deckbuilder.sections import SECTION, SECTIONS, Section

#: Bump only together with a new ``MODEL_ID`` when ``FIELDS`` or ``TEMPLATE_NAME`` change:
#: learners then get a separate note type, and ``tests/test_anki.py`` pins each version.
NOTE_TYPE_VERSION = 1
MODEL_ID = 1_741_203_355
MODEL_NAME = f"NLP Interview Master (deckbuilder v{NOTE_TYPE_VERSION})"
#: Field order is what Anki stores; names are what its importer compares. Designed to last:
#: every part of a question has its own field, so new layouts only need new templates.
FIELDS = (
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
)
TEMPLATE_NAME = "Recall"
#: Namespace of note GUIDs and deck ids. Changing it orphans every learner's notes.
GUID_NAMESPACE = "nlp-interview-master/deckbuilder"
#: Root of every tag this deck sets, so they never mix with the learner's own tags.
TAG_ROOT = "nlp-interview-master"
#: Pygments styles for code in light and night mode (night covers every light token class).
LIGHT_CODE_STYLE = "default"
NIGHT_CODE_STYLE = "github-dark"
NIGHT_MODE_SCOPES = (".nightMode", ".night_mode")  # Anki desktop/AnkiMobile, AnkiDroid
_TAG = re.compile(r"<[^>]*>")
#: Classes of the exporter's own field markup (templates/anki/fields.html) that survive the
#: sanitiser on the References field.
_FIELD_CLASSES = frozenset({"dbk-heading", "dbk-related"})
#: Zip cannot store times before 1980.
_ZIP_EPOCH_MIN = 315_532_800

#: A literal MathJax delimiter in prose (written ``\\(`` in Markdown) would start math in
#: Anki; outside math elements it is wrapped so that MathJax 2 and 3 both skip it.
_LITERAL_DELIMITER = re.compile(r"(<[^>]*>)|(\\[()\[\]])")
_IGNORED_BY_MATHJAX = '<span class="mathjax_ignore tex2jax_ignore">{}</span>'


def export(rendered: RenderedBank, context: BuildContext, staging: Staging) -> list[Artifact]:
    """Write ``<slug>.apkg`` and its release copy ``<slug>-<version>.apkg``.

    A filtered build (``--level`` ...) writes ``<slug>-subset.apkg`` instead, so it never
    replaces the full deck; its notes have the same GUIDs and deck names as the full one.
    """
    bank = rendered.bank
    package, media = build_package(rendered, context)
    levels = ", ".join(f"{d.name.split('::')[-1]} {len(d.notes)}" for d in package.decks[1:])
    summary = f"{len(rendered.questions)} notes in deck {bank.title!r}: {levels}"
    main = Path(f"{bank.slug}-subset.apkg" if context.filtered else f"{bank.slug}.apkg")
    write_apkg(package, media, context.source_date_epoch, staging.path(main))
    if context.filtered:
        return [Artifact(main, summary)]
    release = Path(f"{bank.slug}-{bank.version}.apkg")
    shutil.copyfile(staging.path(main), staging.path(release))
    return [Artifact(main, summary), Artifact(release, f"release copy of {main}")]


def build_package(
    rendered: RenderedBank, context: BuildContext
) -> tuple[genanki.Package, dict[str, Path]]:
    """The package (parent deck, then level decks in bank order) and its media by name."""
    bank = rendered.bank
    model = note_type(context.styles_dir)
    built = datetime.fromtimestamp(context.source_date_epoch, tz=timezone.utc).date()
    parent = genanki.Deck(stable_id("deck"), deck_component(bank.title))
    parent.description = deck_description(bank, None, built)
    decks: dict[str, genanki.Deck] = {}
    media: dict[str, Path] = {}
    linked = rendered.by_id()
    for question in rendered.questions:
        level = question.source.level
        if level not in decks:
            name = deck_name(bank, level)
            decks[level] = genanki.Deck(stable_id(f"deck/{level}"), name)
            decks[level].description = deck_description(bank, level, built)
        decks[level].add_note(
            genanki.Note(
                model=model,
                fields=note_fields(question, bank, linked),
                tags=note_tags(question),
                guid=note_guid(question.source.id),
                due=question.source.number,  # new cards are studied in bank order
            )
        )
        media.update((item.name, item.path) for item in question.media)
    ordered = [decks[level.id] for level in bank.levels if level.id in decks]
    return genanki.Package([parent, *ordered]), media


def note_guid(question_id: str) -> str:
    """The note's identity in every learner's collection: from the stable id only."""
    guid: str = genanki.guid_for(GUID_NAMESPACE, question_id)
    return guid


def stable_id(key: str) -> int:
    """A fixed 31-bit id for a deck (Anki ids are ints; never random, never from names)."""
    digest = hashlib.sha256(f"{GUID_NAMESPACE}/{key}".encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def deck_component(name: str) -> str:
    """A deck name part: ``::`` would nest decks and is Anki's only reserved sequence."""
    return name.replace("::", ":").strip()


def deck_name(bank: Bank, level_id: str) -> str:
    """``<title>::<n>. <level>``: numbered because Anki sorts sub-decks by name."""
    position = next(i for i, level in enumerate(bank.levels, start=1) if level.id == level_id)
    width = len(str(len(bank.levels)))
    level = deck_component(bank.level(level_id).name)
    return f"{deck_component(bank.title)}::{position:0{width}d}. {level}"


def note_tags(question: RenderedQuestion) -> list[str]:
    """Level, categories and the question's own tags, under one root.

    Tags are how learners build filtered decks and find a question whose level changed
    (its card stays in the old deck). A retired question keeps its note (imports never delete
    notes) and gains ``::retired`` so learners can find and suspend it. The validator
    guarantees ids and tags are Anki-safe.
    """
    source = question.source
    return [
        f"{TAG_ROOT}::level::{source.level}",
        *(f"{TAG_ROOT}::category::{category}" for category in source.categories),
        *(f"{TAG_ROOT}::tag::{tag}" for tag in source.tags),
        *([f"{TAG_ROOT}::retired"] if source.retired else []),
    ]


def note_fields(
    question: RenderedQuestion, bank: Bank, linked: dict[str, RenderedQuestion]
) -> list[str]:
    """The values of ``FIELDS`` for one question; ``linked`` resolves follow-up/related ids.

    Anki cannot link one note to another, so a follow-up's answering question and the
    related questions are shown by their text.
    """
    question = resanitised(question)  # the boundary: nothing reaches a field unsanitised
    source = question.source
    macros = _field_macros()

    def text_of(question_id: str | None) -> Markup | None:
        target = linked.get(question_id) if question_id else None
        return Markup(for_anki(sanitise(target.question_html))) if target else None

    follow_ups = [
        (
            Markup(for_anki(item.question_html)),
            Markup(for_anki(item.answer_html)) if item.answer_html else None,
            text_of(item.see),
        )
        for item in question.follow_ups
    ]
    related = [text for text in map(text_of, source.related) if text is not None]
    further = macros.further(
        related, SECTION["related"].label, list(source.references), SECTION["references"].label
    )
    values = {
        "ID": html.escape(source.id),
        "Sort": html.escape(plain_text(question.question_html)),
        "Question": for_anki(question.question_html),
        "Answer": for_anki(question.answer_html),
        "Explanation": for_anki(question.explanation_html),
        "Code": question.code_html or "",
        "Pitfalls": macros.items([Markup(for_anki(text)) for text in question.pitfalls_html]),
        "Follow-ups": macros.follow_ups(follow_ups),
        # Sanitised again so a bad reference URL can never reach the web view.
        "References": sanitise(str(further), own_classes=_FIELD_CLASSES),
        "Level": html.escape(bank.level(source.level).name),
        # Plain text: the templates make the badge (no presentation stored in a field).
        "Categories": html.escape(", ".join(bank.category(c).name for c in source.categories)),
    }
    return [str(values[name]) for name in FIELDS]


def plain_text(fragment: str) -> str:
    """Sanitised HTML as plain text (TeX stays as written): the browser's sort column."""
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def for_anki(fragment: str) -> str:
    """Finish rendered HTML for Anki: math for its MathJax, literal delimiters defused."""
    parts, position = [], 0
    for match in MATH_ELEMENT.finditer(fragment):
        parts += [_defuse(fragment[position : match.start()]), match.group(0)]
        position = match.end()
    parts.append(_defuse(fragment[position:]))
    return replace_math("".join(parts), _mathjax)


def _defuse(text: str) -> str:
    return _LITERAL_DELIMITER.sub(
        lambda m: m.group(1) or _IGNORED_BY_MATHJAX.format(m.group(2)), text
    )


def _mathjax(kind: str, tex: str) -> str:
    """TeX for Anki's MathJax, HTML-escaped again (``<``, ``>``, ``&`` stay text)."""
    escaped = html.escape(tex, quote=False)
    if kind == "display":
        return f'<div class="dbk-math-display">\\[{escaped}\\]</div>'
    return f"\\({escaped}\\)"


def note_type(styles_dir: Path | None) -> genanki.Model:
    """The note type: fixed id, fields and template names; CSS and layouts may evolve.

    Anki's importer compares field and template names only, so new layouts and CSS update
    the learner's note type in place. The sort field must stay ``Sort``: when an import
    moves the sort field to another index, Anki rewrites every note of the type, stamps it
    modified *now* (so the release's newer notes are skipped as older) and forces a full
    sync (``update_notes_for_changed_fields`` in Anki's rslib). So ``Sort`` holds what the
    browser should sort by: the question as plain text.
    """
    return genanki.Model(
        MODEL_ID,
        MODEL_NAME,
        fields=[{"name": name} for name in FIELDS],
        templates=[
            {
                "name": TEMPLATE_NAME,
                "qfmt": card_template("front"),
                "afmt": card_template("back"),
            }
        ],
        css=note_type_css(styles_dir),
        sort_field_index=FIELDS.index("Sort"),
    )


#: The field each section of :data:`deckbuilder.sections.SECTIONS` is stored in.
SECTION_FIELDS = {
    "question": "Question",
    "answer": "Answer",
    "explanation": "Explanation",
    "code": "Code",
    "pitfalls": "Pitfalls",
    "follow_ups": "Follow-ups",
    "related": "References",
    "references": "References",
}
#: Sections folded on the back: the long ones, read after grading if at all.
FOLDED_SECTIONS = ("explanation", "code")


@dataclass(frozen=True)
class FieldGroup:
    """Consecutive sections stored in one field, as the back template places them."""

    field: str
    sections: tuple[Section, ...]


def card_template(side: str) -> str:
    """Anki's ``front`` or ``back`` template, written from the canonical section order."""
    groups: list[FieldGroup] = []
    for section in SECTIONS[1:]:  # the question is the front side
        field = SECTION_FIELDS[section.key]
        if groups and groups[-1].field == field:
            groups[-1] = FieldGroup(field, (*groups[-1].sections, section))
        else:
            groups.append(FieldGroup(field, (section,)))
    template = _card_templates().get_template(f"anki/{side}.html.j2")
    return template.render(
        groups=groups, folded=FOLDED_SECTIONS, fit_math_script=asset_text("anki-fit-math.js")
    )


def note_type_css(styles_dir: Path | None) -> str:
    """Code colours for light and night mode first, so ``anki.css`` (and a user's) wins."""
    code = [pygments_css(LIGHT_CODE_STYLE, ".highlight")]
    code += [pygments_css(NIGHT_CODE_STYLE, f"{s} .highlight") for s in NIGHT_MODE_SCOPES]
    return "\n".join([*code, style_text("anki.css", styles_dir)])


def deck_description(bank: Bank, level_id: str | None, built: date) -> str:
    """What Anki shows on a deck's overview screen (an HTML web view: sanitised)."""
    template = _environment().get_template("anki/deck_description.html")
    level = bank.level(level_id) if level_id is not None else None
    return sanitise(template.render(bank=bank, level=level, built=built)).strip()


def write_apkg(package: genanki.Package, media: dict[str, Path], epoch: int, target: Path) -> None:
    """Write the ``.apkg`` zip, byte-identical for equal input and ``epoch``.

    genanki's own ``write_to_file`` stamps zip entries with the current time and the
    temporary database's mtime; here every entry has the build's time and a fixed order.
    Files are streamed into the zip, so a large bank is never held in memory twice.
    """
    with tempfile.TemporaryDirectory(prefix="deckbuilder-anki-") as folder:
        database = Path(folder) / "collection.anki2"
        connection = sqlite3.connect(database)
        try:
            package.write_to_db(connection.cursor(), epoch, itertools.count(epoch * 1000))
            connection.commit()
        finally:
            connection.close()
        names = sorted(media)
        with zipfile.ZipFile(target, "w") as archive:
            _add_file(archive, "collection.anki2", database, epoch)
            archive.writestr(_zip_entry("media", epoch), json.dumps(dict(enumerate(names))))
            for index, name in enumerate(names):
                _add_file(archive, str(index), media[name], epoch)


def _add_file(archive: zipfile.ZipFile, name: str, source: Path, epoch: int) -> None:
    with source.open("rb") as reader, archive.open(_zip_entry(name, epoch), "w") as writer:
        shutil.copyfileobj(reader, writer)


def _zip_entry(name: str, epoch: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=time.gmtime(max(epoch, _ZIP_EPOCH_MIN))[:6])
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # Unix, whatever builds it
    entry.external_attr = 0o644 << 16
    return entry


@cache
def _environment() -> jinja2.Environment:
    return template_environment()


@cache
def _card_templates() -> jinja2.Environment:
    """Jinja with ``[% %]``/``[[ ]]``/``[# #]`` delimiters: Anki's ``{{..}}`` stays literal."""
    return template_environment(
        autoescape=False,
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
    )


@cache
def _field_macros() -> Any:
    """The macros of ``templates/anki/fields.html`` (Jinja template modules are untyped)."""
    return _environment().get_template("anki/fields.html").module
