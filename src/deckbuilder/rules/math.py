"""The math family: every formula the render stage marks must convert in every renderer.

The page gets MathML from latex2mathml, the PDF draws SVG with ziamath (which builds on
latex2mathml), Anki gets the TeX for its MathJax. A formula that one of them cannot read,
would print literally, or would crash on, is refused here with the reason; so is TeX that
carries links or styles. The render stage runs these rules on the formulas it found
(``render.render_problems``), so they see exactly what the exporters will.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

import latex2mathml.converter

from deckbuilder.texsupport import declare_operators


@functools.cache
def formula_problems(tex: str) -> tuple[tuple[str, str], ...]:
    """:func:`tex_problems`, once per distinct formula in a process. Across runs the file's
    verdict is what is kept: a formula is judged again only when its file changed."""
    return tuple(tex_problems(tex))


def clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TEX_ERRORS = {
    "NoAvailableTokensError": "a command is missing an argument or a closing brace",
    "ExtraLeftOrMissingRightError": "\\left without a matching \\right",
    "MissingSuperScriptOrSubscriptError": "^ or _ without anything to attach",
    "DoubleSubscriptsError": "double subscript (write x_{ab} or {x_a}_b)",
    "DoubleSuperscriptsError": "double superscript (write x^{ab} or {x^a}^b)",
    "DenominatorNotFoundError": "\\frac needs a numerator and a denominator",
    "NumeratorNotFoundError": "\\frac needs a numerator and a denominator",
    "MissingEndError": "\\begin without \\end",
}


#: TeX commands that turn a formula into a link or inject styles/ids: Anki's MathJax and
#: the MathML converter would carry them into pages that run scripts.
_UNSAFE_TEX = re.compile(r"\\(href|url|style|class|cssId|html\w*|data|unicode)(?![A-Za-z])")
#: A command latex2mathml did not know stays as text (``<mi>\arg</mi>``): the HTML page and
#: the PDF (ziamath builds on latex2mathml) would print it literally.
_UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")


def _pdf_renderer_reads(tex: str) -> bool:
    """Whether ziamath's own TeX -> MathML step gives well-formed XML.

    latex2mathml un-escapes the text it copies (``\\text{a < b}`` -> ``<mtext>a < b``), and
    ziamath parses that string, so the PDF build would abort. Only formulas with ``<`` or
    ``&`` can go wrong, so only they pay for importing ziamath here.
    """
    from ziamath.tex import tex2mml

    try:
        ElementTree.fromstring(tex2mml(tex))
    except ElementTree.ParseError:
        return False
    return True


def tex_problems(tex: str) -> Iterator[tuple[str, str]]:
    """``(rule, why)`` for TeX that is unsafe, unparsable, or that a renderer would misdraw."""
    unsafe = _UNSAFE_TEX.search(tex)
    if unsafe:
        yield "math-unsafe", f"uses \\{unsafe.group(1)}, which is not allowed in the bank"
        return
    try:
        declare_operators()  # the same names whether or not ziamath was imported
        mathml = latex2mathml.converter.convert(tex)
    except Exception as exc:  # latex2mathml raises a zoo of exception types for bad TeX
        name = type(exc).__name__
        if name in _TEX_ERRORS:
            why = _TEX_ERRORS[name]
        else:
            words = re.sub(r"(?<!^)([A-Z])", r" \1", name.removesuffix("Error")).lower()
            why = f"{words}{': ' + str(exc) if str(exc) else ''}"
        yield "math-syntax", f"does not parse: {why}"
        return
    if ("<" in tex or "&" in tex) and not _pdf_renderer_reads(tex):
        yield (
            "math-unsupported",
            "becomes MathML the PDF renderer cannot read (usually '<' or '&' inside \\text;"
            " write the symbol outside \\text, e.g. $a < b$ or \\langle/s\\rangle)",
        )
    for command in sorted(set(_UNKNOWN_COMMAND.findall(mathml))):
        yield (
            "math-unsupported",
            f"uses {command}, which the page and PDF renderers do not know"
            f" (write \\mathrm{{{command[1:]}}} or \\operatorname{{{command[1:]}}})",
        )
    if "\\operatorname*" in tex:
        yield "math-unsupported", "uses \\operatorname*, which the renderers draw as a stray '*'"
    yield from _undrawable(tex, mathml)


#: Commands after which ``\limits``/``\nolimits`` mean something (big operators, functions).
_LIMITS_BASE = re.compile(
    r"(\\(sum|prod|coprod|int|iint|iiint|oint|bigcup|bigcap|bigsqcup|bigvee|bigwedge|bigodot"
    r"|bigoplus|bigotimes|biguplus|lim|liminf|limsup|max|min|sup|inf|det|gcd|Pr|arg)"
    r"|\\(operatorname|mathop)\s*\{[^{}]*\})\s*$"
)
_LIMITS = re.compile(r"\\(no)?limits(?![A-Za-z])")
#: MathML elements with a fixed number of children (MathML Core, "Script and limit schemata",
#: "Fractions", "Radicals"); latex2mathml can emit them short (``\max\limits`` with no limits
#: gives an empty <munderover>) and ziamath asserts on the count.
_MATHML_ARITY = {
    "mfrac": 2, "mroot": 2, "msub": 2, "msup": 2, "msubsup": 3,
    "munder": 2, "mover": 2, "munderover": 3,
}  # fmt: skip
_TAG = re.compile(r"\\tag\b")


def _undrawable(tex: str, mathml: str) -> Iterator[tuple[str, str]]:
    """What latex2mathml reads but the PDF renderer (ziamath) cannot draw: it would crash."""
    if _TAG.search(tex):
        yield (
            "math-unsupported",
            "uses \\tag, which the PDF renderer cannot draw; number it in the text",
        )
    for match in _LIMITS.finditer(tex):
        if not _LIMITS_BASE.search(tex[: match.start()]):
            yield (
                "math-unsupported",
                f"uses {match.group(0)} after something that is not a big operator"
                " (\\sum, \\int, \\lim, \\operatorname{...})",
            )
            break
    try:
        tree = ElementTree.fromstring(mathml)
    except ElementTree.ParseError:
        return  # reported by _pdf_renderer_reads where it matters
    for element in tree.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in _MATHML_ARITY and len(element) != _MATHML_ARITY[tag]:
            yield (
                "math-unsupported",
                f"leaves a script, limit, fraction or root without its parts (<{tag}> with"
                f" {len(element)} of {_MATHML_ARITY[tag]} children), which the PDF renderer"
                " cannot draw; check every \\limits, ^, _, \\frac and \\sqrt has its arguments",
            )
            break
    for element in tree.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "mtext" and not element.text and not len(element):
            yield (
                "math-unsupported",
                "has an empty \\text{} (or \\mbox{}, \\textbf{}), which the PDF renderer"
                " cannot draw; leave it out",
            )
            break
    for element in tree.iter():
        if element.tag.rsplit("}", 1)[-1] == "mtable" and not len(element):
            yield (
                "math-unsupported",
                "has an empty matrix, array or cases environment, which the PDF renderer"
                " cannot draw",
            )
            break
