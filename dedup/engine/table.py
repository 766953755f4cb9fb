"""The corpus as every stage sees it: compact per-unit arrays, level by level.

What stays in memory for a run is this table, never the corpus: each document's place
(to read it again) and length, per level one int64 row per unit (offsets, lines,
whitespace around, exact key id: see COLUMNS), and the LSH band keys of each distinct
text, once whatever the levels it is a unit of (see `Texts`).  The fingerprint stage
fills it, batch by batch in corpus order; the others read it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.config import Config
from dedup.engine.places import Docs, Place
from dedup.engine.texts import KEY_SPACES, TextPrints, Texts
from dedup.errors import InputError
from dedup.index import lsh_params
from dedup.io import spill
from dedup.io.documents import Verbatim
from dedup.io.readers import Corpus
from dedup.io.spill import DiskColumn, Spool, Stored
from dedup.model import LEVELS, Document, Level, Quote, Segment
from dedup.order import unique_digests
from dedup.parallel import GiveBack, give_back_freed

I64 = npt.NDArray[np.int64]
_Unit = TypeVar("_Unit", int, I64)  # a unit, or an array of them
#: Called as progress(stage, count) while a run goes on: "documents read", ...
Progress = Callable[[str, int], None]

#: Per-unit columns, in this order, as one int64 row each.
COLUMNS = (
    "doc",
    "start",
    "end",
    "line",
    "end_line",
    "ws_before",
    "ws_after",
    "nl_before",
    "nl_after",
    "column",
    "suppressed",
    "marks",
    "key",
)
#: The columns a Removal is made of, in its field order.
REMOVAL_COLUMNS = ("start", "end", "ws_before", "ws_after", "nl_before", "nl_after")
#: A batch sent to a worker: at most this many documents or characters.
BATCH_DOCS = 256
BATCH_CHARS = 1 << 20


@dataclass
class LevelPrints:
    """One level's units from one batch: columns (key still -1; int32 where they fit, see
    `layout`) and exact keys (16 bytes a unit, valid where `mask`).  In the table, until
    it is frozen, each array may wait on disk (see `_Waiting`)."""

    rows: npt.NDArray[np.int64] | npt.NDArray[np.int32]
    digests: npt.NDArray[np.uint8]
    mask: npt.NDArray[np.bool_]

    def held(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
        """The rows, digests and mask, in memory (read back from disk if they wait there)."""
        parts: list[npt.NDArray[Any]] = [
            part.read() if isinstance(part, Stored) else part
            for part in (self.rows, self.digests, self.mask)
        ]
        return parts[0], parts[1], parts[2]


@dataclass
class BatchPrints:
    """What fingerprinting a batch of documents gives: its units per level, its texts."""

    levels: list[LevelPrints]
    texts: TextPrints


@dataclass
class LevelTable:
    """Compact per-unit arrays of one level, and its distinct texts (keys)."""

    name: Level
    blocks: list[LevelPrints] = field(default_factory=list)
    key_unit: I64 = field(default_factory=lambda: np.empty(0, np.int64))  # first unit of a key
    key_digests: npt.NDArray[np.void] = field(default_factory=lambda: np.empty(0, "V16"))
    texts: I64 = field(default_factory=lambda: np.empty(0, np.int64))  # text id of a key
    marks: I64 = field(default_factory=lambda: np.empty(0, np.int64))  # number marks of a key
    candidate_pairs: int = 0  # distinct pairs of its texts, over every key space
    arrays: dict[str, I64] = field(default_factory=dict)  # int64, but the NARROW columns
    cold: dict[str, DiskColumn] = field(default_factory=dict)  # the COLD ones, on disk
    units: int = 0
    highest: I64 | None = None  # the largest value of each column in the blocks

    def gather(self, names: Sequence[str], at: I64) -> list[list[int]]:
        """The values of these columns (in memory or `cold`) at the units `at`."""
        return [column.tolist() for column in self.take(names, at)]

    def take(self, names: Sequence[str], at: I64) -> list[I64]:
        """`gather`, as arrays."""
        return [(self.cold[name] if name in self.cold else self.arrays[name])[at] for name in names]

    def merge(self, prints: LevelPrints) -> None:
        """Add one batch's units, in corpus order; keys are given at `freeze`."""
        self.blocks.append(prints)
        self.units += len(prints.rows)
        if len(prints.rows):
            most = prints.rows.max(axis=0).astype(np.int64)
            self.highest = most if self.highest is None else np.maximum(self.highest, most)

    def freeze(self) -> None:
        """Give every distinct text a key, in order of first appearance (vectorized, no
        dict of digests).

        Blocks are copied into preallocated columns, as narrow as their values allow,
        and released one by one, so that freezing never holds two copies of the rows.
        """
        blocks, self.blocks = self.blocks, []
        total = self.units
        highest = [0] * len(COLUMNS) if self.highest is None else self.highest.tolist()
        columns = {
            name: np.empty(total, dtype=_dtype(name, most))
            for name, most in zip(COLUMNS, highest, strict=True)
            if name != "key"  # -1 in the blocks: numbered below
        }
        valid_parts: list[I64] = []
        digest_parts: list[npt.NDArray[np.uint8]] = []
        start = 0
        giving = GiveBack()
        for block in blocks:
            rows, digests, mask = block.held()
            end = start + len(rows)
            for i, column in enumerate(columns.values()):  # every column but "key", the last
                column[start:end] = rows[:, i]
            valid_parts.append(np.flatnonzero(mask) + start)
            digest_parts.append(digests[mask])
            start = end
            giving.freed(rows.nbytes + digests.nbytes)
            block.rows = block.digests = np.empty(0, np.int64)
            del rows, digests, mask
        valid = np.concatenate(valid_parts) if valid_parts else np.empty(0, np.int64)
        texts = (
            np.ascontiguousarray(
                np.concatenate(digest_parts) if digest_parts else np.empty((0, 16), np.uint8)
            )
            .view("V16")
            .ravel()
        )
        del digest_parts
        first, inverse = unique_digests(texts)
        order = np.argsort(first, kind="stable")  # keys by first appearance
        self.key_digests = texts[first[order]]
        del texts
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        columns["key"] = np.full(total, -1, dtype=_dtype("key", len(order)))
        columns["key"][valid] = rank[inverse.ravel()]
        del inverse
        self.key_unit = valid[first[order]]
        self.arrays = {name: columns[name] for name in COLUMNS}

    def keep_marks(self, coarser: LevelTable | None) -> None:
        """Keep the number marks of its keys' first units (those verification reads, see
        `facts.number_marks`), not of every unit: the level above's, if they are its."""
        column = self.arrays.pop("marks")
        if coarser is not None and coarser.key_unit is self.key_unit:
            self.marks = coarser.marks
        else:
            self.marks = column[self.key_unit]

    def same_as(self, coarser: LevelTable) -> bool:
        """Whether every batch gave this level the coarser one's arrays (one-line records:
        see prints.fingerprint_batch).  Asked before either freezes."""
        return len(self.blocks) == len(coarser.blocks) and all(
            mine.rows is theirs.rows and mine.digests is theirs.digests and mine.mask is theirs.mask
            for mine, theirs in zip(self.blocks, coarser.blocks, strict=True)
        )

    def freeze_as(self, coarser: LevelTable) -> None:
        """Freeze a level `same_as` a frozen one: its arrays (read-only) and keys too."""
        self.blocks = []
        self.arrays = dict(coarser.arrays)
        for column in self.arrays.values():
            column.flags.writeable = False
        self.key_unit = coarser.key_unit
        self.key_digests = coarser.key_digests

    def share(self, coarser: LevelTable) -> None:
        """Hold the columns equal to a coarser level's as that level's arrays, read-only:
        the four levels of a million one-line records are the same rows, 69 MB each."""
        for name, column in self.arrays.items():
            theirs = coarser.arrays[name]
            if column.dtype == theirs.dtype and np.array_equal(column, theirs):
                self.arrays[name] = theirs
        for column in self.arrays.values():
            column.flags.writeable = False


