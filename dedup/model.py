"""The values that flow between stages: documents, segments, clusters and the run result.

Segments carry offsets into the raw document text; nothing here holds normalized text.
"""

from __future__ import annotations

import array
import copy
import itertools
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt

Level = Literal["document", "section", "paragraph", "sentence"]
#: Units from the largest to the smallest; `--unit all` works through them in this order.
LEVELS: tuple[Level, ...] = ("document", "section", "paragraph", "sentence")

Relation = Literal["exact", "near", "contained", "overlap"]
#: Relations that make a unit a removable duplicate of its survivor.
REMOVING: frozenset[str] = frozenset({"exact", "near", "contained"})

_T = TypeVar("_T")


def pickled_as_call(cls: type[_T]) -> type[_T]:
    """Pickle a frozen, slotted dataclass as a call of its class on its fields.

    By default such an object pickles through a state dict built field by field
    and is rebuilt by setting each field in turn; the values that cross between
    processes by the ten thousand (where a document is, a verified pair's
    evidence) take a third of the time both ways as a call.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    get = operator.attrgetter(*names)

    def __reduce__(self: _T) -> tuple[type[_T], tuple[Any, ...]]:
        values = get(self)
        return cls, values if len(names) > 1 else (values,)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


@pickled_as_call
@dataclass(frozen=True, slots=True)
class Source:
    """Where a document can be read again: a whole file, or one line of a JSONL file."""

    path: str
    line: int = 0  # 1-based JSONL line, 0 for a whole file
    offset: int = 0  # byte offset of that line


@dataclass(frozen=True, slots=True)
class Document:
    """One input document.  `record` is the full JSONL object (None for plain files)."""

    doc_id: str
    text: str
    source: Source
    record: dict[str, Any] | None = None
    bom: bool = False
    line: bytes | None = None  # a JSONL record's line as read, its line break included


class Quote:
    """A text a run keeps on disk (see `dedup.io.texts.TextSpool`), read when asked for.

    Equal to another Quote or string of the same text; pickled as its text.
    """

    __slots__ = ("at", "spool")

    def __init__(self, spool: Any, at: int) -> None:
        self.spool = spool  # anything with read(at) -> str
        self.at = at

    def __str__(self) -> str:
        return str(self.spool.read(self.at))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quote | str):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        return str, (str(self),)


def text_of(quoted: str | Quote) -> str:
    return quoted if isinstance(quoted, str) else str(quoted)


@dataclass(frozen=True, slots=True)
class SegmentKey:
    doc_id: str
    level: Level
    index: int


@dataclass(frozen=True, slots=True)
class Segment:
    """A unit of text: `doc.text[start:end] == text`, lines 1-based and inclusive."""

    doc_id: str
    level: Level
    index: int
    start: int
    end: int
    line: int
    end_line: int
    quoted: str | Quote  # its text, or where a run keeps it (read by `text`)
    column: int = 1  # 1-based column of `start` in its line

    @property
    def text(self) -> str:
        return text_of(self.quoted)

    @property
    def key(self) -> SegmentKey:
        return SegmentKey(self.doc_id, self.level, self.index)


@pickled_as_call
@dataclass(frozen=True, slots=True)
class Evidence:
    """What exact verification found for a (survivor, member) pair."""

    jaccard: float
    containment: float  # share of the member's shingles found in the survivor
    containment_survivor: float  # share of the survivor's shingles found in the member
    relation: Relation | None  # None: verified, but not similar enough to be a duplicate
    few: bool = False  # the smaller unit has only a few words: containment alone is not enough
    differ: bool = False  # short units stating different facts (a number, a date, a name)


@dataclass(frozen=True, slots=True)
class Pair:
    """Two distinct texts verified similar: `a` and `b` are the first occurrences of
    their texts, `a` the earlier; `evidence` is b's relation to a."""

    a: Segment
    b: Segment
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class Member:
    """A unit verified against a survivor: removed unless its relation is `overlap`."""

    segment: Segment
    evidence: Evidence
    removed: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Cluster:
    cluster_id: str
    level: Level
    survivor: Segment
    members: tuple[Member, ...]  # of a boilerplate cluster: the copies it removes
    boilerplate: bool = False  # spread over many documents (a byline, a cookie notice)
    #: A boilerplate cluster's copies kept (one a page): where they are, not what they say.
    kept: KeptCopies = field(default_factory=lambda: KeptCopies.empty())


