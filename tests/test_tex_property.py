"""Any TeX that ``validate`` accepts converts in every renderer (Hypothesis).

The formulas are built from the commands the bank uses and the structures that crashed a
renderer before (empty ``\\text{}``, empty environments, ``\\tag``, ``\\limits``): whatever
the validator's math rules let through must become MathML for the page (latex2mathml) and
SVG for the PDF (ziamath) without an exception.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckbuilder.exporters.html import mathml
from deckbuilder.exporters.pdf import _svg_img
from deckbuilder.rules.math import tex_problems

ATOMS = st.sampled_from(
    ["x", "y", "2", "n", r"\alpha", r"\theta", r"\infty", r"\cdot", "+", "-", "=", "<", r"\le",
     r"\to", r"\log", r"\exp", r"\max", r"\arg", "(", ")", r"\{", r"\}", ",", " ", r"\,"]
)  # fmt: skip
WORDS = st.sampled_from(["", " ", "if", "a b", "x_1"])


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    one = inner
    two = st.tuples(inner, inner)
    return st.one_of(
        st.builds(lambda a, b: a + b, inner, inner),
        one.map(lambda a: "{" + a + "}"),
        two.map(lambda ab: rf"\frac{{{ab[0]}}}{{{ab[1]}}}"),
        one.map(lambda a: rf"\sqrt{{{a}}}"),
        two.map(lambda ab: f"{{{ab[0]}}}^{{{ab[1]}}}"),
        two.map(lambda ab: f"{{{ab[0]}}}_{{{ab[1]}}}"),
        one.map(lambda a: rf"\hat{{{a}}}"),
        one.map(lambda a: rf"\mathbf{{{a}}}"),
        one.map(lambda a: rf"\left( {a} \right)"),
        two.map(lambda ab: rf"\sum\limits_{{{ab[0]}}}^{{{ab[1]}}} "),
        two.map(lambda ab: rf"\operatorname{{softmax}}\limits_{{{ab[0]}}}{ab[1]}"),
        one.map(lambda a: a + r"\limits"),
        one.map(lambda a: a + r" \tag{1}"),
        WORDS.map(lambda w: rf"\text{{{w}}}"),
        WORDS.map(lambda w: rf"\mbox{{{w}}}"),
        st.tuples(st.sampled_from(["matrix", "pmatrix", "cases"]), st.lists(inner, max_size=3)).map(
            lambda env: rf"\begin{{{env[0]}}}" + r" \\ ".join(env[1]) + rf"\end{{{env[0]}}}"
        ),
        st.lists(inner, max_size=3).map(
            lambda cells: r"\begin{matrix}" + " & ".join(cells) + r"\end{matrix}"
        ),
    )


FORMULAS = st.recursive(ATOMS, _combine, max_leaves=6)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FORMULAS, st.sampled_from(["inline", "display"]))
def test_what_validate_accepts_every_renderer_converts(tex: str, kind: str) -> None:
    if list(tex_problems(tex)):
        return  # refused, with a located message: nothing reaches a renderer
    mathml(kind, tex)
    _svg_img(kind, tex, 13.3)
