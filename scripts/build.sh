#!/usr/bin/env bash
# Fresh machine -> every artifact in dist/. Extra arguments go to `deckbuilder build`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh build
exec .venv/bin/deckbuilder build --strict "$@"
