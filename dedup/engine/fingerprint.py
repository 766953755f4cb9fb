"""Stage 1, fingerprint: the corpus in, the table of units (see `table`) filled.

The corpus is cut into chunks (byte ranges of JSONL files, groups of text files);
worker processes read, segment, normalize and fingerprint them, a batch of documents at
a time, and send back per level each unit's row, exact key and LSH band keys
(`prints.fingerprint_batch`); they are merged in corpus order.  With an index, only the files
it does not hold are fingerprinted (`fingerprint_indexed`).
"""

from __future__ import annotations

import array
import collections
import dataclasses
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.config import Config
from dedup.engine.banded import Banded, forget_banded
from dedup.engine.prints import fingerprint_batch
from dedup.engine.table import (
    BATCH_CHARS,
    BATCH_DOCS,
    COLUMNS,
    I64,
    BatchPrints,
    LevelPrints,
    Progress,
    Table,
)
from dedup.engine.texts import KEY_SPACES, TextPrints
from dedup.errors import InputError
from dedup.io.copies import CopyFolder, copy_folder, write_copies
from dedup.io.documents import InputFile, Skipped
from dedup.io.readers import SETTLED_NS, Chunk, Corpus
from dedup.io.stat import stat_all
from dedup.io.store import Entry, Store
from dedup.model import LEVELS
from dedup.parallel import Workers

logger = logging.getLogger(__name__)


@dataclass
class _ChunkDocs:
    """The documents a worker read of one chunk, as columns: their ids, files (by place
    among the chunk's), JSONL lines, byte offsets, characters, and whether each line is
    its record verbatim.  A tuple a document, a million short records took the main
    process 1.3 s more to take in."""

    ids: list[str] = dataclasses.field(default_factory=list)
    files: array.array[int] = dataclasses.field(default_factory=lambda: array.array("i"))
    lines: array.array[int] = dataclasses.field(default_factory=lambda: array.array("q"))
    offsets: array.array[int] = dataclasses.field(default_factory=lambda: array.array("q"))
    chars: array.array[int] = dataclasses.field(default_factory=lambda: array.array("q"))
    # 1 where a JSONL record's line says what the record is (see `io.documents.Verbatim`)
    verbatim: array.array[int] = dataclasses.field(default_factory=lambda: array.array("b"))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class _ChunkPrints:
    """What a worker read and fingerprinted of one chunk: documents numbered from 0,
    JSONL lines numbered within the chunk (see `Corpus.read_chunk`)."""

    lines: int  # the lines of the chunk
    docs: _ChunkDocs
    skipped: list[dict[str, Any]]  # report entries
    prints: list[BatchPrints]  # per batch of BATCH_DOCS documents
    # Where each document's text was copied, in the file `copy_file` (see io.copies).
    copies: list[int] = dataclasses.field(default_factory=list)
    copy_file: str | None = None


def _fingerprint_chunk(
    chunk: Chunk,
    config: Config,
    texts: list[str] | None = None,
    run: str | None = None,
    number: int = 0,
    copies: str | None = None,
    keep_free: int = 0,
) -> _ChunkPrints:
    """Read one chunk of the corpus and fingerprint its documents, a batch at a time;
    with `texts`, keep each document's text there, in order.  With `run`, a text this
    process banded for an earlier chunk of the run (this is chunk `number`) is not
    banded again.  With `copies`, the texts are copied to the file of that name for the
    stages that read them again, while `keep_free` bytes stay free there (see `io.copies`)."""
    lines, docs = Corpus.of(chunk.files, config.input).read_chunk(chunk)
    known = Banded(run, number) if run is not None else None
    out = _ChunkPrints(lines, _ChunkDocs(), [], [], copy_file=copies)
    read = out.docs
    file_of = {str(file.path): k for k, file in enumerate(chunk.files)}
    batch: list[tuple[int, str, str]] = []

    def done() -> None:
        if copies is not None:
            out.copies += write_copies(copies, [text for _, _, text in batch], keep_free)
        out.prints.append(fingerprint_batch(batch, config, known))

    for doc in docs:
        if isinstance(doc, Skipped):
            out.skipped.append(doc.entry)
            continue
        place = doc.source
        read.ids.append(doc.doc_id)
        read.files.append(file_of[place.path])
        read.lines.append(place.line)
        read.offsets.append(place.offset)
        read.chars.append(len(doc.text))
        read.verbatim.append(doc.line is not None)
        if texts is not None:
            texts.append(doc.text)
        batch.append((len(read) - 1, doc.doc_id, doc.text))
        if len(batch) >= BATCH_DOCS:
            done()
            batch = []
    if batch or not out.prints:
        done()
    if known is not None:
        known.close()
    return out


