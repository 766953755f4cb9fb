"""Stage 1, fingerprint: the corpus in, the table of units (see `table`) filled.

The corpus is cut into chunks (byte ranges of JSONL files, groups of text files);
worker processes read, segment, normalize and fingerprint them, a batch of documents at
a time, and send back per level each unit's row, exact key and LSH band keys
(`fingerprint_batch`); they are merged in corpus order.  With an index, only the files
it does not hold are fingerprinted (`fingerprint_indexed`).
"""

from __future__ import annotations

import collections
import functools
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.clean import gap
from dedup.config import Config, MinHashConfig
from dedup.edit_keys import DELETION_MAX, SEGMENT_MAX, SEGMENT_MIN, deletion_keys, segment_keys
from dedup.engine.table import (
    BATCH_CHARS,
    BATCH_DOCS,
    COLUMNS,
    I64,
    KEY_SPACES,
    BatchPrints,
    LevelPrints,
    Progress,
    Table,
    TextPrints,
)
from dedup.errors import InputError
from dedup.fingerprint import (
    U64,
    batch_shingle_sets,
    char_sets,
    exact_key,
    signatures,
)
from dedup.index import LshParams, band_keys, lsh_params
from dedup.io.documents import InputFile, Skipped
from dedup.io.readers import Chunk, Corpus
from dedup.io.store import Entry, Store
from dedup.model import LEVELS
from dedup.normalize import normalize_many
from dedup.parallel import Workers
from dedup.segment import LineIndex, labelled_parts, spans, suppressed

logger = logging.getLogger(__name__)
#: Before the raw text of a whole document that normalizes to nothing ("»", "..."): its
#: exact key then is its text's, and no normalized text's.
_UNNORMALIZED = "\x00"


def fingerprint_batch(batch: list[tuple[int, str, str]], config: Config) -> BatchPrints:
    """Segment, normalize and fingerprint a batch of (document number, id, text)."""
    levels = [name for name in LEVELS if name in config.segment.levels]
    rows: dict[str, list[tuple[int, ...]]] = {name: [] for name in levels}
    raw: dict[str, list[str]] = {name: [] for name in levels}  # the text of each unit
    whole: dict[str, list[bool]] = {name: [] for name in levels}  # a unit its document is
    for number, doc_id, text in batch:
        found = spans(text, levels, config.segment)
        lines = LineIndex(text)
        quiet = suppressed(text)
        made: dict[tuple[int, int], tuple[tuple[int, ...], str, bool]] = {}  # by span
        for name in levels:
            for span in found[name]:
                unit = made.get(span)  # a unit of a coarser level with the same span
                if unit is None:
                    unit = made[span] = _unit(
                        text, span, number, name, doc_id, lines, quiet, config
                    )
                row, unit_text, entire = unit
                rows[name].append(row)
                raw[name].append(unit_text)
                whole[name].append(entire)
    m = config.minhash
    # A text is normalized and printed once, whatever the levels it is a unit of: a
    # one-sentence paragraph, a one-paragraph section, a one-line record (#27).
    seen: dict[str, int] = {}
    for name in levels:
        for text in raw[name]:
            seen.setdefault(text, len(seen))
    normalized = normalize_many(list(seen), config.normalize)
    out = []
    digest: dict[str, bytes] = {}  # the exact key of each compared text
    pool: dict[bytes, int] = {}  # the compared texts that get band keys, each once
    pool_raw: list[str] = []  # and the first raw text of each
    pool_norms: list[str] = []
    for name in levels:
        table = np.array(rows[name], dtype=np.int64).reshape(-1, len(COLUMNS))
        # A unit a marker hushes is not compared; nor is a part of a document too short
        # once normalized.  A whole document is compared at any length, as an exact
        # copy only: a record repeated whole is a duplicate however short, even one of
        # punctuation alone (#27).
        hushed = table[:, COLUMNS.index("suppressed")].tolist()
        compared = [
            (i, norm if norm or not entire else _UNNORMALIZED + raw[name][i].strip())
            for i, (norm, quiet, entire) in enumerate(
                zip(
                    (normalized[seen[text]] for text in raw[name]),
                    hushed,
                    whole[name],
                    strict=True,
                )
            )
            if not quiet and (len(norm) >= m.min_chars or (entire and raw[name][i].strip()))
        ]
        units = np.array([i for i, _ in compared], dtype=np.int64)
        keys = [
            digest.get(norm) or digest.setdefault(norm, exact_key(norm)) for _, norm in compared
        ]
        # A text is shingled once a batch, at its first unit of any level: a text the
        # batch has had already (a byline, a footer) is not shingled again.
        for (i, norm), key in zip(compared, keys, strict=True):
            if key not in pool and len(norm) >= m.min_chars:
                pool[key] = len(pool)
                pool_raw.append(raw[name][i])
                pool_norms.append(norm)
        mask = np.zeros(len(table), dtype=bool)
        mask[units] = True
        digests = np.zeros((len(table), 16), dtype=np.uint8)
        digests[units] = np.frombuffer(b"".join(keys), np.uint8).reshape(-1, 16)
        out.append(LevelPrints(table, digests, mask))
    texts = np.frombuffer(b"".join(pool), np.uint8).reshape(-1, 16)
    return BatchPrints(out, TextPrints(texts, _print_texts(pool_raw, pool_norms, config)))


