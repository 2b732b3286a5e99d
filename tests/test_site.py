"""The project's website (GitHub Pages), laid out offline from a release's dist/ folder by
``scripts/make_site.py``, and the release workflow's job that publishes it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BANKS, ROOT
from deckbuilder.build_context import BuildContext
from deckbuilder.exporters.html import render_page
from deckbuilder.render import render_bank
from deckbuilder.validate import load_valid_bank

REPOSITORY = "someone/nlp-interview-master"
TAG = "v1.2.3"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if values.get("id"):
            self.ids.add(str(values["id"]))


def links(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text("utf-8"))
    return parser


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    dist = tmp_path / "dist"
    dist.mkdir()
    rendered = render_bank(load_valid_bank(BANKS / "valid")[0])
    page = render_page(rendered, BuildContext(output=dist, source_date_epoch=1_700_000_000))
    files = {
        "test-bank.html": page.encode(),
        "test-bank.apkg": b"anki",
        "test-bank-study-guide.pdf": b"%PDF",
        "test-bank-guides.tar.gz": b"\x1f\x8b",
    }
    for name, data in files.items():
        (dist / name).write_bytes(data)
    (dist / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in sorted(files.items()))
    )
    out = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_site.py"), str(dist), str(out),
         "--repository", REPOSITORY, "--tag", TAG],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dist, out


def test_the_site_is_the_page_and_its_downloads(site: tuple[Path, Path]) -> None:
    dist, out = site
    assert sorted(p.name for p in out.iterdir()) == [".nojekyll", "downloads.html", "index.html"]
    index = (out / "index.html").read_text("utf-8")
    page = (dist / "test-bank.html").read_text("utf-8")
    assert "<!-- site-links -->" in page
    # The page itself, unchanged but for the footer's link to the downloads.
    assert index == page.replace(
        "<!-- site-links -->",
        '<p><a href="downloads.html">Downloads: Anki deck, PDFs, Markdown guides</a></p>',
    )


def test_every_link_of_the_site_resolves(site: tuple[Path, Path]) -> None:
    dist, out = site
    base = f"https://github.com/{REPOSITORY}/releases/download/{TAG}/"
    downloads = []
    for name in ("index.html", "downloads.html"):
        found = links(out / name)
        for href in found.hrefs:
            if href.startswith("#"):
                assert href[1:] in found.ids, f"{name}: {href}"
            elif href.startswith(base):
                downloads.append(href[len(base) :])
            elif not re.match(r"https?://", href):
                assert (out / href).is_file(), f"{name}: {href}"
    released = [line[66:] for line in (dist / "SHA256SUMS").read_text().splitlines()]
    assert sorted(downloads) == sorted([*released, "SHA256SUMS"])


def test_a_site_needs_the_page_marker(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "x.html").write_text("<title>x</title>")
    (dist / "SHA256SUMS").write_text("")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_site.py"), str(dist), str(tmp_path / "s"),
         "--repository", REPOSITORY, "--tag", TAG],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "site-links" in result.stderr


def _release() -> Any:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8"))


def test_the_pages_job_deploys_with_the_official_actions_and_runs_no_project_code() -> None:
    jobs = _release()["jobs"]
    build, pages = jobs["build"], jobs["pages"]
    assert "permissions" not in build  # the workflow's contents: read
    layout = next(s for s in build["steps"] if "make_site.py" in s.get("run", ""))
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert build["steps"].index(layout) < build["steps"].index(upload)
    assert upload["with"]["path"] == "site/"
    assert pages["permissions"] == {"pages": "write", "id-token": "write"}
    assert pages["needs"] == ["build", "publish"]
    assert pages["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in pages["steps"]] == [
        "actions/configure-pages",
        "actions/deploy-pages",
    ]
    assert all("run" not in step for step in pages["steps"])
    # Pre-releases neither lay out nor publish the site.
    for condition in (layout["if"], upload["if"], pages["if"]):
        assert condition == "${{ !contains(github.ref_name, '-') }}"


def test_the_readme_shows_a_phone_and_a_desktop_screenshot_of_the_page() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in ("study-page-phone.png", "study-page-desktop.png"):
        assert f"](docs/{name})" in readme
        assert (ROOT / "docs" / name).stat().st_size < 200_000
        assert name.split(".")[0].removeprefix("study-page-") in (
            ROOT / "scripts" / "screenshots.py"
        ).read_text("utf-8")
