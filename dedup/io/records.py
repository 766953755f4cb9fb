"""JSONL records written back as they came: a record that cleaning leaves alone is its line,
byte for byte; a cleaned one is its line with the text's value replaced in place, every other
field, key order, spacing and number as it was, the text written as the line wrote its
strings (escaped to ASCII, as Python's `json.dumps` does by default, or not).  `restore` puts
the text back the same way, so that a record comes back byte for byte.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from dedup.native import native

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def escaped(line: bytes, text: str) -> bool:
    """Whether a record's line writes its strings escaped to ASCII: the line is ASCII and
    its text is not."""
    return line.isascii() and not text.isascii()


def record_line(
    line: bytes, record: dict[str, Any], field: str, value: str, ascii_only: bool
) -> bytes:
    """`line` (a JSONL record, `record` parsed from it) with `field` set to `value`: the
    line itself if that is its value already, else its value replaced in place (escaped
    to ASCII or not), or the record written anew if the line cannot be read so (a byte
    order mark before it, say)."""
    if record.get(field) == value:
        return line
    text = line.decode("utf-8", "surrogateescape")
    span = _value_span(text, field)
    if span is None:
        rewritten = dict(record)
        rewritten[field] = value
        ending = "\r\n" if text.endswith("\r\n") else "\n"
        return (json.dumps(rewritten, ensure_ascii=ascii_only) + ending).encode("utf-8")
    start, end = span
    # json.dumps of a str, without making an encoder for each call (1.3 us a record)
    encoded = encode_basestring_ascii(value) if ascii_only else encode_basestring(value)
    new = text[:start] + encoded + text[end:]
    return new.encode("utf-8", "surrogateescape")


def _value_span(line: str, field: str) -> tuple[int, int] | None:
    """Where the value of a top-level `field` of a JSON object line lies (its last, as
    `json.loads` keeps the last of repeated keys); None if the line is no plain object.
    In C where it was built, for a line a JSON parser read already (every line cleaning
    changes), but where a key holds an escape (decoding the keys and values took 2.7 us of
    a record removed whole)."""
    if native is not None:
        found: tuple[int, int] | bool | None = native.value_span(line, field)
        if found is None or isinstance(found, tuple):
            return found
    try:
        at = _SPACE.match(line).end()  # type: ignore[union-attr]
        if line[at : at + 1] != "{":
            return None
        at = _SPACE.match(line, at + 1).end()  # type: ignore[union-attr]
        found = None
        while line[at : at + 1] != "}":
            key, at = _DECODER.raw_decode(line, at)
            at = _SPACE.match(line, at).end()  # type: ignore[union-attr]
            if line[at : at + 1] != ":":
                return None
            start = _SPACE.match(line, at + 1).end()  # type: ignore[union-attr]
            _, at = _DECODER.raw_decode(line, start)
            if key == field:
                found = (start, at)
            at = _SPACE.match(line, at).end()  # type: ignore[union-attr]
            if line[at : at + 1] == ",":
                at = _SPACE.match(line, at + 1).end()  # type: ignore[union-attr]
            elif line[at : at + 1] != "}":
                return None
        return found
    except json.JSONDecodeError:
        return None
