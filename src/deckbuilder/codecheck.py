"""Run every code answer with its hidden check, each in a sandbox (``deckbuilder check-code``).

A check is code from the bank, and the bank takes contributions from strangers: the test suite
and CI run every check, so a check must not reach anything but its own scratch folder. Each
check therefore runs in a fresh Python interpreter inside bubblewrap (``bwrap``), which gives it:

- private namespaces (network, PID, IPC, UTS, user): no network at all, and when the check's
  first process ends or the time limit passes, every process it started dies with it;
- a read-only view of the system and of the Python environment only: not the bank, the
  checkout or the home folder;
- a fresh tmpfs at ``/tmp`` (size-limited) as its only writable place, holding ``solution.py``
  and ``check.py``; it disappears with the sandbox, so nothing is left behind;
- an environment built from an allow-list (:data:`CHECK_ENVIRONMENT`), nothing inherited;
- resource limits: address space (``--memory``), file size and number of processes;
- its output read through a pipe, kept up to :data:`OUTPUT_LIMIT` bytes.

When deckbuilder runs as root, the sandbox runs as ``nobody`` (uid 65534): the kernel does not
apply the process limit to root, and ``nobody`` reads no file root keeps private.

``--no-sandbox`` (where bwrap cannot create namespaces) runs the same interpreter with the
same environment, limits and output pipe, but in a temporary folder of the host and without
namespaces: it contains mistakes, not attacks.

A failure is reported at the YAML line of the failing snippet or check line when the
traceback names one.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from deckbuilder.errors import Location
from deckbuilder.model import Question

DEFAULT_TIMEOUT = 120.0
#: Address-space limit of a check. PyTorch maps more virtual memory than it touches: importing
#: torch, NumPy, scikit-learn and Transformers and running a tiny GPT-2 peaks at 868 MiB of
#: address space (426 MiB resident). Every check of the real bank passes under 2 GiB.
DEFAULT_MEMORY_MIB = 2048
#: Output kept per check: the first OUTPUT_LIMIT bytes and the last _TAIL bytes.
OUTPUT_LIMIT = 2**20
_TAIL = 16 * 2**10
#: Largest file a check may write, and size of its tmpfs.
FILE_SIZE_LIMIT = 64 * 2**20
TMPFS_SIZE = 256 * 2**20
#: Shared memory (joblib and PyTorch use /dev/shm for semaphores and tensors between processes).
SHM_SIZE = 64 * 2**20
#: Processes and threads of one check (PyTorch starts a few threads even with one math thread).
PROCESS_LIMIT = 256
#: Where the check runs inside the sandbox (the tmpfs) and the uid it runs as under root.
WORK = "/tmp/check"
NOBODY = 65534
_TRACEBACK_LINE = re.compile(r'File "[^"]*[/\\](solution|check)\.py", line (\d+)')
#: The whole environment of a check: deterministic hashing, one math thread (two checks run
#: side by side on two cores), and model hubs switched off so nothing is downloaded.
CHECK_ENVIRONMENT = {
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "Agg",
}
#: Imported once by each sandbox's check server, before any check: what the bank's checks
#: import most and what takes longest to import, measured in the sandbox: PyTorch about 3.5 s,
#: Transformers with GPT-2 about 5.7 s, scikit-learn's text features about 1 s. A server then
#: holds about 360 MiB resident. A module missing here is skipped.
PRELOAD = (
    "numpy",
    "torch",
    "transformers",
    "transformers.models.gpt2.modeling_gpt2",
    "sklearn.feature_extraction.text",
    "sklearn.linear_model",
    "sklearn.metrics",
)
#: Longest a new sandbox may take to import PRELOAD and say it is ready.
SERVER_START_TIMEOUT = 120.0
_HEADER = struct.Struct(">Q")


class SandboxUnavailable(Exception):
    """bwrap is missing or cannot create its namespaces here; the message says which."""


@dataclass(frozen=True)
class Limits:
    """What every check is allowed: seconds, MiB of address space, and whether sandboxed."""

    timeout: float = DEFAULT_TIMEOUT
    memory_mib: int = DEFAULT_MEMORY_MIB
    sandbox: bool = True


@dataclass(frozen=True)
class CheckResult:
    question_id: str
    passed: bool
    seconds: float
    output: str
    location: Location | None

    @property
    def summary(self) -> str:
        last = self.output.strip().splitlines()[-1:] or ["(no output)"]
        return last[0]


def runnable_questions(questions: Iterable[Question]) -> list[Question]:
    """Questions whose code is Python, runnable offline and carries a check."""
    return [
        q
        for q in questions
        if q.code is not None and q.code.language == "python" and q.code.runnable and q.code.check
    ]


def run_check(
    question: Question,
    *,
    source: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    limits: Limits | None = None,
) -> CheckResult:
    """Run one question's check against its source (or against ``source``, for mutants)."""
    code = question.code
    assert code is not None and code.check is not None
    limits = limits or Limits(timeout=timeout)
    files = {"solution.py": source if source is not None else code.source, "check.py": code.check}
    started = time.monotonic()
    passed, output = _run(files, limits)
    return CheckResult(
        question.id,
        passed,
        time.monotonic() - started,
        output,
        None if passed else _failure_location(question, output),
    )


