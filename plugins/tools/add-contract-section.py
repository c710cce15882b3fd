#!/usr/bin/env python3
"""Record the `lectern:tool` contract version in a built component.

Lectern reads a custom section named `lectern:contract-version` (UTF-8 text such
as `0.1.0`) before it instantiates a plugin, and refuses a component built for a
contract it cannot serve. The Rust SDK writes that section itself; jco and
componentize-py know nothing about Lectern, so the JavaScript and Python builds
append it with this script.

Usage: add-contract-section.py COMPONENT.wasm [VERSION]

The section is appended at the top level of the component. A component, like a
core module, is a header followed by sections; a custom section may appear
anywhere between them, so appending one changes nothing else in the binary:

    section id 0 (custom) | LEB128 size of the rest | LEB128 name length | name | payload

Running the script twice is harmless: a component that already carries the
section at its top level is left as it is when the version matches, and refused
when it differs (rebuild instead of stacking two versions).
"""

import sys

SECTION_NAME = "lectern:contract-version"
DEFAULT_VERSION = "0.1.0"
# The first 8 bytes of a component: magic `\0asm`, then version 0x0d and layer 1.
# (A core module has version 1, layer 0; the host refuses those.)
COMPONENT_HEADER = b"\x00asm\x0d\x00\x01\x00"


def uleb128(value: int) -> bytes:
    """Unsigned LEB128, the variable-length integer WebAssembly uses for sizes."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_uleb128(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128 integer")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def top_level_version(data: bytes) -> str | None:
    """The payload of an existing top-level contract section, if any."""
    pos = len(COMPONENT_HEADER)
    while pos < len(data):
        section_id = data[pos]
        size, body = read_uleb128(data, pos + 1)
        end = body + size
        if end > len(data):
            raise ValueError("a section runs past the end of the file")
        if section_id == 0:
            name_len, name_start = read_uleb128(data, body)
            name = data[name_start : name_start + name_len]
            if name == SECTION_NAME.encode():
                return data[name_start + name_len : end].decode("utf-8")
        pos = end
    return None


def custom_section(name: str, payload: bytes) -> bytes:
    encoded_name = name.encode("utf-8")
    body = uleb128(len(encoded_name)) + encoded_name + payload
    return b"\x00" + uleb128(len(body)) + body


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    path = argv[1]
    version = argv[2] if len(argv) == 3 else DEFAULT_VERSION
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        print(f"error: cannot read {path}: {e.strerror}", file=sys.stderr)
        return 1
    if not data.startswith(COMPONENT_HEADER):
        print(
            f"error: {path} is not a WebAssembly component (wrong header); "
            "build it with jco componentize or componentize-py first",
            file=sys.stderr,
        )
        return 1
    try:
        existing = top_level_version(data)
    except ValueError as e:
        print(f"error: {path} is not a well-formed component ({e})", file=sys.stderr)
        return 1
    if existing is not None:
        if existing.strip() == version:
            return 0
        print(
            f"error: {path} already records contract {existing!r}, not {version!r}; "
            "rebuild the component from source",
            file=sys.stderr,
        )
        return 1
    with open(path, "ab") as f:
        f.write(custom_section(SECTION_NAME, version.encode("utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
