"""``deckbuilder watch`` as an author uses it: a real process, real saves, real Ctrl-C."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import BANKS

QUESTION_FILE = Path("topic") / "softmax.yaml"


class Watcher:
    """``deckbuilder watch`` in a subprocess, with its stderr read line by line."""

    def __init__(self, bank: Path, output: Path, *extra: str) -> None:
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deckbuilder",
                "watch",
                "--bank",
                str(bank),
                "-o",
                str(output),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stderr is not None
        stream = self.process.stderr
        threading.Thread(
            target=lambda: [self.lines.put(line) for line in stream], daemon=True
        ).start()

    def wait_for(self, text: str, timeout: float = 120) -> str:
        """The first new stderr line containing ``text`` (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, f"watch exited: {self.seen}"
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {timeout} s; saw {self.seen}")

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a terminal sends it; the exit code and everything printed."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        time.sleep(0.2)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, "".join(self.seen)


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return Path(shutil.copytree(BANKS / "every-section", tmp_path / "bank"))


@pytest.fixture
def watcher(bank: Path, tmp_path: Path) -> Iterator[Watcher]:
    running = Watcher(bank, tmp_path / "out")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def edit(bank: Path, old: str, new: str) -> None:
    path = bank / QUESTION_FILE
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_rebuilds_after_a_save_survives_a_broken_save_and_stops_on_ctrl_c(
    watcher: Watcher, bank: Path, tmp_path: Path
) -> None:
    page = tmp_path / "out" / "every-section.html"
    watcher.wait_for("build 1 done")
    assert "What does a softmax compute?" in page.read_text("utf-8")

    edit(bank, "What does a softmax compute?", "What does a softmax function compute?")
    assert "softmax.yaml" in watcher.wait_for("changed:")
    watcher.wait_for("build 2 done")
    assert "What does a softmax function compute?" in page.read_text("utf-8")

    edit(bank, "    level: beginner\n", "    level: [beginner\n")  # invalid YAML
    assert "[yaml-syntax]" in watcher.wait_for("[yaml-syntax]")
    watcher.wait_for("still watching")
    assert "softmax function" in page.read_text("utf-8")  # the last good page stays

    edit(bank, "    level: [beginner\n", "    level: beginner\n")
    watcher.wait_for("build 3 done")

    code, printed = watcher.stop()
    assert code == 0
    assert "stopped watching" in printed
    assert "Traceback" not in printed


def test_serve_reloads_through_a_frame_and_never_touches_the_artifact(
    bank: Path, tmp_path: Path
) -> None:
    running = Watcher(bank, tmp_path / "out", "--serve", "--port", "0")
    try:
        url = running.wait_for("serving ").split("serving ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith(
            "/__reload__/every-section.html"
        )
        frame = urllib.request.urlopen(url, timeout=10).read().decode()
        assert '<iframe id="artifact" src="/every-section.html"' in frame
        origin = url.split("/__reload__/")[0]
        served = urllib.request.urlopen(f"{origin}/every-section.html", timeout=10).read()
        built = (tmp_path / "out" / "every-section.html").read_bytes()
        assert served == built and b"EventSource" not in built

        events = urllib.request.urlopen(f"{origin}/__events__", timeout=60)
        edit(bank, "What does a softmax compute?", "What does a softmax function compute?")
        running.wait_for("build 2 done")
        line = b""
        while not line.startswith(b"event: build"):
            line = events.readline()
        assert events.readline().startswith(b"data: ")
        events.close()
    finally:
        code, printed = running.stop()
    assert code == 0 and "Traceback" not in printed
