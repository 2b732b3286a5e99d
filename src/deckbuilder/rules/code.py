"""The code family: a Python answer compiles, and a runnable one has a check proving it.

Running the checks is ``deckbuilder check-code`` (in a sandbox); ``validate`` only compiles,
and reports a syntax error at its line in the YAML file.
"""

from __future__ import annotations

from collections.abc import Iterator

from deckbuilder.errors import Location, Problem, error, warning
from deckbuilder.model import Question


def check_code(question: Question) -> Iterator[Problem]:
    code = question.code
    if code is None or code.language != "python":
        return
    for label, text, start in (
        ("source", code.source, code.source_location),
        ("check", code.check, code.check_location),
    ):
        if text is None or start is None:
            continue
        try:
            compile(text, f"{question.id}:{label}", "exec")
        except SyntaxError as exc:
            line = start.line + (exc.lineno or 1) - 1
            column = start.column + (exc.offset or 1) - 1
            yield error(
                Location(start.path, line, column),
                "code-syntax",
                f"code.{label} does not compile: {exc.msg}",
            )
    if code.runnable and code.check is None:
        yield warning(
            code.source_location or question.location,
            "code-without-check",
            "runnable Python code has no check script proving it right",
        )
