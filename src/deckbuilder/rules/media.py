"""The media family: an image a question shows is a file of the bank, and safe to open.

Decks, PDFs and the page must work offline and fetch nothing, so an image is a file inside
the bank folder, never a URL; an SVG image is a document and must not refer outside itself,
run scripts or embed documents (see ``deckbuilder.media``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from deckbuilder.errors import Location, Problem, error
from deckbuilder.media import media_path, resolve_media, unsafe_svg
from deckbuilder.model import Question


def check_image(
    question: Question, root: Path, where: Location, target: str, shown: str
) -> Iterator[Problem]:
    """``target`` as CommonMark decoded it; ``shown`` as the author wrote it (for messages)."""
    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", target, re.I)
    if scheme or target.startswith("//"):
        yield error(
            where,
            "remote-media",
            f"image {shown!r} must be a file inside questions/,"
            " not a URL (decks and PDFs must work offline)",
        )
    elif not media_path(question, target).is_relative_to(root.resolve()):
        yield error(
            where,
            "media-outside-bank",
            f"image {shown!r} points outside the bank folder; keep images inside it",
        )
    else:
        path = resolve_media(question, target, root)
        if path is None:
            yield error(where, "media-missing", f"image {shown!r} does not exist")
        else:
            for why in unsafe_svg(path):
                yield error(where, "media-unsafe", f"image {shown!r}: {why}")