@dataclass(frozen=True, slots=True)
class Kept:
    """A copy of a boilerplate unit that stays (one a page): its document, span and
    scores.  Not quoted: a footer on every page of a large corpus is a copy a page."""

    doc_id: str
    start: int
    end: int
    evidence: Evidence


#: Whole numbers, one an item: a list, a range, or an array.
Column = Sequence[int] | npt.NDArray[np.signedinteger[Any]]


class MadeOnRead(Sequence[_T]):
    """A sequence of values held as columns, each value made when it is read (`_made`):
    it reads, slices and compares as the tuple of its values."""

    __slots__ = ()

    def _made(self, i: int) -> _T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> _T: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[_T, ...]: ...

    def __getitem__(self, i: int | slice) -> _T | tuple[_T, ...]:
        if isinstance(i, slice):
            return tuple(map(self._made, range(*i.indices(len(self)))))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._made(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(map(operator.eq, self, other))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} values)"


class Strings(MadeOnRead[str]):
    """Many short strings (the documents' ids), appended one by one and held as blocks of
    their text joined, with where each ends: a million ids of a few characters took 52 MB
    as objects, about 10 so (#27)."""

    __slots__ = ("_blocks", "_count", "_ends", "_open")

    #: Strings a block.
    BLOCK = 1 << 14

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._ends: list[array.array[int]] = []  # each block's strings' ends in it
        self._open: list[str] = []  # the last block's, until it is full
        self._count = 0

    def append(self, value: str) -> None:
        self._open.append(value)
        self._count += 1
        if len(self._open) == self.BLOCK:
            self._blocks.append("".join(self._open))
            self._ends.append(array.array("q", itertools.accumulate(map(len, self._open))))
            self._open = []

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...

    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        if isinstance(i, int) and 0 <= i < self._count:  # the common case, without checks
            return self._made(i)
        return super().__getitem__(i)

    def _made(self, i: int) -> str:
        block, at = divmod(i, self.BLOCK)
        if block == len(self._blocks):
            return self._open[at]
        ends = self._ends[block]
        return self._blocks[block][ends[at - 1] if at else 0 : ends[at]]

    def __iter__(self) -> Iterator[str]:
        for text, ends in zip(self._blocks, self._ends, strict=True):
            start = 0
            for end in ends:
                yield text[start:end]
                start = end
        yield from self._open


class KeptCopies(MadeOnRead[Kept]):
    """A boilerplate cluster's copies kept, as columns: each `Kept` is made when it is
    read.  A sentence repeated on every page is a copy a page; 537,000 of them, made as
    objects by the run, took 0.5 s of 20,000 documents' run (#27)."""

    __slots__ = ("doc_ids_of", "docs", "ends", "evidence", "starts")

    def __init__(
        self,
        doc_ids_of: Sequence[str],
        docs: Column,
        starts: Column,
        ends: Column,
        evidence: Sequence[Evidence],
    ) -> None:
        self.doc_ids_of = doc_ids_of  # every document's id, by document number
        self.docs = docs  # the document number of each copy
        self.starts = starts
        self.ends = ends
        self.evidence = evidence

    @classmethod
    def empty(cls) -> KeptCopies:
        return cls([], [], [], [], [])

    @property
    def doc_ids(self) -> list[str]:
        docs = self.docs.tolist() if isinstance(self.docs, np.ndarray) else self.docs
        return [self.doc_ids_of[doc] for doc in docs]  # Python ints: `Strings`' fast path

    def __len__(self) -> int:
        return len(self.docs)

    def _made(self, i: int) -> Kept:
        return Kept(
            self.doc_ids_of[int(self.docs[i])],
            int(self.starts[i]),
            int(self.ends[i]),
            self.evidence[i],
        )


@dataclass(frozen=True, slots=True)
class DocStats:
    doc_id: str
    chars: int
    units: int
    duplicate_units: int
    chars_removed: int
    removed: tuple[tuple[int, int], ...] = ()
    removed_quotes: tuple[str | Quote, ...] = ()  # the exact text of each removed span
    file: str = ""  # the output file holding the document, relative to the output folder
    source: Source | None = None  # where it was read
    #: A JSONL record that cleaning emptied and the output left out: its line as it would
    #: have been written (text: the whitespace left); `restore` puts it back in its place.
    dropped: str | None = None
    record: int = 0  # its place among the documents of its file, from 0 (JSONL records)
    path: str = ""  # its input file as the user knows it (a Parquet file, not its spool)
    #: A JSONL record cleaned whose line wrote its strings escaped to ASCII: its text is
    #: written so, and `restore` writes it back so.
    escaped: bool = False

    @property
    def removed_text(self) -> tuple[str, ...]:
        return tuple(map(text_of, self.removed_quotes))


