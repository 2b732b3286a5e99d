"""Skip artifacts whose inputs did not change (``deckbuilder build`` without ``--force``).

Every artifact is a pure function of the bank's files, deckbuilder's own code, templates and
styles, the versions of the libraries that shape it, the build options and the build
timestamp. A fingerprint of all of them per format is
kept in ``<output>/.deckbuilder-build.json`` together with the hash of each file the format
wrote; when both still match, the format is up to date and not rebuilt. Reading files and
hashing them is much cheaper than validating and rendering, so a rebuild with nothing changed
finishes without loading the bank at all.

The stamp is staged with the artifacts and moved into place last (see ``Staging.commit``): it
never describes files that are not in place, and it is never half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from deckbuilder import __version__
from deckbuilder.contentcache import library_versions, tree_digest
from deckbuilder.resources import packaged_styles_dir

STAMP_NAME = ".deckbuilder-build.json"
_PACKAGE_DIR = Path(__file__).resolve().parent
#: Libraries whose version shapes every format: Markdown, code and math rendering, templates.
_COMMON_LIBRARIES = ("markdown", "pymdown-extensions", "pygments", "nh3", "latex2mathml", "jinja2")
#: ... and those of one format only. A format not listed here depends on all of them.
_FORMAT_LIBRARIES = {
    "anki": ("genanki",),
    "pdf": ("weasyprint", "pydyf", "ziamath"),
    "markdown": (),
    "html": (),
}
_ALL_LIBRARIES = tuple(sorted({n for names in _FORMAT_LIBRARIES.values() for n in names}))


def fingerprints(
    formats: Iterable[str], bank_dir: Path, styles_dir: Path | None, options: Mapping[str, object]
) -> dict[str, str]:
    """``{format: fingerprint}`` of everything that determines that format's files."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps({"version": __version__, **options}, sort_keys=True, default=str).encode()
    )
    folders = [bank_dir, _PACKAGE_DIR, packaged_styles_dir()]
    if styles_dir is not None:
        folders.append(styles_dir)
    for folder in folders:
        digest.update(tree_digest(folder))
    digest.update(library_versions(_COMMON_LIBRARIES).encode())
    common = digest.hexdigest()
    return {
        name: hashlib.sha256(
            f"{common}:{name}:{library_versions(_FORMAT_LIBRARIES.get(name, _ALL_LIBRARIES))}".encode()
        ).hexdigest()
        for name in formats
    }


def up_to_date(output: Path, fingerprints_by_format: Mapping[str, str]) -> set[str]:
    """The formats whose stamp matches and whose recorded files are all present and intact."""
    stamp = _read(output)
    fresh = set()
    for name, fingerprint in fingerprints_by_format.items():
        entry = stamp.get(name)
        if not isinstance(entry, dict) or entry.get("fingerprint") != fingerprint:
            continue
        files = entry.get("files", {})
        if files and all(_file_hash(output / rel) == digest for rel, digest in files.items()):
            fresh.add(name)
    return fresh


def stage_stamp(
    staging: Path,
    output: Path,
    fingerprints_by_format: Mapping[str, str],
    files: Mapping[str, list[Path]],
) -> None:
    """Write into ``staging`` the stamp ``output`` gets once the staged files are in place:
    the old entries, and what each built format wrote (hashed from the staged bytes)."""
    stamp = _read(output)
    for name, written in files.items():
        stamp[name] = {
            "fingerprint": fingerprints_by_format[name],
            "files": {p.as_posix(): _file_hash(staging / p) for p in sorted(written)},
        }
    data = (json.dumps(stamp, indent=1, sort_keys=True) + "\n").encode()
    with open(staging / STAMP_NAME, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())  # on disk before the rename that publishes it


def _read(output: Path) -> dict[str, object]:
    try:
        data = json.loads((output / STAMP_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
