"""What a bank's image files may contain: SVG is a document, and a document can fetch.

An SVG image is XML that may reference other files and URLs (``<image href>``, ``<use>``,
``url(...)`` in styles), run scripts, or embed HTML (``foreignObject``). WeasyPrint follows
such references while laying out the PDF, and a browser or Anki opening the file directly
would run its scripts. So every SVG the bank uses is parsed (with defusedxml: no DTDs, no
entity expansion) and must be a self-contained drawing: references only to its own
``#fragments`` or to raster ``data:`` images, no scripts, no event attributes, no
``foreignObject``. The PDF exporter's URL fetcher then refuses whatever still asks.
An image link is relative to the question's file (:func:`media_path`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from deckbuilder.model import Question

#: Elements that run code or embed a document of another kind.
_FORBIDDEN_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "handler"}
#: A reference that stays inside the drawing, or a raster image carried inline.
_LOCAL_REFERENCE = re.compile(r"^\s*(#|data:image/(png|jpeg|gif|webp)[;,])", re.I)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^)'\"\s]*)", re.I)
_CSS_IMPORT = re.compile(r"@import", re.I)
#: Larger SVG files are not a diagram a question needs.
MAX_SVG_BYTES = 2 * 1024 * 1024


def looks_like_svg(path: Path, head: bytes) -> bool:
    """SVG by name, or XML content whatever the name says (renderers sniff content)."""
    return path.suffix.lower() in (".svg", ".svgz") or head.lstrip()[:1] == b"<"


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def unsafe_svg(path: Path) -> Iterator[str]:
    """Why the image at ``path`` is unsafe to lay out, if it is an SVG; nothing otherwise."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SVG_BYTES + 1)
    except OSError as exc:
        yield f"cannot be read: {exc.strerror}"
        return
    if not looks_like_svg(path, data[:512]):
        return
    if path.suffix.lower() == ".svgz" or data[:2] == b"\x1f\x8b":
        yield "compressed SVG (.svgz) is not allowed; save it as plain .svg"
        return
    if len(data) > MAX_SVG_BYTES:
        yield f"SVG larger than {MAX_SVG_BYTES // 2**20} MiB"
        return
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        yield f"is not well-formed SVG without a DTD or entities ({exc})"
        return
    yield from _unsafe_elements(root)


def _unsafe_elements(root: Element) -> Iterator[str]:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        tag = _local(element.tag)
        if tag in _FORBIDDEN_ELEMENTS:
            yield f"SVG contains <{tag}>, which runs code or embeds another document"
        if tag == "style" and element.text:
            yield from _unsafe_css(element.text, "<style>")
        for attribute, value in element.attrib.items():
            name = _local(attribute)
            if name.startswith("on"):
                yield f"SVG has an event attribute {name}= on <{tag}>"
            elif name in ("href", "src") and not _LOCAL_REFERENCE.match(value):
                yield f"SVG <{tag}> refers to {value[:80]!r}; only #fragments and data: images are allowed"
            elif "url(" in value.lower() or "@import" in value.lower():
                yield from _unsafe_css(value, f"the {name}= of <{tag}>")


def _unsafe_css(css: str, where: str) -> Iterator[str]:
    if _CSS_IMPORT.search(css):
        yield f"SVG {where} uses @import"
    for target in _CSS_URL.findall(css):
        if not _LOCAL_REFERENCE.match(target):
            yield f"SVG {where} refers to url({target[:80]}); only url(#id) is allowed"


def media_path(question: Question, relative: str) -> Path:
    """Where an image link of a question's Markdown points (relative to its YAML file)."""
    return (question.location.path.parent / unquote(relative)).resolve()


def resolve_media(question: Question, relative: str, root: Path) -> Path | None:
    """The image file a link names, if it exists inside the bank folder; else ``None``."""
    candidate = media_path(question, relative)
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate
