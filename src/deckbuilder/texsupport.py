"""One definition of the TeX the math renderers accept, whatever was imported first.

ziamath (the PDF's renderer) declares a few extra operator names in latex2mathml's global
tables when it is imported (``\\arg``, ``\\tg``, ...). Without this module the validator and
the HTML page would accept those names only if ziamath happened to be loaded earlier in the
same process. Declaring the same names here, before any conversion, makes validation and
MathML output independent of import order.
"""

from __future__ import annotations

import latex2mathml.commands

#: The operator names ziamath adds to latex2mathml (ziamath/__init__.py).
EXTRA_OPERATORS = (
    r"\tg", r"\ctg", r"\arcctg", r"\arctg", r"\arg", r"\cotg", r"\sh", r"\ch", r"\cth", r"\th",
)  # fmt: skip


def declare_operators() -> None:
    """Make latex2mathml know the extra operator names (idempotent)."""
    known = latex2mathml.commands.FUNCTIONS
    missing = tuple(name for name in EXTRA_OPERATORS if name not in known)
    if missing:
        latex2mathml.commands.FUNCTIONS = known + missing  # type: ignore[assignment]
