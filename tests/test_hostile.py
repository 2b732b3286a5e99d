"""Hostile banks: what a stranger's pull request may hold, and what must come out of it.

Each bank is written into ``tmp_path`` from the valid fixture's manifest and one question
file, so a case reads top to bottom. Every case asserts the exact diagnostic, or that no
executable content reaches an artifact, read the way a learner's tools read it: the ``.apkg``
through Anki's backend, the guides through a CommonMark parser, the page in Chromium and the
PDFs with pypdf. No command may print a traceback for any of them.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from markdown_it import MarkdownIt
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from conftest import VALID_BANK
from deckbuilder.cli import main
from deckbuilder.contentcache import ENVIRONMENT_VARIABLE
from deckbuilder.errors import Location, error
from deckbuilder.render import resanitised, sanitise
from deckbuilder.rules import is_registered

QUESTION = """\
  - id: {id}
    question: {question}
    level: beginner
    categories: [nlp-fundamentals]
    answer: {answer}
    explanation: |
{explanation}
"""


def question(
    id: str = "hostile",
    *,
    question: str = "What does this hostile question hold?",
    answer: str = "Something a reviewer should catch.",
    explanation: str = "A long enough explanation of what the question holds.",
) -> str:
    body = "\n".join("      " + line if line else "" for line in explanation.splitlines())
    return QUESTION.format(id=id, question=question, answer=answer, explanation=body)


def make_bank(root: Path, *questions: str, files: dict[str, bytes] | None = None) -> Path:
    """A bank folder: the valid fixture's bank.yaml and ``topic/q.yaml`` with ``questions``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(VALID_BANK / "bank.yaml", root / "bank.yaml")
    (root / "topic").mkdir(exist_ok=True)
    text = "questions:\n" + "".join(questions or (question(),))
    (root / "topic" / "q.yaml").write_text(text, "utf-8")
    for name, data in (files or {}).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def run(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def problems(runner: CliRunner, bank: Path, *extra: str) -> list[str]:
    """The diagnostics of ``validate`` run inside the bank, as FILE:LINE:COL lines."""
    here = Path.cwd()
    os.chdir(bank)
    try:
        result = run(runner, "validate", "--bank", ".", *extra)
    finally:
        os.chdir(here)
    lines = result.stderr.splitlines()[:-1]
    for line in lines:  # every diagnostic names a registered rule
        assert is_registered(line.rsplit("[", 1)[1].rstrip("]")), line
    return lines


# --- 1. the PDF build fetches nothing ------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 (shared on purpose: the test reads it)

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write((VALID_BANK.parent / "html-hostile" / "topic" / "red.png").read_bytes())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request it receives."""
    _Recorder.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.requests
    httpd.shutdown()
    httpd.server_close()


def svg(body: str, extra: str = "") -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        f' width="20" height="20"{extra}>{body}<rect width="20" height="20" fill="red"/></svg>'
    ).encode()


def image_question(name: str) -> str:
    return question(explanation=f"A diagram:\n\n![diagram]({name})\n\nThat is the whole of it.")


def test_svg_that_fetches_is_a_located_validate_error(
    tmp_path: Path, runner: CliRunner, server: tuple[str, list[str]]
) -> None:
    url, _requests = server
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"secret")
    bank = make_bank(
        tmp_path / "bank",
        image_question("a.svg"),
        question(
            "b",
            question="Which file is b?",
            explanation="![b](b.svg)\n\nText enough here to explain it.",
        ),
        question(
            "c",
            question="Is the PNG named c really an image?",
            explanation="![c](c.png)\n\nText enough here to explain it.",
        ),
        files={
            "topic/a.svg": svg(f'<image href="{url}/a.png" width="5" height="5"/>'),
            "topic/b.svg": svg(f'<image xlink:href="file://{outside}"/><script>alert(1)</script>'),
            # SVG content under a .png name: renderers sniff, so it is checked all the same
            "topic/c.png": svg(
                '<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p></foreignObject>',
                f' onload="alert(1)" style="fill:url({url}/f)"',
            ),
        },
    )
    assert problems(runner, bank) == [
        f"topic/q.yaml:10:7: error: image 'a.svg': SVG <image> refers to '{url}/a.png';"
        " only #fragments and data: images are allowed [media-unsafe]",
        # the message shows a reference's first 80 characters
        f"topic/q.yaml:19:7: error: image 'b.svg': SVG <image> refers to"
        f" {f'file://{outside}'[:80]!r}; only #fragments and data: images are allowed"
        " [media-unsafe]",
        "topic/q.yaml:19:7: error: image 'b.svg': SVG contains <script>, which runs code or"
        " embeds another document [media-unsafe]",
        "topic/q.yaml:28:7: error: image 'c.png': SVG contains <foreignobject>, which runs code"
        " or embeds another document [media-unsafe]",
        "topic/q.yaml:28:7: error: image 'c.png': SVG has an event attribute onload= on <svg>"
        " [media-unsafe]",
        f"topic/q.yaml:28:7: error: image 'c.png': SVG the style= of <svg> refers to"
        f" url({url}/f); only url(#id) is allowed [media-unsafe]",
    ]


@pytest.mark.parametrize("reference", ["http", "file"])
def test_pdf_build_refuses_every_fetch_and_names_the_question(
    tmp_path: Path,
    runner: CliRunner,
    server: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    reference: str,
) -> None:
    """Even when validation lets an SVG through, the layout fetches nothing and stops."""
    url, requests = server
    outside = tmp_path / "outside.png"
    shutil.copy(VALID_BANK.parent / "html-hostile" / "topic" / "red.png", outside)
    href = f"{url}/leak.png" if reference == "http" else outside.as_uri()
    bank = make_bank(
        tmp_path / "bank",
        image_question("a.svg"),
        files={"topic/a.svg": svg(f'<image href="{href}" width="5" height="5"/>')},
    )
    monkeypatch.setattr("deckbuilder.rules.media.unsafe_svg", lambda path: iter(()))
    # A cache of its own: the verdict this patched check gives must reach no other test.
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "dist"
    result = run(runner, "build", "--bank", str(bank), "-o", str(out), "-f", "pdf", "-j", "1")
    assert result.exit_code == 1
    assert f"question 'hostile' ({bank / 'topic' / 'q.yaml'}:2:5) asks for {href!r}" in (
        result.stderr
    )
    assert "nothing outside the bank is fetched" in result.stderr
    assert requests == []
    assert not list(out.glob("*.pdf"))


def test_a_clean_svg_is_laid_out_without_any_request(
    tmp_path: Path,
    runner: CliRunner,
    server: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _url, requests = server
    bank = make_bank(
        tmp_path / "bank",
        image_question("a.svg"),
        files={
            "topic/a.svg": svg('<use href="#r"/><defs><rect id="r" width="1" height="1"/></defs>')
        },
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "dist"
    result = run(runner, "build", "--bank", str(bank), "-o", str(out), "-f", "pdf", "-j", "1")
    assert result.exit_code == 0, result.stderr
    reader = PdfReader(out / "test-bank-study-guide.pdf")
    assert "A diagram:" in "".join(page.extract_text() for page in reader.pages)
    assert requests == []


# --- 2. sanitising at the boundary ---------------------------------------------------------

HOSTILE_HTML = (
    '<script>alert(1)</script><img src="x" onerror="alert(2)">'
    '<span class="card visually-hidden" id="progress">hidden</span>'
    '<a href="javascript:alert(3)" class="learned">link</a>'
)


def test_classes_and_ids_from_content_are_dropped_ours_kept() -> None:
    cleaned = sanitise(
        '<span class="card visually-hidden" id="x">a</span>'
        '<div class="highlight"><pre><span class="k">def</span></pre></div>'
        '<span class="math math-inline">x</span>'
    )
    assert cleaned == (
        "<span>a</span>"
        '<div class="highlight"><pre><span class="k">def</span></pre></div>'
        '<span class="math math-inline">x</span>'
    )


def _poison(cache: Path) -> int:
    """Put hostile HTML into every cached rendering, as a committed cache could."""
    poisoned = 0
    for entry in cache.glob("??/*"):
        text = entry.read_text("utf-8", errors="replace")
        if '"answer_html"' in text:
            entry.write_text(
                re.sub(
                    r'"answer_html": "', '"answer_html": "' + HOSTILE_HTML.replace('"', '\\"'), text
                ),
                "utf-8",
            )
            poisoned += 1
    return poisoned


def _assert_inert(html: str) -> None:
    """None of HOSTILE_HTML's payloads is live (its text may stay, as text)."""
    lowered = html.lower()
    for needle in ("alert(", "onerror", "javascript:", "visually-hidden", 'id="progress"'):
        assert needle not in lowered, needle
    assert '<span class="card' not in lowered


def _apkg_fields(apkg: Path, tmp_path: Path) -> list[str]:
    """Every field of every note, read with Anki's own backend."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    folder = tmp_path / "profile"
    folder.mkdir(exist_ok=True)
    col = Collection(str(folder / "collection.anki2"))
    try:
        col.import_anki_package(
            ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
        )
        return [field for nid in col.find_notes("") for field in col.get_note(nid).fields]
    finally:
        col.close()


def test_a_poisoned_content_cache_reaches_no_artifact(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(cache))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    bank = make_bank(tmp_path / "bank")
    out = tmp_path / "dist"
    first = run(runner, "build", "--bank", str(bank), "-o", str(out), "-f", "anki", "-f", "html")
    assert first.exit_code == 0, first.stderr
    assert _poison(cache) >= 1
    assert run(runner, "validate", "--bank", str(bank), "--strict").exit_code == 0
    shutil.rmtree(out)
    second = run(runner, "build", "--bank", str(bank), "-o", str(out), "-f", "anki", "-f", "html")
    assert second.exit_code == 0, second.stderr
    assert "0 rendered now" in second.stderr  # the poisoned entries were read, not rebuilt
    for field in _apkg_fields(out / "test-bank.apkg", tmp_path):
        _assert_inert(field)
    page = (out / "test-bank.html").read_text("utf-8")
    body = page[page.index("<main") : page.rindex("</main>")]  # the page's own scripts follow
    _assert_inert(body)
    assert page.count("<script") == 2  # the page's script and the scheduler; nothing injected
    assert "hidden" in body  # the text stays, as text


def test_cached_media_outside_the_bank_is_a_miss(tmp_path: Path) -> None:
    from deckbuilder.render import _from_cached
    from deckbuilder.validate import load_valid_bank

    bank_dir = make_bank(tmp_path / "bank")
    bank, _ = load_valid_bank(bank_dir)
    entry = {
        "question_html": "q", "answer_html": "a", "explanation_html": "e",
        "follow_ups_html": [], "pitfalls_html": [], "code_html": None, "has_math": False,
        "media": [["../../../../etc/passwd", "dbm-000000000000-passwd.png"]],
    }  # fmt: skip
    assert _from_cached(bank.questions[0], bank_dir, entry) is None


def test_resanitised_keeps_only_the_questions_own_media(tmp_path: Path) -> None:
    from deckbuilder.render import render_bank
    from deckbuilder.validate import load_valid_bank

    rendered = render_bank(load_valid_bank(make_bank(tmp_path / "bank"))[0]).questions[0]
    import dataclasses

    tampered = dataclasses.replace(
        rendered, answer_html='<img src="dbm-aaaaaaaaaaaa-x.png"><img src="file:///etc/passwd">'
    )
    assert resanitised(tampered).answer_html == "<img><img>"


# --- 3. one CommonMark parse: links, images and HTML of every syntax ------------------------

LINKS = """\
Reference link [x][e] and an autolink <javascript:alert(1)>.

Nested [a [b] c](javascript:alert(2)) and [entity](jav&#x61;script:alert(3)).

A URL with )[ inside [ok](https://example.org/a)[bad](vbscript:msgbox).

Reference image ![r][remote] and ![u][up].

[e]: javascript:alert(4)
[remote]: http://example.org/x.png
[up]: ../../outside.png
"""


def test_links_and_images_of_every_syntax_are_checked(tmp_path: Path, runner: CliRunner) -> None:
    bank = make_bank(tmp_path / "bank", question(explanation=LINKS))
    assert problems(runner, bank) == [
        "topic/q.yaml:8:7: error: link 'javascript:alert(1)' must be an http(s) URL [link-scheme]",
        "topic/q.yaml:8:7: error: link 'javascript:alert(4)' must be an http(s) URL [link-scheme]",
        "topic/q.yaml:10:7: error: link 'jav&#x61;script:alert(3)' must be an http(s) URL"
        " [link-scheme]",
        "topic/q.yaml:10:7: error: link 'javascript:alert(2)' must be an http(s) URL [link-scheme]",
        "topic/q.yaml:12:7: error: link 'vbscript:msgbox' must be an http(s) URL [link-scheme]",
        "topic/q.yaml:14:7: error: image '../../outside.png' points outside the bank folder;"
        " keep images inside it [media-outside-bank]",
        "topic/q.yaml:14:7: error: image 'http://example.org/x.png' must be a file inside"
        " questions/, not a URL (decks and PDFs must work offline) [remote-media]",
    ]


RAW_HTML = """\
Escaped backticks \\`<img src=x onerror=alert(1)>\\` are not code.

```js <b>not a fence`
<img src=y onerror=alert(2)>

<div onclick="alert(3)">
a block
</div>

Code `<script>kept as code</script>` stays code, and so does

```
<script>in a fence</script>
```
"""


#: The raw HTML the guide template writes itself (a collapsed answer on GitHub).
#: The guides' own HTML: the short answer's <details>, the explanation's nested in it.
GUIDE_OWN_HTML = {
    "<details>\n<summary>Short answer</summary>\n",
    "<details>\n<summary>Explanation</summary>\n",
    "</details>\n</details>\n",
}


def _guide_problems(text: str) -> list[str]:
    """What a CommonMark renderer (GitHub's kind) would make live in a guide."""
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    found = []
    for token in md.parse(text):
        if token.type == "html_block" and token.content not in GUIDE_OWN_HTML:
            found.append(token.content)
        for child in token.children or []:
            if child.type == "html_inline":
                found.append(child.content)
            href = str(child.attrGet("href") or child.attrGet("src") or "")
            if child.type == "link_open" and not re.match(r"^(https?:|mailto:|#|[\w-]+\.md)", href):
                found.append(href)
            if child.type == "image" and not href.startswith("media/"):
                found.append(href)
    return found


def test_guides_write_raw_html_as_text(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = make_bank(
        tmp_path / "bank",
        question(
            question="Is <b onmouseover=alert(5)>this</b> bold?",
            explanation=RAW_HTML,
        )
        + "    references:\n"
        + "      - title: <img src=x onerror=alert(7)> [a](javascript:alert(9))\n"
        + "        url: https://example.org/a)<img/src=y/onerror=alert(8)>\n",
    )
    bank_yaml = bank / "bank.yaml"
    bank_yaml.write_text(
        bank_yaml.read_text("utf-8").replace(
            "A small bank for the test suite.", "'A bank with <img src=z onerror=alert(6)>.'"
        ),
        "utf-8",
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "dist"
    result = run(runner, "build", "--bank", str(bank), "-o", str(out), "-f", "markdown")
    assert result.exit_code == 0, result.stderr
    guides = sorted((out / "guides").glob("*.md"))
    assert guides
    for guide in guides:
        assert _guide_problems(guide.read_text("utf-8")) == [], guide.name
    text = (out / "guides" / "1-beginner.md").read_text("utf-8")
    assert "`<script>kept as code</script>`" in text
    assert "<script>in a fence</script>" in text
    assert "&lt;img src=y onerror=alert(2)>" in text


def test_bank_yaml_texts_are_plain_text(tmp_path: Path, runner: CliRunner) -> None:
    bank = make_bank(tmp_path / "bank")
    manifest = bank / "bank.yaml"
    manifest.write_text(
        manifest.read_text("utf-8")
        .replace("A small bank for the test suite.", "'Hi <img src=x onerror=alert(1)>'")
        .replace("name: Beginner", "name: <b class=card>Beginner</b>")
        .replace("license: CC0-1.0", "license: CC0-1.0\nhomepage: javascript:alert(2)"),
        "utf-8",
    )
    assert problems(runner, bank, "--strict") == [
        "bank.yaml:3:14: warning: description holds an HTML tag; bank.yaml's texts are plain text"
        " (write '< ' with a space, or leave the tag out) [markup-in-text]",
        "bank.yaml:7:11: warning: homepage 'javascript:alert(2)' is not an http(s) URL; the"
        " exporters leave it out [homepage-scheme]",
        "bank.yaml:10:11: warning: levels[0].name holds an HTML tag; bank.yaml's texts are plain"
        " text (write '< ' with a space, or leave the tag out) [markup-in-text]",
    ]


def test_guides_drop_links_and_images_validation_would_refuse(tmp_path: Path) -> None:
    """Defence in depth: the guides are safe even for a bank that skipped validation."""
    from deckbuilder.exporters.markdown import _safe_markdown
    from deckbuilder.validate import load_valid_bank

    bank_dir = make_bank(tmp_path / "bank")
    q = load_valid_bank(bank_dir)[0].questions[0]
    copied: dict[str, Path] = {}
    safe = _safe_markdown(LINKS + "\n" + RAW_HTML, q, bank_dir, copied)
    assert _guide_problems(safe) == []
    assert "[ok](https://example.org/a)" in safe
    assert copied == {}


# --- linear-time validation ------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["[a](", "![a](", "<a ", "[[[[a]]", "\\(a", "> [a]("])
def test_pathological_markdown_is_refused_before_it_is_parsed(
    tmp_path: Path, runner: CliRunner, unit: str
) -> None:
    explanation = "Enough plain words to explain the answer at length. " + unit * 20_000
    bank = make_bank(tmp_path / "bank", question(explanation=explanation))
    [line] = problems(runner, bank)
    assert line.startswith("topic/q.yaml:8:7: error: explanation: too many '[', '<', '$', '*', '_'")
    assert "at most 5 per field" in line
    assert line.endswith("[markdown-complex]")


# --- 4. only regular files ---------------------------------------------------------------------


def test_only_regular_files_inside_the_bank_are_read(tmp_path: Path, runner: CliRunner) -> None:
    bank = make_bank(tmp_path / "bank")
    outside = tmp_path / "outside.yaml"
    outside.write_text((bank / "topic" / "q.yaml").read_text("utf-8"), "utf-8")
    (bank / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(bank / "fifo.yaml")
    (bank / "folder.yaml").mkdir()
    (bank / "loop.yaml").symlink_to(bank / "loop.yaml")
    (bank / "escape.yaml").symlink_to(outside)
    (bank / "SHOUT.YAML").write_text("questions: []\n", "utf-8")
    (bank / "other.Yml").write_text("questions: []\n", "utf-8")
    assert problems(runner, bank) == [
        "SHOUT.YAML:1:1: warning: SHOUT.YAML is not read: only files ending in lower-case .yaml"
        " are question files; rename it [skipped-file]",
        "escape.yaml:1:1: error: symbolic link points outside the bank folder; copy the file"
        " into it [not-a-regular-file]",
        "fifo.yaml:1:1: error: fifo.yaml is a FIFO (named pipe), not a YAML file"
        " [not-a-regular-file]",
        "folder.yaml:1:1: error: folder.yaml is a folder, not a YAML file [not-a-regular-file]",
        "loop.yaml:1:1: error: symbolic link loop [not-a-regular-file]",
        "other.Yml:1:1: warning: other.Yml is not read: only files ending in lower-case .yaml"
        " are question files; rename it [skipped-file]",
        "zero.yaml:1:1: error: symbolic link points outside the bank folder; copy the file"
        " into it [not-a-regular-file]",
    ]


def test_a_device_named_yaml_is_not_read(tmp_path: Path, runner: CliRunner) -> None:
    bank = make_bank(tmp_path / "bank")
    try:
        os.mknod(bank / "zero.yaml", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("no permission to make a device node here")
    assert problems(runner, bank) == [
        "zero.yaml:1:1: error: zero.yaml is a device, not a YAML file [not-a-regular-file]"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_named(tmp_path: Path, runner: CliRunner) -> None:
    bank = make_bank(tmp_path / "bank")
    (bank / "topic" / "q.yaml").chmod(0)
    try:
        assert problems(runner, bank) == [
            "topic/q.yaml:1:1: error: cannot read file: Permission denied [unreadable]"
        ]
    finally:
        (bank / "topic" / "q.yaml").chmod(0o644)


# --- 5. GitHub annotations ----------------------------------------------------------------------


def test_annotations_cannot_be_forged_by_a_file_name(tmp_path: Path, runner: CliRunner) -> None:
    bank = make_bank(tmp_path / "bank")
    name = "a,title=x:y\n::warning file=z::forged\n::stop-commands::t.yaml"
    (bank / "topic" / name).write_text("questions: [\n", "utf-8")
    here = Path.cwd()
    os.chdir(bank)
    try:
        result = run(runner, "validate", "--bank", ".", "--format", "github")
    finally:
        os.chdir(here)
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "::error file=topic/a%2Ctitle=x%3Ay%0A%3A%3Awarning file=z%3A%3Aforged%0A%3A%3A"
        "stop-commands%3A%3At.yaml,line=2,col=1,title=yaml-syntax::"
    )
    assert error(Location(Path("x")), "r", "50% done\r\n::x").format_github(Path(".")) == (
        "::error file=x,line=1,col=1,title=r::50%25 done%0D%0A::x"
    )


# --- 6. errors, not tracebacks ---------------------------------------------------------------


def test_empty_and_missing_banks_are_messages(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (tmp_path / "empty").mkdir()
    for bank in (tmp_path / "empty", tmp_path / "missing"):
        result = run(runner, "build", "--bank", str(bank), "-o", str(tmp_path / "dist"))
        assert result.exit_code == 1
        assert f"{bank / 'bank.yaml'}:1:1: error: no bank.yaml in {bank} [missing-manifest]" in (
            result.stderr
        )


def test_an_overlong_bank_path_is_a_usage_error(tmp_path: Path, runner: CliRunner) -> None:
    for command in ("validate", "build", "stats"):
        result = run(runner, command, "--bank", "x" * 5000)
        assert result.exit_code == 2
        assert "File name too long" in result.stderr


@pytest.mark.parametrize("epoch", ["99999999999", "-5"])
def test_source_date_epoch_out_of_range(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, epoch: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    result = run(
        runner, "build", "--bank", str(make_bank(tmp_path / "bank")), "-o", str(tmp_path / "d")
    )
    assert result.exit_code == 1
    assert f"SOURCE_DATE_EPOCH={epoch} is outside 0..4354819199" in result.stderr


@pytest.mark.parametrize("inside", ["", "dist"])
def test_output_in_the_bank_is_refused(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    bank = make_bank(tmp_path / "bank")
    result = run(runner, "build", "--bank", str(bank), "-o", str(bank / inside), "-f", "markdown")
    assert result.exit_code == 2
    assert "is inside the bank folder" in result.stderr
    assert sorted(p.name for p in bank.iterdir()) == ["bank.yaml", "topic"]


# --- class attributes from content, in the page (Chromium) and the PDF (pypdf) -----------------

CLASSES = """\
<span class="card" data-id="fake">A fake card</span> and
<span class="visually-hidden">hidden words</span> and <b id="count">a fake counter</b>
and <a href="javascript:alert(1)">a script link</a> and <a href="https://example.org/">one</a>.
"""


def test_content_classes_do_not_break_the_page_or_hide_text(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, browser: Browser
) -> None:
    bank = make_bank(
        tmp_path / "bank",
        question(explanation=CLASSES),
        question("second", question="What is the second question?", answer="Two."),
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "dist"
    result = run(runner, "build", "--bank", str(bank), "-o", str(out), "-f", "html", "-f", "pdf")
    assert result.exit_code == 0, result.stderr
    context = browser.new_context()
    context.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((out / "test-bank.html").as_uri())
    try:
        assert page.eval_on_selector_all(".card", "cards => cards.map(c => c.id)") == [
            "q-hostile",
            "q-second",
        ]  # a content class="card" is dropped: only the two real cards carry it
        page.fill("input[type=search]", "second")
        expect(page.locator("#count")).to_have_text("Showing 1 of 2")  # the script still works
        assert page.locator(".visually-hidden", has_text="hidden words").count() == 0
        assert errors == []
    finally:
        context.close()
    for name in ("test-bank-study-guide.pdf", "test-bank-cheat-sheet.pdf"):
        reader = PdfReader(out / name)
        uris = []
        for page in reader.pages:
            for annotation in page.get("/Annots") or []:
                action = annotation.get_object().get("/A") or {}
                assert action.get("/S") != "/JavaScript"
                if "/URI" in action:
                    uris.append(str(action["/URI"]))
        assert all(uri.startswith(("https://", "http://")) for uri in uris), uris
        assert "/JavaScript" not in str(reader.trailer["/Root"].get("/Names") or {})
    text = "".join(p.extract_text() for p in PdfReader(out / "test-bank-study-guide.pdf").pages)
    assert "hidden words" in " ".join(text.split())
    assert "https://example.org/" in [
        str(a.get_object()["/A"]["/URI"])
        for p in PdfReader(out / "test-bank-study-guide.pdf").pages
        for a in p.get("/Annots") or []
        if "/URI" in (a.get_object().get("/A") or {})
    ]


def test_the_parse_cost_of_one_file_is_bounded(tmp_path: Path, runner: CliRunner) -> None:
    """Fields each under the per-field bound still cost quadratic time: each file has a budget."""
    from deckbuilder.rules.markdown import (
        MAX_PARSE_COST_PER_FIELD,
        MAX_PARSE_COST_PER_FILE,
        parse_cost,
    )

    text = "Enough plain words to explain the answer at length. " + "[a](" * 340
    assert parse_cost(text + "\n") <= MAX_PARSE_COST_PER_FIELD
    fits = MAX_PARSE_COST_PER_FILE // parse_cost(text + "\n")
    questions = [
        question(f"q{n}", question=f"What is hostile question {n}?", explanation=text)
        for n in range(fits + 2)
    ]
    bank = make_bank(tmp_path / "bank", *questions)
    refused = [line for line in problems(runner, bank) if "[markdown-complex]" in line]
    assert [line.split(": ", 1)[0] for line in refused] == [
        f"topic/q.yaml:{8 + 7 * n}:7" for n in (fits, fits + 1)
    ]
    assert refused[0].endswith(
        "error: explanation: this file's Markdown is over 50 million parse units; this field"
        " is not parsed (split the file) [markdown-complex]"
    )
