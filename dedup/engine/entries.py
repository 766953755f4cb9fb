"""A changed file's entries, before and after a change, read unit by unit (see
`dedup.engine.closed`): its compared units per level, and where a text is a unit of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from dedup.engine.table import COLUMNS
from dedup.io.check_state import U64, key64, text_key, text_keys
from dedup.io.documents import InputFile
from dedup.io.store import Entry
from dedup.model import LEVELS
from dedup.titles import Counted

_DOC, _START, _END, _WS_BEFORE, _WS_AFTER = (
    COLUMNS.index(name) for name in ("doc", "start", "end", "ws_before", "ws_after")
)


@dataclass
class Changed:
    """A changed file: its key, its file (None: deleted), and its entries before and after
    (None: none)."""

    key: str
    file: InputFile | None
    old: Entry | None
    new: Entry | None
    stamp: tuple[int, int] | None = None  # size and mtime
    #: Per level, (document, start) of a stable unit before the change -> its row after.
    moved: dict[str, dict[tuple[int, int], int]] = dataclasses.field(default_factory=dict)
    #: Per level, (document, start) after the change of each unit whose text is shared.
    shared: dict[str, set[tuple[int, int]]] = dataclasses.field(default_factory=dict)
    #: The same for the levels with finer ones below: the units that must stand.
    standing: dict[str, set[tuple[int, int]]] = dataclasses.field(default_factory=dict)
    #: Units added that copy a text found earlier outside: (level, row, the survivor's file).
    copies: list[tuple[str, int, str]] = dataclasses.field(default_factory=list)


def all_digests(entry: Entry, levels: Sequence[str]) -> list[bytes]:
    """The digests of an entry's compared units, every level, in `_unit_keys` order."""
    return [
        bytes(d)
        for name in levels
        for d in entry.arrays[f"{name}.digests"][entry.arrays[f"{name}.mask"].astype(bool)]
    ]


class Unit(NamedTuple):
    """A compared unit of a changed file's entry, at one level."""

    digest: bytes  # its text's exact key
    raw: int  # the hash of its raw text
    doc_id: str
    whole: bool  # it is its whole document
    doc: int  # its document among the file's
    start: int
    end: int
    row: int  # its row in the entry's level

    def written(self) -> tuple[bytes, int, str, bool]:
        """What must not change for the unit of a shared text to stand where it stood."""
        return self.digest, self.raw, self.doc_id, self.whole


def sequence(entry: Entry | None, level: str) -> list[Unit]:
    """An entry's compared units of a level, in order."""
    if entry is None:
        return []
    rows = entry.arrays[f"{level}.rows"]
    digests = entry.arrays[f"{level}.digests"]
    raw = entry.arrays[f"{level}.raw"]
    docs = entry.docs["docs"]
    out = []
    for number in np.flatnonzero(entry.arrays[f"{level}.mask"]).tolist():
        row = rows[number]
        doc = int(row[_DOC])
        whole = int(row[_WS_BEFORE]) == 0 and int(row[_WS_AFTER]) == int(docs[doc]["chars"])
        out.append(
            Unit(
                bytes(digests[number]),
                int(raw[number]),
                docs[doc]["id"],
                whole,
                doc,
                int(row[_START]),
                int(row[_END]),
                number,
            )
        )
    return out


def band_keys(entry: Entry, digest: bytes, labels: Counted) -> U64 | None:
    """The band keys of a text of a file's entry (None if the entry has no such text),
    with the corpus's counts of labelled titles' parts (see `check_state.entry_spaces`)."""
    rows, keys = text_keys(entry, labels)
    number = np.flatnonzero(
        (entry.arrays["texts.digests"] == np.frombuffer(digest, np.uint8)).all(axis=1)
    )
    if len(number) != 1:
        return None
    found: U64 = keys[(rows == number[0]) & (keys != np.uint64(text_key(digest)))]
    return found


def levels_of(entry: Entry, digest: bytes | int) -> set[str]:
    """The levels a text (by its exact key, or its first 8 bytes) is a compared unit of in
    a file's entry."""
    found: set[str] = set()
    for name in LEVELS:
        if f"{name}.rows" in entry.arrays and span_of(entry, digest, {name}) is not None:
            found.add(name)
    return found


def span_of(
    entry: Entry, text: bytes | int, levels: set[str] | None = None
) -> tuple[int, int] | None:
    """The (start, end) of a compared unit of a text (by its exact key, or its first 8
    bytes), at one of `levels` (any if None), in a file's entry of one document."""
    digests = entry.arrays["texts.digests"]
    number = text_key(text) if isinstance(text, bytes) else text
    for key in digests[key64(digests) == np.uint64(number)]:
        for row in _rows_of(entry, bytes(key), levels)[:1]:
            return int(row[_START]), int(row[_END])
    return None


def units_of(entry: Entry, digest: bytes) -> list[tuple[int, int]]:
    """(document, start) of a file's compared units of a text, at any level."""
    return [(int(row[_DOC]), int(row[_START])) for row in _rows_of(entry, digest)]


def _rows_of(entry: Entry, digest: bytes, levels: set[str] | None = None) -> list[Any]:
    """The rows of a file's compared units of a text, at `levels` (any if None), level by
    level from the coarsest."""
    key = np.frombuffer(digest, np.uint8)
    found: list[Any] = []
    for name in LEVELS:
        if f"{name}.rows" in entry.arrays and (levels is None or name in levels):
            mask = entry.arrays[f"{name}.mask"].astype(bool)
            same = (entry.arrays[f"{name}.digests"] == key).all(axis=1) & mask
            found += list(entry.arrays[f"{name}.rows"][same])
    return found
