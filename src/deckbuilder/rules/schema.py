"""The schema family: a file against the shipped JSON Schema, every error with its place.

Each file is judged once, by ``jsonschema-rs`` (compiled, about fifty times faster than the
pure-Python ``jsonschema`` on the real bank). A file it accepts has no schema problem. Only a
file it rejects, or data it cannot take (a YAML date, a huge integer), is validated again by
``jsonschema``, whose errors give the messages: their wording (``'x' is a required property``,
the keyword, the failing sub-schema) is what the diagnostics below are built from, so the
golden diagnostics stay byte-identical by construction, and python-jsonschema has the last
word on what is valid. That second pass costs only on files that have errors, which an author
is about to read anyway.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from deckbuilder.errors import Problem, error

if TYPE_CHECKING:  # the validators are imported when a file is judged, not for a cached one
    import jsonschema
    import jsonschema_rs

    from deckbuilder.loader import Document, PathKey


@cache
def schema_text(name: str) -> str:
    """The text of a shipped schema (``bank`` or ``questions``)."""
    return (resources.files("deckbuilder") / "schema" / f"{name}.schema.json").read_text("utf-8")


@cache
def _fast_validator(name: str) -> jsonschema_rs.Draft202012Validator:
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(json.loads(schema_text(name)))


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    schema = json.loads(schema_text(name))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_problems(document: Document, name: str) -> tuple[list[Problem], set[int]]:
    """Every schema error of ``document`` against schema ``name``, located; and the indices
    of the questions (in a question file) that an error lies inside."""
    try:
        if _fast_validator(name).is_valid(document.data):
            return [], set()
    except ValueError:  # a value JSON has no type for: the pure-Python validator names it
        pass
    problems, rejected = [], set()
    for err in _validator(name).iter_errors(document.data):
        path: PathKey = tuple(err.absolute_path)
        problems.append(_schema_problem(document, path, err))
        if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
            rejected.add(path[1])
    return problems, rejected


def field_name(path: PathKey) -> str:
    """``('questions', 3, 'references', 0, 'url')`` -> ``references[0].url``."""
    parts = list(path)
    if len(parts) >= 2 and parts[0] == "questions" and isinstance(parts[1], int):
        parts = parts[2:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "list",
             dict: "mapping", type(None): "nothing (null)"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


_YAML_11_HINT = (
    " (YAML reads unquoted yes/no/on/off/true/false as booleans, numbers as numbers and"
    " an empty value as null: quote the text)"
)


def _schema_problem(document: Document, path: PathKey, err: jsonschema.ValidationError) -> Problem:
    where = document.locate(path)
    name = field_name(path)
    keyword = err.validator
    value: Any = err.instance
    subschema: Any = err.schema
    rule_value: Any = err.validator_value
    if keyword == "required":
        missing = re.match(r"'([^']+)'", err.message)
        field = missing.group(1) if missing else "a field"
        owner = f" in {name}" if name != "the document" else ""
        return error(where, "missing-field", f"missing required field '{field}'{owner}")
    if keyword == "additionalProperties":
        allowed = sorted(subschema.get("properties", {}))
        extras = [k for k in value if k not in allowed] if isinstance(value, dict) else []
        key = extras[0] if extras else "?"
        where = document.key_positions.get((*path, key), where)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(allowed)}"
        return error(where, "unknown-field", f"unknown field '{key}'{hint}")
    if keyword == "type":
        expected = err.validator_value
        expected_text = {"object": "a mapping", "array": "a list", "string": "a string",
                         "boolean": "true or false", "integer": "a whole number"}.get(
            str(expected), str(expected))  # fmt: skip
        hint = _YAML_11_HINT if expected == "string" and not isinstance(value, (dict, list)) else ""
        return error(
            where, "wrong-type", f"{name} must be {expected_text}, got {_type_name(value)}{hint}"
        )
    if keyword in ("minLength", "minItems") or (
        keyword == "pattern" and err.validator_value == r"\S"
    ):
        return error(where, "empty-field", f"{name} must not be empty")
    if keyword == "maxLength":
        return error(
            where, "too-long", f"{name} is {len(value)} characters; at most {err.validator_value}"
        )
    if keyword == "pattern":
        return error(where, *_pattern_rule(path, value))
    if keyword == "uniqueItems":
        return error(where, "duplicate-item", f"{name} lists the same value twice")
    if keyword == "oneOf" and "follow_ups" in path:
        return error(
            where,
            "follow-up-format",
            f"{name} must be text, or a mapping with 'question' and exactly one of 'answer'"
            " (its short answer) or 'see' (the id of the question that answers it)",
        )
    if keyword == "enum":
        options = ", ".join(str(v) for v in rule_value)
        return error(where, "invalid-value", f"{name} is {value!r}; must be one of: {options}")
    return error(where, f"schema-{keyword}", f"{name}: {err.message}")


def _pattern_rule(path: PathKey, value: Any) -> tuple[str, str]:
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    if last == "tags":
        return (
            "tag-format",
            f"tag {value!r} must be lower-case letters, digits, '-', '+' or '.' with no spaces"
            " (it becomes an Anki tag, and Anki tags cannot contain spaces)",
        )
    if last == "version":
        return "version-format", f"version {value!r} must be semantic: MAJOR.MINOR.PATCH"
    return (
        "id-format",
        f"{field_name(path)} {value!r} is not a valid id: use lower-case letters, digits and"
        " single hyphens (e.g. 'word2vec-negative-sampling')",
    )
