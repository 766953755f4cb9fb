"""Documents: the bytes of one text file or one JSONL line in, a Document out.

Text is decoded strictly (an error names the file, line and byte) unless --errors says
to replace or skip; a JSONL line must be an object with a string text field; a lone
UTF-16 surrogate, which no UTF-8 output can hold, is an error, a skip or U+FFFD.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from dedup.config import InputConfig
from dedup.errors import InputError
from dedup.model import Document, Source

_BOM = "\ufeff"
#: A JSON escape of a UTF-16 surrogate: the only way a lone one gets into a record.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file to read: its path, the id (or id prefix) of its documents, and its kind."""

    path: Path
    name: str  # document id for a text file; relative output name for a JSONL file
    jsonl: bool
    label: str  # how messages name it ("<stdin>" for standard input)
    parquet: Path | None = None  # the Parquet file whose rows `path` holds as JSONL
    packed: Path | None = None  # the compressed file `path` holds decompressed

    @property
    def origin(self) -> Path:
        """The file the user gave: the Parquet or compressed file, or `path`."""
        return self.parquet or self.packed or self.path


class Verbatim(NamedTuple):
    """A JSONL record read back as its line alone, not parsed: one cleaning leaves whole,
    whose line says what the record is, is written as it was read (parsing a million
    short records again took 2.8 s of writing them)."""

    line: bytes


class Skipped(Exception):
    """An input left out on purpose (binary, or undecodable with --errors skip-file)."""

    def __init__(self, label: str, reason: str, line: int | None = None) -> None:
        self.entry = {"path": label, "line": line, "reason": reason}
        super().__init__(f"{label}{f':{line}' if line else ''}: skipped: {reason}")


def decode(
    data: bytes,
    label: str,
    line: int | None = None,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> tuple[str, bool]:
    """Decode bytes, returning the text without its BOM and whether there was one.

    errors: "strict" raises InputError naming the byte offset, "replace" puts
    U+FFFD in place of undecodable bytes, "skip-file" raises Skipped.
    """
    try:
        text = data.decode(encoding, "replace" if errors == "replace" else "strict")
    except UnicodeDecodeError as exc:
        reason = f"invalid {encoding.upper()} at byte {exc.start}: {exc.reason}"
        if errors == "skip-file":
            raise Skipped(label, reason, line) from exc
        raise InputError(label, f"{reason} (--errors replace or skip-file to go on)", line) from exc
    except LookupError as exc:
        raise InputError(label, f"unknown encoding {encoding!r}") from exc
    if text.startswith(_BOM):
        return text[1:], True
    return text, False


def text_document(file: InputFile, config: InputConfig) -> Document:
    """The document a text file holds (Skipped for a binary one)."""
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        raise InputError(file.label, f"cannot read: {exc.strerror}") from exc
    cfg = config
    if b"\0" in data[:8192] and cfg.encoding.replace("-", "").lower() in ("utf8", "utf8sig"):
        raise Skipped(file.label, "binary file (NUL bytes)")
    text, bom = decode(data, file.label, None, cfg.encoding, cfg.errors)
    return Document(file.name, text, Source(str(file.path)), None, bom)


def record_document(
    file: InputFile, raw: bytes, number: int, offset: int, config: InputConfig
) -> Document:
    """The document of one JSONL line, line `number` at byte `offset` of its file."""
    record: Any = _plain_record(raw)
    kept: bytes | None = raw  # the line, where it says what the record is
    if record is None:  # anything else takes the careful path
        line, bom = decode(raw, file.label, number, "utf-8", config.errors)
        if bom or "\ufffd" in line or _SURROGATE_ESCAPE.search(raw):
            kept = None  # mended, maybe: written anew
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                file.label, f"invalid JSON: {exc.msg} (column {exc.colno})", number
            ) from exc
        if not isinstance(record, dict):
            raise InputError(file.label, "a JSONL line must be an object", number)
        if _SURROGATE_ESCAPE.search(raw):
            record = _unpaired_surrogates(record, file, number, config.errors)
    text_field, id_field = config.text_field, config.id_field
    if text_field not in record:
        raise InputError(file.label, f"no {text_field!r} field", number)
    text = record[text_field]
    if not isinstance(text, str):
        raise InputError(
            file.label, f"field {text_field!r} is {type(text).__name__}, not a string", number
        )
    doc_id = record.get(id_field)
    if doc_id is None:
        doc_id = f"{file.name}:{number}"
    elif not isinstance(doc_id, str | int):
        raise InputError(file.label, f"field {id_field!r} must be a string or an integer", number)
    return Document(str(doc_id), text, Source(str(file.path), number, offset), record, line=kept)


def _unpaired_surrogates(record: Any, file: InputFile, number: int, errors: str) -> Any:
    """The record with no lone surrogate (half of a UTF-16 pair, written as a JSON
    escape), which no UTF-8 output can hold: an error, a skip or U+FFFD each."""

    def mend(value: Any) -> Any:
        if isinstance(value, str):
            found = _SURROGATE.search(value)
            if found is None:
                return value
            if errors == "replace":
                return _SURROGATE.sub("\ufffd", value)
            reason = (
                f"unpaired surrogate \\u{ord(found.group()):04x} at character "
                f"{found.start()} of a string: not Unicode text"
            )
            if errors == "skip-file":
                raise Skipped(file.label, reason, number)
            raise InputError(
                file.label, f"{reason} (--errors replace or skip-file to go on)", number
            )
        if isinstance(value, dict):
            return {mend(k): mend(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mend(v) for v in value]
        return value

    return mend(record)


#: The types of a record's values that orjson reads exactly as the json module does.
_PLAIN = frozenset((str, int, bool, type(None)))


def _plain_record(raw: bytes) -> dict[str, Any] | None:
    """A JSONL line parsed by orjson (2.4 us against 5.8 us for json, plus 2 us for the
    surrogate search, on 4.6 KB records), when that is exactly what the json module
    would give: an object whose values are strings, integers, booleans or nulls.
    orjson reads an integer past 64 bits as a float, so a float sends the line to
    json; it refuses what the careful path reports or mends (a BOM, invalid UTF-8,
    a lone surrogate escape, NaN): None then, as for any value of another type."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(record) is dict and _PLAIN.issuperset(map(type, record.values())):
        return record
    return None
