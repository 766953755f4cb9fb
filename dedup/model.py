"""The values that flow between stages: documents, segments, clusters and the run result.

Segments carry offsets into the raw document text; nothing here holds normalized text.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np

from dedup.columns import Column, KeyedSpans, MadeOnRead, Numbers, first_places, python_ints

Level = Literal["document", "section", "paragraph", "sentence"]
#: Units from the largest to the smallest; `--unit all` works through them in this order.
LEVELS: tuple[Level, ...] = ("document", "section", "paragraph", "sentence")

Relation = Literal["exact", "near", "contained", "overlap"]
#: Relations that make a unit a removable duplicate of its survivor.
REMOVING: frozenset[str] = frozenset({"exact", "near", "contained"})

#: Copies from which `Cluster.documents` counts in numpy (np.unique: 0.37 s, 19,212 clusters).
FEW_DOCS = 1024
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


class Source(NamedTuple):
    """Where a document can be read again: a whole file, or one line of a JSONL file (a
    tuple: made for every record read, a frozen dataclass took 0.45 us, not 0.2)."""

    path: str
    line: int = 0  # 1-based JSONL line, 0 for a whole file
    offset: int = 0  # byte offset of that line


@dataclass(slots=True)
class Document:
    """One input document.  `record` is the full JSONL object (None for plain files).  Not
    frozen: made for every record read, frozen took 0.85 us a record, not 0.3."""

    doc_id: str
    text: str
    source: Source
    record: dict[str, Any] | None = None
    bom: bool = False
    line: bytes | None = None  # a JSONL record's line as read, its line break included


class Quote:
    """A text a run keeps on disk (see `dedup.io.texts.TextSpool`), read when asked for,
    or a part of one (`part`: [start, end) of its characters).

    Equal to another Quote or string of the same text; pickled as its text.
    """

    __slots__ = ("at", "end", "spool", "start")

    def __init__(self, spool: Any, at: int, start: int = 0, end: int | None = None) -> None:
        self.spool = spool  # anything with read(at) -> str
        self.at = at
        self.start = start
        self.end = end

    def __str__(self) -> str:
        return self.within(str(self.spool.read(self.at)))

    def within(self, text: str) -> str:
        """This quote's characters of the text its spool holds at `at` (the text itself,
        not a copy, for a whole one)."""
        return text[self.start : self.end]

    def part(self, start: int, end: int) -> Quote:
        """Characters [start, end) of this text, read from the same place when asked for
        (a document's cut, from its unit's quote: not read and written again at once)."""
        return Quote(self.spool, self.at, self.start + start, self.start + end)

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
    members: Sequence[Member]  # of a boilerplate cluster: the copies it removes
    boilerplate: bool = False  # spread over many documents (a byline, a cookie notice)
    #: A boilerplate cluster's copies kept (one a page): where they are, not what they say.
    kept: KeptCopies = field(default_factory=lambda: KeptCopies.empty())

    def documents(self) -> int:
        """How many documents the cluster's copies are in: its survivor's, those it
        removes and those it keeps.  Counted by number where the numbers are known (a
        document's id is its own: `Table` refuses two documents of one id); the 3 million
        copies kept of 100,000 French documents' boilerplate took 3 s as ids made and
        hashed."""
        kept, members = self.kept, self.members
        if kept.survivor_doc < 0 or not isinstance(members, Members):
            found = (member.segment.doc_id for member in members)
            return len({self.survivor.doc_id, *found, *kept.doc_ids})
        docs = (np.asarray(members.docs, dtype=np.int64), np.asarray(kept.docs, dtype=np.int64))
        if len(docs[0]) + len(docs[1]) < FEW_DOCS:  # by a set, below np.unique's own cost
            return len({kept.survivor_doc, *docs[0].tolist(), *docs[1].tolist()})
        return len(np.unique(np.concatenate(([kept.survivor_doc], *docs))))


class MemberRows:
    """The members of one level's clusters, as columns: a `Member` (and its Segment) is
    made when read, through a cluster's `Members`.  A million records removed whole took
    about 500 bytes each as objects (#27).  `cut_at` bounds each member's removed spans
    in `cut_starts` and `cut_ends`."""

    __slots__ = ("cuts", "doc_ids_of", "evidence", "level", "places", "quoted")

    def __init__(
        self,
        doc_ids_of: Sequence[str],
        level: Level,
        places: Sequence[Column],  # docs, index, starts, ends, lines, end_lines, columns
        quoted: Sequence[str | Quote],
        evidence: Sequence[Evidence],
        cuts: tuple[Column, Column, Column],  # cut_at, cut_starts, cut_ends
    ) -> None:
        self.doc_ids_of, self.level = doc_ids_of, level
        self.places = [python_ints(column) for column in places]
        self.quoted, self.evidence = quoted, evidence
        self.cuts = [python_ints(column) for column in cuts]

    def member(self, k: int) -> Member:
        return next(self.members(k, k + 1))

    def members(self, lo: int, hi: int) -> Iterator[Member]:
        """Rows `lo` to `hi`, made (about 1.5 us a member)."""
        level, quoted = self.level, self.quoted
        _, index, _, _, _, end_lines, columns = self.places
        for k, (doc_id, start, end, line, removed, found) in enumerate(self.placed(lo, hi), lo):
            segment = Segment(
                doc_id, level, index[k], start, end, line, end_lines[k], quoted[k], columns[k]
            )
            yield Member(segment, found, removed)

    def placed(self, lo: int, hi: int) -> Iterator[Placed]:
        """Rows `lo` to `hi` as (document id, start, end, first line, removed spans,
        evidence): what the JSON report lists of a member, without a Member and its
        Segment made (2.8 s of the report of a million records removed whole)."""
        ids, evidence = self.doc_ids_of, self.evidence
        docs, _, starts, ends, lines, _, _ = self.places
        cut_at, cut_starts, cut_ends = self.cuts
        for k in range(lo, hi):
            first, last = cut_at[k], cut_at[k + 1]
            if last == first + 1:
                removed: tuple[tuple[int, int], ...] = ((cut_starts[first], cut_ends[first]),)
            else:
                removed = tuple(zip(cut_starts[first:last], cut_ends[first:last], strict=True))
            yield ids[docs[k]], starts[k], ends[k], lines[k], removed, evidence[k]


#: A member as the JSON report lists it: (document id, start, end, first line, removed
#: spans, evidence).
Placed = tuple[str, int, int, int, tuple[tuple[int, int], ...], Evidence]


class Members(MadeOnRead[Member]):
    """A cluster's members: rows `lo` to `hi` of a level's `MemberRows`."""

    __slots__ = ("hi", "lo", "rows")

    def __init__(self, rows: MemberRows | None, lo: int, hi: int) -> None:
        self.rows, self.lo, self.hi = rows, lo, hi

    def __len__(self) -> int:
        return self.hi - self.lo

    def __iter__(self) -> Iterator[Member]:
        return iter(()) if self.rows is None else self.rows.members(self.lo, self.hi)

    def _made(self, i: int) -> Member:
        assert self.rows is not None
        return self.rows.member(self.lo + i)

    @property
    def evidence(self) -> Sequence[Evidence]:
        """Each member's evidence, without making the members."""
        return () if self.rows is None else self.rows.evidence[self.lo : self.hi]

    @property
    def docs(self) -> Column:
        """Each member's document number."""
        return () if self.rows is None else self.rows.places[0][self.lo : self.hi]

    def placed(self) -> Iterator[Placed]:
        """Each member as the JSON report lists it (see `MemberRows.placed`)."""
        return iter(()) if self.rows is None else self.rows.placed(self.lo, self.hi)


def evidence_of(members: Sequence[Member]) -> Sequence[Evidence]:
    """The evidence of each of these members (of `Members` without making them)."""
    if isinstance(members, Members):
        return members.evidence
    return [member.evidence for member in members]


@dataclass(frozen=True, slots=True)
class Kept:
    """A copy of a boilerplate unit that stays (one a page): its document, span and
    scores.  Not quoted: a footer on every page of a large corpus is a copy a page."""

    doc_id: str
    start: int
    end: int
    evidence: Evidence


class KeptCopies(MadeOnRead[Kept]):
    """A boilerplate cluster's copies kept, as columns: each `Kept` is made when it is
    read.  A sentence repeated on every page is a copy a page; 537,000 of them, made as
    objects by the run, took 0.5 s of 20,000 documents' run (#27)."""

    __slots__ = ("doc_ids_of", "docs", "ends", "evidence", "starts", "survivor_doc")

    def __init__(
        self,
        doc_ids_of: Sequence[str],
        docs: Column,
        starts: Column,
        ends: Column,
        evidence: Sequence[Evidence],
        survivor_doc: int = -1,
    ) -> None:
        self.doc_ids_of = doc_ids_of  # every document's id, by document number
        self.docs = docs  # the document number of each copy
        self.survivor_doc = survivor_doc  # that of the copy the cluster keeps (-1: unknown)
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

    `cuts` holds the removed spans of the documents that lost any, and their texts;
    `dropped` and `escaped` what writing the cleaned output told (see
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
        cuts: KeyedSpans,
        dropped: dict[int, str] | None = None,
        escaped: frozenset[int] = frozenset(),
    ) -> None:
        self.ids, self.files, self.lines, self.offsets = ids, files, lines, offsets
        self.chars, self.units, self.duplicates, self.records = chars, units, duplicates, records
        self.names, self.paths, self.labels = names, paths, labels
        self.cuts = cuts
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
            "chars_removed": self.cuts.total(),
        }

    def listed(self, named: set[str], numbered: Iterable[Column] = ()) -> Numbers:
        """The numbers, in corpus order, of the documents that lost text, were left out,
        or whose id is in `named` or number in `numbered`."""
        marked = np.zeros(len(self), dtype=bool)
        for numbers in (self.cuts, self.dropped, *numbered):
            marked[np.fromiter(numbers, dtype=np.int64, count=len(numbers))] = True
        if named:
            marked[[n for n, doc_id in enumerate(self.ids) if doc_id in named]] = True
        return np.flatnonzero(marked)

    def files_of(self, numbers: Numbers) -> list[str]:
        """The names of these documents' files, each once, in the order they first come."""
        files = np.asarray(self.files)[numbers]
        first = first_places(files)
        return list(dict.fromkeys(self.names[file] for file in files[first].tolist()))

    def __len__(self) -> int:
        return len(self.ids)

    def _made(self, i: int) -> DocStats:
        cut = self.cuts.get(i)
        file = int(self.files[i])
        return DocStats(
            self.ids[i],
            int(self.chars[i]),
            int(self.units[i]),
            int(self.duplicates[i]),
            sum(e - s for s, e in cut),
            cut,
            self.cuts.values_of(i),
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
