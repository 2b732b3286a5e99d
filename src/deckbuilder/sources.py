"""Which files of a bank are read, and their bytes: regular files inside the bank only.

Kept apart from the YAML loader so that ``validate`` can find and hash the bank's files
without importing a YAML parser: a file whose bytes did not change has its verdict in the
cache (see ``verdicts``) and is never parsed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from deckbuilder.contentcache import tree_digest
from deckbuilder.errors import Location, Problem, error

#: Larger files are refused unread: the real bank's files are a few hundred KiB at most.
MAX_FILE_BYTES = 2 * 1024 * 1024


def regular_file_problem(path: Path, root: Path | None = None) -> Problem | None:
    """Why ``path`` is not a regular file inside ``root`` that may be read, or ``None``.

    Checked with ``lstat`` before anything is opened: a device (``/dev/zero``), a FIFO (which
    would block for ever), a directory, a symlink loop, or a symlink that leaves the bank
    folder is named, never read.
    """
    whole_file = Location(path)
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode):
            target = path.resolve(strict=True)
            if root is not None and not target.is_relative_to(root.resolve()):
                return error(
                    whole_file,
                    "not-a-regular-file",
                    "symbolic link points outside the bank folder; copy the file into it",
                )
            status = os.stat(path)
    except RuntimeError:  # Python < 3.13 reports a symlink loop so
        return error(whole_file, "not-a-regular-file", "symbolic link loop")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return error(whole_file, "not-a-regular-file", "symbolic link loop")
        return error(whole_file, "unreadable", f"cannot read file: {exc.strerror}")
    if stat.S_ISREG(status.st_mode):
        return None
    kind = (
        "a folder"
        if stat.S_ISDIR(status.st_mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(status.st_mode)
        else "a device"
        if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode)
        else "a socket or other special file"
    )
    return error(whole_file, "not-a-regular-file", f"{path.name} is {kind}, not a YAML file")


def read_source(path: Path, root: Path | None = None) -> bytes | Problem:
    """The bytes of one bank file, or the problem that keeps it unread.

    Only a regular file is opened (symlinks must stay inside ``root`` when it is given), and
    only up to :data:`MAX_FILE_BYTES`.
    """
    whole_file = Location(path)
    refused = regular_file_problem(path, root)
    if refused is not None:
        return refused
    try:
        size = path.stat().st_size
    except OSError as exc:
        return error(whole_file, "unreadable", f"cannot read file: {exc.strerror}")
    if size > MAX_FILE_BYTES:
        return _too_large(path, size)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # the size may have changed since stat
    except OSError as exc:
        return error(whole_file, "unreadable", f"cannot read file: {exc.strerror}")
    if len(raw) > MAX_FILE_BYTES:
        return _too_large(path, len(raw))
    return raw


def _too_large(path: Path, size: int) -> Problem:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    return error(
        Location(path),
        "file-too-large",
        f"file is {size / (1024 * 1024):.1f} MiB; a bank file may be at most {limit} MiB"
        " (split it by topic)",
    )


def media_digest(root: Path) -> str:
    """A digest of every file of the bank that is not a question file or the released ids:
    the images that Markdown links may point to."""
    return tree_digest(root, lambda path: path.suffix not in (".yaml", ".yml", ".json")).hex()