def run_checks(
    questions: Iterable[Question],
    *,
    jobs: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    limits: Limits | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run the checks of ``questions`` in parallel; results in the questions' order."""
    selected = runnable_questions(questions)
    limits = limits or Limits(timeout=timeout)
    if limits.sandbox:
        require_sandbox()

    def one(question: Question) -> CheckResult:
        result = run_check(question, limits=limits)
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, selected))


def require_sandbox() -> None:
    """Raise :class:`SandboxUnavailable` with a one-line reason unless bwrap works here."""
    problem = _sandbox_problem()
    if problem is not None:
        raise SandboxUnavailable(problem)


@cache
def _sandbox_problem() -> str | None:
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)"
    probe = subprocess.run(
        [*_bwrap_arguments(), "--", "/bin/true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode == 0:
        return None
    reason = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
    return f"bubblewrap cannot create the check sandbox here ({reason})"


def _run(files: dict[str, str], limits: Limits) -> tuple[bool, str]:
    memory = limits.memory_mib * 2**20
    if limits.sandbox:
        require_sandbox()
        request = {
            "files": files,
            "memory": memory,
            "file_size": FILE_SIZE_LIMIT,
            "processes": PROCESS_LIMIT,
        }
        server = _idle_server()
        outcome = server.run(request, limits.timeout)
        if outcome is None:  # the idle server had died before taking the check: once more
            server = _CheckServer.start()
            outcome = server.run(request, limits.timeout)
        if server.alive:
            with _IDLE_LOCK:
                _IDLE.append(server)
        return outcome or (False, "the check sandbox ended before the check could start")
    folder = tempfile.mkdtemp(prefix="deckbuilder-check-")
    try:
        for name, text in files.items():
            Path(folder, name).write_text(text, "utf-8")
        environment = {**CHECK_ENVIRONMENT, "HOME": folder, "TMPDIR": folder, "PATH": _path()}
        # No process limit: it would count every process of the user, not the check's.
        command = _server_command("once", folder, memory, FILE_SIZE_LIMIT, 0, 0)
        return _supervise(command, folder, environment, limits.timeout)
    finally:
        _remove(folder)


#: Servers not running a check now, shared by every thread of this process.
_IDLE: list[_CheckServer] = []
_IDLE_LOCK = threading.Lock()


def _idle_server() -> _CheckServer:
    with _IDLE_LOCK:
        while _IDLE:
            server = _IDLE.pop()
            if server.alive:
                return server
    return _CheckServer.start()


@atexit.register
def _close_idle_servers() -> None:
    with _IDLE_LOCK:
        while _IDLE:
            _IDLE.pop().close()


@cache
def _starter() -> ThreadPoolExecutor:
    """The one thread that starts sandboxes. bwrap's --die-with-parent follows the thread that
    started it, and a check-pool thread ends with its pool; this one lives as long as we do."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="deckbuilder-sandbox")


class _CheckServer:
    """One bubblewrap sandbox running check_server.py: imports once, then one check at a time.

    The server forks each check from a process that has already imported :data:`PRELOAD`, and
    between checks kills everything the check started and empties ``/tmp`` and ``/dev/shm``.
    A check that overruns its time kills the whole sandbox; the next check gets a new one.
    """

    def __init__(self, process: subprocess.Popen[bytes], channel: socket.socket) -> None:
        self.process = process
        self.channel = channel

    @classmethod
    def start(cls) -> _CheckServer:
        return _starter().submit(cls._start).result()

    @classmethod
    def _start(cls) -> _CheckServer:
        ours, theirs = socket.socketpair()
        user = NOBODY if os.geteuid() == 0 else 0
        command = [
            *_bwrap_arguments(),
            "--",
            *_server_command("serve", theirs.fileno(), user, WORK, ",".join(PRELOAD)),
        ]
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                command,
                env={},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
            theirs.close()
            server = cls(process, ours)
            if server._reply(time.monotonic() + SERVER_START_TIMEOUT) == {"ready": True}:
                return server
            server.close()
            errors.seek(0)
            said = errors.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        reason = said[-1] if said else f"exit status {process.returncode}"
        raise SandboxUnavailable(f"the check sandbox did not start ({reason})")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, request: dict[str, Any], timeout: float) -> tuple[bool, str] | None:
        """Passed and output; None if the server was gone before it took the check."""
        deadline = time.monotonic() + timeout
        read_end, write_end = os.pipe()
        try:
            data = json.dumps(request).encode("utf-8")
            try:
                socket.send_fds(self.channel, [_HEADER.pack(len(data))], [write_end])
                self.channel.sendall(data)
            except OSError:
                self.close()
                return None
        finally:
            os.close(write_end)
        try:
            output, finished = _read_bounded(read_end, deadline)
        finally:
            os.close(read_end)
        reply = self._reply(deadline) if finished else None
        text = output.decode("utf-8", errors="replace")
        if reply is None:
            ended = self.alive
            self.close()
            if not ended:
                return False, f"{text.rstrip()}\nthe check sandbox ended during the check".lstrip()
            return False, f"{text.rstrip()}\ntimed out after {timeout:.0f} s".lstrip()
        code = int(reply["code"])
        if code != 0 and not text.strip():
            text = f"exited with status {code} and no output"
        return code == 0, text

    def _reply(self, deadline: float) -> dict[str, Any] | None:
        """The server's next message, or None if it ended or the deadline passed first."""
        try:
            header = self._read(_HEADER.size, deadline)
            message: dict[str, Any] = json.loads(self._read(_HEADER.unpack(header)[0], deadline))
        except (OSError, EOFError, ValueError):
            return None
        return message

    def _read(self, size: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < size:
            self.channel.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = self.channel.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)

    def close(self) -> None:
        """Kill the sandbox: bwrap is its session leader and its PID namespace's parent."""
        self.channel.close()
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@cache
def _server_source() -> str:
    """check_server.py as text: the sandbox sees the Python installation, not deckbuilder."""
    return Path(__file__).with_name("check_server.py").read_text("utf-8")


def _server_command(mode: str, *arguments: object) -> list[str]:
    return [sys.executable, "-s", "-c", _server_source(), mode, *map(str, arguments)]


def _bwrap_arguments() -> list[str]:
    """bwrap with every namespace, a read-only system, a tmpfs and the allowed environment."""
    arguments = [
        shutil.which("bwrap") or "bwrap",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]
    arguments += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    arguments += ["--unshare-cgroup-try"]
    if os.geteuid() == 0:
        # bwrap runs privileged, without a user namespace. The check server keeps only the
        # rights to become nobody (each check does so before reading check.py, and loses
        # every capability with it), to kill nobody's processes and to delete nobody's files
        # between checks. bwrap sets no_new_privs: no setuid program gives any back.
        for capability in ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_FOWNER"):
            arguments += ["--cap-add", capability]
    else:
        arguments += ["--unshare-user", "--disable-userns"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            arguments += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            arguments += ["--ro-bind", top, top]
    arguments += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for folder, seen_at in _python_folders():
        for parent in reversed(Path(seen_at).parents[:-1]):  # traversable by nobody too
            arguments += ["--perms", "0755", "--dir", str(parent)]
        arguments += ["--ro-bind", folder, seen_at]
    arguments += ["--proc", "/proc", "--dev", "/dev"]
    arguments += ["--perms", "1777", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm"]
    arguments += ["--perms", "1777", "--size", str(TMPFS_SIZE), "--tmpfs", "/tmp"]
    environment = {**CHECK_ENVIRONMENT, "HOME": WORK, "TMPDIR": "/tmp", "PATH": _path()}
    for key, value in sorted(environment.items()):
        arguments += ["--setenv", key, value]
    return [*arguments, "--chdir", "/tmp"]


def _python_folders() -> list[tuple[str, str]]:
    """The interpreter's installation and environment, outside the folders bound anyway, as
    (folder, where the sandbox sees it). A virtual environment reached through a symlink (a
    worktree sharing another checkout's ``.venv``) is also seen at the path Python was started
    from, since the interpreter finds its ``pyvenv.cfg`` and site-packages from there."""
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))),
    }
    candidates.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    covered = ("/usr/", "/etc/", "/bin/", "/lib/", "/lib64/")
    folders = sorted(
        os.path.realpath(p)
        for p in candidates
        if os.path.isdir(p) and not (os.path.realpath(p) + "/").startswith(covered)
    )
    # A folder inside another one listed is bound with it.
    bound = [
        (f, f) for f in folders if not any(f.startswith(o + os.sep) for o in folders if o != f)
    ]
    started_from = os.path.abspath(sys.prefix)
    if os.path.realpath(started_from) != started_from:
        bound.append((os.path.realpath(started_from), started_from))
    return bound


