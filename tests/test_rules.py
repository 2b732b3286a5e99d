"""The rule registry is the one list of rules: the README table and every diagnostic agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import BANKS, ROOT
from deckbuilder.errors import Severity
from deckbuilder.rules import RULES, is_registered
from deckbuilder.validate import validate_bank

README = (ROOT / "README.md").read_text("utf-8")


def readme_rules() -> dict[str, str]:
    table = re.search(r"### What `validate` checks\n(.*?)\n\n## ", README, re.S)
    assert table
    found = {}
    for row in table.group(1).splitlines():
        if row.startswith("| `"):
            ids, severity = row.strip("|").split(" | ")[:2]
            for rule in re.findall(r"`([a-z0-9-]+)`", ids):
                found[rule] = severity.strip()
    return found


def test_the_readme_table_lists_exactly_the_registered_rules() -> None:
    assert readme_rules() == {rule.id: rule.severity.value for rule in RULES.values()}


def test_every_registered_rule_has_a_one_line_doc_and_is_emitted_somewhere() -> None:
    sources = "".join(p.read_text() for p in (ROOT / "src" / "deckbuilder").rglob("*.py"))
    for rule in RULES.values():
        assert rule.doc and "\n" not in rule.doc
        sources_without_registry = sources.replace(f'Rule("{rule.id}"', "")
        assert f'"{rule.id}"' in sources_without_registry, f"{rule.id} is never emitted"


#: Where each family's rules are emitted (see the registry's docstring).
FAMILY_MODULES = {
    "files": ("sources.py", "loader.py", "validate.py"),
    "identity": ("rules/identity.py", "releases.py"),
    "markdown": ("rules/markdown.py",),
    **{
        family: (f"rules/{family}.py",) for family in ("schema", "media", "math", "code", "writing")
    },
}


def test_every_rule_is_emitted_by_the_module_of_its_family() -> None:
    package = ROOT / "src" / "deckbuilder"
    for rule in RULES.values():
        sources = "".join((package / name).read_text() for name in FAMILY_MODULES[rule.family])
        assert f'"{rule.id}"' in sources, f"{rule.id} is not emitted by its {rule.family} module"


BANK_DIRS = sorted(
    p for p in [*BANKS.iterdir(), *(BANKS / "invalid").iterdir()] if (p / "bank.yaml").exists()
)


@pytest.mark.parametrize("bank", BANK_DIRS, ids=[p.name for p in BANK_DIRS])
def test_every_diagnostic_of_the_fixture_banks_is_registered(bank: Path) -> None:
    for problem in validate_bank(bank).problems:
        assert is_registered(problem.rule), problem.format_text()
        if problem.rule in RULES:
            assert problem.severity is RULES[problem.rule].severity, problem.format_text()
    assert Severity.ERROR.value == "error"