def _unit(
    text: str,
    span: tuple[int, int],
    number: int,
    name: str,
    doc_id: str,
    lines: LineIndex,
    quiet: list[tuple[int, int]],
    config: Config,
) -> tuple[tuple[int, ...], str, bool]:
    """A unit's row (see COLUMNS), its text ("" if a marker hushes it), and whether it is
    its whole document."""
    start, end = span
    if end - start > config.minhash.max_unit_chars:
        raise InputError(
            doc_id,
            f"a {name} of {end - start} characters at line {lines.line(start)} is "
            f"longer than --max-unit-chars {config.minhash.max_unit_chars}",
        )
    hushed = any(s <= start and end <= e for s, e in quiet)
    around = gap(text, start, end)
    row = (
        number,
        start,
        end,
        lines.line(start),
        lines.line(max(start, end - 1)),
        *around,
        start - text.rfind("\n", 0, start),  # the column
        int(hushed),
        -1,
    )
    return row, "" if hushed else text[start:end], around[0] == 0 and around[1] == len(text)


def _print_texts(raw: list[str], norms: list[str], config: Config) -> dict[str, tuple[I64, U64]]:
    """The LSH band keys of texts (raw, and normalized), per key space: (text number, band
    keys) rows.  Bags, not sets: the MinHash is the same, and the sort cost a third of the
    shingling."""
    m = config.minhash
    params = lsh_params(m.threshold, m.num_perm, m.recall)
    bags = batch_shingle_sets(norms, m, bags=True)
    by_space = {
        space: (sets.units, band_keys(signatures(sets, m.num_perm, m.seed), params))
        for space, sets in bags.items()
    }
    enough = max(SEGMENT_MAX, 2 * m.char_below)  # what the keys below tell apart
    spaces = [_spaces(norm, enough) for norm in norms]
    add_title_prints(by_space, norms, spaces, raw, config, params)
    add_typo_keys(by_space, norms, spaces, m)
    return by_space


def _spaces(norm: str, enough: int) -> int:
    """The spaces of a normalized text (its words less one), exact below `enough`: a long
    text with that many in its first 4,096 characters is not counted further (a whole
    document took 7 us)."""
    head = norm.count(" ", 0, 4096)
    return head if head >= enough or len(norm) <= 4096 else norm.count(" ")


def add_title_prints(
    by_space: dict[str, tuple[I64, U64]],
    norms: list[str],
    spaces: list[int],
    raw: list[str],
    config: Config,
    params: LshParams,
) -> None:
    """Give a labelled title ("Titre | Blog", "Dossier : Titre") the character band keys of
    the title inside it too, so that the title printed alone is its LSH candidate (#19).
    Rows are text numbers, as in `by_space`."""
    m = config.minhash
    found = [
        (k, part)
        for k, n in enumerate(spaces)
        if n < 2 * m.char_below
        for part in labelled_parts(raw[k])
    ]
    parts = normalize_many([part for _, part in found], config.normalize)
    kept = [
        (unit, part)
        for (unit, _), part in zip(found, parts, strict=True)
        if len(part) >= m.min_chars
    ]
    if not kept:
        return
    sets = char_sets([part for _, part in kept], m)
    rows = np.array([unit for unit, _ in kept], dtype=np.int64)
    bands = band_keys(signatures(sets, m.num_perm, m.seed), params)
    if "char" in by_space:
        rows = np.concatenate((by_space["char"][0], rows))
        bands = np.concatenate((by_space["char"][1], bands))
    by_space["char"] = (rows, bands)