def _path() -> str:
    return os.pathsep.join(
        dict.fromkeys([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])
    )


def _supervise(
    command: list[str], cwd: str, env: dict[str, str], timeout: float
) -> tuple[bool, str]:
    """Run ``command`` in a session of its own; output through one bounded pipe."""
    deadline = time.monotonic() + timeout
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        output, finished = _read_bounded(process.stdout.fileno(), deadline)
        if finished:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                finished = False
    finally:
        _kill_session(process)
        process.stdout.close()
    text = output.decode("utf-8", errors="replace")
    if not finished:
        return False, f"{text.rstrip()}\ntimed out after {timeout:.0f} s".lstrip()
    if process.returncode != 0 and not text.strip():
        text = f"exited with status {process.returncode} and no output"
    return process.returncode == 0, text


def _read_bounded(fd: int, deadline: float) -> tuple[bytes, bool]:
    """The first OUTPUT_LIMIT and last _TAIL bytes until end of file; False on timeout."""
    head = bytearray()
    tail = b""
    total = 0
    finished = False
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 2**16)
            if not chunk:
                finished = True
                break
            total += len(chunk)
            room = OUTPUT_LIMIT - len(head)
            head += chunk[:room]
            if len(chunk) > room:
                tail = (tail + chunk[room:])[-_TAIL:]
    dropped = total - len(head) - len(tail)
    if dropped > 0:
        note = f"\n[... {dropped} bytes of output cut: kept the first {len(head)} and the last"
        head += f"{note} {len(tail)} of {total} ...]\n".encode()
    return bytes(head + tail), finished


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    """Kill the whole session the check ran in, then reap its leader.

    In the sandbox the session leader is bwrap: killing it kills the sandbox's init, and the
    kernel then kills every process left in the PID namespace (``--die-with-parent``).
    """
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _remove(folder: str) -> None:
    """Delete a --no-sandbox folder whatever the check left in it (FIFOs, read-only dirs)."""

    def writable_again(function: object, path: str, _info: object) -> None:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
        except OSError:
            pass
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)

    shutil.rmtree(folder, onerror=writable_again)


def _failure_location(question: Question, output: str) -> Location | None:
    """The YAML line of the deepest snippet/check line in the traceback, if any."""
    code = question.code
    assert code is not None
    found = _TRACEBACK_LINE.findall(output)
    if not found:
        return code.check_location
    which, line = found[-1]
    start = code.source_location if which == "solution" else code.check_location
    if start is None:
        return None
    return Location(start.path, start.line + int(line) - 1, start.column)
