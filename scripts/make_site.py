"""Lay out the project's website (GitHub Pages) from a release's dist/ folder.

    python scripts/make_site.py DIST SITE --repository OWNER/NAME --tag vX.Y.Z

The site is the study page as ``index.html`` and ``downloads.html``, which links every file
of the release (as listed in ``DIST/SHA256SUMS``) to its download on the GitHub release, with
its checksum. The study page gets one link to the downloads in its footer. Nothing here
fetches anything; ``tests/test_site.py`` builds a site offline and resolves its links.
"""

from __future__ import annotations

import argparse
import html
import shutil
import sys
from pathlib import Path

#: The comment the page template leaves in its footer for the site's own links.
SITE_LINKS = "<!-- site-links -->"

#: What each kind of release file is, for the downloads page.
KINDS = (
    (".apkg", "Anki deck: import it into Anki, AnkiDroid or AnkiMobile"),
    ("-study-guide.pdf", "Study guide (PDF)"),
    ("-cheat-sheet.pdf", "Cheat sheet (PDF)"),
    ("-guides.tar.gz", "Markdown study guides (archive)"),
    (".html", "Offline study page: save it and open it without a network"),
)


def describe(name: str) -> str:
    for suffix, text in KINDS:
        if name.endswith(suffix):
            return text
    return "Release file"


def release_files(dist: Path) -> list[tuple[str, str]]:
    """(file name, sha256) for every file the release publishes, from SHA256SUMS."""
    files = []
    for line in (dist / "SHA256SUMS").read_text("utf-8").splitlines():
        digest, name = line[:64], line[66:]
        if not (dist / name).is_file():
            raise SystemExit(f"{dist}/SHA256SUMS lists {name}, which is not in {dist}")
        files.append((name, digest))
    files.append(("SHA256SUMS", ""))
    return files


def downloads_page(title: str, repository: str, tag: str, files: list[tuple[str, str]]) -> str:
    base = f"https://github.com/{repository}/releases/download/{tag}/"
    rows = "\n".join(
        f'<li><a href="{html.escape(base + name)}">{html.escape(name)}</a>'
        f" &ndash; {html.escape(describe(name))}"
        + (f"<br><code>sha256 {digest}</code>" if digest else "")
        + "</li>"
        for name, digest in files
    )
    release = f"https://github.com/{repository}/releases/tag/{tag}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Downloads &ndash; {html.escape(title)} {html.escape(tag)}</title>
<style>
body {{ max-width: 44rem; margin: 0 auto; padding: 1rem; font: 1rem/1.6 system-ui, sans-serif; }}
li {{ margin: 0.6rem 0; overflow-wrap: anywhere; }}
code {{ font-size: 0.8rem; }}
</style>
</head>
<body>
<h1>Downloads: {html.escape(title)} {html.escape(tag)}</h1>
<p><a href="index.html">Study online</a> · <a href="{html.escape(release)}">Release notes</a></p>
<ul>
{rows}
</ul>
<p>Check a download with <code>sha256sum --check --ignore-missing SHA256SUMS</code>.</p>
</body>
</html>
"""


def make_site(dist: Path, site: Path, repository: str, tag: str) -> None:
    pages = sorted(p for p in dist.glob("*.html"))
    if len(pages) != 1:
        raise SystemExit(f"{dist} must hold exactly one study page (*.html), found {len(pages)}")
    page = pages[0].read_text("utf-8")
    if SITE_LINKS not in page:
        raise SystemExit(f"{pages[0]} has no {SITE_LINKS} marker in its footer")
    title = html.unescape(page.split("<title>", 1)[1].split("</title>", 1)[0])
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    link = '<p><a href="downloads.html">Downloads: Anki deck, PDFs, Markdown guides</a></p>'
    (site / "index.html").write_text(page.replace(SITE_LINKS, link, 1), "utf-8")
    (site / "downloads.html").write_text(
        downloads_page(title, repository, tag, release_files(dist)), "utf-8"
    )
    (site / ".nojekyll").write_text("", "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dist", type=Path)
    parser.add_argument("site", type=Path)
    parser.add_argument("--repository", required=True, help="OWNER/NAME on GitHub")
    parser.add_argument("--tag", required=True, help="the release's tag, e.g. v0.2.0")
    args = parser.parse_args(argv)
    make_site(args.dist, args.site, args.repository, args.tag)
    print(f"site in {args.site}: {', '.join(sorted(p.name for p in args.site.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
