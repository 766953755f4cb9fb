"""Where each document of a run is, to be read again: its file, its line and byte offset
there, and where the run copied its text (`Docs`, one column each); and the reading of
texts and spans by those places, by the stages after fingerprinting (`read_places`,
`read_spans`).
"""

from __future__ import annotations

import array
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from dedup.columns import Strings
from dedup.config import Config
from dedup.io.copies import Copy, CopyReader
from dedup.io.documents import InputFile
from dedup.io.readers import Corpus
from dedup.model import Document, Source

#: Where a worker reads a document again: its file, its line and byte offset there (see
#: Source), and where its text was copied (see io.copies).  Plain values, not a Source: a
#: batch's places are pickled to the worker, and 4,096 Sources took 4 ms to pickle and as
#: long again to read, numbers a tenth.
Place = tuple[InputFile, int, int, Copy | None]
#: A key to verify and where its text is: (key, document, start, end).
KeyPlace = tuple[int, Place, int, int]


class Docs:
    """Every document's id, file, place in it and length, as compact columns: a million
    one-line records took 800 bytes a document as objects (#27)."""

    def __init__(self, files: Sequence[InputFile]) -> None:
        self.ids = Strings()
        self.file = array.array("i")
        self.line = array.array("q")  # 1-based JSONL line, 0 for a whole file
        self.offset = array.array("q")  # byte offset of that line
        self.chars = array.array("q")
        self.paths = [str(f.path) for f in files]
        # Where each text was copied (see io.copies): the number of its copy file, -1
        # for none, and its place there; the copy files by number.
        self.copy = array.array("i")
        self.copy_at = array.array("q")
        self.copy_paths: dict[int, str] = {}
        # Whether a JSONL record's line says what the record is, as read (see
        # `io.documents.Verbatim`): 1, else 0.
        self.verbatim = array.array("b")

    def __len__(self) -> int:
        return len(self.ids)

    def add(
        self, doc_id: str, file: int, line: int, offset: int, chars: int, copy: int, at: int
    ) -> None:
        """Number the next document (`line`, `offset`: its JSONL record's, or 0), and say
        where its text was copied: copy file `copy` (see `copy_paths`), place `at` (see
        io.copies; -1: not copied).  A document id may occur once in a corpus (see
        `Table.freeze`)."""
        self.extend((doc_id,), (file,), (line,), (offset,), (chars,), copy, (at,))

    def extend(
        self,
        ids: Sequence[str],
        files: Sequence[int] | npt.NDArray[np.int64],
        lines: Sequence[int] | npt.NDArray[np.int64],
        offsets: Sequence[int] | npt.NDArray[np.int64],
        chars: Sequence[int] | npt.NDArray[np.int64],
        copy: int,
        ats: Sequence[int] | npt.NDArray[np.int64],
        verbatim: Sequence[int] | npt.NDArray[np.int8] | None = None,
    ) -> None:
        """`add` for many documents at once, their texts copied to one copy file, and
        whether each one's line is `verbatim` (None: none); the numbers as columns (a
        number at a time took 0.3 s of a million records)."""
        self.ids.extend(ids)
        if verbatim is None:
            verbatim = np.zeros(len(ids), dtype=np.int8)
        for column, values in (
            (self.file, files),
            (self.line, lines),
            (self.offset, offsets),
            (self.chars, chars),
            (self.copy_at, ats),
            (self.verbatim, verbatim),
        ):
            column.frombytes(np.asarray(values, dtype=column.typecode).tobytes())
        at = np.asarray(ats, dtype=np.int64)
        self.copy.frombytes(np.where(at >= 0, copy, -1).astype(self.copy.typecode).tobytes())

    def places(
        self, numbers: Sequence[int] | npt.NDArray[np.int64], files: Sequence[InputFile]
    ) -> list[Place]:
        """Where a worker finds each of these documents again (`files` the corpus's),
        their columns read at once (a call a unit of a batch took 1.0 s of the main
        process in the default run of 100,000 French documents); a document named twice
        is one Place twice."""
        at = np.asarray(numbers, dtype=np.int64)
        unique, inverse = np.unique(at, return_inverse=True)
        columns = (self.file, self.line, self.offset, self.copy, self.copy_at, self.chars)
        values = [
            np.frombuffer(column, dtype=column.typecode)[unique].tolist() for column in columns
        ]
        paths = self.copy_paths
        made = [
            (files[file], line, offset, None if copy < 0 else (paths[copy], copy_at, chars))
            for file, line, offset, copy, copy_at, chars in zip(*values, strict=True)
        ]
        return [made[i] for i in inverse.tolist()]

    def sources(self) -> Iterator[Source]:
        """Where each document can be read again, in order, the columns read a block at
        a time."""
        for lo in range(0, len(self), 1 << 16):
            at = slice(lo, lo + (1 << 16))
            columns = (c[at].tolist() for c in (self.file, self.line, self.offset))
            for file, line, offset in zip(*columns, strict=True):
                yield Source(self.paths[file], line, offset)


