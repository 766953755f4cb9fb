"""Quoted texts on disk: the texts a run quotes (removed spans, the units its clusters
name) written once to a temporary file and read again each time they are asked for, so
that a run's memory follows its units, not the text it removes.

A text under SHORT characters stays in memory as it is: a Quote and its offsets cost
about as much, and reading one back costs a system call.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections.abc import Iterable

from dedup.io.spill import temporary_file
from dedup.model import Quote

#: Texts shorter than this are kept as they are.
SHORT = 256


class TextSpool:
    """An append-only file of UTF-8 texts, each read back by its number (see Quote).

    The file is unlinked as soon as it is made; it goes when the spool and every Quote
    of it are gone.  `keep` may be called from two threads at once.
    """

    def __init__(self) -> None:
        self._file = temporary_file(self, "dedup-quotes-")
        self._ends = array("q", [0])  # byte offset where each text ends, after a 0
        self._lock = threading.Lock()
        self._unflushed = False

    def keep(self, text: str) -> str | Quote:
        """`text` itself if it is short, else a Quote of it written to the spool."""
        if len(text) < SHORT:
            return text
        return self.keep_encoded([text.encode("utf-8")])[0]

    def keep_encoded(self, data: list[bytes]) -> list[Quote]:
        """Quotes of long texts given as UTF-8, written at once."""
        if not data:
            return []
        with self._lock:
            self._file.write(b"".join(data))
            first = len(self._ends) - 1
            end = self._ends[-1]
            for text in data:
                end += len(text)
                self._ends.append(end)
            self._unflushed = True
            return [Quote(self, first + i) for i in range(len(data))]

    def read(self, at: int) -> str:
        """Text number `at`."""
        with self._lock:
            if self._unflushed:
                self._file.flush()
                self._unflushed = False
            start, end = self._ends[at], self._ends[at + 1]
        return os.pread(self._file.fileno(), end - start, start).decode("utf-8")


def texts_of(quoted: Iterable[str | Quote]) -> list[str]:
    """`model.text_of` each, a text on disk read once however many parts of it are asked for
    (the cuts of a near duplicate that keeps some paragraphs)."""
    read: dict[tuple[int, int], str] = {}
    out: list[str] = []
    for quote in quoted:
        if isinstance(quote, str):
            out.append(quote)
            continue
        key = id(quote.spool), quote.at
        text = read.get(key)
        if text is None:
            text = read[key] = str(quote.spool.read(quote.at))
        out.append(quote.within(text))
    return out
