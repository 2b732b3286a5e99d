"""The GitHub Actions workflows and the pre-commit hooks, checked offline.

The workflows are validated against the GitHub-workflow JSON Schema that check-jsonschema ships
inside its package, the hooks with pre-commit's own validators. Then the steps that matter are
run here, in a temporary folder, with the shell GitHub uses (``bash -eo pipefail``): the
SOURCE_DATE_EPOCH step on a scratch git history, the checksums over a fake ``dist/``, the release
notes from a CHANGELOG, and the upload with a stand-in ``gh`` that records its arguments.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.resources
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import ROOT, VALID_BANK
from deckbuilder.cli import main

WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
PRE_COMMIT_CONFIG = ROOT / ".pre-commit-config.yaml"
TAG = "v1.2.3"


class _Yaml12Loader(yaml.SafeLoader):
    """GitHub reads workflows as YAML 1.2: ``on`` is a key there, not the boolean PyYAML makes."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(path: Path) -> Any:
    return yaml.load(path.read_text("utf-8"), Loader=_Yaml12Loader)


@cache
def workflow_schema() -> dict[str, Any]:
    """The schema check-jsonschema vendors (``--builtin-schema vendor.github-workflows``)."""
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendored.joinpath("github-workflows.json").read_bytes())
    return schema


