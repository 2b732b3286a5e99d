"""The README's commands and options stay true: every documented option exists."""

from __future__ import annotations

import re

import click
import pytest

from conftest import ROOT
from deckbuilder.cli import main
from deckbuilder.exporters import EXPORTERS

README = (ROOT / "README.md").read_text("utf-8")


def _section(command: str) -> str:
    match = re.search(rf"^### `deckbuilder {command}[^`]*`\n(.*?)(?=^##)", README, re.M | re.S)
    assert match, f"README has no section for deckbuilder {command}"
    return match.group(1)


def test_the_two_setup_commands_exist_and_ci_runs_the_test_one() -> None:
    block = re.search(r"## Set-up on a fresh machine.*?```bash\n(.*?)```", README, re.S)
    assert block
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["scripts/build.sh", "scripts/test.sh"]
    for command in commands:
        assert (ROOT / command).is_file()
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_is_documented_with_its_options(name: str) -> None:
    command = main.commands[name]
    section = _section(name)
    first_cells = re.findall(r"^\| ((?:[^|\\]|\\.)*?) \|", section, re.M)
    documented = {
        option
        for cell in first_cells
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", cell)
    }
    real = {
        opt for param in command.params if isinstance(param, click.Option) for opt in param.opts
    }
    assert documented <= real | {"--help", "-h"}, (
        f"README documents unknown options: {documented - real}"
    )
    undocumented = {p.opts[-1] for p in command.params if isinstance(p, click.Option)} - documented
    undocumented -= {"--bank"}  # documented once for all commands
    assert not undocumented, f"deckbuilder {name}: options missing from README: {undocumented}"


def test_documented_formats_are_the_registered_ones() -> None:
    table = re.search(r"## What you get in `dist/`\n(.*?)\n\n", README, re.S)
    assert table
    documented = re.findall(r"^\| `([a-z]+)` \|", table.group(1), re.M)
    assert sorted(documented) == sorted(EXPORTERS)


def test_documented_rules_are_the_rules_the_validator_can_emit() -> None:
    sources = "".join(p.read_text() for p in (ROOT / "src" / "deckbuilder").rglob("*.py"))
    table = re.search(r"### What `validate` checks\n(.*?)\n\n## ", README, re.S)
    assert table
    documented = set(re.findall(r"`([a-z0-9-]+)`", table.group(1)))
    for rule in documented:
        assert f'"{rule}"' in sources, f"README documents rule {rule!r} that no code emits"