def _fingerprint_numbered(
    item: tuple[int, Chunk], config: Config, run: str, copies: CopyFolder | None
) -> _ChunkPrints:
    """`_fingerprint_chunk` of chunk number `item[0]`, `item[1]`; its texts copied into
    the folder `copies`, if given, under its number."""
    number, chunk = item
    if copies is None:
        return _fingerprint_chunk(chunk, config, run=run, number=number)
    path = os.path.join(copies.path, str(number))
    return _fingerprint_chunk(
        chunk, config, run=run, number=number, copies=path, keep_free=copies.keep_free
    )


def fingerprint_files(items: list[tuple[InputFile, bytes | None]], config: Config) -> list[Entry]:
    """Read and fingerprint every document of a group of files, for the index: one entry a
    file, its documents numbered from 0, holding the band keys of every text it has.

    The files are fingerprinted together, a batch of documents at a time, and the batches
    cut by file: a file of one page fingerprinted alone paid a batch's fixed costs (the
    cold check of 10,000 pages took 11 s, 1.7 s without the index).  `items` are the
    files and the content hashes the caller computed (None: hashed here, in the worker,
    not in the main process, which read every file of a cold index one after the other).
    """
    texts: list[str] = []
    read = _fingerprint_chunk(Chunk(tuple(file for file, _ in items)), config, texts)
    levels = [name for name in LEVELS if name in config.segment.levels]
    docs_of: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)  # by file
    found = read.docs
    for doc_id, k, line, offset, chars in zip(
        found.ids, found.files, found.lines, found.offsets, found.chars, strict=True
    ):
        docs_of[k].append({"id": doc_id, "line": line, "offset": offset, "chars": chars})
    skipped_of: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)  # by label
    for entry in read.skipped:
        skipped_of[entry["path"]].append(entry)
    out = []
    first = 0  # the file's first document in the chunk's numbering
    for k, (file, content) in enumerate(items):
        docs, skipped = docs_of[k], skipped_of[file.label]
        parts = [_file_part(batch, first, first + len(docs)) for batch in read.prints]
        arrays = _arrays(parts, levels)
        for name in levels:
            mine = texts[first : first + len(docs)]
            arrays[f"{name}.raw"] = _raw_hashes(arrays[f"{name}.rows"], mine)
        if content is None:  # the file as given: a Parquet file, not its spool
            content = xxhash.xxh3_128_digest(file.origin.read_bytes())
        out.append(Entry(content, {"docs": docs, "skipped": skipped}, arrays))
        first += len(docs)
    return out


def _raw_hashes(rows: I64, texts: list[str]) -> npt.NDArray[np.uint64]:
    """The hash of each unit's raw text: the incremental check tells by it that a unit
    repeated elsewhere is still written the same (see `dedup.engine.incremental`)."""
    starts, ends = rows[:, COLUMNS.index("start")].tolist(), rows[:, COLUMNS.index("end")].tolist()
    return np.array(
        [
            xxhash.xxh3_64_intdigest(texts[doc][start:end].encode("utf-8", "surrogatepass"))
            for doc, start, end in zip(rows[:, 0].tolist(), starts, ends, strict=True)
        ],
        dtype=np.uint64,
    )


def _file_part(batch: BatchPrints, first: int, stop: int) -> BatchPrints:
    """The units of documents [first, stop) of a batch, numbered from `first`, and the
    batch's texts they have."""
    levels = []
    used = []
    for prints in batch.levels:
        mine = (prints.rows[:, 0] >= first) & (prints.rows[:, 0] < stop)
        rows = prints.rows[mine].copy()
        rows[:, 0] -= first
        levels.append(LevelPrints(rows, prints.digests[mine], prints.mask[mine]))
        used.append(prints.digests[mine & prints.mask])
    pool = np.ascontiguousarray(batch.texts.digests).view("V16").ravel()
    keep = np.isin(pool, np.ascontiguousarray(np.concatenate(used)).view("V16").ravel())
    renumber = np.cumsum(keep) - 1
    bands = {}
    for space, (rows, keys) in batch.texts.bands.items():
        mine = keep[rows]
        if mine.any():
            bands[space] = (renumber[rows[mine]], keys[mine])
    return BatchPrints(levels, TextPrints(batch.texts.digests[keep], bands))


