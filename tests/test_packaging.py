"""The wheel carries everything an installed deckbuilder reads at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT


def test_wheel_ships_styles_schemas_templates_and_assets(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("deckbuilder-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for style in sorted((ROOT / "styles").glob("*.css")):
        assert f"deckbuilder/styles/{style.name}" in names
    for required in (
        "deckbuilder/schema/questions.schema.json",
        "deckbuilder/schema/bank.schema.json",
        "deckbuilder/templates/markdown/guide.md.j2",
        "deckbuilder/templates/pdf/study-guide.html.j2",
        "deckbuilder/assets/html.js",
        "deckbuilder/assets/vendor/ts-fsrs/ts-fsrs.umd.js",
        "deckbuilder/assets/vendor/ts-fsrs/LICENSE",
        "deckbuilder/assets/vendor/ts-fsrs/VERSION",
    ):
        assert required in names, required

    # Installed (unpacked) without the repository around it, the package finds its styles
    # inside itself, not in a source checkout.
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = "from deckbuilder.resources import packaged_styles_dir as p; print(p())"
    found = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    assert Path(found) == unpacked / "deckbuilder" / "styles"
