"""How long the Anki export takes and how much memory it needs, against a genanki floor.

    .venv/bin/python bench/anki_bench.py [--questions 10000] [--bank questions]

For the real bank (if it validates) and a synthetic bank of ``--questions`` questions
written to a temporary folder, it times three stages in this process:

- ``validate+render``: the shared pipeline every exporter starts from (for scale);
- ``anki export``: this project's exporter, end to end (fields, math, CSS, zip);
- ``genanki floor``: a plain genanki script writing the *same* notes (same fields, tags,
  GUIDs, decks) with ``Package.write_to_file``: what any Anki export must at least cost.

Peak memory is the growth of the resident set during a stage (Linux ``VmHWM``, reset before
each stage through ``/proc/self/clear_refs``). Timings are wall-clock; run it on an idle
machine and compare runs made on the same one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import genanki
from common import EPOCH, measure, real_and_synthetic, row

from deckbuilder.build_context import BuildContext, Staging
from deckbuilder.exporters import anki
from deckbuilder.model import RenderedBank
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank


def main() -> None:
    real_and_synthetic(__doc__ or "", 10_000, run)


def run(label: str, bank_dir: Path) -> None:
    """Measure the three stages on one bank and print one row per stage."""
    with tempfile.TemporaryDirectory(prefix="anki-bench-out-") as out:
        output = Path(out)
        rendered, seconds, peak = measure(lambda: render_bank(load_valid_bank(bank_dir)[0]))
        count = len(rendered.questions)
        row(label, count, "validate+render", seconds, peak, None)
        context = BuildContext(output=output, source_date_epoch=EPOCH)
        staging = Staging(output)
        artifacts, seconds, peak = measure(lambda: anki.export(rendered, context, staging))
        size = staging.path(artifacts[0].relative_path).stat().st_size
        row("", None, "anki export", seconds, peak, size)
        floor = output / "floor.apkg"
        _, seconds, peak = measure(lambda: genanki_floor(rendered, floor))
        row("", None, "genanki floor", seconds, peak, floor.stat().st_size)
        staging.discard()


def genanki_floor(rendered: RenderedBank, target: Path) -> None:
    """The same notes written the plain genanki way (fields built inside, as a script would)."""
    bank = rendered.bank
    model = genanki.Model(
        anki.MODEL_ID,
        anki.MODEL_NAME,
        fields=[{"name": name} for name in anki.FIELDS],
        templates=[{"name": anki.TEMPLATE_NAME, "qfmt": "{{Question}}", "afmt": "{{Answer}}"}],
    )
    decks: dict[str, genanki.Deck] = {}
    for question in rendered.questions:
        level = question.source.level
        if level not in decks:
            decks[level] = genanki.Deck(anki.stable_id(level), anki.deck_name(bank, level))
        decks[level].add_note(
            genanki.Note(
                model=model,
                fields=anki.note_fields(question, bank),
                tags=anki.note_tags(question),
                guid=anki.note_guid(question.source.id),
            )
        )
    genanki.Package(list(decks.values())).write_to_file(str(target), timestamp=EPOCH)


if __name__ == "__main__":
    main()
