#!/usr/bin/env bash
# Build one of this repository's JavaScript teaching tools into a WebAssembly
# component; each tool's own build.sh calls this with its directory and name.
#
#   build-component.sh PLUGIN_DIR NAME [OUT.wasm]   (default: PLUGIN_DIR/target/NAME.wasm)
#
# Installs the pinned build tools (jco + componentize-js, from package-lock.json)
# into PLUGIN_DIR/node_modules when they are missing or out of date, builds src/index.js
# against the lectern:tool contract with every optional WASI feature disabled,
# then records the contract version in the component.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: build-component.sh PLUGIN_DIR NAME [OUT.wasm]" >&2; exit 2; }
HERE="$(cd "$1" && pwd)"
NAME="$2"
OUT="${3:-$HERE/target/$NAME.wasm}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
CONTRACT_VERSION="0.1.0"

fail() { echo "error: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node is not installed; install Node.js 20 or newer"
command -v npm >/dev/null || fail "npm is not installed; install Node.js 20 or newer (it ships npm)"
command -v python3 >/dev/null || fail "python3 is not installed; it records the contract version in the component"

# The contract (WIT) and the tool that records its version: the repository's own.
REPO_PLUGINS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WIT_DIR="${LECTERN_WIT_DIR:-$REPO_PLUGINS/../wit/$CONTRACT_VERSION}"
[ -f "$WIT_DIR/tool.wit" ] || fail "the lectern:tool WIT contract was not found in $WIT_DIR"
SECTION_TOOL="$REPO_PLUGINS/tools/add-contract-section.py"
[ -f "$SECTION_TOOL" ] || fail "$SECTION_TOOL was not found"

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
