"""How long the two PDFs take and how much memory they need, against a WeasyPrint floor.

    .venv/bin/python bench/pdf_bench.py [--questions 1000] [--bank questions]

For the real bank (if it validates) and a synthetic bank of ``--questions`` questions
(several times the real one), it measures in this process:

- ``validate+render``: the shared pipeline every exporter starts from (for scale);
- ``pdf export``: this project's exporter end to end (math to SVG, templates, WeasyPrint);
- ``weasyprint floor``: WeasyPrint alone, rendering the very HTML and CSS the exporter
  produced: what any PDF of this content must at least cost.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import EPOCH, measure, real_and_synthetic, row
from weasyprint import CSS, HTML

from deckbuilder.build_context import BuildContext, Staging
from deckbuilder.exporters import pdf
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank


def main() -> None:
    real_and_synthetic(__doc__ or "", 1_000, run)


def run(label: str, bank_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="pdf-bench-out-") as out:
        output = Path(out)
        rendered, seconds, peak = measure(lambda: render_bank(load_valid_bank(bank_dir)[0]))
        row(label, len(rendered.questions), "validate+render", seconds, peak, None)
        context = BuildContext(output=output, source_date_epoch=EPOCH)
        staging = Staging(output)
        artifacts, seconds, peak = measure(lambda: pdf.export(rendered, context, staging))
        size = sum(staging.path(a.relative_path).stat().st_size for a in artifacts)
        row("", None, "pdf export", seconds, peak, size)
        documents = pdf.print_documents(rendered, context)  # math already drawn and cached

        def floor() -> int:
            return sum(
                len(
                    HTML(string=d.html, base_url=str(bank_dir)).write_pdf(
                        stylesheets=[CSS(string=d.css)]
                    )
                )
                for d in documents
            )

        floor_size, seconds, peak = measure(floor)
        row("", None, "weasyprint floor", seconds, peak, floor_size)
        staging.discard()


if __name__ == "__main__":
    main()
