"""Hostile checks run through the real ``deckbuilder check-code`` and stay contained.

Each test writes a scratch bank whose only code answer has a check that tries one thing an
attacker would: write outside its folder, read the environment, reach the network, leave a
process behind, exhaust memory, flood the output, sabotage its own folder. The check runs in
bubblewrap exactly as in CI; nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, VALID_BANK

SECRET = "DECKBUILDER_TEST_SECRET"


def write_bank(folder: Path, checks: dict[str, str]) -> Path:
    """A valid bank with one runnable code answer per check (id -> check source)."""
    folder.mkdir(parents=True)
    shutil.copyfile(VALID_BANK / "bank.yaml", folder / "bank.yaml")
    questions = [
        {
            "id": question_id,
            "question": f"Scratch question {question_id}?",
            "level": "math-code",
            "categories": ["math-pytorch"],
            "tags": ["sandbox"],
            "answer": "A scratch answer.",
            "explanation": "A scratch explanation that is longer than the answer.",
            "code": {
                "language": "python",
                "source": "VALUE = 1\n",
                "check": textwrap.dedent(check),
            },
        }
        for question_id, check in checks.items()
    ]
    (folder / "scratch.yaml").write_text(yaml.safe_dump({"questions": questions}), "utf-8")
    return folder


def check_code(
    bank: Path, scratch: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``deckbuilder check-code`` in a process of its own, with its own empty TMPDIR."""
    environment = {**os.environ, "TMPDIR": str(scratch), SECRET: "hunter2-" + uuid.uuid4().hex}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "deckbuilder", "check-code", "--bank", str(bank), *options],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,  # only a guard against a hang: every check here has --timeout
        check=False,
    )


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    return folder


def assert_clean(result: subprocess.CompletedProcess[str], scratch: Path) -> None:
    """No traceback of check-code itself, and nothing left in its temporary folder."""
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr.split("error: check of")[0], result.stderr
    assert list(scratch.iterdir()) == []