#: Columns kept narrower than int64 when their values fit (they always do but for a
#: document, offset, line, column or key past two billion): 45 bytes a unit, not 96 (the
#: 4.5 million units of 100,000 French documents: 205 MB, not 432).  Arithmetic that may
#: pass two billion (a document number times a width) casts to int64 first.
NARROW: dict[str, type[np.signedinteger[Any]]] = {
    "doc": np.int32,
    "start": np.int32,
    "end": np.int32,
    "line": np.int32,
    "end_line": np.int32,
    "ws_before": np.int32,
    "ws_after": np.int32,
    "nl_before": np.int32,
    "nl_after": np.int32,
    "column": np.int32,
    "suppressed": np.int8,
    "marks": np.int32,
    "key": np.int32,
}


#: Columns only the units a run links are read from (where they are, the line breaks
#: around a cut): on disk once the table is large (see `Table.freeze`).
COLD = ("line", "end_line", "column", "nl_before", "nl_after")


def _spill_cold(levels: Sequence[LevelTable]) -> None:
    """Keep the COLD columns of the levels on disk once they take SPILL_BYTES or more (a
    column levels share, written once): 20 bytes a unit, 90 MB of 100,000 French
    documents' 4.5 million units, of which a run reads those it links."""
    columns = {id(level.arrays[name]): level.arrays[name] for level in levels for name in COLD}
    if sum(column.nbytes for column in columns.values()) < spill.SPILL_BYTES:
        return
    written = {key: DiskColumn(column) for key, column in columns.items()}
    for level in levels:
        level.cold = {name: written[id(level.arrays[name])] for name in COLD}
    del columns
    for level in levels:
        for name in COLD:
            del level.arrays[name]


