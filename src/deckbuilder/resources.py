"""Where styles and templates come from: a user folder first, then the installed package.

``styles/`` lives at the top of the repository (designers edit it there) and is copied into
the wheel as ``deckbuilder/styles``; in a source checkout the package falls back to the
repository folder. ``--styles DIR`` lets a user replace single files without forking.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2

from deckbuilder.errors import BuildError

_PACKAGE = resources.files("deckbuilder")


def packaged_styles_dir() -> Path:
    """The styles shipped with deckbuilder (wheel: inside the package; checkout: ``styles/``)."""
    inside = Path(str(_PACKAGE / "styles"))
    if inside.is_dir():
        return inside
    checkout = Path(__file__).resolve().parents[2] / "styles"
    if checkout.is_dir():
        return checkout
    raise BuildError("deckbuilder's styles/ folder is missing from this installation")


def packaged_templates_dir() -> Path:
    """The Jinja templates shipped with deckbuilder (``deckbuilder/templates``)."""
    return Path(str(_PACKAGE / "templates"))


def style_text(name: str, user_dir: Path | None = None) -> str:
    """A stylesheet by file name, from ``user_dir`` if it has one, else the packaged one."""
    for folder in (user_dir, packaged_styles_dir()):
        if folder is not None and (folder / name).is_file():
            return (folder / name).read_text("utf-8")
    raise BuildError(f"stylesheet {name!r} not found in {user_dir or packaged_styles_dir()}")


def template_environment(*, autoescape: bool = True, **syntax: str) -> jinja2.Environment:
    """Jinja2 over ``deckbuilder/templates``; autoescape on except for Markdown output.

    ``syntax`` overrides Jinja's delimiters, for templates that write another template
    language whose ``{{..}}`` must come out literally (Anki's card templates).
    """
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_PACKAGE / "templates")),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        **syntax,  # type: ignore[arg-type]
    )


def asset_text(name: str) -> str:
    """A file shipped under ``deckbuilder/assets`` (JavaScript for the study page...)."""
    return (_PACKAGE / "assets" / name).read_text("utf-8")