def test_a_check_cannot_write_outside_its_folder(tmp_path: Path, scratch: Path) -> None:
    outside = tmp_path / "outside.txt"
    host_tmp = Path("/tmp") / f"deckbuilder-escape-{uuid.uuid4().hex}"
    bank_file = tmp_path / "bank" / "scratch.yaml"
    check = f"""
        import os
        written = []
        for path in ({str(bank_file)!r}, {str(outside)!r}, {str(tmp_path)!r} + "/new.txt",
                     os.path.expanduser("~root/.bashrc"), "/etc/passwd", "/usr/new.txt"):
            try:
                with open(path, "a") as file:
                    file.write("pwned")
                written.append(path)
            except OSError as exc:
                print("refused:", path, exc)
        assert os.path.exists("solution.py")  # it did run, in its own folder
        for path in ("mine.txt", {str(host_tmp)!r}):  # its folder and its /tmp are writable
            with open(path, "w") as file:
                file.write("fine")
        assert not written, written
    """
    bank = write_bank(tmp_path / "bank", {"write-outside": check})
    before = bank_file.read_bytes()
    result = check_code(bank, scratch, "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout
    assert bank_file.read_bytes() == before
    assert not outside.exists() and not host_tmp.exists() and not (tmp_path / "new.txt").exists()
    assert_clean(result, scratch)


def test_a_check_sees_only_the_allowed_environment(tmp_path: Path, scratch: Path) -> None:
    check = f"""
        import glob, os
        leaked = [k for k in os.environ if k == {SECRET!r}]
        for path in glob.glob("/proc/*/environ"):
            try:
                with open(path, "rb") as file:
                    if b"hunter2-" in file.read():
                        leaked.append(path)
            except OSError:
                pass
        print(sorted(os.environ))
        assert os.environ["HOME"] == os.getcwd(), os.environ["HOME"]
        assert not leaked, leaked
        assert set(os.environ) <= {{
            "PATH", "HOME", "TMPDIR", "LANG", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "HF_HUB_OFFLINE",
            "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM",
            "MPLBACKEND", "PWD", "LC_CTYPE",
        }}, sorted(os.environ)
    """
    bank = write_bank(tmp_path / "bank", {"read-environment": check})
    result = check_code(bank, scratch, "--timeout", "60", env={"GITHUB_TOKEN": "ghp_x"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout
    assert_clean(result, scratch)


def test_a_check_has_no_network(tmp_path: Path, scratch: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        check = f"""
            import socket
            reached = []
            for host in ("127.0.0.1", "localhost", "1.1.1.1"):
                try:
                    socket.create_connection((host, {port}), timeout=3).close()
                    reached.append(host)
                except OSError as exc:
                    print("no connection to", host, exc)
            assert not reached, reached
        """
        bank = write_bank(tmp_path / "bank", {"network": check})
        result = check_code(bank, scratch, "--timeout", "60")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout
    assert_clean(result, scratch)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_no_process_of_a_check_outlives_it(tmp_path: Path, scratch: Path) -> None:
    """A setsid grandchild dies with the check, after a timeout and after a normal exit."""
    marker = f"deckbuilder-grandchild-{uuid.uuid4().hex}"
    spawn = f"""
        import os, subprocess, sys, time
        # A daemon: new session, parent gone, reparented away from the check.
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)", {marker!r}],
            start_new_session=True,
        )
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)",
                                          {marker!r}])
            os._exit(0)
        time.sleep(1)
        print("started", flush=True)
    """
    bank = write_bank(
        tmp_path / "bank",
        {
            "grandchild-timeout": textwrap.dedent(spawn) + "time.sleep(600)\n",
            "grandchild-exit": spawn,
        },
    )
    result = check_code(bank, scratch, "--timeout", "15")
    assert "1 passed, 1 failed" in result.stdout, result.stdout + result.stderr
    assert "timed out after 15 s" in result.stderr
    assert "started" in result.stderr  # the grandchildren were started
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []
    assert_clean(result, scratch)


def test_nothing_a_check_leaves_reaches_the_next_one(tmp_path: Path, scratch: Path) -> None:
    """Checks share a sandbox's server (PyTorch is imported once, not once per check), and
    nothing else: files, locked folders, shared memory and daemons are gone before the next."""
    marker = f"deckbuilder-leftover-{uuid.uuid4().hex}"
    leave = f"""
        import os, subprocess, sys
        for path in ("/tmp/left-behind", "/dev/shm/left-behind", "left-behind"):
            with open(path, "w") as file:
                file.write("secret")
        os.mkdir("/tmp/locked")
        with open("/tmp/locked/inside", "w") as file:
            file.write("secret")
        os.chmod("/tmp/locked", 0)
        os.mkfifo("/tmp/fifo")
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}],
                         start_new_session=True)
        print("left", os.getpid(), flush=True)
    """
    find = """
        import os
        print("found", os.getpid(), os.listdir("/tmp"), os.listdir("/dev/shm"), os.listdir("."))
        assert os.getpid() > 3  # an earlier check ran in this sandbox: its server is shared
        assert os.listdir("/tmp") == ["check"] and os.listdir("/dev/shm") == []
        assert sorted(os.listdir(".")) == ["check.py", "solution.py"]
        mine = {1, os.getppid(), os.getpid()}
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
        assert not others, others
        raise SystemExit(1)  # fail on purpose, to show this output
    """
    bank = write_bank(tmp_path / "bank", {"a-leave": leave, "b-find": find})
    result = check_code(bank, scratch, "--timeout", "60", "--jobs", "1")
    assert "1 passed, 1 failed" in result.stdout, result.stdout + result.stderr
    assert "found" in result.stderr and "AssertionError" not in result.stderr, result.stderr
    assert _processes_with(marker) == []
    assert_clean(result, scratch)


def test_a_check_cannot_take_more_memory_than_allowed(tmp_path: Path, scratch: Path) -> None:
    check = """
        block = bytearray(8 * 2**30)  # 8 GiB, far beyond --memory
        print("allocated", len(block))
    """
    bank = write_bank(tmp_path / "bank", {"memory": check})
    result = check_code(bank, scratch, "--timeout", "60", "--memory", "1024")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed: MemoryError" in result.stderr
    assert "allocated" not in result.stderr
    assert_clean(result, scratch)


def test_a_flood_of_output_is_cut_and_costs_check_code_little_memory(
    tmp_path: Path, scratch: Path
) -> None:
    check = """
        import sys
        line = b"x" * 1023 + b"\\n"
        for _ in range(1024):  # 1 GiB
            sys.stdout.buffer.write(line * 1024)
        sys.stdout.flush()
        sys.exit("flooded")
    """
    bank = write_bank(tmp_path / "bank", {"flood": check})
    peak_file = tmp_path / "peak"
    # check-code under a parent that reports the peak memory of its process tree.
    measure = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[2:]).returncode\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "open(sys.argv[1], 'w').write(str(peak))\n"
        "sys.exit(code)\n"
    )
    command = [sys.executable, "-m", "deckbuilder", "check-code", "--bank", str(bank)]
    result = subprocess.run(
        [sys.executable, "-c", measure, str(peak_file), *command],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        timeout=600,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "bytes of output cut" in result.stderr
    assert "flooded" in result.stderr
    assert len(result.stderr) < 2 * 2**20  # check-code never copies the whole flood
    peak_kib = int(peak_file.read_text())
    assert peak_kib < 600 * 1024, f"check-code peaked at {peak_kib} KiB"
    assert_clean(result, scratch)


def test_a_check_sabotaging_its_folder_fails_cleanly(tmp_path: Path, scratch: Path) -> None:
    checks = {
        "delete-own-folder": """
            import os, shutil
            shutil.rmtree(os.getcwd(), ignore_errors=True)  # its files go; the mount stays
            assert not os.path.exists("check.py")
        """,
        "replace-files": """
            import os
            os.remove("solution.py")
            os.mkdir("solution.py")
            os.mkfifo("output.txt")
            os.replace("output.txt", "check.py")
            os.mkfifo("output.txt")
            os.symlink("/etc/passwd", "check.log")
            os._exit(0)
        """,
        "block-on-fifo": """
            import os
            os.mkfifo("output.txt")
            open("output.txt").read()  # blocks forever: only the time limit ends it
        """,
    }
    bank = write_bank(tmp_path / "bank", checks)
    result = check_code(bank, scratch, "--timeout", "10")
    assert "2 passed, 1 failed" in result.stdout, result.stdout + result.stderr
    assert "check of 'block-on-fifo' failed: timed out after 10 s" in result.stderr
    assert_clean(result, scratch)


def test_a_virtual_environment_reached_through_a_symlink_runs_checks(
    tmp_path: Path, scratch: Path
) -> None:
    """A worktree often shares another checkout's .venv through a symlink; the sandbox must show
    the environment where Python was started from. (Outside /tmp: the sandbox has its own.)"""
    (ROOT / "build").mkdir(exist_ok=True)  # git-ignored
    link_folder = Path(tempfile.mkdtemp(prefix=".test-venv-link-", dir=ROOT / "build"))
    try:
        (link_folder / "venv").symlink_to(Path(sys.prefix).resolve())
        python = link_folder / "venv" / "bin" / Path(sys.executable).name
        bank = write_bank(tmp_path / "bank", {"linked": "import sys; print(sys.prefix)\n"})
        result = subprocess.run(
            [str(python), "-m", "deckbuilder", "check-code", "--bank", str(bank)],
            capture_output=True,
            text=True,
            env={**os.environ, "TMPDIR": str(scratch)},
            timeout=600,
            check=False,
        )
    finally:
        shutil.rmtree(link_folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout
    assert_clean(result, scratch)


def test_check_code_refuses_without_a_sandbox_unless_told(tmp_path: Path, scratch: Path) -> None:
    bank = write_bank(tmp_path / "bank", {"plain": "assert True\n"})
    empty = tmp_path / "no-bwrap"
    empty.mkdir()
    result = check_code(bank, scratch, env={"PATH": str(empty)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap);"
        " pass --no-sandbox to run checks unconfined"
    ]
    # A bwrap that cannot create namespaces (as in a locked-down container) says why.
    broken = tmp_path / "broken-bwrap"
    broken.mkdir()
    (broken / "bwrap").write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    (broken / "bwrap").chmod(0o755)
    result = check_code(bank, scratch, env={"PATH": f"{broken}:/usr/bin:/bin"})
    assert result.returncode == 1
    assert "cannot create the check sandbox here" in result.stderr
    assert "No permissions to create new namespace" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    result = check_code(bank, scratch, "--no-sandbox", env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    assert "warning: --no-sandbox" in result.stderr
    assert "1 passed, 0 failed" in result.stdout
    assert_clean(result, scratch)
