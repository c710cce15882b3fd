#!/usr/bin/env bash
# Build this teaching tool into a WebAssembly component.
#
#   ./build.sh [OUT.wasm]        (default: target/worked-problem.wasm)
#
# The Python tools in this repository share their build steps in
# ../build-component.sh: it installs the pinned componentize-py, builds src/app.py against
# the lectern:tool contract with every WASI import stubbed, records the contract version.
set -euo pipefail
NAME="worked-problem"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/../build-component.sh" "$HERE" "$NAME" "$@"