def _arrays(parts: list[BatchPrints], levels: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
    """A file's batches as the index stores them (see `Table.merge_arrays`)."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    for li, name in enumerate(levels):
        mine = [p.levels[li] for p in parts]
        arrays[f"{name}.rows"] = np.concatenate([p.rows for p in mine])
        arrays[f"{name}.mask"] = np.concatenate([p.mask for p in mine]).astype(np.uint8)
        arrays[f"{name}.digests"] = np.concatenate([p.digests for p in mine])
    texts = [p.texts for p in parts]
    arrays["texts.digests"] = np.concatenate([t.digests for t in texts])
    offsets = np.cumsum([0] + [len(t.digests) for t in texts[:-1]])
    for space in KEY_SPACES:
        found = [
            (t.bands[space], o) for t, o in zip(texts, offsets, strict=True) if space in t.bands
        ]
        if found:
            arrays[f"texts.{space}.rows"] = np.concatenate([rows + o for (rows, _), o in found])
            arrays[f"texts.{space}.bands"] = np.concatenate([bands for (_, bands), _ in found])
    return arrays


def _groups(
    items: Iterator[tuple[InputFile, bytes | None, int]],
) -> Iterator[list[tuple[InputFile, bytes | None]]]:
    """Files (file, content hash, bytes) in groups of about BATCH_CHARS bytes or BATCH_DOCS
    files, in order."""
    group: list[tuple[InputFile, bytes | None]] = []
    size = 0
    for file, content, length in items:
        group.append((file, content))
        size += length
        if size >= BATCH_CHARS or len(group) >= BATCH_DOCS:
            yield group
            group, size = [], 0
    if group:
        yield group


def changes(
    keys: list[str],
    store: Store,
    known: npt.NDArray[np.int64] | None = None,
    stat: Callable[[list[str]], npt.NDArray[np.int64]] = stat_all,
) -> tuple[npt.NDArray[np.int64], dict[int, bytes | None], list[tuple[str, tuple[int, int]]]]:
    """The (size, mtime) of each file (by its index key: its absolute path), the files the
    index does not hold as they are (number -> content hash; None for a file new to the
    index, hashed by whoever reads it next), and those touched, not
    changed (key, (size, mtime)), which get their new stamp in the index unless the
    caller holds a transaction.  `known`: (size, mtime) rows the index held once, one a
    key, to compare first (see `Beside.stamps`); `stat` stats.

    A file whose mtime was within `SETTLED_NS` of its stat may change again within the
    same tick of the file system's clock, keeping its mtime and size: the (size, mtime)
    returned and touched hold -1 for such an mtime, so that the index never takes the
    file for unchanged by its stamp and the next check reads it again."""
    started = time.time_ns()
    stamps = stat(keys)
    differ: Sequence[int] = range(len(keys))
    held_all = None
    if known is not None:
        differ = np.flatnonzero((stamps != known).any(axis=1)).tolist()
    else:
        held_all = store.stamps()
    changed: dict[int, bytes | None] = {}
    touched = []
    for number in differ:
        key, now = keys[number], (int(stamps[number, 0]), int(stamps[number, 1]))
        held = store.stamp(key) if held_all is None else held_all.get(key)
        if held is None:
            changed[number] = None  # new to the index: hashed where it is read
            continue
        if (held[0], held[1]) == now:
            continue
        with open(key, "rb") as data:
            content = xxhash.xxh3_128_digest(data.read())
        held = store.stamp(key)
        if held is not None and held[2] == content:
            touched.append((key, now))
        else:
            changed[number] = content
    kept = stamps.copy()
    kept[started - stamps[:, 1] < SETTLED_NS, 1] = -1
    touched = [
        (key, (size, -1 if started - mtime < SETTLED_NS else mtime))
        for key, (size, mtime) in touched
    ]
    if not store.db.in_transaction:  # else the caller's: it touches them
        store.touch(touched)
    return kept, changed, touched


# --- state kept by the main process -----------------------------------------


def fingerprint(
    table: Table, workers: Workers, progress: Progress, store: Store | None = None
) -> None:
    """Read and fingerprint the whole corpus into `table`, in corpus order; with `store`,
    take the fingerprints of the files it holds from there."""
    if store is not None:
        fingerprint_indexed(table, workers, store)
    else:
        _fingerprint_all(table, workers, progress)
    # The workers' part is over: they go, with the texts they banded and the heap their
    # batches left, while this process freezes the table and finds the candidates; fresh
    # ones start when verification has enough batches for them (see `Workers.map`).  Not
    # those of the document level alone: their heaps hold a batch of pages, and fresh
    # ones cost more, each importing numpy and dedup again (0.3 s of CPU; 100,000
    # French pages: 10.41 -> 9.96 s).
    forget_banded()
    if not table.config.segment.documents_alone:
        workers.close()
    table.freeze()
    progress("documents read", len(table.docs))
    progress("units fingerprinted", sum(level.units for level in table.levels))
    logger.info("%d documents read and fingerprinted", len(table.docs))


def _fingerprint_all(table: Table, workers: Workers, progress: Progress) -> None:
    table.corpus.skipped = []
    # Each run its own name, so that a process (this one, without workers) never takes
    # an earlier run's texts for banded.
    run = uuid.uuid4().hex
    # The texts copied for the stages that read them again, where those read the files
    # this process does (not on a cluster), and read parts of documents: a run of the
    # document level alone reads a few documents again, each whole, which costs less than
    # copying every one (100,000 French pages: 2.2 s of CPU less fingerprinting, 0.4 more
    # verifying).
    parts = not table.config.segment.documents_alone
    copies = copy_folder(table, table.corpus.unchanged.bytes) if workers.local and parts else None
    work = functools.partial(_fingerprint_numbered, config=table.config, run=run, copies=copies)
    sent: collections.deque[tuple[int, Chunk]] = collections.deque()

    def chunks() -> Iterator[tuple[int, Chunk]]:
        for item in enumerate(table.corpus.chunks(BATCH_CHARS, BATCH_DOCS)):
            sent.append(item)
            yield item

    answers = workers.map(work, chunks())
    before = 0  # lines of the file before the next chunk (if in the same file)
    while True:
        try:
            read = next(answers, None)
        except InputError as exc:  # the next chunk's, its line numbered within it
            if exc.line is None or not sent or exc.path != sent[0][1].files[0].label:
                raise  # not a record's (a file that cannot be read, say)
            first = before if sent[0][1].start else 0
            raise InputError(exc.path, exc.message, exc.line + first) from exc
        if read is None:
            break
        number, chunk = sent.popleft()
        first = before if chunk.start else 0
        before = first + read.lines
        for entry in read.skipped:
            if entry["line"] is not None:
                entry = {**entry, "line": entry["line"] + first}
            logger.warning("%s", Skipped(entry["path"], entry["reason"], entry["line"]))
            table.corpus.skipped.append(entry)
        base = len(table.docs)
        if read.copy_file is not None:
            table.docs.copy_paths[number] = read.copy_file
        docs = read.docs
        if len(docs):
            files = np.array([table.file_index[str(file.path)] for file in chunk.files])
            lines = np.frombuffer(docs.lines, dtype=np.int64)
            table.docs.extend(
                docs.ids,
                files[np.frombuffer(docs.files, dtype=np.int32)],
                lines + first if first else lines,  # first: 0 but in a range
                docs.offsets,
                docs.chars,
                number,
                read.copies or [-1] * len(docs),
                docs.verbatim,
            )
        for batch in read.prints:
            numbered: dict[int, npt.NDArray[np.int64] | npt.NDArray[np.int32]] = {}
            for prints in batch.levels:  # levels may share their rows (see fingerprint_batch)
                rows = numbered.get(id(prints.rows))
                if rows is None:
                    rows = prints.rows
                    if base + len(read.docs) > np.iinfo(rows.dtype).max:
                        rows = rows.astype(np.int64)
                    rows[:, 0] += base
                    numbered[id(prints.rows)] = rows
                prints.rows = rows
            table.merge(batch)
        progress("documents read", len(table.docs))
        progress("units fingerprinted", sum(level.units for level in table.levels))


def fingerprint_indexed(table: Table, workers: Workers, store: Store) -> None:
    """Fingerprint only the files whose content the index does not hold, then merge
    every file's units in corpus order, as the plain pass does."""
    # A Parquet file is known by itself, not by its spool (made anew each run, the same).
    keys = [os.path.abspath(file.origin) for file in table.corpus.files]
    stats, changed, _ = changes(keys, store)
    held = store.entries({key for i, key in enumerate(keys) if i not in changed})
    found: list[Entry | None] = [held.get(key) for key in keys]
    for i, entry in enumerate(found):
        if entry is None and i not in changed:  # damaged: read again
            changed[i] = xxhash.xxh3_128_digest(table.corpus.files[i].origin.read_bytes())
    work = functools.partial(fingerprint_files, config=table.config)
    files = table.corpus.files
    items = ((files[i], c, int(stats[i, 0])) for i, c in changed.items())
    numbers = iter(changed)
    for group in workers.map(work, _groups(items)):
        mine = [next(numbers) for _ in group]
        # A transaction a group of files: one a file cost 70 us a commit (0.7 s of a cold
        # check of 10,000 pages).
        rows = []
        for i, entry in zip(mine, group, strict=True):
            found[i] = entry
            rows.append((keys[i], int(stats[i, 0]), int(stats[i, 1]), entry))
        store.put(rows)
    store.keep_only(set(keys))
    entries = [entry for entry in found if entry is not None]
    assert len(entries) == len(found)  # every file has its entry by now
    bases: list[int] = []
    for i, entry in enumerate(entries):
        base = len(table.docs)
        for doc in entry.docs["docs"]:
            table.docs.add(doc["id"], i, doc["line"], doc["offset"], doc["chars"], -1, -1)
        table.corpus.skipped.extend(entry.docs["skipped"])
        bases.append(base)
    table.merge_arrays([entry.arrays for entry in entries], bases)