def narrowed(values: I64) -> I64:
    """Whole numbers as int32 when every one fits (they do but past two billion: a
    document, an offset, a line, a count): half the memory.  A batch's rows wait in the
    main process until every one is read (a million one-line records: four rows each)."""
    if len(values) and (int(values.max()) > _INT32_MAX or int(values.min()) < -_INT32_MAX):
        return values
    return values.astype(np.int32)


_INT32_MAX = np.iinfo(np.int32).max


def _dtype(name: str, highest: int) -> type[np.signedinteger[Any]]:
    """The type of a column whose values reach `highest`: as narrow as NARROW allows."""
    narrow = NARROW.get(name)
    if narrow is None or highest > np.iinfo(narrow).max:
        return np.int64
    return narrow


class _Waiting:
    """The batches' units until the table is frozen: past SPILL_BYTES of them in memory, a
    batch's arrays wait on disk, and `freeze` reads them back a batch at a time (a million
    one-line records held 215 MB of them in the main process, beside the workers)."""

    def __init__(self) -> None:
        self.spool = Spool()
        self.held = 0  # bytes in memory

    def keep(self, levels: list[LevelPrints]) -> None:
        """Hold a batch's arrays, every level's, in memory or on disk; levels that share
        an array (see `LevelTable.same_as`) share it stored."""
        stored: dict[int, Any] = {}  # by id
        for prints in levels:
            for name in ("rows", "digests", "mask"):
                part = getattr(prints, name)
                if id(part) not in stored:
                    if self.held + part.nbytes <= spill.SPILL_BYTES:
                        self.held += part.nbytes
                        stored[id(part)] = part
                    else:
                        stored[id(part)] = self.spool.put(part)
                setattr(prints, name, stored[id(part)])

    def close(self) -> None:
        self.spool.close()
        self.held = 0


