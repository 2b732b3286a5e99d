"""A content-addressed cache for the pure, per-item steps of a build.

Rendering one question's Markdown, checking one TeX formula, drawing one formula as SVG and
laying out one PDF are pure functions of their inputs and of the code doing them. This cache
keeps each result under a hash of exactly those inputs plus :func:`tool_digest` (deckbuilder's
own files and the versions of the libraries that shape the output). So after an edit only the
edited question is rendered again, only its formulas are drawn again, and a PDF whose HTML did
not change (the cheat sheet, when only an explanation changed) is not laid out again.

Entries are JSON or raw bytes written atomically; an entry that cannot be read or has the
wrong shape is a miss, so deleting the folder, or any file in it, is always safe. It lives in
``$DECKBUILDER_CACHE_DIR`` or else in the user's cache directory (``platformdirs``:
``~/.cache/deckbuilder`` on Linux), never in the working tree, where a cache committed to
the repository would be read by every clone; and it is kept under :data:`MAX_BYTES` by
dropping the least recently used entries. What is read back is not trusted: rendered HTML
passes the sanitiser again (see ``render.resanitised``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

#: The folder older versions kept in the working directory: never an input of a build.
DEFAULT_FOLDER = ".deckbuilder-cache"
ENVIRONMENT_VARIABLE = "DECKBUILDER_CACHE_DIR"
#: Room for a few dozen versions of the real bank's study guide (7 MiB each).
MAX_BYTES = 256 * 2**20
#: Libraries whose version changes what the cached steps produce: rendering, drawing and
#: laying out, and judging a file (``verdicts``: YAML, schema, CommonMark, SVG, confusables).
_LIBRARIES = (
    "pyyaml",
    "jsonschema",
    "jsonschema-rs",
    "markdown-it-py",
    "defusedxml",
    "confusable-homoglyphs",
    "markdown",
    "pymdown-extensions",
    "pygments",
    "nh3",
    "latex2mathml",
    "ziamath",
    "weasyprint",
    "pydyf",
)
_PACKAGE_DIR = Path(__file__).resolve().parent


def tree_digest(folder: Path, keep: Callable[[Path], bool] = lambda path: True) -> bytes:
    """SHA-256 over the names and contents of the input files below ``folder`` that ``keep``."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and is_input(relative) and keep(relative):
            digest.update(relative.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


def is_input(relative: Path) -> bool:
    """Bytecode, git's own files and caches (ours, if it sits inside) determine nothing."""
    ignored = {"__pycache__", ".git", DEFAULT_FOLDER}
    return not ignored.intersection(relative.parts) and relative.suffix not in (".pyc", ".pyo")


@cache
def tool_digest() -> str:
    """What besides its inputs determines a cached result: our code and library versions."""
    digest = hashlib.sha256(tree_digest(_PACKAGE_DIR))
    digest.update(library_versions(_LIBRARIES).encode())
    return digest.hexdigest()


def library_versions(names: Iterable[str]) -> str:
    """``name=version`` of each installed distribution (``absent`` if not installed)."""
    installed = _installed_versions()
    return "".join(f"{name}={installed.get(_canonical(name), 'absent')}\0" for name in names)


@cache
def _installed_versions() -> dict[str, str]:
    """Versions by canonical name, from the ``name-version.dist-info`` folders on ``sys.path``
    (the wheel standard), first found first, as ``importlib.metadata`` finds them. Importing
    that module would cost more than the rest of a warm ``validate``."""
    found: dict[str, str] = {}
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info"):
                name, _, version = entry.removesuffix(".dist-info").partition("-")
                found.setdefault(_canonical(name), version)
    return found


def _canonical(name: str) -> str:
    """PEP 503's normalised project name: ``PyYAML`` -> ``pyyaml``, ``jsonschema_rs`` ->
    ``jsonschema-rs``."""
    return re.sub(r"[-_.]+", "-", name).lower()


class ContentCache:
    """Results by input hash: on disk when given a folder, always in memory for this process.

    ``read=False`` (``build --force``) ignores what is stored but still stores fresh results.
    ``misses`` counts, per kind of entry, the results that had to be computed.
    """

    def __init__(self, folder: Path | None, *, read: bool = True) -> None:
        self.folder = folder
        self.read = read
        self.misses: Counter[str] = Counter()
        self._memory: dict[str, Any] = {}

    @classmethod
    def default(cls, *, read: bool = True) -> ContentCache:
        """The cache in ``$DECKBUILDER_CACHE_DIR``, else the user's cache directory."""
        folder = os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or user_cache_dir(
            "deckbuilder", appauthor=False
        )
        return cls(Path(folder).resolve(), read=read)

    def __getstate__(self) -> dict[str, Any]:
        """Sent to exporter processes without this process's in-memory entries."""
        return {**self.__dict__, "_memory": {}, "misses": Counter()}

    def get_json(self, kind: str, inputs: object, *, ours: bool = True) -> Any | None:
        """The stored value, or None; ``ours`` as for :meth:`get_bytes`."""
        key = self._key(kind, inputs, ours)
        if key in self._memory:  # computed or read in this process: fresh even under --force
            return self._memory[key]
        data = self._read(key)
        if data is None:
            return None
        try:
            value = json.loads(data)
        except ValueError:
            return None
        self._memory[key] = value
        return value

    def put_json(self, kind: str, inputs: object, value: object, *, ours: bool = True) -> None:
        self.misses[kind] += 1
        key = self._key(kind, inputs, ours)
        self._memory[key] = json.loads(json.dumps(value))  # what a later read would return
        self._write(key, json.dumps(value, ensure_ascii=False, sort_keys=True).encode())

    def get_bytes(self, kind: str, inputs: object, *, ours: bool = True) -> bytes | None:
        """``ours=False``: the result does not depend on deckbuilder's code, only on
        ``inputs`` (which must then name every library and file that shapes it)."""
        return self._read(self._key(kind, inputs, ours))

    def put_bytes(self, kind: str, inputs: object, data: bytes, *, ours: bool = True) -> None:
        self.misses[kind] += 1
        self._write(self._key(kind, inputs, ours), data)

    def prune(self, max_bytes: int = MAX_BYTES) -> None:
        """Drop the least recently used entries until the folder holds at most ``max_bytes``."""
        if self.folder is None or not self.folder.is_dir():
            return
        entries = []
        for path in self.folder.glob("??/*"):
            try:
                status = path.stat()
            except OSError:
                continue
            entries.append((status.st_mtime, status.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= max_bytes:
                break
            try:
                path.unlink(missing_ok=True)
            except OSError:  # a read-only cache is no error: it only costs room
                return
            total -= size

    def _key(self, kind: str, inputs: object, ours: bool = True) -> str:
        tool = tool_digest() if ours else None
        text = json.dumps([tool, kind, inputs], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / key[:2] / key[2:]

    def _read(self, key: str) -> bytes | None:
        path = self._path(key)
        if not self.read or path is None:
            return None
        try:
            data = path.read_bytes()
            os.utime(path)  # recently used: pruned last
        except OSError:
            return None
        return data

    def _write(self, key: str, data: bytes) -> None:
        """Write atomically (a reader never sees half an entry); a read-only disk is no error."""
        path = self._path(key)
        if path is None or self.folder is None:
            return
        import tempfile  # only a run that writes pays for importing it

        try:
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True)
                # Like .pytest_cache and .ruff_cache: never committed, skipped by backups.
                (self.folder / ".gitignore").write_text("# created by deckbuilder\n*\n")
                (self.folder / "CACHEDIR.TAG").write_text(_CACHEDIR_TAG)
            path.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError:
            return
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)


#: https://bford.info/cachedir/ : backup tools skip folders holding this file.
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by deckbuilder.\n"
)
