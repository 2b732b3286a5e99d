"""The exporter registry: a plain dict from format name to where its code lives.

Each exporter module defines ``export(rendered, context, staging) -> list[Artifact]`` and
imports its heavy libraries (genanki, WeasyPrint) itself, so ``validate`` and ``--help``
never pay for them. Adding a format is one entry here plus one module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

from deckbuilder.build_context import Artifact, BuildContext, Staging
from deckbuilder.errors import BuildError
from deckbuilder.model import RenderedBank


class Exporter(Protocol):
    def __call__(
        self, rendered: RenderedBank, context: BuildContext, staging: Staging
    ) -> list[Artifact]: ...


@dataclass(frozen=True)
class ExporterSpec:
    name: str
    summary: str
    module: str
    #: Anki never deletes notes on import, so the deck keeps retired questions (tagged);
    #: every other format shows only the active ones.
    includes_retired: bool = False

    def load(self) -> Exporter:
        """Import the exporter; a missing optional library becomes an install hint."""
        try:
            module = importlib.import_module(self.module)
        except ImportError as exc:
            missing = exc.name or str(exc)
            raise BuildError(
                f"the {self.name} exporter needs {missing!r}, which is not installed;"
                f" run scripts/bootstrap.sh (or pip install deckbuilder) to install it"
            ) from exc
        exporter: Exporter = module.export
        return exporter


EXPORTERS: dict[str, ExporterSpec] = {
    spec.name: spec
    for spec in (
        ExporterSpec(
            "anki", "Anki deck (.apkg), a sub-deck per level", "deckbuilder.exporters.anki", True
        ),
        ExporterSpec("pdf", "printable study guide and cheat sheet", "deckbuilder.exporters.pdf"),
        ExporterSpec(
            "markdown", "Markdown study guides in guides/", "deckbuilder.exporters.markdown"
        ),
        ExporterSpec("html", "offline single-file study page", "deckbuilder.exporters.html"),
    )
}
