#!/usr/bin/env bash
# Build this teaching tool into a WebAssembly component.
#
#   ./build.sh [OUT.wasm]        (default: target/worked-problem.wasm)
#
# Installs the pinned componentize-py (requirements-build.txt) into ./.venv when
# it is missing or out of date, generates the lectern:tool bindings, builds
# src/app.py into a component with every WASI import replaced by a trapping
# stub, then records the contract version in the component.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="worked-problem"
OUT="${1:-$HERE/target/$NAME.wasm}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
CONTRACT_VERSION="0.1.0"

fail() { echo "error: $*" >&2; exit 1; }

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || fail "python3 is not installed; install Python 3.10 or newer"

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