def add_typo_keys(
    by_space: dict[str, tuple[I64, U64]], norms: list[str], spaces: list[int], m: MinHashConfig
) -> None:
    """Give short texts (a title, a heading) their deletion keys, and medium ones (a
    sentence, a short paragraph) their segment keys, one a row: a unit a typo or two from
    another is its candidate, which 5-grams cannot promise (20 characters have 16
    character 5-grams, and one typo changes 5; a typo changes 5 word 5-grams) (#19).
    Rows are text numbers, as in `by_space`."""
    short = [
        k
        for k, (norm, n) in enumerate(zip(norms, spaces, strict=True))
        if n < m.char_below and len(norm) - n <= DELETION_MAX
    ]
    medium = [k for k, n in enumerate(spaces) if SEGMENT_MIN <= n + 1 < SEGMENT_MAX]
    owner, keys = deletion_keys([norms[k] for k in short])
    by_segment, segments = segment_keys([norms[k] for k in medium])
    rows = np.concatenate(
        (
            np.array(short, dtype=np.int64)[owner],
            np.array(medium, dtype=np.int64)[by_segment],
        )
    )
    if len(rows):
        by_space["typo"] = (rows, np.concatenate((keys, segments))[:, None])


@dataclass
class _ChunkPrints:
    """What a worker read and fingerprinted of one chunk: documents numbered from 0,
    JSONL lines numbered within the chunk (see `Corpus.read_chunk`)."""

    lines: int  # the lines of the chunk
    docs: list[tuple[str, str, int, int, int]]  # id, path, JSONL line, offset, characters
    skipped: list[dict[str, Any]]  # report entries
    prints: list[BatchPrints]  # per batch of BATCH_DOCS documents


def _fingerprint_chunk(chunk: Chunk, config: Config) -> _ChunkPrints:
    """Read one chunk of the corpus and fingerprint its documents, a batch at a time."""
    lines, docs = Corpus.of(chunk.files, config.input).read_chunk(chunk)
    out = _ChunkPrints(lines, [], [], [])
    batch: list[tuple[int, str, str]] = []
    for doc in docs:
        if isinstance(doc, Skipped):
            out.skipped.append(doc.entry)
            continue
        place = doc.source
        out.docs.append((doc.doc_id, place.path, place.line, place.offset, len(doc.text)))
        batch.append((len(out.docs) - 1, doc.doc_id, doc.text))
        if len(batch) >= BATCH_DOCS:
            out.prints.append(fingerprint_batch(batch, config))
            batch = []
    if batch or not out.prints:
        out.prints.append(fingerprint_batch(batch, config))
    return out


def _fingerprint_files(items: list[tuple[InputFile, bytes]], config: Config) -> list[Entry]:
    """Read and fingerprint every document of a group of files, for the index: one entry a
    file, its documents numbered from 0, holding the band keys of every text it has.

    The files are fingerprinted together, a batch of documents at a time, and the batches
    cut by file: a file of one page fingerprinted alone paid a batch's fixed costs (the
    cold check of 10,000 pages took 11 s, 1.7 s without the index).  `items` are the
    files and the content hashes the caller computed.
    """
    read = _fingerprint_chunk(Chunk(tuple(file for file, _ in items)), config)
    levels = [name for name in LEVELS if name in config.segment.levels]
    docs_of: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)  # by path
    for doc_id, path, line, offset, chars in read.docs:
        docs_of[path].append({"id": doc_id, "line": line, "offset": offset, "chars": chars})
    skipped_of: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)  # by label
    for entry in read.skipped:
        skipped_of[entry["path"]].append(entry)
    out = []
    first = 0  # the file's first document in the chunk's numbering
    for file, content in items:
        docs, skipped = docs_of[str(file.path)], skipped_of[file.label]
        parts = [_file_part(batch, first, first + len(docs)) for batch in read.prints]
        out.append(Entry(content, {"docs": docs, "skipped": skipped}, _arrays(parts, levels)))
        first += len(docs)
    return out


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
    items: Iterator[tuple[InputFile, bytes, int]],
) -> Iterator[list[tuple[InputFile, bytes]]]:
    """Files (file, content hash, bytes) in groups of about BATCH_CHARS bytes or BATCH_DOCS
    files, in order."""
    group: list[tuple[InputFile, bytes]] = []
    size = 0
    for file, content, length in items:
        group.append((file, content))
        size += length
        if size >= BATCH_CHARS or len(group) >= BATCH_DOCS:
            yield group
            group, size = [], 0
    if group:
        yield group


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
    table.freeze()
    progress("documents read", len(table.docs))
    progress("units fingerprinted", sum(level.units for level in table.levels))
    logger.info("%d documents read and fingerprinted", len(table.docs))


