"""What the fingerprint tasks tell of their chunks besides units and band keys (see
`fingerprint.chunk_rows`): each chunk's lines and documents, what it skipped, and the error
it met instead of an answer, as the local fingerprint stage learns them from its workers.

A JSONL chunk's lines are numbered within it (see `Corpus.read_chunk`): whoever sees the
chunks in order numbers them in their file, as here.
"""

from __future__ import annotations

from typing import Any

from dedup.errors import InputError

#: The kinds of the fingerprint rows these are (see `fingerprint._schema`).
CHUNK, SKIPPED, ERROR = 3, 4, 5
#: The columns they use.
TOLD = ("kind", "place", "offset", "line", "end", "label", "message")


class Chunks:
    """The chunks' rows, collected (a few a chunk): a chunk's own (`place` its number,
    `offset` its first byte, `line` its lines, `end` its documents), a skipped input's and
    an error's (`label` the file's, `message` why, `line` within the chunk, if a record's)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = sorted(rows, key=lambda row: row["place"])  # stable: a chunk's in order
        #: By chunk number, the lines of its file before it (0 for a chunk of whole
        #: files), and the corpus's documents before it.
        self.line_bases: dict[int, int] = {}
        self.doc_bases: dict[int, int] = {}
        lines = docs = 0
        for row in self.rows:
            if row["kind"] == SKIPPED:
                continue
            number = row["place"]
            self.line_bases[number] = first = lines if row["offset"] else 0
            self.doc_bases[number] = docs
            if row["kind"] == CHUNK:  # a chunk that met an error counts none
                lines = first + row["line"]
                docs += row["end"]

    def skipped(self) -> list[dict[str, Any]]:
        """What the chunks left out, in corpus order, as the report lists it."""
        return [
            {"path": row["label"], "line": self._line(row), "reason": row["message"]}
            for row in self.rows
            if row["kind"] == SKIPPED
        ]

    def check(self) -> None:
        """Raise the first error a chunk met, in corpus order, as the local run raises it."""
        for row in self.rows:
            if row["kind"] == ERROR:
                raise InputError(row["label"], row["message"], self._line(row))

    def _line(self, row: dict[str, Any]) -> int | None:
        """A row's line (a record's), numbered in its file."""
        line = row["line"]
        return None if line is None else line + self.line_bases[row["place"]]
