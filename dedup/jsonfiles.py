"""The JSON files dedup writes and reads back (reports, baselines): read, parsed and checked
by their version field, with errors that name the file.

Plain JSON: nothing in them is ever executed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dedup.errors import InputError


def read_json(path: Path, kind: str, versions: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """A JSON file dedup wrote (a report, a baseline), checked by its `kind` version field,
    which must be one of `versions`.

    Plain JSON: nothing in it is ever executed.
    """
    return parse_json(read_bytes(path), str(path), kind, versions)


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or an InputError that names it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from exc


def parse_json(
    data: bytes, name: str, kind: str, versions: tuple[int, ...] = (1,)
) -> dict[str, Any]:
    """The document of `read_json` from the file's bytes, `name` naming it in errors."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(name, f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get(kind) not in versions:
        wanted = " or ".join(str(v) for v in versions)
        raise InputError(name, f"not a dedup file ({kind} {wanted})")
    return document
