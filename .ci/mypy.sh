#!/usr/bin/env bash
# mypy over the whole `vectile` package as it installs. The package is assembled from several
# folders (src/vectile, flows, tiling, models, cluster; pyproject's package-dir), which mypy
# cannot see through setuptools' editable import hook, so mirror the installed layout with
# symbolic links in a temporary folder and check that.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir "$tree/vectile"
for entry in "$root"/src/vectile/*; do ln -s "$entry" "$tree/vectile/$(basename "$entry")"; done
for pkg in flows tiling models cluster; do ln -s "$root/$pkg" "$tree/vectile/$pkg"; done
cd "$tree"
"$root/.venv/bin/python" -m mypy --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p vectile "$@"