def _fingerprint_all(table: Table, workers: Workers, progress: Progress) -> None:
    table.corpus.skipped = []
    work = functools.partial(_fingerprint_chunk, config=table.config)
    sent: collections.deque[Chunk] = collections.deque()

    def chunks() -> Iterator[Chunk]:
        for chunk in table.corpus.chunks(BATCH_CHARS, BATCH_DOCS):
            sent.append(chunk)
            yield chunk

    answers = workers.map(work, chunks())
    before = 0  # lines of the file before the next chunk (if in the same file)
    while True:
        try:
            read = next(answers, None)
        except InputError as exc:  # the next chunk's, its line numbered within it
            if exc.line is None or not sent or exc.path != sent[0].files[0].label:
                raise  # not a record's (a file that cannot be read, say)
            first = before if sent[0].start else 0
            raise InputError(exc.path, exc.message, exc.line + first) from exc
        if read is None:
            break
        chunk = sent.popleft()
        first = before if chunk.start else 0
        before = first + read.lines
        for entry in read.skipped:
            if entry["line"] is not None:
                entry = {**entry, "line": entry["line"] + first}
            logger.warning("%s", Skipped(entry["path"], entry["reason"], entry["line"]))
            table.corpus.skipped.append(entry)
        base = len(table.docs)
        for doc_id, path, line, offset, chars in read.docs:
            # first: 0 but in a JSONL range
            table.add_doc(doc_id, table.file_index[path], line + first, offset, chars)
        for batch in read.prints:
            for prints in batch.levels:
                prints.rows[:, 0] += base
            table.merge(batch)
        progress("documents read", len(table.docs))
        progress("units fingerprinted", sum(level.units for level in table.levels))


def fingerprint_indexed(table: Table, workers: Workers, store: Store) -> None:
    """Fingerprint only the files whose content the index does not hold, then merge
    every file's units in corpus order, as the plain pass does."""
    found: list[Entry | None] = []
    stats = []
    changed: dict[int, bytes] = {}  # file number -> content hash, to fingerprint again
    for number, file in enumerate(table.corpus.files):
        # A Parquet file is known by itself, not by its spool (made anew each run, the same).
        key, st = os.path.abspath(file.origin), file.origin.stat()
        entry = store.get(key, st.st_size, st.st_mtime_ns, None)
        if entry is None:
            content = xxhash.xxh3_128_digest(file.origin.read_bytes())
            entry = store.get(key, st.st_size, st.st_mtime_ns, content)
            if entry is not None:  # touched, not changed
                store.put(key, st.st_size, st.st_mtime_ns, entry)
            else:
                changed[number] = content
        found.append(entry)
        stats.append((key, st))
    work = functools.partial(_fingerprint_files, config=table.config)
    items = ((table.corpus.files[i], c, stats[i][1].st_size) for i, c in changed.items())
    made = (entry for group in workers.map(work, _groups(items)) for entry in group)
    for i, entry in zip(changed, made, strict=True):
        key, st = stats[i]
        store.put(key, st.st_size, st.st_mtime_ns, entry)
        found[i] = entry
    store.keep_only({key for key, _ in stats})
    entries = [entry for entry in found if entry is not None]
    assert len(entries) == len(found)  # every file has its entry by now
    bases: list[int] = []
    for i, entry in enumerate(entries):
        file = table.corpus.files[i]
        base = len(table.docs)
        for doc in entry.docs["docs"]:
            table.add_doc(doc["id"], i, doc["line"], doc["offset"], doc["chars"])
        table.corpus.skipped.extend(entry.docs["skipped"])
        bases.append(base)
    table.merge_arrays([entry.arrays for entry in entries], bases)
