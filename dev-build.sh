#!/usr/bin/env bash
# Fast rebuild of the native module for an existing editable install (the set-up command in
# README.md does the full install). Usage: ./dev-build.sh
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --features python --manifest-path rust_kernels/Cargo.toml
ext=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
# Copy then rename: processes that have the old module mapped keep their (unlinked) file.
cp rust_kernels/target/release/libvectile_kernels.so "src/vectile/.tmp_kernels$ext"
mv -f "src/vectile/.tmp_kernels$ext" "src/vectile/_kernels$ext"
