"""What an exporter is given besides the rendered bank, and how it hands files back.

Exporters never write into the output folder themselves: they put bytes into a
:class:`Staging` area, and the build moves every staged file into place only after all
exporters succeeded. A failed or interrupted build therefore never leaves a truncated or
half-updated artifact in ``dist/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from deckbuilder.contentcache import ContentCache


@dataclass(frozen=True)
class BuildContext:
    """Options every exporter may read. Frozen: no exporter changes another's view."""

    output: Path
    #: Seconds since the epoch used for every timestamp inside artifacts (reproducibility).
    source_date_epoch: int
    paper: str = "a4"
    #: A folder whose stylesheets replace the packaged ones, file by file.
    styles_dir: Path | None = None
    #: Markdown guides: one per ``level`` or also one per ``category``.
    guides_by: str = "level"
    #: True when the bank was narrowed by --level/--category/--tag.
    filtered: bool = False
    #: Where exporters keep and find results of their own pure steps (formulas, layouts).
    cache: ContentCache = field(default_factory=lambda: ContentCache(None))


@dataclass(frozen=True)
class Artifact:
    """One file an exporter produced, relative to the output folder, with a summary line."""

    relative_path: Path
    summary: str


class Staging:
    """A temporary folder inside the output folder; ``commit`` renames files into place.

    Staging inside the output folder keeps every rename on one file system, so each move
    is atomic.
    """

    def __init__(self, output: Path, root: Path | None = None) -> None:
        output.mkdir(parents=True, exist_ok=True)
        self.output = output
        self.root = (
            root if root is not None else Path(tempfile.mkdtemp(prefix=".staging-", dir=output))
        )

    @classmethod
    def at(cls, root: Path) -> Staging:
        """The same staging folder, seen from an exporter running in another process."""
        return cls(root.parent, root)

    def path(self, relative: str | Path) -> Path:
        """Where to write ``relative``; parent folders are created."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_bytes(self, relative: str | Path, data: bytes) -> Path:
        target = self.path(relative)
        target.write_bytes(data)
        return target

    def write_text(self, relative: str | Path, text: str) -> Path:
        return self.write_bytes(relative, text.encode("utf-8"))

    def commit(self) -> list[Path]:
        """Move every staged file into the output folder; return their final paths."""
        moved = []
        for staged in sorted(p for p in self.root.rglob("*") if p.is_file()):
            final = self.output / staged.relative_to(self.root)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            moved.append(final)
        self.discard()
        return moved

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