def schema_errors(document: Any) -> list[str]:
    schema = workflow_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def step_named(job: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    matches = [step for step in job["steps"] if step.get("name", "").startswith(prefix)]
    assert len(matches) == 1, f"expected one step named {prefix!r}, found {len(matches)}"
    return matches[0]


def index_of(job: Mapping[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> int:
    found = [i for i, step in enumerate(job["steps"]) if predicate(step)]
    assert len(found) == 1, f"expected exactly one matching step, found {len(found)}"
    return found[0]


def runs(step: Mapping[str, Any], *words: str) -> bool:
    return all(word in step.get("run", "") for word in words)


def run_step(
    step: Mapping[str, Any],
    workspace: Path,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a ``run:`` step as GitHub's ``shell: bash`` does; return it and what it exported."""
    github_env = workspace.parent / "github-env"
    github_output = workspace.parent / "github-output"
    for file in (github_env, github_output):
        file.write_text("")
    script = workspace.parent / "step.sh"
    script.write_text(step["run"])
    cwd = workspace / step.get("working-directory", ".")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env={
            "PATH": f"{path}{os.pathsep}{os.environ['PATH']}" if path else os.environ["PATH"],
            "HOME": str(workspace.parent),
            "LC_ALL": "C.UTF-8",
            "GITHUB_ENV": str(github_env),
            "GITHUB_OUTPUT": str(github_output),
            "GITHUB_REPOSITORY": "owner/repo",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    exported = dict(
        line.split("=", 1)
        for line in (github_env.read_text() + github_output.read_text()).splitlines()
    )
    return result, exported


@pytest.fixture(scope="module")
def ci() -> Any:
    return load(CI)


@pytest.fixture(scope="module")
def release() -> Any:
    return load(RELEASE)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


# --- every workflow ----------------------------------------------------------------------------


ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.y*ml"))


def test_both_workflows_exist() -> None:
    assert {CI, RELEASE} <= set(ALL_WORKFLOWS)


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path: Path) -> None:
    assert schema_errors(load(path)) == []


def _drop_runs_on(workflow: Any) -> None:
    del workflow["jobs"]["test"]["runs-on"]


def _misspell_steps(workflow: Any) -> None:
    workflow["jobs"]["test"]["step"] = workflow["jobs"]["test"].pop("steps")


def _unknown_event(workflow: Any) -> None:
    workflow["on"]["pushh"] = workflow["on"].pop("push")


def _step_with_run_and_uses(workflow: Any) -> None:
    workflow["jobs"]["test"]["steps"][0]["run"] = "true"


@pytest.mark.parametrize(
    "mutate", [_drop_runs_on, _misspell_steps, _unknown_event, _step_with_run_and_uses]
)
def test_the_schema_check_catches_a_broken_workflow(ci: Any, mutate: Callable[[Any], None]) -> None:
    broken = copy.deepcopy(ci)
    mutate(broken)
    assert schema_errors(broken), f"{mutate.__name__} was not caught"


def test_on_stays_a_key_when_read_as_github_reads_it(ci: Any) -> None:
    # PyYAML's YAML 1.1 reads `on:` as True; the schema would then reject every workflow.
    assert "on" in ci and True not in ci


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_release(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(
                    r"[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})", step["uses"]
                ), f"{path.name}: {step['uses']} is not pinned to a version"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_run_scripts_get_values_through_env_not_expressions(path: Path) -> None:
    # `${{ }}` pasted into a script is a script injection (tag names, branch names, titles).
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def zizmor_findings(folder: Path) -> list[str]:
    """The audits zizmor (a static analyser for GitHub Actions security) reports for a folder,
    offline, with the folder's own ``.github/zizmor.yml`` policy."""
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("zizmor")),
            "--offline",
            "--format",
            "json",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    return [finding["ident"] for finding in json.loads(result.stdout)]


def test_zizmor_finds_no_security_problem_in_the_workflows() -> None:
    assert zizmor_findings(ROOT / ".github") == []


def test_zizmor_catches_an_injection_and_an_unpinned_third_party_action(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # zizmor looks for its configuration up to a repository root
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    ci = tmp_path / ".github" / "workflows" / "ci.yml"
    text = ci.read_text("utf-8").replace(
        "      - name: Validate the question bank\n",
        "      - name: Greet\n"
        '        run: echo "${{ github.event.pull_request.title }}"\n'
        "      - uses: some-one/some-action@v1\n"
        "      - name: Validate the question bank\n",
    )
    ci.write_text(text, "utf-8")
    assert sorted(set(zizmor_findings(tmp_path / ".github"))) == [
        "template-injection",
        "unpinned-uses",
    ]


def test_dependabot_config_matches_its_schema() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("check-jsonschema")),
            "--builtin-schema",
            "vendor.dependabot",
            str(ROOT / ".github" / "dependabot.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_use_bash_with_pipefail_and_permissions_are_read_only(path: Path) -> None:
    workflow = load(path)
    assert workflow["defaults"]["run"]["shell"] == "bash"
    assert workflow["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_container_jobs_trust_their_checkout_before_using_git(path: Path) -> None:
    # The checkout belongs to the runner's user; git refuses it to the container's root
    # ("dubious ownership"), and deckbuilder then dates artifacts by file times instead.
    for job in load(path)["jobs"].values():
        if "container" in job:
            steps = job["steps"]
            assert steps[0]["uses"].startswith("actions/checkout@")
            assert 'git config --global --add safe.directory "$GITHUB_WORKSPACE"' in steps[1]["run"]


# --- ci.yml ------------------------------------------------------------------------------------


def test_ci_runs_on_every_push_and_pull_request(ci: Any) -> None:
    assert "pull_request" in ci["on"]
    assert ci["on"]["push"] == {"branches": ["**"]}


def test_ci_validates_with_annotations_then_runs_scripts_test_sh(ci: Any) -> None:
    job = ci["jobs"]["test"]
    install = index_of(job, lambda s: runs(s, "scripts/bootstrap.sh"))
    validate = index_of(job, lambda s: runs(s, "deckbuilder validate", "--format github"))
    test = index_of(job, lambda s: runs(s, "scripts/test.sh"))
    assert install < validate < test
    assert job["steps"][test]["run"].strip() == "bash scripts/test.sh"
    # validate is as strict as the release build (scripts/build.sh builds with --strict)
    assert "--strict" in job["steps"][validate]["run"]
    assert "--strict" in (ROOT / "scripts" / "build.sh").read_text()
    # a bank problem still lets the tests report, as long as the install worked
    install_id = job["steps"][install]["id"]
    assert "!cancelled()" in job["steps"][test]["if"]
    assert f"steps.{install_id}.outcome == 'success'" in job["steps"][test]["if"]


def test_ci_runs_python_3_11_on_debian(ci: Any) -> None:
    container = ci["jobs"]["test"]["container"]
    assert container["image"] == "python:3.11-bookworm"
    assert "--shm-size" in container["options"]  # Chromium crashes in a 64 MiB /dev/shm
    # check-code's bubblewrap sandbox needs namespaces and a fresh /proc in the container
    for needed in ("--cap-add=SYS_ADMIN", "seccomp=unconfined", "systempaths=unconfined"):
        assert needed in container["options"]


def test_ci_caches_pip_downloads(ci: Any) -> None:
    job = ci["jobs"]["test"]
    cache_step = job["steps"][
        index_of(job, lambda s: s.get("uses", "").startswith("actions/cache@"))
    ]
    assert cache_step["with"]["path"] == job["env"]["PIP_CACHE_DIR"]
    assert "hashFiles('pyproject.toml')" in cache_step["with"]["key"]
    assert index_of(job, lambda s: s is cache_step) < index_of(
        job, lambda s: runs(s, "scripts/bootstrap.sh")
    )


def test_ci_torch_spec_is_the_cpu_wheel_index(ci: Any) -> None:
    spec = shlex.split(ci["jobs"]["test"]["env"]["TORCH_SPEC"])
    assert spec[0] == "torch"
    assert spec[1:] == ["--index-url", "https://download.pytorch.org/whl/cpu"]


def _bootstrap_pip_calls(tmp_path: Path, env: Mapping[str, str]) -> list[list[str]]:
    """Run a copy of scripts/bootstrap.sh against stand-ins; return every pip call it makes."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    for stub, body in {
        tmp_path
        / ".venv"
        / "bin"
        / "python": f'printf "%s\\0" "$@" >> {log}; printf "\\n\\0" >> {log}',
        bin_dir / "dpkg-query": "echo 'install ok installed'",
    }.items():
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(0o755)
    subprocess.run(
        ["bash", str(tmp_path / "scripts" / "bootstrap.sh"), "test"],
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env},
        check=True,
        capture_output=True,
    )
    calls = log.read_text().split("\n\0")[:-1]
    return [call.split("\0")[:-1] for call in calls]


def test_torch_spec_reaches_pip_as_separate_arguments(ci: Any, tmp_path: Path) -> None:
    spec = ci["jobs"]["test"]["env"]["TORCH_SPEC"]
    calls = _bootstrap_pip_calls(tmp_path, {"TORCH_SPEC": spec})
    torch_calls = [call for call in calls if "torch" in call]
    assert torch_calls == [["-m", "pip", "install", "-q", *shlex.split(spec)]]


def test_without_torch_spec_bootstrap_installs_one_pinned_torch(tmp_path: Path) -> None:
    calls = _bootstrap_pip_calls(tmp_path, {})
    torch_calls = [call[4:] for call in calls if any(a.startswith("torch") for a in call)]
    assert len(torch_calls) == 1
    assert len(torch_calls[0]) == 1 and torch_calls[0][0].startswith("torch==")


# --- release.yml -------------------------------------------------------------------------------


def test_release_runs_on_version_tags_only(release: Any) -> None:
    assert release["on"] == {"push": {"tags": ["v*"]}}


def test_release_builds_from_full_history_with_scripts_build_sh(release: Any) -> None:
    job = release["jobs"]["build"]
    checkout = job["steps"][
        index_of(job, lambda s: s.get("uses", "").startswith("actions/checkout@"))
    ]
    assert checkout["with"]["fetch-depth"] == 0
    epoch = index_of(job, lambda s: runs(s, "SOURCE_DATE_EPOCH=", "GITHUB_ENV"))
    build = index_of(job, lambda s: runs(s, "scripts/build.sh"))
    sums = index_of(job, lambda s: runs(s, "> SHA256SUMS"))
    assert checkout is job["steps"][0] and epoch < build < sums
    # artifacts are built on the platform the tests ran on
    assert job["container"]["image"] == load(CI)["jobs"]["test"]["container"]["image"]


def test_release_builds_with_force_and_no_cache_from_the_checkout(release: Any) -> None:
    job = release["jobs"]["build"]
    step = job["steps"][index_of(job, lambda s: runs(s, "scripts/build.sh"))]
    assert (
        step["run"].strip() == 'DECKBUILDER_CACHE_DIR="$(mktemp -d)" bash scripts/build.sh --force'
    )
    assert not any(s.get("uses", "").startswith("actions/cache@") for s in job["steps"])


def _git(repo: Path, *args: str, date: int | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if date is not None:
        env |= {"GIT_AUTHOR_DATE": f"@{date} +0000", "GIT_COMMITTER_DATE": f"@{date} +0000"}
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )


def test_source_date_epoch_is_the_last_commit_touching_questions(
    release: Any, workspace: Path
) -> None:
    step = step_named(release["jobs"]["build"], "Set SOURCE_DATE_EPOCH")
    _git(workspace, "init", "-q")
    (workspace / "questions").mkdir()
    (workspace / "questions" / "bank.yaml").write_text("version: 1.0.0\n")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-qm", "bank", date=1_700_000_000)
    (workspace / "questions" / "bank.yaml").write_text("version: 1.0.1\n")
    _git(workspace, "commit", "-qam", "bank again", date=1_700_000_500)
    (workspace / "README.md").write_text("docs\n")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-qm", "docs only", date=1_800_000_000)

    result, exported = run_step(step, workspace)
    assert result.returncode == 0, result.stderr
    assert exported == {"SOURCE_DATE_EPOCH": "1700000500"}


def test_source_date_epoch_step_fails_without_bank_history(release: Any, workspace: Path) -> None:
    step = step_named(release["jobs"]["build"], "Set SOURCE_DATE_EPOCH")
    _git(workspace, "init", "-q")
    (workspace / "README.md").write_text("docs\n")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-qm", "docs only", date=1_800_000_000)
    result, exported = run_step(step, workspace)
    assert result.returncode != 0
    assert "::error::no commit touches questions/" in result.stdout
    assert exported == {}


def _bank_step(release: Any, workspace: Path, version: str, tag: str) -> tuple[Any, dict[str, str]]:
    step = step_named(release["jobs"]["build"], "Check the tag")
    (workspace / "questions").mkdir()
    (workspace / "questions" / "bank.yaml").write_text(
        f"title: Test Bank\nslug: test-bank\nversion: {version}\n"
    )
    (workspace / ".venv" / "bin").mkdir(parents=True)
    (workspace / ".venv" / "bin" / "python").symlink_to(sys.executable)
    return run_step(step, workspace, {"TAG": tag})


def test_release_exports_the_bank_slug_and_title_when_the_tag_matches(
    release: Any, workspace: Path
) -> None:
    result, exported = _bank_step(release, workspace, "1.2.3", TAG)
    assert result.returncode == 0, result.stderr + result.stdout
    assert exported == {
        "BANK_SLUG": "test-bank",
        "BANK_VERSION": "1.2.3",
        "title": "Test Bank 1.2.3",
    }
    assert release["jobs"]["build"]["outputs"]["title"] == "${{ steps.bank.outputs.title }}"
    assert step_named(release["jobs"]["build"], "Check the tag")["id"] == "bank"


def test_release_refuses_a_tag_that_is_not_the_bank_version(release: Any, workspace: Path) -> None:
    result, exported = _bank_step(release, workspace, "1.2.2", TAG)
    assert result.returncode != 0
    assert "::error file=questions/bank.yaml::tag v1.2.3 does not match" in result.stdout
    assert exported == {}


def _fake_dist(workspace: Path, order: list[str], mode: int) -> Path:
    dist = workspace / "dist"
    (dist / "guides" / "media").mkdir(parents=True)
    (dist / ".gitkeep").write_text("")
    (dist / "test-bank.html").write_text("<html></html>")
    (dist / "test-bank-study-guide.pdf").write_bytes(b"%PDF-1.7 ...")
    for name in order:
        file = dist / "guides" / name
        file.write_text(f"# {name}\n")
        file.chmod(mode)
    return dist


# Enough names that the folder's own order (creation or hash order) is not the sorted one.
MANY = [f"q{n:02}.md" for n in reversed(range(30))]


SUMS_ENV = {"BANK_SLUG": "test-bank", "SOURCE_DATE_EPOCH": "1700000000"}


def test_sha256sums_lists_every_file_of_dist_and_one_archive_per_folder(
    release: Any, workspace: Path
) -> None:
    step = step_named(release["jobs"]["build"], "Archive folders and write SHA256SUMS")
    dist = _fake_dist(workspace, ["README.md", "1-beginner.md", "media/x.svg", *MANY], 0o644)
    (dist / "SHA256SUMS").write_text("stale, from an earlier run\n")
    result, _ = run_step(step, workspace, SUMS_ENV)
    assert result.returncode == 0, result.stderr

    lines = (dist / "SHA256SUMS").read_text().splitlines()
    listed = {line[66:]: line[:64] for line in lines}
    assert sorted(listed) == [
        "test-bank-guides.tar.gz",
        "test-bank-study-guide.pdf",
        "test-bank.html",
    ]
    for name, digest in listed.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest
    with tarfile.open(dist / "test-bank-guides.tar.gz") as archive:
        members = archive.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)  # not the order the folder lists them in
    assert {m.name for m in members if m.isfile()} == {
        "guides/1-beginner.md",
        "guides/README.md",
        "guides/media/x.svg",
        *(f"guides/{name}" for name in MANY),
    }
    assert {m.mtime for m in members} == {1_700_000_000}
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    assert {m.mode for m in members if m.isfile()} == {0o644}
    # gzip header: no file name (FLG 0) and no time stamp (MTIME 0)
    header = (dist / "test-bank-guides.tar.gz").read_bytes()[:10]
    assert header[3] == 0 and header[4:8] == bytes(4)


def test_the_guides_archive_is_reproducible(release: Any, tmp_path: Path) -> None:
    step = step_named(release["jobs"]["build"], "Archive folders and write SHA256SUMS")
    archives = []
    for name, order, mode in [
        ("a", ["README.md", "1-beginner.md", "media/x.svg", *MANY], 0o644),
        ("b", ["media/x.svg", "1-beginner.md", "README.md", *reversed(MANY)], 0o600),
    ]:
        workspace = tmp_path / name / "workspace"
        workspace.mkdir(parents=True)
        dist = _fake_dist(workspace, order, mode)
        os.utime(dist / "guides" / "README.md", (1, 1 if name == "a" else 2_000_000_000))
        result, _ = run_step(step, workspace, SUMS_ENV)
        assert result.returncode == 0, result.stderr
        archives.append((dist / "test-bank-guides.tar.gz").read_bytes())
    assert archives[0] == archives[1]


def test_sha256sums_step_fails_on_an_empty_dist(release: Any, workspace: Path) -> None:
    step = step_named(release["jobs"]["build"], "Archive folders and write SHA256SUMS")
    (workspace / "dist").mkdir()
    (workspace / "dist" / ".gitkeep").write_text("")
    result, _ = run_step(step, workspace, SUMS_ENV)
    assert result.returncode != 0
    assert "dist/ holds no artifact" in result.stdout


CHANGELOG = """# Changelog

## Unreleased

- Not yet.

## [1.2.3] - 2026-11-28

### Added
- Ten questions on tokenisers.

### Fixed
- A typo.


## v1.2.2

- Older.
"""


def _notes(release: Any, workspace: Path, changelog: str, tag: str = TAG) -> tuple[Any, str]:
    step = step_named(release["jobs"]["build"], "Write the release notes")
    (workspace / "CHANGELOG.md").write_text(changelog)
    bin_dir = workspace / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    if not (bin_dir / "deckbuilder").exists():  # the deckbuilder of this test run
        (bin_dir / "deckbuilder").symlink_to(Path(sys.executable).parent / "deckbuilder")
    result, _ = run_step(step, workspace, {"TAG": tag})
    notes = workspace / "release-notes.md"
    return result, notes.read_text() if notes.exists() else ""


def test_release_notes_are_the_changelog_section_of_the_tag(release: Any, workspace: Path) -> None:
    result, notes = _notes(release, workspace, CHANGELOG)
    assert result.returncode == 0, result.stderr
    assert notes.startswith("### Added\n- Ten questions on tokenisers.\n\n### Fixed\n- A typo.\n")
    assert "Older" not in notes and "Not yet" not in notes
    assert "sha256sum --check --ignore-missing SHA256SUMS" in notes


def test_an_older_tag_gets_its_own_section(release: Any, workspace: Path) -> None:
    result, notes = _notes(release, workspace, CHANGELOG, tag="v1.2.2")
    assert result.returncode == 0, result.stderr
    assert notes.startswith("- Older.\n")


@pytest.mark.parametrize(
    ("changelog", "message"),
    [
        (
            CHANGELOG.replace("[1.2.3]", "[1.2.30]"),
            "v1.2.3 is the first release: write its notes in a '## 1.2.3' section of CHANGELOG.md",
        ),
        (
            CHANGELOG.replace(
                "### Added\n- Ten questions on tokenisers.\n\n### Fixed\n- A typo.\n", "\n \n"
            ),
            "the '## 1.2.3' section of CHANGELOG.md is empty",
        ),
    ],
    ids=["first-release-without-section", "empty-section"],
)
def test_release_notes_step_fails_without_notes(
    release: Any, workspace: Path, changelog: str, message: str
) -> None:
    result, _ = _notes(release, workspace, changelog)
    assert result.returncode != 0
    assert f"::error file=CHANGELOG.md::{message}" in result.stdout


def _released_bank_history(workspace: Path) -> None:
    """v1.2.2, then a re-levelled question in v1.2.3-rc.1, then v1.2.3 (docs only)."""
    _git(workspace, "init", "-q")
    shutil.copytree(VALID_BANK, workspace / "questions")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-qm", "bank", date=1_700_000_000)
    _git(workspace, "tag", "v1.2.2")
    questions = workspace / "questions" / "topic" / "basics.yaml"
    text = questions.read_text()
    assert "    level: beginner\n" in text
    questions.write_text(text.replace("    level: beginner\n", "    level: intermediate\n", 1))
    _git(workspace, "commit", "-qam", "re-level", date=1_700_000_100)
    _git(workspace, "tag", "v1.2.3-rc.1")
    (workspace / "README.md").write_text("docs\n")
    _git(workspace, "add", "README.md")
    _git(workspace, "commit", "-qm", "docs", date=1_700_000_200)
    _git(workspace, "tag", TAG)


def test_release_notes_add_the_bank_diff_since_the_last_release(
    release: Any, workspace: Path
) -> None:
    _released_bank_history(workspace)
    result, notes = _notes(release, workspace, CHANGELOG)
    assert result.returncode == 0, result.stderr
    section, _, rest = notes.partition("\n\n## ")
    assert section == "### Added\n- Ten questions on tokenisers.\n\n### Fixed\n- A typo."
    # the diff runs from v1.2.2 (the pre-release is skipped) to the bank as built
    assert rest.startswith("Question bank ")
    assert "what-is-tokenization" in rest
    assert rest.index("what-is-tokenization") < rest.index("sha256sum --check")


def test_without_a_changelog_section_the_notes_are_the_bank_diff(
    release: Any, workspace: Path
) -> None:
    _released_bank_history(workspace)
    result, notes = _notes(release, workspace, "# Changelog\n")
    assert result.returncode == 0, result.stderr
    assert notes.startswith("## Question bank ")
    assert "what-is-tokenization" in notes


def test_build_hands_dist_and_notes_to_publish(release: Any) -> None:
    build, publish = release["jobs"]["build"], release["jobs"]["publish"]
    upload = build["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"].split() == ["dist/", "release-notes.md"]
    assert upload["with"]["if-no-files-found"] == "error"
    download = publish["steps"][0]
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["name"] == upload["with"]["name"]


def test_only_the_publish_job_can_write_and_it_runs_no_project_code(release: Any) -> None:
    build, publish = release["jobs"]["build"], release["jobs"]["publish"]
    assert "permissions" not in build  # the workflow's contents: read
    assert publish["permissions"] == {"contents": "write"}
    assert publish["needs"] == "build"
    assert [s.get("uses", "").split("@")[0] for s in publish["steps"]] == [
        "actions/download-artifact",
        "",
    ]
    create = step_named(publish, "Create the release")
    assert create["env"]["GH_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert create["env"]["TITLE"] == "${{ needs.build.outputs.title }}"


def _publish(release: Any, workspace: Path, tag: str = TAG, tamper: bool = False) -> Any:
    step = step_named(release["jobs"]["publish"], "Create the release")
    dist = workspace / "dist"
    (dist / "guides").mkdir(parents=True)
    (dist / "guides" / "README.md").write_text("# guides\n")
    files = {"test-bank.html": b"<html></html>", "test-bank-guides.tar.gz": b"\x1f\x8b..."}
    for name, data in files.items():
        (dist / name).write_bytes(data)
    (dist / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items())
    )
    if tamper:
        (dist / "test-bank.html").write_bytes(b"<html>changed</html>")
    (workspace / "release-notes.md").write_text("notes\n")
    bin_dir = workspace.parent / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > {workspace.parent}/gh-args\n')
    (bin_dir / "gh").chmod(0o755)
    env = {"TAG": tag, "TITLE": "Test Bank 1.2.3", "GH_TOKEN": "token"}
    result, _ = run_step(step, workspace, env, path=bin_dir)
    args = workspace.parent / "gh-args"
    return result, args.read_text().split("\0")[:-1] if args.exists() else None


def test_publish_creates_the_release_with_every_summed_file(release: Any, workspace: Path) -> None:
    result, args = _publish(release, workspace)
    assert result.returncode == 0, result.stderr
    assert args[:3] == ["release", "create", TAG]
    assets = [arg for arg in args if arg.startswith("dist/")]
    assert assets == ["dist/test-bank.html", "dist/test-bank-guides.tar.gz", "dist/SHA256SUMS"]
    options = args[3 + len(assets) :]
    assert options == [
        "--repo",
        "owner/repo",
        "--verify-tag",
        "--title",
        "Test Bank 1.2.3",
        "--notes-file",
        "release-notes.md",
    ]


def test_a_tag_with_a_hyphen_is_a_prerelease(release: Any, workspace: Path) -> None:
    result, args = _publish(release, workspace, tag="v1.2.3-rc.1")
    assert result.returncode == 0, result.stderr
    assert args[-1] == "--prerelease"


def test_publish_refuses_files_that_do_not_match_sha256sums(release: Any, workspace: Path) -> None:
    result, args = _publish(release, workspace, tamper=True)
    assert result.returncode != 0
    assert args is None  # gh never ran


# --- pre-commit --------------------------------------------------------------------------------


def pre_commit(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color", "never"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PRE_COMMIT_HOME": str(home)},
        timeout=60,
    )


def test_hooks_manifest_is_valid_for_pre_commit(tmp_path: Path) -> None:
    result = pre_commit("validate-manifest", str(HOOKS), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_rejects_a_broken_manifest(tmp_path: Path) -> None:
    hooks = yaml.safe_load(HOOKS.read_text())
    del hooks[0]["entry"]
    broken = tmp_path / ".pre-commit-hooks.yaml"
    broken.write_text(yaml.safe_dump(hooks))
    result = pre_commit("validate-manifest", str(broken), home=tmp_path)
    assert result.returncode != 0
    assert "entry" in result.stdout


def test_the_hook_runs_deckbuilder_validate_over_the_whole_bank() -> None:
    [hook] = yaml.safe_load(HOOKS.read_text())
    assert hook["id"] == "deckbuilder-validate"
    assert hook["language"] == "python"  # pre-commit pip-installs this repository
    assert hook["entry"] == "deckbuilder validate"
    assert hook["pass_filenames"] is False
    assert hook["files"] == r"^questions/.*\.ya?ml$"
    # the entry is a real console script and command
    assert 'deckbuilder = "deckbuilder.cli:main"' in (ROOT / "pyproject.toml").read_text()
    assert "validate" in main.commands


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        ("questions/bank.yaml", True),
        ("questions/beginner/basics.yml", True),
        ("questions/media/diagram.svg", False),
        ("docs/questions/bank.yaml", False),
        ("src/deckbuilder/schema/questions.yaml", False),
    ],
)
def test_the_hook_fires_on_question_files_only(path: str, matches: bool) -> None:
    [hook] = yaml.safe_load(HOOKS.read_text())
    assert bool(re.search(hook["files"], path)) is matches  # pre-commit uses re.search


def test_pre_commit_config_is_valid(tmp_path: Path) -> None:
    result = pre_commit("validate-config", str(PRE_COMMIT_CONFIG), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mutable reference" not in result.stdout + result.stderr


def test_pre_commit_config_pins_ruff_and_runs_the_local_validate_hook() -> None:
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text())
    repos = {repo["repo"]: repo for repo in config["repos"]}
    ruff = repos["https://github.com/astral-sh/ruff-pre-commit"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", ruff["rev"])
    assert [hook["id"] for hook in ruff["hooks"]] == ["ruff-check", "ruff-format"]
    [local] = repos["local"]["hooks"]
    [offered] = yaml.safe_load(HOOKS.read_text())
    assert local["id"] == offered["id"]
    assert local["entry"] == f".venv/bin/{offered['entry']} --strict"  # as strict as CI
    assert local["files"] == offered["files"]
    assert local["pass_filenames"] is False
    assert local["language"] == "unsupported"  # runs .venv's deckbuilder as it is
