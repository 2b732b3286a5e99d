"""Every rule ``validate`` reports: its id, severity, family and a one-line doc.

The registry is the one list of rules: the README's rule table is tested against it
(tests/test_rules.py), and so is every diagnostic the fixture banks produce. Families follow
the stages a bank goes through: files and YAML (``sources``, ``loader``), then one module of
this package per family: ``schema``, ``identity`` (across files; ``releases`` for released
ids), ``markdown`` (Markdown and links), ``media``, ``math`` (run by the render stage on the
formulas it marks), ``code`` and ``writing``. A test holds each rule to its family's module.
"""

from __future__ import annotations

from dataclasses import dataclass

from deckbuilder.errors import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    family: str
    doc: str


E, W = Severity.ERROR, Severity.WARNING

_RULES = (
    # files and YAML
    Rule("missing-manifest", E, "files", "no bank.yaml in the bank folder"),
    Rule("empty-bank", E, "files", "no question files (*.yaml) in the bank folder"),
    Rule("not-a-regular-file", E, "files", "a *.yaml entry that is a device, FIFO, folder, symlink loop or a link leaving the bank"),
    Rule("unreadable", E, "files", "a file that cannot be read"),
    Rule("skipped-file", W, "files", "a file named like a question file but for its case (*.YAML): not read"),
    Rule("file-too-large", E, "files", "a file over 2 MiB"),
    Rule("encoding", E, "files", "bytes that are not UTF-8"),
    Rule("binary-file", E, "files", "NUL bytes: not a text file"),
    Rule("yaml-syntax", E, "files", "YAML that does not parse"),
    Rule("duplicate-key", E, "files", "a key twice in one mapping (YAML keeps only the last)"),
    Rule("yaml-alias", E, "files", "YAML aliases (*name): alias bombs"),
    Rule("yaml-tag", E, "files", "YAML tags other than the core schema's (!!python/...)"),
    Rule("too-deep", E, "files", "nesting deeper than a bank needs"),
    Rule("key-type", E, "files", "a mapping key that is not a string"),
    # schema
    Rule("missing-field", E, "schema", "a required field is missing"),
    Rule("unknown-field", E, "schema", "a field the schema does not know (with a did-you-mean)"),
    Rule("wrong-type", E, "schema", "a value of the wrong type (YAML 1.1 surprises explained)"),
    Rule("empty-field", E, "schema", "an empty text or list"),
    Rule("too-long", E, "schema", "a text over its schema's maximum length"),
    Rule("duplicate-item", E, "schema", "the same value twice in a list"),
    Rule("invalid-value", E, "schema", "a value outside the allowed ones"),
    Rule("id-format", E, "schema", "an id that cannot become an Anki tag or file name"),
    Rule("tag-format", E, "schema", "a tag that cannot become an Anki tag"),
    Rule("version-format", E, "schema", "a version that is not semantic"),
    Rule("follow-up-format", E, "schema", "a follow-up mapping without exactly one of answer: and see:"),
    # identity
    Rule("duplicate-id", E, "identity", "an id used twice across files"),
    Rule("duplicate-question", E, "identity", "a question text repeated or nearly repeated (90% alike once confusables, case and punctuation are folded)"),
    Rule("unknown-question", E, "identity", "a follow-up's see: or a related: entry naming no question"),
    Rule("retired-question", E, "identity", "a follow-up's see: or a related: entry naming a retired question"),
    Rule("self-link", E, "identity", "a follow-up's see: or a related: entry naming the question itself"),
    Rule("unknown-level", E, "identity", "a level not declared in bank.yaml"),
    Rule("unknown-category", E, "identity", "a category not declared in bank.yaml"),
    Rule("released-id-missing", E, "identity", "a released id was deleted or renamed"),
    Rule("released-ids", E, "identity", "released-ids.json cannot be read"),
    Rule("markup-in-text", W, "identity", "an HTML tag in bank.yaml's texts (exporters write it as text)"),
    Rule("homepage-scheme", W, "identity", "a bank.yaml homepage that is not http(s) (exporters leave it out)"),
    # Markdown and links
    Rule("markdown-complex", E, "markdown", "Markdown whose parse would cost more than the bounds"),
    Rule("unclosed-fence", E, "markdown", "a code fence that swallows the rest of a field"),
    Rule("link-scheme", E, "markdown", "a link, reference or homepage that is not http(s)"),
    # media
    Rule("remote-media", E, "media", "an image that is a URL"),
    Rule("media-outside-bank", E, "media", "an image outside the bank folder"),
    Rule("media-missing", E, "media", "an image file that does not exist"),
    Rule("media-unsafe", E, "media", "an SVG image that refers outside itself, runs script or embeds documents"),
    # math
    Rule("math-syntax", E, "math", "TeX the math renderers cannot parse"),
    Rule("math-unsupported", E, "math", "TeX a renderer would print literally or cannot draw"),
    Rule("math-unsafe", E, "math", "TeX commands that carry links or styles"),
    # code
    Rule("code-syntax", E, "code", "Python code that does not compile"),
    Rule("code-without-check", W, "code", "runnable Python code without a check script"),
    # writing standards
    Rule("answer-too-long", W, "writing", "a first answer over 60 words"),
    Rule("answer-longer-than-explanation", W, "writing", "an answer longer than its explanation"),
    Rule("comment-in-text", W, "writing", "unquoted prose cut short by a ' #' YAML comment"),
)  # fmt: skip

#: Rules by id, in the order above.
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
#: Schema keywords without a rule of their own are reported as ``schema-<keyword>``.
SCHEMA_FALLBACK_PREFIX = "schema-"


def is_registered(rule_id: str) -> bool:
    return rule_id in RULES or rule_id.startswith(SCHEMA_FALLBACK_PREFIX)
