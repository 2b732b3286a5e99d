"""Runs code checks inside the sandbox. deckbuilder never imports this module: it reads the
file and hands its text to the sandboxed interpreter (``python -c``), which can see neither
the checkout nor the installed package.

Two modes:

``serve SOCKET_FD USER WORK PRELOAD`` (in bubblewrap)
    Starting Python and importing PyTorch takes seconds, and a bank has hundreds of checks;
    importing once and forking per check takes that off every check. The server imports the
    modules named in PRELOAD (comma-separated; missing ones are skipped), says it is ready,
    then for each request writes the check's files into a fresh WORK folder, forks a child
    that runs them exactly as ``once`` does, and waits for it. Between checks it kills every
    other process in the sandbox's PID namespace and empties ``/tmp`` and ``/dev/shm``, so
    nothing a check started or wrote is there for the next one.

``once WORK MEMORY FILE_SIZE PROCESSES USER`` (``--no-sandbox``)
    Runs ``WORK/check.py`` in this interpreter, once.

Protocol of ``serve`` on the Unix socket SOCKET_FD: every message is an 8-byte big-endian
length and that many bytes of JSON. The server first sends ``{"ready": true}``. A request is
``{"files": {name: text}, "memory": int, "file_size": int, "processes": int}`` with the write
end of the check's output pipe attached to its length (SCM_RIGHTS); the reply is
``{"code": exit_status}``, sent once the check and everything it started are gone.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import random
import resource
import runpy
import shutil
import signal
import socket
import struct
import sys
import time
import traceback
from contextlib import suppress
from typing import Any, NoReturn

_HEADER = struct.Struct(">Q")
_PR_SET_DUMPABLE = 4


def run_check(work: str, memory: int, file_size: int, processes: int, user: int) -> NoReturn:
    """Drop privileges, set the limits, run ``check.py`` as ``python check.py`` would; exit."""
    code = 1
    try:
        if user:
            os.setgroups([])
            os.setgid(user)
            os.setuid(user)
        limits = [
            (resource.RLIMIT_AS, memory),
            (resource.RLIMIT_FSIZE, file_size),
            (resource.RLIMIT_CORE, 0),
        ]
        if processes:
            limits.append((resource.RLIMIT_NPROC, processes))
        for kind, value in limits:
            resource.setrlimit(kind, (value, value))
        os.chdir(work)
        sys.path[0] = work
        sys.argv = [os.path.join(work, "check.py")]
        code = 0
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as request:
        code = request.code if isinstance(request.code, int) else 1
        if request.code not in (None, 0) and not isinstance(request.code, int):
            print(request.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def serve(channel: socket.socket, user: int, work: str, preload: list[str]) -> None:
    """Answer check requests until the socket closes."""
    if os.getpid() != 2:
        # kill(-1) below must only ever reach the sandbox's own PID namespace, where bwrap's
        # init is 1 and this server is 2. Anywhere else, refuse to start.
        raise SystemExit("the check server runs only as process 2 of a fresh PID namespace")
    # Not dumpable: a check running as the same user (rootless bwrap) cannot ptrace the server.
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Some libraries set variables when imported (scikit-learn KMP_*, PyTorch's inductor);
    # a check sees the allow-listed environment it would see in a fresh interpreter.
    environment = dict(os.environ)
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # a missing library is the check's own import error, later
            continue
    _send(channel, {"ready": True})
    while True:
        try:
            request, output = _receive(channel)
        except EOFError:
            return
        _clear_sandbox()
        os.mkdir(work, 0o777)
        os.chmod(work, 0o777)
        for name, text in request["files"].items():
            path = os.path.join(work, name)
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
            os.chmod(path, 0o666)
        child = os.fork()
        if child == 0:
            channel.close()
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.close(output)
            os.environ.clear()
            os.environ.update(environment)
            _fresh_randomness()
            run_check(work, request["memory"], request["file_size"], request["processes"], user)
        os.close(output)
        _, status = os.waitpid(child, 0)
        _clear_sandbox()
        _send(channel, {"code": os.waitstatus_to_exitcode(status)})


def _fresh_randomness() -> None:
    """Forked children would all inherit the server's random state; a new interpreter would
    not: reseed what is loaded, from the operating system, as a fresh import does."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()


def _clear_sandbox() -> None:
    """Kill every process but init and this server; empty the writable folders."""
    with suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        others = [p for p in os.listdir("/proc") if p.isdigit() and p not in ("1", "2")]
        if not others:
            break
        time.sleep(0.01)
    for folder in ("/tmp", "/dev/shm"):
        for entry in os.listdir(folder):
            _remove(os.path.join(folder, entry))


def _remove(path: str) -> None:
    """Delete ``path`` whatever a check did to it (read-only folders, FIFOs, symlinks)."""

    def writable_again(_function: object, failed: str, _info: object) -> None:
        with suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            shutil.rmtree(failed, ignore_errors=True)
        else:
            with suppress(OSError):
                os.unlink(failed)

    if os.path.isdir(path) and not os.path.islink(path):
        with suppress(OSError):
            os.chmod(path, 0o700)
        shutil.rmtree(path, onerror=writable_again)
    else:
        with suppress(OSError):
            os.unlink(path)


def _send(channel: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode("utf-8")
    channel.sendall(_HEADER.pack(len(data)) + data)


def _receive(channel: socket.socket) -> tuple[dict[str, Any], int]:
    """One request and the output descriptor attached to it."""
    header, fds, _, _ = socket.recv_fds(channel, _HEADER.size, 1)
    if not header or not fds:
        raise EOFError
    (size,) = _HEADER.unpack(header + _read_exactly(channel, _HEADER.size - len(header)))
    message: dict[str, Any] = json.loads(_read_exactly(channel, size))
    return message, fds[0]


def _read_exactly(channel: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = channel.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def main(arguments: list[str]) -> None:
    mode, *rest = arguments
    if mode == "serve":
        fd, user, work, preload = rest
        channel = socket.socket(fileno=int(fd))
        serve(channel, int(user), work, [name for name in preload.split(",") if name])
    elif mode == "once":
        work, memory, file_size, processes, user = rest
        run_check(work, int(memory), int(file_size), int(processes), int(user))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
