"""The author's loop: rebuild on every save, and optionally reload the open page.

``rebuilds`` yields one :class:`Rebuild` for the first build and one after each burst of
saves, as ``mkdocs serve`` and ``sphinx-autobuild`` do. File events come from ``watchfiles``
(the operating system's notifications, debounced in Rust), never from polling by hand. Each
rebuild is the normal build: it validates first and moves its files into place all or
nothing, so a save that leaves invalid YAML is reported and the last good output stays.

``LiveReload`` serves the output folder on 127.0.0.1 only. The built files are served as
they are: the page's own Content-Security-Policy forbids every fetch and foreign script, so
the reload hook lives in a separate frame page (``/__reload__/<file>``) that shows the
artifact in an ``<iframe>`` and reloads it when the server announces a new build. Nothing of
the hook is ever written into an artifact.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import watchfiles

from deckbuilder.build import BuildReport, BuildRequest, build
from deckbuilder.errors import BankError, BuildError, Problem
from deckbuilder.resources import packaged_styles_dir, packaged_templates_dir

#: Saves closer together than this are one rebuild (an editor's save-all, a git checkout).
DEBOUNCE_MS = 300
#: How long the watcher waits for events before it yields an empty set of changes.
_IDLE_MS = 200
_RELOAD_PREFIX = "/__reload__/"
_EVENTS = "/__events__"


@dataclass(frozen=True)
class Rebuild:
    """What one rebuild did: the files that triggered it and the build's outcome."""

    changed: tuple[Path, ...]
    seconds: float
    report: BuildReport | None = None
    #: Problems that stopped the build (the bank did not validate).
    problems: tuple[Problem, ...] = ()
    #: Any other reason the build failed (an exporter error, a full disk ...).
    error: str | None = None


def watched_folders(request: BuildRequest) -> tuple[Path, ...]:
    """The bank, the stylesheets and the templates: what an author edits."""
    folders = [request.bank_dir, request.styles_dir or packaged_styles_dir()]
    folders.append(packaged_templates_dir())
    return tuple(dict.fromkeys(folder.resolve() for folder in folders if folder.is_dir()))


def rebuilds(
    request: BuildRequest,
    stop: threading.Event | None = None,
    debounce_ms: int = DEBOUNCE_MS,
) -> Iterator[Rebuild]:
    """Build once, then once after every burst of changes, until ``stop`` is set or Ctrl-C.

    The watcher is running before the first build starts, so a save made while a build runs
    is never lost: it triggers the next rebuild.
    """
    output = request.output.resolve()
    default = watchfiles.DefaultFilter()

    def relevant(change: watchfiles.Change, path: str) -> bool:
        # The build's own output, and editors' temporary files, never trigger a rebuild.
        return default(change, path) and not Path(path).resolve().is_relative_to(output)

    first = True
    for changes in watchfiles.watch(
        *watched_folders(request),
        watch_filter=relevant,
        debounce=debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
        rust_timeout=_IDLE_MS,
        yield_on_timeout=True,  # an empty set: the watcher is up, time for the first build
    ):
        if first or changes:
            first = False
            yield _rebuild(request, tuple(sorted({Path(path) for _change, path in changes})))


def _rebuild(request: BuildRequest, changed: tuple[Path, ...]) -> Rebuild:
    started = time.monotonic()
    try:
        report = build(request)
    except BankError as exc:
        return Rebuild(changed, time.monotonic() - started, problems=tuple(exc.problems))
    except BuildError as exc:
        return Rebuild(changed, time.monotonic() - started, error=str(exc))
    except OSError as exc:
        return Rebuild(changed, time.monotonic() - started, error=f"cannot write: {exc}")
    return Rebuild(changed, time.monotonic() - started, report=report)


class LiveReload:
    """Serve ``folder`` on 127.0.0.1 and tell open frame pages when a build finished."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self._builds = 0
        self._changed = threading.Condition()
        handler = partial(_Handler, self, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, relative: str) -> str:
        """The frame page that shows ``relative`` (a path inside the folder) and reloads it."""
        return f"http://127.0.0.1:{self.port}{_RELOAD_PREFIX}{quote(relative)}"

    def start(self) -> None:
        self._thread.start()

    def announce_build(self) -> None:
        with self._changed:
            self._builds += 1
            self._changed.notify_all()

    def wait_for_build(self, seen: int, timeout: float) -> int:
        """The build count once it is past ``seen``, or as it is after ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._builds > seen, timeout)
            return self._builds

    def close(self) -> None:
        self.announce_build()  # wakes event streams so their threads end
        self.server.shutdown()
        self.server.server_close()


class _Handler(SimpleHTTPRequestHandler):
    """Static files from the output folder, plus the frame page and its event stream."""

    def __init__(self, live: LiveReload, *args: Any, **kwargs: Any) -> None:
        self.live = live
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal is for build results."""

    def do_GET(self) -> None:
        if self.path.startswith(_RELOAD_PREFIX):
            self._frame_page(unquote(self.path.removeprefix(_RELOAD_PREFIX)))
        elif self.path == _EVENTS:
            self._events()
        else:
            super().do_GET()

    def _frame_page(self, relative: str) -> None:
        target = "/" + quote(relative.lstrip("/"))
        body = _FRAME_PAGE.format(title=html.escape(relative), src=html.escape(target)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        """Server-sent events: one ``build`` message per finished build."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = self.live.wait_for_build(-1, 0)
        try:
            while self.live.server.socket.fileno() != -1:
                now = self.live.wait_for_build(seen, 15)
                message = f"event: build\ndata: {now}\n\n" if now > seen else ": keep-alive\n\n"
                self.wfile.write(message.encode())
                self.wfile.flush()
                seen = now
        except (BrokenPipeError, ConnectionResetError, OSError):
            return  # the page was closed or reloaded


_FRAME_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} (live)</title>
<style>html,body,iframe{{margin:0;border:0;width:100%;height:100%;display:block}}</style>
</head><body><iframe id="artifact" src="{src}" title="{title}"></iframe>
<script>
new EventSource("/__events__").addEventListener("build", () => {{
  document.getElementById("artifact").contentWindow.location.reload();
}});
</script></body></html>
"""