def read_places(places: Sequence[Place], config: Config) -> list[str]:
    """The texts of these documents, read again, each distinct one once."""
    return read_spans([(place, 0, None) for place in places], config)


def read_spans(spans: Sequence[tuple[Place, int, int | None]], config: Config) -> list[str]:
    """The text of each (document, start, end) (end None: to the document's end), each
    distinct one read once: from the run's copy of the texts where it has one, else from
    the corpus."""
    out: list[str] = [""] * len(spans)
    unread: list[int] = []
    copied: dict[Copy, list[tuple[int, int, int]]] = {}  # (start, end, i) of each copy's spans
    for i, ((_, _, _, copy), start, end) in enumerate(spans):
        if copy is None:
            unread.append(i)
        else:
            copied.setdefault(copy, []).append((start, copy[2] if end is None else end, i))
    with CopyReader() as copies:  # a file's texts one after another (see OPEN_MOST)
        for copy, wanted in sorted(copied.items()):
            for lo, hi, members in _nearby(wanted):
                text = copies.span(copy, lo, hi)
                read: dict[tuple[int, int], str] = {}  # each span once: a page named often
                for start, end, i in members:
                    span = read.get((start, end))
                    if span is None:
                        span = read[start, end] = text[start - lo : end - lo]
                    out[i] = span
    if not unread:
        return out
    places = [spans[i][0] for i in unread]
    corpus = Corpus.of({file.path: file for file, _, _, _ in places}.values(), config.input)
    sources = sorted(
        {Source(str(file.path), line, offset) for file, line, offset, _ in places},
        key=lambda s: (s.path, s.offset),
    )
    texts: dict[Source, str] = {}
    for source, doc in zip(sources, corpus.load(sources), strict=True):
        assert isinstance(doc, Document)  # none was asked for as its line
        texts[source] = doc.text
    for i, (file, line, offset, _) in zip(unread, places, strict=True):
        _, start, end = spans[i]
        out[i] = texts[Source(str(file.path), line, offset)][start:end]
    return out


#: Characters between two spans of a copied text past which they are read apart.
_NEARBY = 4096


def _nearby(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, list[tuple[int, int, int]]]]:
    """Spans (start, end, i) of one text as runs read at once, [lo, hi) and the spans in
    it: those that overlap or lie less than _NEARBY characters apart.  Units of one page
    are most of a batch's reads (a sentence and its paragraph, a link's two documents):
    one read each took twice the reads, and a page's marks read again each time."""
    spans.sort()
    runs: list[tuple[int, int, list[tuple[int, int, int]]]] = []
    for span in spans:
        if runs and span[0] <= runs[-1][1] + _NEARBY:
            lo, hi, members = runs[-1]
            members.append(span)
            runs[-1] = lo, max(hi, span[1]), members
        else:
            runs.append((span[0], span[1], [span]))
    return runs
