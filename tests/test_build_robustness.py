"""Real ``deckbuilder build`` processes that are killed, that cannot place an artifact, and that
run under another version of a library: nothing is left running, nothing half-placed, and
nothing stale is called up to date."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import VALID_BANK
from deckbuilder.buildcache import STAMP_NAME

EPOCH = "1700000000"


def build_command(bank: Path, output: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "deckbuilder",
        "build",
        "--bank",
        str(bank),
        "-o",
        str(output),
        *args,
    ]


def environment(cache: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SOURCE_DATE_EPOCH": EPOCH,
        "DECKBUILDER_CACHE_DIR": str(cache),
        **extra,
    }


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path below ``folder``: file bytes, or None for a folder."""
    return {
        p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def session_members(session: int) -> list[int]:
    """Pids of the processes in ``session`` (field 6 of /proc/PID/stat)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry.name))
    return members


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_stopped_build_leaves_no_process_and_the_next_build_is_clean(
    tmp_path: Path, signal_number: int
) -> None:
    output = tmp_path / "out"
    env = environment(tmp_path / "cache")
    command = build_command(VALID_BANK, output, "-f", "pdf", "-f", "html", "-j", "2")
    build = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own session: every process it starts is found there
    )
    # Stop it while its two exporter workers run and its staging folder exists.
    deadline = time.monotonic() + 120
    while not (list(output.glob(".staging-*")) and len(children(build.pid)) >= 2):
        assert build.poll() is None, "the build ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    if signal_number == signal.SIGINT:
        os.killpg(build.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    else:
        os.kill(build.pid, signal_number)  # as timeout(1), docker stop and CI send it
    _, stderr = build.communicate(timeout=60)

    deadline = time.monotonic() + 5
    while session_members(build.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session_members(build.pid) == []
    if signal_number == signal.SIGKILL:
        assert build.returncode == -signal.SIGKILL
    else:
        assert build.returncode == 128 + signal_number, stderr
        assert "Traceback" not in stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        name = signal.Signals(signal_number).name
        assert lines == [
            f"deckbuilder: build interrupted ({name}); nothing was written to {output}"
        ]
    assert not [p for p in output.iterdir() if not p.name.startswith(".staging-")]

    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 0, again.stderr
    assert not list(output.glob(".staging-*"))
    clean = tmp_path / "clean"
    fresh = subprocess.run(
        build_command(VALID_BANK, clean, "-f", "pdf", "-f", "html", "--force"),
        capture_output=True,
        text=True,
        env=environment(tmp_path / "clean-cache"),
        check=False,
    )
    assert fresh.returncode == 0, fresh.stderr
    # Artifacts byte for byte; the stamps differ only in fingerprints (the output path is an
    # option), not in the files they record.
    after, reference = snapshot(output), snapshot(clean)
    stamps = [json.loads(s.pop(STAMP_NAME) or b"") for s in (after, reference)]
    assert after == reference
    assert [{k: v["files"] for k, v in stamp.items()} for stamp in stamps] == [
        {k: v["files"] for k, v in stamps[1].items()}
    ] * 2


def test_one_unplaceable_artifact_leaves_the_output_exactly_as_it_was(tmp_path: Path) -> None:
    output = tmp_path / "out"
    env = environment(tmp_path / "cache")
    command = build_command(VALID_BANK, output, "-f", "pdf", "-f", "html")
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    # The page is last in the order of moves: both PDFs would be placed before it.
    page = output / "test-bank.html"
    page.unlink()
    page.mkdir()
    (page / "keep.txt").write_text("mine")
    (output / "test-bank-study-guide.pdf").write_bytes(b"an older guide")
    before = snapshot(output)

    result = subprocess.run([*command, "--force"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert f"cannot write {page}: Is a directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(output) == before


def test_a_library_upgrade_rebuilds_the_formats_it_shapes(tmp_path: Path) -> None:
    """A fake distribution ahead on the path makes importlib.metadata see another version."""
    output = tmp_path / "out"
    command = build_command(VALID_BANK, output, "-f", "html", "-f", "anki")
    env = environment(tmp_path / "cache")
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    unchanged = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert "up to date: html, anki" in unchanged.stderr

    def upgraded(name: str, version: str) -> subprocess.CompletedProcess[str]:
        fake = tmp_path / f"fake-{name}"
        metadata = fake / f"{name}-{version}.dist-info" / "METADATA"
        metadata.parent.mkdir(parents=True)
        metadata.write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        probe = subprocess.run(
            [sys.executable, "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
            capture_output=True,
            text=True,
            env={**env, "PYTHONPATH": str(fake)},
            check=True,
        )
        assert probe.stdout.strip() == version  # the scratch environment really differs
        return subprocess.run(
            command, capture_output=True, text=True, env={**env, "PYTHONPATH": str(fake)}
        )

    genanki = upgraded("genanki", "99.0")  # shapes the deck only
    assert genanki.returncode == 0, genanki.stderr
    assert "test-bank.apkg" in genanki.stdout
    assert "test-bank.html" not in genanki.stdout
    assert "up to date: html" in genanki.stderr

    nh3 = upgraded("nh3", "99.0")  # sanitises every format's HTML
    assert nh3.returncode == 0, nh3.stderr
    assert "test-bank.apkg" in nh3.stdout and "test-bank.html" in nh3.stdout
    assert "up to date" not in nh3.stderr


def test_a_build_removes_staging_folders_of_builds_that_are_gone(tmp_path: Path) -> None:
    output = tmp_path / "out"
    stale = [output / ".staging-999999999-abc", output / ".staging-old"]
    for folder in stale:
        (folder / "guides").mkdir(parents=True)
        (folder / "guides" / "half.md").write_text("half")
    alive = output / f".staging-{os.getpid()}-xyz"  # a build that still runs: kept
    alive.mkdir()
    env = environment(tmp_path / "cache")
    result = subprocess.run(
        build_command(VALID_BANK, output, "-f", "html"), capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in output.glob(".staging-*")) == [alive.name]
    shutil.rmtree(alive)
