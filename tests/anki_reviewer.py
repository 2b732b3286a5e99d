"""Cards as Anki's desktop reviewer shows them, in headless Chromium.

Anki's own web assets (``_aqt/data/web``: ``webview.css``, ``reviewer.css``, ``reviewer.js``
and the bundled MathJax 3) come from the ``aqt`` wheel, which ``scripts/bootstrap.sh test``
installs without its Qt dependencies: nothing of aqt is imported. The page is the one
``aqt.reviewer.Reviewer`` builds (``<div id="qa">``); cards are shown with reviewer.js's own
``_showQuestion``/``_showAnswer``, which insert the HTML, run the template's scripts and
typeset the math with MathJax exactly as Anki does. Requests to ``/_anki/`` are answered
from the installed files by a Playwright route, so nothing touches the network.
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
from pathlib import Path

from playwright.sync_api import Browser, Page, Route

NIGHT = "nightMode night_mode"
_ORIGIN = "http://anki.invalid"


def anki_web_folder() -> Path:
    """``_aqt/data/web`` of the installed aqt wheel (fails loudly when it is missing)."""
    spec = importlib.util.find_spec("_aqt")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Anki's web assets are missing: run scripts/bootstrap.sh test")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "web"


def _reviewer_html(css: str) -> str:
    """The reviewer page (``Reviewer.revHtml`` inside ``AnkiWebView.stdHtml``) plus the
    note type's CSS, which Anki puts in a ``<style>`` before the card."""
    return (
        '<!doctype html><html class="" dir="ltr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/_anki/css/webview.css">'
        '<link rel="stylesheet" href="/_anki/css/reviewer.css">'
        f"<style>{css}</style></head>"
        '<body class="card card1"><script>window.pycmd = window.bridgeCommand = () => {};</script>'
        '<script src="/_anki/js/reviewer.js"></script>'
        '<div id="_mark" hidden>&#x2605;</div><div id="_flag" hidden>&#x2691;</div>'
        '<div id="qa" dir="auto"></div></body></html>'
    )


class Reviewer:
    """One reviewer web view at a given size; :meth:`show` puts a card on it."""

    def __init__(self, browser: Browser, css: str, width: int = 390, height: int = 844) -> None:
        self.page: Page = browser.new_page(viewport={"width": width, "height": height})
        web = anki_web_folder()
        page_html = _reviewer_html(css)

        def serve(route: Route) -> None:
            path = route.request.url.removeprefix(_ORIGIN)
            if path == "/reviewer.html":
                route.fulfill(body=page_html, content_type="text/html")
                return
            local = web / path.removeprefix("/_anki/")
            if path.startswith("/_anki/") and local.is_file():
                kind = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
                route.fulfill(body=local.read_bytes(), content_type=kind)
            else:
                route.fulfill(status=404, body="")

        self.page.route(f"{_ORIGIN}/**", serve)
        self.page.goto(f"{_ORIGIN}/reviewer.html")

    def show(self, question: str, answer: str, body_class: str = "", side: str = "answer") -> Page:
        """Show a card's question, then (``side="answer"``) its answer, and wait for MathJax."""
        classes = f"card card1 {body_class}".strip()
        # Anki's night mode also marks the document (AnkiWebView.stdHtml), which switches
        # its theme variables (--canvas, --fg) to dark.
        night = "nightMode" in body_class or "night_mode" in body_class
        self.page.evaluate(
            f"document.documentElement.classList.toggle('night-mode', {json.dumps(night)})"
        )
        self._settle(
            f"_showQuestion({json.dumps(question)}, {json.dumps(answer)}, {json.dumps(classes)})"
        )
        if side == "answer":
            self._settle(f"_showAnswer({json.dumps(answer)}, {json.dumps(classes)})")
        return self.page

    def _settle(self, call: str) -> None:
        # reviewer.js keeps #qa at opacity 0 until the HTML is in and MathJax has typeset it;
        # emptying it first makes "opacity 1 with content" mean this call has finished.
        self.page.evaluate(
            "() => { const qa = document.getElementById('qa');"
            " qa.innerHTML = ''; qa.style.opacity = '0'; }"
        )
        self.page.evaluate(call)
        self.page.wait_for_function(
            "() => { const qa = document.getElementById('qa');"
            " return qa.style.opacity === '1' && qa.innerHTML !== ''; }"
        )
        self.page.evaluate("() => document.fonts.ready")
        self.page.wait_for_timeout(50)  # one more frame for the template's own scripts

    def close(self) -> None:
        self.page.close()
