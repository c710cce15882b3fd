#!/usr/bin/env bash
# Build one of this repository's Python teaching tools into a WebAssembly
# component; each tool's own build.sh calls this with its directory and name.
#
#   build-component.sh PLUGIN_DIR NAME [OUT.wasm]   (default: PLUGIN_DIR/target/NAME.wasm)
#
# Installs the pinned componentize-py (requirements-build.txt) into PLUGIN_DIR/.venv when
# it is missing or out of date, generates the lectern:tool bindings, builds
# src/app.py into a component with every WASI import replaced by a trapping
# stub, then records the contract version in the component.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: build-component.sh PLUGIN_DIR NAME [OUT.wasm]" >&2; exit 2; }
HERE="$(cd "$1" && pwd)"
NAME="$2"
OUT="${3:-$HERE/target/$NAME.wasm}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
CONTRACT_VERSION="0.1.0"

fail() { echo "error: $*" >&2; exit 1; }

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || fail "python3 is not installed; install Python 3.10 or newer"

# The contract (WIT) and the tool that records its version: the repository's own.
REPO_PLUGINS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WIT_DIR="${LECTERN_WIT_DIR:-$REPO_PLUGINS/../wit/$CONTRACT_VERSION}"
[ -f "$WIT_DIR/tool.wit" ] || fail "the lectern:tool WIT contract was not found in $WIT_DIR"
SECTION_TOOL="$REPO_PLUGINS/tools/add-contract-section.py"
[ -f "$SECTION_TOOL" ] || fail "$SECTION_TOOL was not found"

# Install only when the venv was not made from this exact requirements file (a
# copy of it is the stamp), so a rebuild costs no network and no time.
# Two builds of this plugin at once (say, `cargo test` and `cargo clippy` both
# building the plugins) must not install into the same folder together.
if command -v flock >/dev/null; then
  exec 9>"$HERE/.install.lock"
  flock 9
fi
VENV="$HERE/.venv"
STAMP="$VENV/.installed-requirements-build.txt"
if [ ! -x "$VENV/bin/componentize-py" ] || ! cmp -s "$HERE/requirements-build.txt" "$STAMP"; then
  echo "installing build tools (componentize-py into $VENV)…" >&2
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" || fail "could not create a virtual environment; install python3-venv"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements-build.txt" >&2 \
    || fail "pip could not install componentize-py; check your network access to pypi.org"
  cp "$HERE/requirements-build.txt" "$STAMP"
fi

mkdir -p "$(dirname "$OUT")"
TMP_OUT="$OUT.tmp.$$"
trap 'rm -f "$TMP_OUT"' EXIT
# --stub-wasi: a teaching tool may not use files, sockets, environment or clocks,
# so every WASI import becomes a stub that traps if called; the component then
# imports only lectern:tool interfaces. (print() would trap: use the log import.)
# -p src: only the plugin's own modules and the standard library go in, never
# the venv (VIRTUAL_ENV is cleared so componentize-py does not add it).
(
  cd "$HERE"
  env -u VIRTUAL_ENV "$VENV/bin/componentize-py" --quiet \
    -d "$WIT_DIR" -w teaching-tool \
    componentize --stub-wasi -p src app -o "$TMP_OUT"
) >&2 || fail "componentize-py failed (see the messages above)"
"$PYTHON" "$SECTION_TOOL" "$TMP_OUT" "$CONTRACT_VERSION" || fail "could not record the contract version"
mv "$TMP_OUT" "$OUT"
trap - EXIT
echo "built $OUT ($(wc -c <"$OUT") bytes)" >&2