class DocFigures(MadeOnRead[DocStats]):
    """Every document's figures, as columns: each `DocStats` is made when it is read.  A
    million distinct records held 330 MB of them as objects at the end of a run (#27);
    as columns, their ids and 40 bytes a document.

    `cuts` and `quotes` hold the removed spans and their texts of the documents that
    lost any; `dropped` and `escaped` what writing the cleaned output told (see
    `DocStats`).  A document's file is its number in `names`, `paths` and `labels`.
    """

    __slots__ = (
        "chars",
        "cuts",
        "dropped",
        "duplicates",
        "escaped",
        "files",
        "ids",
        "labels",
        "lines",
        "names",
        "offsets",
        "paths",
        "quotes",
        "records",
        "units",
    )

    def __init__(
        self,
        ids: Sequence[str],
        files: Column,
        lines: Column,
        offsets: Column,
        chars: Column,
        units: Column,
        duplicates: Column,
        records: Column,
        names: Sequence[str],
        paths: Sequence[str],
        labels: Sequence[str],
        cuts: dict[int, tuple[tuple[int, int], ...]],
        quotes: dict[int, tuple[str | Quote, ...]],
        dropped: dict[int, str] | None = None,
        escaped: frozenset[int] = frozenset(),
    ) -> None:
        self.ids, self.files, self.lines, self.offsets = ids, files, lines, offsets
        self.chars, self.units, self.duplicates, self.records = chars, units, duplicates, records
        self.names, self.paths, self.labels = names, paths, labels
        self.cuts, self.quotes = cuts, quotes
        self.dropped = dropped or {}
        self.escaped = escaped

    def with_written(self, dropped: dict[int, str], escaped: set[int]) -> DocFigures:
        """These figures with what writing the cleaned documents told (see `DocStats`)."""
        figures = copy.copy(self)
        figures.dropped = {**self.dropped, **dropped}
        figures.escaped = self.escaped | escaped
        return figures

    def totals(self) -> dict[str, int]:
        """Documents, units, duplicate units, characters in and removed: summed columns."""
        return {
            "documents": len(self),
            "units": int(np.sum(self.units, dtype=np.int64)),
            "duplicate_units": int(np.sum(self.duplicates, dtype=np.int64)),
            "chars_in": int(np.sum(self.chars, dtype=np.int64)),
            "chars_removed": sum(e - s for cut in self.cuts.values() for s, e in cut),
        }

    def listed(self, named: set[str]) -> Iterator[DocStats]:
        """In corpus order, the documents that lost text, were left out, or whose id is
        in `named`."""
        numbers = set(self.cuts) | set(self.dropped)
        if named:
            numbers.update(n for n, doc_id in enumerate(self.ids) if doc_id in named)
        return map(self._made, sorted(numbers))

    def __len__(self) -> int:
        return len(self.ids)

    def _made(self, i: int) -> DocStats:
        cut = self.cuts.get(i, ())
        file = int(self.files[i])
        return DocStats(
            self.ids[i],
            int(self.chars[i]),
            int(self.units[i]),
            int(self.duplicates[i]),
            sum(e - s for s, e in cut),
            cut,
            self.quotes.get(i, ()),
            self.names[file],
            Source(self.paths[file], int(self.lines[i]), int(self.offsets[i])),
            self.dropped.get(i),
            int(self.records[i]),
            self.labels[file],
            i in self.escaped,
        )


@dataclass(frozen=True, slots=True)
class Result:
    """Everything a run found: per-document figures and the clusters."""

    options: dict[str, Any]
    documents: DocFigures
    clusters: tuple[Cluster, ...]
    lsh: dict[str, Any] = field(default_factory=dict)
    pairs: tuple[Pair, ...] = ()  # every verified pair of distinct texts, if asked (--pairs)
    skipped: tuple[dict[str, Any], ...] = ()  # inputs left out: {"path", "line", "reason"}
    suppressed: tuple[Segment, ...] = ()  # units inside `dedup: ignore` / `off` markers
    texts: tuple[tuple[str, str], ...] = ()  # (doc_id, text) of documents with clusters, if asked
    #: The evidence of every verified pair of distinct texts, asked or not (the calibration).
    verified: tuple[Evidence, ...] = ()
