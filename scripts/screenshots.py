"""Screenshots of the study page for the README, taken from a built page in Chromium.

    .venv/bin/deckbuilder build -f html -o /tmp/page
    .venv/bin/python scripts/screenshots.py /tmp/page/nlp-interview-master.html docs/

writes ``study-page-phone.png`` (390 x 844: practice, answer revealed) and
``study-page-desktop.png`` (1280 x 800: reading, a search for "attention", one card open).
``--all`` also writes both views in the other theme and the other view, to look at before a
release. Images are reduced to 64 colours so they stay small in the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def practice(page: Page) -> None:
    page.click("#mode-practice")
    page.click("#practice-begin")
    page.keyboard.press(" ")
    page.evaluate("window.scrollTo(0, 0)")


def reading(page: Page) -> None:
    page.fill("#search", "attention")
    page.locator("#questions .card:not([hidden]) .toggle").nth(1).click()
    page.evaluate("window.scrollTo(0, 0)")


def shoot(page_url: str, out: Path, everything: bool) -> list[Path]:
    shots = [("phone", "light", practice), ("desktop", "light", reading)]
    if everything:
        shots += [
            ("phone", "dark", practice),
            ("desktop", "dark", reading),
            ("phone", "light", reading),
            ("phone", "dark", reading),
            ("desktop", "light", practice),
            ("desktop", "dark", practice),
        ]
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
        )
        for device, scheme, view in shots:
            options = PHONE if device == "phone" else DESKTOP
            context = browser.new_context(color_scheme=scheme, timezone_id="UTC", **options)
            context.route(
                "**/*",
                lambda route: (
                    route.abort() if route.request.url.startswith("http") else route.continue_()
                ),
            )
            page = context.new_page()
            page.goto(page_url)
            view(page)
            page.wait_for_timeout(200)
            name = f"study-page-{device}.png"
            if (device, scheme, view) != (
                device,
                "light",
                practice if device == "phone" else reading,
            ):
                name = f"study-page-{device}-{scheme}-{view.__name__}.png"
            path = out / name
            page.screenshot(path=str(path))
            Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)
            written.append(path)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="the built study page (deckbuilder build -f html)")
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--all", action="store_true", help="also the other themes and views")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in shoot(args.page.resolve().as_uri(), args.out, args.all):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
