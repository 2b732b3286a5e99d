#!/usr/bin/env bash
# Install what deckbuilder needs on a fresh Debian/Ubuntu machine; safe to run again.
#
#   scripts/bootstrap.sh build   system libraries for WeasyPrint + .venv with deckbuilder
#   scripts/bootstrap.sh test    the above + Chromium, poppler-utils and the test/code extras
#
# The venv is only re-installed when pyproject.toml changed since the last run.
set -euo pipefail
mode=${1:-build}
cd "$(dirname "$0")/.."

# WeasyPrint needs Pango; libharfbuzz-subset0 makes font subsetting fast and reproducible.
# bubblewrap is the sandbox `deckbuilder check-code` runs every code check in.
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-dejavu-extra fonts-droid-fallback fonts-lohit-deva bubblewrap)
if [ "$mode" = test ]; then
  # pdftoppm (poppler-utils) renders PDF pages; Chromium drives the browser tests.
  packages+=(poppler-utils chromium)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bootstrap: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
extras=""
[ "$mode" = test ] && extras="[test,code]"
stamp=".venv/.deckbuilder-$mode-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing deckbuilder$extras into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  if [ "$mode" = test ]; then
    # The code answers need CPU PyTorch; pin the CPU build this machine image carries so pip
    # never reaches for a multi-GB CUDA build. Override with TORCH_SPEC elsewhere; it is split
    # into words, so it can carry pip options (CI: "torch --index-url <CPU wheel index>").
    read -r -a torch_spec <<< "${TORCH_SPEC:-torch==2.13.0}"
    .venv/bin/python -m pip install -q "${torch_spec[@]}"
  fi
  .venv/bin/python -m pip install -q -e ".$extras"
  touch "$stamp"
fi
if [ "$mode" = test ] && ! .venv/bin/python -c "import importlib.util as u; exit(u.find_spec('_aqt') is None)" 2>/dev/null; then
  # Anki's own reviewer CSS and MathJax, for the tests that render cards as Anki shows them.
  # Only the data files are used (aqt is never imported), so its Qt dependencies are skipped.
  anki_version=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('anki'))")
  echo "bootstrap: installing Anki's web assets (aqt $anki_version, no dependencies)" >&2
  .venv/bin/python -m pip install -q --no-deps "aqt==$anki_version"
fi