class Table:
    """Every document's place and length, and every level's units (see LevelTable)."""

    def __init__(
        self,
        corpus: Corpus,
        config: Config,
        corpus_docs: int | None = None,
        labels: dict[int, int] | None = None,
    ) -> None:
        self.corpus = corpus
        self.config = config
        #: The documents of the whole corpus, when this table holds a part of it (the
        #: incremental check): the boilerplate share counts them; and the counts of its
        #: labelled titles' parts (see `Texts.labels`).
        self.corpus_docs = corpus_docs
        self.levels = [LevelTable(name) for name in LEVELS if name in config.segment.levels]
        self.texts = Texts(labels=dict(labels or {}))
        self.docs = Docs(corpus.files)
        self.waiting = _Waiting()  # the batches' units, until `freeze`
        self.doc_chars: I64 = np.empty(0, np.int64)  # every document's length, once read
        self.file_index = {str(f.path): i for i, f in enumerate(corpus.files)}
        m = config.minhash
        self.params = lsh_params(m.threshold, m.num_perm, m.recall)  # the LSH banding

    def _check_ids(self) -> None:
        """A document id may occur once in a corpus: the first one seen before, in corpus
        order, is an error naming its file and line.  Ids are told apart by their hashes
        first, those that share one by their text: a set of a million ids held 90 MB
        until the end of the run."""
        ids = self.docs.ids
        hashes = np.fromiter(
            (xxhash.xxh3_64_intdigest(i.encode("utf-8", "surrogatepass")) for i in ids),
            np.uint64,
            len(ids),
        )
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        shared = np.zeros(len(ids), dtype=bool)  # a hash another id has too
        same = np.flatnonzero(ordered[1:] == ordered[:-1])
        shared[order[same]] = shared[order[same + 1]] = True
        seen: set[str] = set()
        for number in np.flatnonzero(shared).tolist():
            if ids[number] in seen:
                raise InputError(
                    self.corpus.files[self.docs.file[number]].label,
                    f"duplicate document id {ids[number]!r}",
                    self.docs.line[number] or None,
                )
            seen.add(ids[number])

    def merge(self, batch: BatchPrints) -> None:
        """Add one batch's units and texts, in corpus order."""
        for level, prints in zip(self.levels, batch.levels, strict=True):
            level.merge(prints)
        self.texts.add(batch.texts)
        self.waiting.keep(batch.levels)

    def merge_arrays(
        self, files: Sequence[dict[str, npt.NDArray[Any]]], bases: Sequence[int]
    ) -> None:
        """Add the units and texts of whole files (from the index), their documents
        numbered from `bases`."""
        for arrays, base in zip(files, bases, strict=True):
            levels = []
            for level in self.levels:
                name = level.name
                rows = np.array(arrays[f"{name}.rows"], dtype=np.int64)
                rows[:, 0] += base
                mask = arrays[f"{name}.mask"].astype(bool)
                levels.append(LevelPrints(rows, arrays[f"{name}.digests"], mask))
            bands = {
                space: (arrays[f"texts.{space}.rows"], arrays[f"texts.{space}.bands"])
                for space in KEY_SPACES
                if f"texts.{space}.rows" in arrays
            }
            self.merge(BatchPrints(levels, TextPrints(arrays["texts.digests"], bands)))

    def freeze(self) -> None:
        """Every unit read: give the levels' texts their keys (see LevelTable.freeze), and
        number the texts of all levels (see `Texts`), their band keys kept once."""
        self._check_ids()
        levels = self.levels
        same = [False] + [finer.same_as(above) for above, finer in itertools.pairwise(levels)]
        for coarser, level, as_above in zip([None, *levels[:-1]], levels, same, strict=True):
            if coarser is not None and as_above:
                level.freeze_as(coarser)
                continue
            level.freeze()
            if coarser is not None:
                level.share(coarser)
            # The batches' rows just freed are small blocks amid the heap: given back now,
            # a level at a time, they are not held beside every level's arrays (a
            # million one-line records: 1,663 -> 1,283 MiB at the peak of this stage).
            give_back_freed()
        for coarser, level in zip([None, *levels[:-1]], levels, strict=True):
            level.keep_marks(coarser)
        digests = [level.key_digests for level in self.levels]
        for level in self.levels:
            level.key_digests = np.empty(0, "V16")
        self.waiting.close()  # every batch's units read back
        for level, texts in zip(self.levels, self.texts.freeze(digests), strict=True):
            level.texts = texts
        _spill_cold(self.levels)
        give_back_freed()
        self.doc_chars = np.frombuffer(self.docs.chars, dtype=np.int64)

    def places(self, numbers: Sequence[int] | I64) -> list[Place]:
        """Where a worker finds each of these documents again (see `Docs.places`)."""
        return self.docs.places(numbers, self.corpus.files)

    def reread(self, as_lines: npt.NDArray[np.bool_]) -> Iterator[Document | Verbatim]:
        """Every document read again, in order: those marked in `as_lines` as their
        JSONL lines alone (see `Verbatim`), the others parsed."""
        return self.corpus.load(self.docs.sources(), as_lines.tolist())

    def segments(
        self, li: int, units: list[int], texts: Sequence[str | Quote] | None = None
    ) -> list[Segment]:
        """The Segments of these units of level `li` (with these texts, or none), their
        columns gathered at once."""
        level = self.levels[li]
        a = level.arrays
        at = np.asarray(units, dtype=np.int64)
        # A unit's index in its document: its number less its document's first unit's.
        index = at - np.searchsorted(a["doc"], a["doc"][at], side="left")
        columns = level.gather(("doc", "start", "end", "line", "end_line", "column"), at)
        return [
            Segment(
                self.docs.ids[doc],
                level.name,
                i,
                start,
                end,
                line,
                end_line,
                text,
                column,
            )
            for i, text, doc, start, end, line, end_line, column in zip(
                index.tolist(),
                itertools.repeat("", len(units)) if texts is None else texts,
                *columns,
                strict=True,
            )
        ]


def uid(level: int, unit: _Unit) -> _Unit:
    """One integer id for a unit of any level (or for each of an array of units)."""
    return unit * len(LEVELS) + level
