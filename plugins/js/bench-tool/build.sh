#!/usr/bin/env bash
# Build this teaching tool into a WebAssembly component.
#
#   ./build.sh [OUT.wasm]        (default: target/bench-tool.wasm)
#
# The JavaScript tools in this repository share their build steps in
# ../build-component.sh: it installs the pinned jco and componentize-js, builds src/index.js
# against the lectern:tool contract with no WASI, records the contract version.
set -euo pipefail
NAME="bench-tool"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../build-component.sh" "$HERE" "$NAME" "$@"
