#!/usr/bin/env bash
# Refresh the study page's vendored scheduler from the npm registry:
#
#   scripts/vendor-ts-fsrs.sh [VERSION]     (default: the version in VERSION beside it)
#
# `npm pack` downloads the published tarball (checked against the registry's integrity hash);
# its browser build (dist/index.umd.js) and its LICENSE are copied under
# src/deckbuilder/assets/vendor/ts-fsrs/, with the version in VERSION. deckbuilder inlines the
# file into the page as it is: review the diff, then run tests/test_html_practice.py, which
# checks the page's schedule against the Python `fsrs` package.
set -euo pipefail
cd "$(dirname "$0")/.."
target=src/deckbuilder/assets/vendor/ts-fsrs
version=${1:-$(cat "$target/VERSION")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "ts-fsrs@$version" > /dev/null)
tar -xzf "$work"/ts-fsrs-"$version".tgz -C "$work"
cp "$work/package/dist/index.umd.js" "$target/ts-fsrs.umd.js"
cp "$work/package/LICENSE" "$target/LICENSE"
echo "$version" > "$target/VERSION"
echo "vendored ts-fsrs $version into $target ($(wc -c < "$target/ts-fsrs.umd.js") bytes)"
