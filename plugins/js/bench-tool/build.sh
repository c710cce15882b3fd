#!/usr/bin/env bash
# Build this teaching tool into a WebAssembly component.
#
#   ./build.sh [OUT.wasm]        (default: target/bench-tool.wasm)
#
# Installs the pinned build tools (jco + componentize-js, from package-lock.json)
# into ./node_modules when they are missing or out of date, builds src/index.js
# against the lectern:tool contract with every optional WASI feature disabled,
# then records the contract version in the component.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="bench-tool"
OUT="${1:-$HERE/target/$NAME.wasm}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
CONTRACT_VERSION="0.1.0"

fail() { echo "error: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node is not installed; install Node.js 20 or newer"
command -v npm >/dev/null || fail "npm is not installed; install Node.js 20 or newer (it ships npm)"
command -v python3 >/dev/null || fail "python3 is not installed; it records the contract version in the component"

# The contract (WIT): a copy next to the plugin (what `lectern plugin new` writes),
# or the repository's frozen version when building inside the Lectern tree.
WIT_DIR="${LECTERN_WIT_DIR:-}"
if [ -z "$WIT_DIR" ]; then
  for candidate in "$HERE/wit" "$HERE/../../../wit/$CONTRACT_VERSION"; do
    if [ -f "$candidate/tool.wit" ]; then WIT_DIR="$(cd "$candidate" && pwd)"; break; fi
  done
fi
[ -n "$WIT_DIR" ] && [ -f "$WIT_DIR/tool.wit" ] || fail "the lectern:tool WIT contract was not found; put it in $HERE/wit or set LECTERN_WIT_DIR"

SECTION_TOOL=""
for candidate in "$HERE/tools/add-contract-section.py" "$HERE/../../tools/add-contract-section.py"; do
  if [ -f "$candidate" ]; then SECTION_TOOL="$candidate"; break; fi
done
[ -n "$SECTION_TOOL" ] || fail "tools/add-contract-section.py was not found next to the plugin"

# Install only when node_modules was not installed from this exact lock file (a
# copy of it is the stamp), so a rebuild costs no network and no time.
# `npm install --no-save` installs the locked versions like `npm ci`, but unlike
# `npm ci` it accepts a lock file that lacks other platforms' optional native
# packages (which registry mirrors often omit), and it never rewrites the lock.
# Two builds of this plugin at once (say, `cargo test` and `cargo clippy` both
# building the plugins) must not install into the same folder together.
if command -v flock >/dev/null; then
  exec 9>"$HERE/.install.lock"
  flock 9
fi
cd "$HERE"
STAMP="node_modules/.installed-package-lock.json"
if [ ! -x node_modules/.bin/jco ] || ! cmp -s package-lock.json "$STAMP"; then
  echo "installing build tools (npm install from package-lock.json)…" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error >&2 \
    || fail "installing jco failed; check your network access to the npm registry"
  cp package-lock.json "$STAMP"
fi

mkdir -p "$(dirname "$OUT")"
TMP_OUT="$OUT.tmp.$$"
trap 'rm -f "$TMP_OUT"' EXIT
# --disable all: no stdio, clocks, random, http or fetch-event. The component then
# imports only lectern:tool interfaces, which is all a teaching tool may use.
# (Without stdio an uncaught exception traps; index.js catches and reports them.)
node_modules/.bin/jco componentize src/index.js \
  --bundle --bundle-config bundle.config.js \
  --wit "$WIT_DIR" \
  --world-name teaching-tool \
  --disable all \
  --out "$TMP_OUT" >&2 || fail "jco componentize failed (see the messages above)"
python3 "$SECTION_TOOL" "$TMP_OUT" "$CONTRACT_VERSION" || fail "could not record the contract version"
mv "$TMP_OUT" "$OUT"
trap - EXIT
echo "built $OUT ($(wc -c <"$OUT") bytes)" >&2
