"""What an exporter is given besides the rendered bank, and how it hands files back.

Exporters never write into the output folder themselves: they put bytes into a
:class:`Staging` area, and the build moves every staged file into place only after all
exporters succeeded. A failed or interrupted build therefore never leaves a truncated or
half-updated artifact in ``dist/``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
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


#: ``.staging-<pid of the build>-<random>``: a build removes the ones whose build is gone.
_STAGING = re.compile(r"\.staging-(?:(\d+)-)?")


class Staging:
    """A temporary folder inside the output folder; ``commit`` renames files into place.

    Staging inside the output folder keeps every rename on one file system, so each move
    is atomic. A build that was killed leaves its folder behind; the next build into the
    same output removes it (:meth:`remove_stale`).
    """

    def __init__(self, output: Path, root: Path | None = None) -> None:
        output.mkdir(parents=True, exist_ok=True)
        self.output = output
        if root is None:
            self.remove_stale(output)
            root = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=output))
        self.root = root

    @staticmethod
    def remove_stale(output: Path) -> None:
        """Delete staging folders of builds that no longer run (killed, or crashed)."""
        for entry in output.glob(".staging-*"):
            match = _STAGING.match(entry.name)
            if match and match.group(1) and _alive(int(match.group(1))):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

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

    def commit(self, last: str | None = None) -> list[Path]:
        """Move every staged file into the output folder, all or nothing; return their paths.

        Every target is checked first (a folder where a file goes stops the commit before
        anything moved). If a move still fails, the files already moved are put back as they
        were and the error is raised. ``last`` (the build stamp) moves after every other file.
        """
        staged = sorted(p for p in self.root.rglob("*") if p.is_file())
        staged.sort(key=lambda p: p.relative_to(self.root).as_posix() == last)
        pairs = [(p, self.output / p.relative_to(self.root)) for p in staged]
        for _, final in pairs:
            self._check_target(final)
        previous = Path(tempfile.mkdtemp(prefix="previous-", dir=self.root))
        moved: list[tuple[Path, Path | None]] = []
        created: list[Path] = []
        try:
            for number, (source, final) in enumerate(pairs):
                for folder in reversed(final.parents):
                    if folder.is_relative_to(self.output) and not folder.exists():
                        folder.mkdir()
                        created.append(folder)
                kept = None
                if final.exists():
                    kept = previous / str(number)
                    os.link(final, kept)  # the old bytes stay reachable until the end
                os.replace(source, final)
                moved.append((final, kept))
        except OSError:
            for final, kept in reversed(moved):
                with contextlib.suppress(OSError):
                    if kept is not None:
                        os.replace(kept, final)
                    else:
                        final.unlink()
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        finally:
            self.discard()
        return [final for _, final in pairs]

    def _check_target(self, final: Path) -> None:
        """Raise unless ``final`` can be replaced by a file (its folders may be missing)."""
        for path in [*reversed(final.parents), final]:
            if not path.is_relative_to(self.output) or path == self.output:
                continue
            if path == final:
                if path.is_dir() and not path.is_symlink():
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            elif path.exists() and not path.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether the build that made a staging folder still runs (not us: in a container a
    build may get the pid a killed one had)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
