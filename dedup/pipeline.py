"""The pipeline: input paths and a Config in, a Result (and cleaned documents) out.

This is the only place the stages meet.  The corpus is read in passes and never
held whole; what stays in memory is compact per-unit arrays (12 int64 columns:
offsets, lines, whitespace around, exact key id) and the LSH band keys of each
distinct unit text:

1. cut the corpus into chunks (byte ranges of JSONL files, groups of text
   files); worker processes read, segment, normalize and fingerprint them;
   the results are merged in corpus order;
2. find LSH candidates per level among distinct texts; workers re-read the
   candidate texts in batches of connected candidates, shingle them again and
   verify every candidate pair exactly, sending back only the scores;
3. resolve top down (document, section, paragraph, sentence): units inside a
   unit already removed take no further part; every duplicate is verified
   against its survivor;
4. re-read the documents with clusters to quote their units in the report (in
   this process: sent back from workers, the texts took longer);
5. `clean` re-reads every document once more and writes it without its cuts.

Workers only ever see batches and return arrays or scores; merging in input order makes
the result identical for every --jobs value.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import dataclasses
import functools
import gc
import itertools
import json
import logging
import os
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.clean import Removal, clean, gap, merge, pieces
from dedup.cluster import Link, clusters
from dedup.config import Config, MinHashConfig
from dedup.errors import InputError, OutputError
from dedup.fingerprint import (
    DELETION_MAX,
    SEGMENT_MAX,
    SEGMENT_MIN,
    SPACES,
    U32,
    U64,
    batch_shingle_sets,
    char_sets,
    deletion_keys,
    distinct,
    exact_key,
    segment_keys,
    signatures,
)
from dedup.index import (
    Facts,
    LshParams,
    band_keys,
    candidate_pairs,
    coverage_many,
    differ,
    edits_near,
    facts,
    lsh_params,
    reverse,
    states_more,
    typos_apart,
    verify,
)
from dedup.io.readers import Chunk, Corpus, InputFile, Skipped, decode, read_json
from dedup.io.store import Entry, Store
from dedup.io.writers import (
    check_output_dir,
    cleaned_record,
    inside,
    stream_documents,
    write_bytes,
    write_documents,
)
from dedup.model import (
    LEVELS,
    REMOVING,
    Cluster,
    DocStats,
    Document,
    Evidence,
    Level,
    Member,
    Pair,
    Result,
    Segment,
    Source,
)
from dedup.normalize import normalize_many
from dedup.parallel import Workers, default_jobs, tune_allocator
from dedup.report import REPORT_VERSION
from dedup.restore import restore
from dedup.segment import LineIndex, labelled_parts, paragraphs, sentences, spans, suppressed

I64 = npt.NDArray[np.int64]
#: Called as progress(stage, count) while a run goes on: "documents read", ...
Progress = Callable[[str, int], None]
logger = logging.getLogger(__name__)

#: Per-unit columns, in this order, as one int64 row each.
_COLUMNS = (
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
    "key",
)
#: The columns a Removal is made of, in its field order.
_REMOVAL_COLUMNS = ("start", "end", "ws_before", "ws_after", "nl_before", "nl_after")
#: Where candidates come from: the LSH bands of each shingle space, and "typo", one key a
#: row: the deletion keys of short units and the segment keys of medium ones (see
#: `_add_typo_keys`).
_KEY_SPACES = (*SPACES, "typo")
#: Before the raw text of a whole document that normalizes to nothing ("»", "..."): its
#: exact key then is its text's, and no normalized text's.
_UNNORMALIZED = "\x00"
#: A batch sent to a worker: at most this many documents or characters.
_BATCH_DOCS = 256
_BATCH_CHARS = 1 << 20
#: A batch of candidate pairs to verify: at most this many distinct texts.
_BATCH_KEYS = 4096


# --- work done in worker processes ------------------------------------------


@dataclass
class _LevelPrints:
    """One level's units from one batch: columns (key still -1), exact keys (16 bytes a
    unit, valid where `mask`), LSH band keys."""

    rows: I64
    digests: npt.NDArray[np.uint8]
    mask: npt.NDArray[np.bool_]
    bands: dict[str, tuple[I64, U64]]  # space -> (unit rows, band keys)


def _fingerprint_batch(batch: list[tuple[int, str, str]], config: Config) -> list[_LevelPrints]:
    """Segment, normalize and fingerprint a batch of (document number, id, text)."""
    levels = [name for name in LEVELS if name in config.segment.levels]
    rows: dict[str, list[tuple[int, ...]]] = {name: [] for name in levels}
    raw: dict[str, list[str]] = {name: [] for name in levels}  # the text of each unit
    whole: dict[str, list[bool]] = {name: [] for name in levels}  # a unit its document is
    for number, doc_id, text in batch:
        found = spans(text, levels, config.segment)
        lines = LineIndex(text)
        quiet = suppressed(text)
        for name in levels:
            for start, end in found[name]:
                if end - start > config.minhash.max_unit_chars:
                    raise InputError(
                        doc_id,
                        f"a {name} of {end - start} characters at line {lines.line(start)} is "
                        f"longer than --max-unit-chars {config.minhash.max_unit_chars}",
                    )
                hushed = any(s <= start and end <= e for s, e in quiet)
                raw[name].append("" if hushed else text[start:end])
                last_line = lines.line(max(start, end - 1))
                column = start - text.rfind("\n", 0, start)
                around = gap(text, start, end)
                row = (
                    number,
                    start,
                    end,
                    lines.line(start),
                    last_line,
                    *around,
                    column,
                    int(hushed),
                    -1,
                )
                rows[name].append(row)
                whole[name].append(around[0] == 0 and around[1] == len(text))
    m = config.minhash
    # A text is normalized and printed once, whatever the levels it is a unit of: a
    # one-sentence paragraph, a one-paragraph section, a one-line record (#27).
    seen: dict[str, int] = {}
    for name in levels:
        for text in raw[name]:
            seen.setdefault(text, len(seen))
    normalized = normalize_many(list(seen), config.normalize)
    tables, compared_units, keys_of, firsts = [], [], [], []
    pool: dict[str, int] = {}  # the raw texts that get band keys, each once
    pool_norms: list[str] = []  # and their compared texts
    for name in levels:
        table = np.array(rows[name], dtype=np.int64).reshape(-1, len(_COLUMNS))
        # A unit a marker hushes is not compared; nor is a part of a document too short
        # once normalized.  A whole document is compared at any length, as an exact
        # copy only: a record repeated whole is a duplicate however short, even one of
        # punctuation alone (#27).
        hushed = table[:, _COLUMNS.index("suppressed")].tolist()
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
        norms = [norm for _, norm in compared]
        keys = np.frombuffer(b"".join(exact_key(n) for n in norms), np.uint8).reshape(-1, 16)
        # Only a text's first unit keeps band keys (see _Level.freeze): a text the
        # batch has had already (a byline, a footer) is not shingled again.
        first = np.sort(np.unique(keys.view("V16").ravel(), return_index=True)[1])
        first = first[np.array([len(norms[i]) >= m.min_chars for i in first.tolist()], bool)]
        places: list[int] = []  # in the pool, of each first unit
        for k, u in zip(first.tolist(), units[first].tolist(), strict=True):
            if raw[name][u] not in pool:  # the same raw text is the same compared text
                pool[raw[name][u]] = len(pool)
                pool_norms.append(norms[k])
            places.append(pool[raw[name][u]])
        firsts.append(np.array(places, dtype=np.int64))
        tables.append(table)
        compared_units.append(units[first])
        keys_of.append((units, keys))
    printed = _print_texts(list(pool), pool_norms, config)
    out = []
    for table, (units, keys), first_units, in_pool in zip(
        tables, keys_of, compared_units, firsts, strict=True
    ):
        unit_of = np.full(len(pool), -1, dtype=np.int64)
        unit_of[in_pool] = first_units
        by_space = {}
        for space, (texts, bands) in printed.items():
            mine = unit_of[texts]
            if (mine >= 0).any():
                by_space[space] = (mine[mine >= 0], bands[mine >= 0])
        mask = np.zeros(len(table), dtype=bool)
        mask[units] = True
        digests = np.zeros((len(table), 16), dtype=np.uint8)
        digests[units] = keys
        out.append(_LevelPrints(table, digests, mask, by_space))
    return out


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
    every = np.arange(len(norms), dtype=np.int64)
    _add_title_prints(by_space, every, every, norms, raw, config, params)
    _add_typo_keys(by_space, every, every, norms, m)
    return by_space


def _add_title_prints(
    by_space: dict[str, tuple[I64, U64]],
    units: I64,
    first: I64,
    norms: list[str],
    raw: list[str],
    config: Config,
    params: LshParams,
) -> None:
    """Give a labelled title ("Titre | Blog", "Dossier : Titre") the character band keys of
    the title inside it too, so that the title printed alone is its LSH candidate (#19)."""
    m = config.minhash
    found = [
        (unit, part)
        for k, unit in zip(first.tolist(), units[first].tolist(), strict=True)
        if norms[k].count(" ") < 2 * m.char_below
        for part in labelled_parts(raw[unit])
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


def _add_typo_keys(
    by_space: dict[str, tuple[I64, U64]], units: I64, first: I64, norms: list[str], m: MinHashConfig
) -> None:
    """Give short units (a title, a heading) their deletion keys, and medium ones (a
    sentence, a short paragraph) their segment keys, one a row: a unit a typo or two from
    another is its candidate, which 5-grams cannot promise (20 characters have 16
    character 5-grams, and one typo changes 5; a typo changes 5 word 5-grams) (#19)."""
    short = [
        k
        for k in first.tolist()
        if norms[k].count(" ") < m.char_below
        and m.min_chars <= len(norms[k]) - norms[k].count(" ") <= DELETION_MAX
    ]
    medium = [k for k in first.tolist() if SEGMENT_MIN <= norms[k].count(" ") + 1 < SEGMENT_MAX]
    owner, keys = deletion_keys([norms[k] for k in short])
    by_segment, segments = segment_keys([norms[k] for k in medium])
    rows = np.concatenate(
        (
            units[np.array(short, dtype=np.int64)][owner],
            units[np.array(medium, dtype=np.int64)][by_segment],
        )
    )
    if len(rows):
        by_space["typo"] = (rows, np.concatenate((keys, segments))[:, None])


def _verify_batch(
    batch: tuple[list[_KeyPlace], list[tuple[int, int]]], config: Config
) -> list[tuple[int, int, Evidence]]:
    """Exact evidence of candidate pairs of keys: the batch's units (key, document, span)
    are read, normalized and shingled once each, and each pair verified in the shingle
    space both share (characters first: short units)."""
    units, pairs = batch
    texts = _read_places([place for _, place, _, _ in units], config)
    raw = [text[start:end] for text, (_, _, start, end) in zip(texts, units, strict=True)]
    norms = normalize_many(raw, config.normalize)
    words = [norm.count(" ") + 1 for norm in norms]
    sets: list[dict[str, U32]] = [{} for _ in units]
    for space, shingled in batch_shingle_sets(norms, config.minhash).items():
        for i, unit in enumerate(shingled.units.tolist()):
            sets[unit][space] = shingled[i]
    at = {key: i for i, (key, _, _, _) in enumerate(units)}
    m = config.minhash
    stated: dict[int, Facts] = {}  # the facts of each short unit, once
    found: list[tuple[int, int, Evidence]] = []
    chars_first: list[bool] = []  # whether a pair was verified by characters
    for a, b in pairs:
        i, j = at[a], at[b]
        space = "char" if "char" in sets[i] and "char" in sets[j] else "word"
        chars_first.append(space == "char")
        if space not in sets[i] or space not in sets[j]:
            # A short unit against one of twice its words or more, met through a title
            # or typo key: no space in common, and no duplicate unless by edits (below).
            found.append((a, b, Evidence(0.0, 0.0, 0.0, None)))
            continue
        # Short units (compared by characters) that state other facts are other lines.
        other = False
        if space == "char":
            for unit in (i, j):
                if unit not in stated:
                    stated[unit] = facts(raw[unit])
            other = differ(stated[i], stated[j])
        few = min(words[i], words[j]) < m.char_below
        found.append((a, b, verify(sets[i][space], sets[j][space], m.threshold, False, few, other)))
    # A typo changes one word but five word shingles: a 30-word paragraph with one typo
    # has word Jaccard 0.71.  Pairs of units under SEGMENT_MAX words below the threshold in
    # words are also measured in characters, which see a typo as a typo, then by their
    # edits (#19).  Longer units are near by word 5-grams alone: a document with one word
    # in ten replaced is 0.9 similar by its word edits, but only 0.4 by its 5-grams.
    again = [
        n
        for n, (a, b, ev) in enumerate(found)
        if ev.jaccard < m.threshold
        and not ev.differ
        and max(words[at[a]], words[at[b]]) < SEGMENT_MAX
    ]
    _add_char_sets(sets, sorted({at[key] for n in again for key in found[n][:2]}), norms, m)
    titled: dict[int, list[str]] = {}

    def titles(unit: int) -> list[str]:
        """The titles inside a labelled unit, normalized (see `labelled_parts`)."""
        if unit not in titled:
            short = words[unit] < 2 * m.char_below
            parts = labelled_parts(raw[unit]) if short else []
            titled[unit] = normalize_many(parts, config.normalize) if parts else []
        return titled[unit]

    for n in again:
        a, b, evidence = found[n]
        i, j = at[a], at[b]
        by_chars = evidence  # the pair was verified by characters already, unless:
        if not chars_first[n]:
            by_chars = verify(sets[i]["char"], sets[j]["char"], m.threshold, False, evidence.few)
        if by_chars.relation == "near":
            found[n] = (a, b, by_chars)
        elif edits_near(norms[i], norms[j], m.threshold, m.char_below) or _titled(
            titles(i), norms[j], titles(j), norms[i], m.threshold
        ):
            found[n] = (a, b, dataclasses.replace(by_chars, relation="near"))
    return found


def _titled(titles_a: list[str], norm_b: str, titles_b: list[str], norm_a: str, t: float) -> bool:
    """Whether one of two short units is the other with a label (a site's name, a topic)
    added: a title inside it (`titles_a`, normalized) is the other, or the other with typos
    only."""
    return any(
        part == other or typos_apart(part, other, t)
        for parts, other in ((titles_a, norm_b), (titles_b, norm_a))
        for part in parts
    )


def _add_char_sets(
    sets: list[dict[str, U32]], units: list[int], norms: list[str], config: MinHashConfig
) -> None:
    """Give these units their character shingle sets, whatever their length, if they have
    none yet."""
    need = [i for i in units if "char" not in sets[i]]
    found = char_sets([norms[i] for i in need], config)
    for n, i in enumerate(need):
        sets[i]["char"] = found[n]


#: Where a worker reads a document again: its file and its place in it.
_Place = tuple[InputFile, Source]
#: A key to verify and where its text is: (key, document, start, end).
_KeyPlace = tuple[int, _Place, int, int]


def _read_places(places: Sequence[_Place], config: Config) -> list[str]:
    """The texts of these documents, read again, each distinct one once."""
    corpus = Corpus.of({file.path: file for file, _ in places}.values(), config.input)
    sources = sorted({source for _, source in places}, key=lambda s: (s.path, s.offset))
    texts = {source: doc.text for source, doc in zip(sources, corpus.load(sources), strict=True)}
    return [texts[source] for _, source in places]


#: (member, survivor's document and span, member's document and span, the member's
#: paragraphs if known) of a link.
_LinkPlace = tuple[
    int, _Place, tuple[int, int], _Place, tuple[int, int], list[tuple[int, int]] | None
]
_Child = tuple[int, int, int, int, int, int]


def _repeated_batch(
    items: list[_LinkPlace], level: Level, config: Config
) -> list[tuple[int, list[_Child] | None]]:
    """Children of near duplicates that their survivors repeat; None: the unit goes whole.

    A survivor that several members repeat is normalized and shingled once.  A member's
    paragraphs come with it when the run has them, else they are found once a document.
    """
    texts = _read_places([place for item in items for place in (item[1], item[3])], config)
    paragraphs_of: dict[_Place, list[tuple[int, int]]] = {}  # a document's, found once
    survivors: list[str] = []
    owner_of: dict[tuple[_Place, tuple[int, int]], int] = {}  # survivor -> its number
    splits: list[tuple[int, str, list[tuple[int, int]]]] = []  # item, member's text, children
    pieces: list[str] = []  # the children's texts
    owners: list[int] = []
    out: list[tuple[int, list[_Child] | None]] = [(item[0], None) for item in items]
    for i, (_, survivor, (ss, se), place, span, known) in enumerate(items):
        text = texts[2 * i + 1]
        if level == "paragraph":
            children = sentences(text, span)
        elif known is not None:
            children = known
        else:
            if place not in paragraphs_of:
                paragraphs_of[place] = paragraphs(text)
            paras = paragraphs_of[place]
            first = bisect.bisect_left(paras, (span[0], span[0]))
            last = bisect.bisect_right(paras, (span[1], span[1]), lo=first)
            children = [p for p in paras[first:last] if p[1] <= span[1]]
        if children == [span]:
            continue  # the unit is its only child: it goes whole
        owner = owner_of.setdefault((survivor, (ss, se)), len(survivors))
        if owner == len(survivors):
            survivors.append(texts[2 * i][ss:se])
        pieces += [text[cs:ce] for cs, ce in children]
        owners += [owner] * len(children)
        splits.append((i, text, children))
    survived = normalize_many(survivors, config.normalize, spaces=False)
    covered = _covered(pieces, owners, survivors, survived, config)
    # A paragraph of a near section that its survivor only nearly repeats may hold a
    # sentence the survivor lacks (a repost adds one): its sentences are weighed one by
    # one, as at the paragraph level, so that the added one stays.  Not at the document
    # level, whose near copies are the run's bulk (20,000 near copies with word edits,
    # document level: 2.8 -> 3.4 s).
    places = [(i, child) for i, _, children in splits for child in children]
    finer: dict[int, list[tuple[int, int]]] = {}
    if level == "section":
        for n, (i, child) in enumerate(places):
            if covered[n] == _NEARLY:
                parts = sentences(texts[2 * i + 1], child)
                if len(parts) > 1:
                    finer[n] = parts
    inside: dict[int, list[tuple[int, int]]] = {n: [] for n in finer}
    if finer:
        parts_of = [(n, part) for n, parts in finer.items() for part in parts]
        found = _covered(
            [texts[2 * places[n][0] + 1][ps:pe] for n, (ps, pe) in parts_of],
            [owners[n] for n, _ in parts_of],
            survivors,
            survived,
            config,
        )
        for (n, part), repeated in zip(parts_of, found, strict=True):
            if repeated:
                inside[n].append(part)
        for n, parts in finer.items():
            if inside[n] == parts:  # every sentence repeated: the paragraph goes whole
                inside[n] = [places[n][1]]
    n = 0
    for i, text, children in splits:
        cut: list[tuple[int, int]] = []
        for child in children:
            cut += inside[n] if n in inside else [child] if covered[n] else []
            n += 1
        out[i] = (items[i][0], [(cs, ce, *gap(text, cs, ce)) for cs, ce in cut])
    return out


#: What `_covered` says of a child its survivor repeats by k-grams, but not verbatim and
#: for less than _WHOLE of its k-grams: a sentence added to it may stay.
_NEARLY = 1
#: A child whose survivor has this share of its k-grams or more is repeated whole: a
#: sentence of eight words added to one of a hundred leaves it 0.93.
_WHOLE = 0.95


def _covered(
    pieces: list[str], owners: list[int], survivors: list[str], compact: list[str], config: Config
) -> list[int]:
    """Which child texts (`pieces`, raw) their survivors (`survivors`, raw; `compact`,
    normalized without spaces) repeat: 0 not, 1 (_NEARLY) by most of their k-grams, 2
    wholly.

    A short child that its survivor only nearly repeats, and that states a number, a
    month or a name the survivor lacks, is another post's templated line: it stays (#19).
    """
    m = config.minhash
    texts = normalize_many(pieces, config.normalize, spaces=False)
    shares = coverage_many(texts, owners, compact, m.char_shingle_size)
    out: list[int] = []
    stated: dict[int, Facts] = {}
    for piece, share, owner in zip(pieces, shares, owners, strict=True):
        if share < m.threshold:
            out.append(0)
        elif share == 1.0:  # verbatim, or every k-gram of it
            out.append(2)
        elif piece.count(" ") < 2 * m.char_below:
            if owner not in stated:
                stated[owner] = facts(survivors[owner])
            out.append(0 if states_more(facts(piece), stated[owner]) else 2)
        else:
            out.append(_NEARLY if share < _WHOLE else 2)
    return out


@dataclass
class _ChunkPrints:
    """What a worker read and fingerprinted of one chunk: documents numbered from 0,
    JSONL lines numbered within the chunk (see `Corpus.read_chunk`)."""

    lines: int  # the lines of the chunk
    docs: list[tuple[str, str, int, int, int]]  # id, path, JSONL line, offset, characters
    skipped: list[dict[str, Any]]  # report entries
    prints: list[list[_LevelPrints]]  # per batch of _BATCH_DOCS documents, per level


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
        if len(batch) >= _BATCH_DOCS:
            out.prints.append(_fingerprint_batch(batch, config))
            batch = []
    if batch or not out.prints:
        out.prints.append(_fingerprint_batch(batch, config))
    return out


def _fingerprint_file(item: tuple[InputFile, bytes], config: Config) -> Entry:
    """Read and fingerprint every document of one file, for the index (numbers from 0).

    `item` is the file and the content hash the caller already computed.
    """
    file, content = item
    read = _fingerprint_chunk(Chunk((file,)), config)
    docs = [
        {"id": doc_id, "line": line, "offset": offset, "chars": chars}
        for doc_id, _, line, offset, chars in read.docs
    ]
    skipped = read.skipped
    prints = read.prints
    levels = [name for name in LEVELS if name in config.segment.levels]
    arrays: dict[str, npt.NDArray[Any]] = {}
    for li, name in enumerate(levels):
        parts = [p[li] for p in prints]
        rows = np.concatenate([p.rows for p in parts])
        arrays[f"{name}.rows"] = rows
        arrays[f"{name}.mask"] = np.concatenate([p.mask for p in parts]).astype(np.uint8)
        arrays[f"{name}.digests"] = np.concatenate([p.digests for p in parts])
        for space in _KEY_SPACES:
            offsets = np.cumsum([0] + [len(p.rows) for p in parts[:-1]])
            units = [
                p.bands[space][0] + o
                for p, o in zip(parts, offsets, strict=True)
                if space in p.bands
            ]
            bands = [p.bands[space][1] for p in parts if space in p.bands]
            if units:
                arrays[f"{name}.{space}.units"] = np.concatenate(units)
                arrays[f"{name}.{space}.bands"] = np.concatenate(bands)
    return Entry(content, {"docs": docs, "skipped": skipped}, arrays)


# --- state kept by the main process -----------------------------------------


def _pair_batches(
    neighbours: Mapping[int, Sequence[int]], chars: Callable[[int], int]
) -> Iterator[tuple[list[int], list[tuple[int, int]]]]:
    """The candidate pairs (a < b) in batches, with the keys each batch needs.

    Connected groups of candidates (a text and its near copies, say) stay in one
    batch, so each text is shingled once; batches are filled with whole groups up
    to about _BATCH_CHARS characters or _BATCH_KEYS keys.  A group larger than that
    (templated lines differing in a number) is cut along its sorted pairs, its
    keys then shingled once per batch that needs them.
    """
    root = {key: key for key in neighbours}

    def find(key: int) -> int:
        while root[key] != key:
            root[key] = root[root[key]]
            key = root[key]
        return key

    for a, others in neighbours.items():
        for b in others:
            ra, rb = find(a), find(b)
            if ra != rb:
                root[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for key in sorted(neighbours):
        groups[find(key)].append(key)
    keys: dict[int, None] = {}
    pairs: list[tuple[int, int]] = []
    size = 0
    for group in groups.values():  # by smallest key: roots are the smallest keys
        whole = sum(chars(key) for key in group)
        if pairs and (size + whole > _BATCH_CHARS or len(keys) + len(group) > _BATCH_KEYS):
            yield list(keys), pairs
            keys, pairs, size = {}, [], 0
        for a in group:
            for b in neighbours[a]:
                if a < b:
                    for key in (a, b):
                        if key not in keys:
                            keys[key] = None
                            size += chars(key)
                    pairs.append((a, b))
                    if size >= _BATCH_CHARS or len(keys) >= _BATCH_KEYS:
                        yield list(keys), pairs
                        keys, pairs, size = {}, [], 0
    if pairs:
        yield list(keys), pairs


@dataclass
class _Space:
    """The LSH band keys of one shingle space (char or word) of one level, a row per key.

    Only band keys are kept (8 bytes a band), not signatures: candidates are
    verified on exact shingle sets, so nothing else needs the signature.
    """

    keys: list[I64] = field(default_factory=list)  # key id of every row, in blocks
    blocks: list[U64] = field(default_factory=list)
    candidates: int = 0

    def add(self, keys: I64, bands: U64) -> None:
        if len(keys):
            self.keys.append(keys)
            self.blocks.append(bands)

    def take(self, bands: int) -> tuple[I64, U64]:
        """All keys and band keys, releasing the blocks."""
        keys = np.concatenate(self.keys) if self.keys else np.empty(0, dtype=np.int64)
        rows = np.concatenate(self.blocks) if self.blocks else np.empty((0, bands), np.uint64)
        self.keys, self.blocks = [], []
        return keys, rows


@dataclass
class _Level:
    """Compact per-unit arrays of one level, and its distinct texts (keys)."""

    name: Level
    blocks: list[_LevelPrints] = field(default_factory=list)
    key_unit: I64 = field(default_factory=lambda: np.empty(0, np.int64))  # first unit of a key
    spaces: dict[str, _Space] = field(default_factory=lambda: {s: _Space() for s in _KEY_SPACES})
    arrays: dict[str, I64] = field(default_factory=dict)
    units: int = 0

    def merge(self, prints: _LevelPrints) -> None:
        """Add one batch's units, in corpus order; keys are given at `freeze`."""
        self.blocks.append(prints)
        self.units += len(prints.rows)

    def merge_arrays(
        self, files: Sequence[dict[str, npt.NDArray[Any]]], bases: Sequence[int]
    ) -> None:
        """Add the units of whole files (from the index), their documents numbered from `bases`."""
        name = self.name
        for arrays, base in zip(files, bases, strict=True):
            rows = np.array(arrays[f"{name}.rows"], dtype=np.int64)
            rows[:, 0] += base
            bands = {
                space: (arrays[f"{name}.{space}.units"], arrays[f"{name}.{space}.bands"])
                for space in _KEY_SPACES
                if f"{name}.{space}.units" in arrays
            }
            mask = arrays[f"{name}.mask"].astype(bool)
            self.merge(_LevelPrints(rows, arrays[f"{name}.digests"], mask, bands))

    def freeze(self) -> None:
        """Give every distinct text a key, in order of first appearance (vectorized, no
        dict of digests), and keep the band keys of each key's first unit only.

        Blocks are copied into preallocated arrays and released one by one, so that
        freezing never holds two copies of the band keys.
        """
        blocks, self.blocks = self.blocks, []
        total = sum(len(b.rows) for b in blocks)
        rows = np.empty((total, len(_COLUMNS)), dtype=np.int64)
        valid_parts: list[I64] = []
        digest_parts: list[npt.NDArray[np.uint8]] = []
        start = 0
        for block in blocks:
            rows[start : start + len(block.rows)] = block.rows
            valid_parts.append(np.flatnonzero(block.mask) + start)
            digest_parts.append(block.digests[block.mask])
            start += len(block.rows)
            block.rows = block.digests = np.empty(0, np.int64)
        valid = np.concatenate(valid_parts) if valid_parts else np.empty(0, np.int64)
        texts = (
            np.ascontiguousarray(
                np.concatenate(digest_parts) if digest_parts else np.empty((0, 16), np.uint8)
            )
            .view("V16")
            .ravel()
        )
        del digest_parts
        _, first, inverse = np.unique(texts, return_index=True, return_inverse=True)
        del texts
        order = np.argsort(first, kind="stable")  # keys by first appearance
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        rows[:, -1] = -1
        rows[valid, -1] = rank[inverse.ravel()]
        del inverse
        fresh = np.zeros(total, dtype=bool)
        fresh[valid[first]] = True
        self.key_unit = valid[first[order]]
        start = 0
        for block in blocks:
            for space, (units, bands) in block.bands.items():
                keep = fresh[units + start]
                self.spaces[space].add(rows[units[keep] + start, -1], bands[keep])
            start += len(block.mask)
            block.bands = {}
        self.arrays = {name: np.ascontiguousarray(rows[:, i]) for i, name in enumerate(_COLUMNS)}


@dataclass
class _Doc:
    doc_id: str
    source: Source
    file: int
    chars: int


class _EarlyQuotes:
    """The texts of the documents a document-level run links, read by a thread of the
    main process while the workers check their children (the main process mostly
    waits on them then), so that the report needs few documents read again at its end.

    Each level's documents are read in order, in jobs taken one after another;
    `finish` waits for them and raises what a job raised.
    """

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.quotes: dict[tuple[int, int], str] = {}
        self.jobs: queue.SimpleQueue[tuple[int, list[Link]] | None] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def read(self, li: int, links: list[Link]) -> None:
        # Only for a run of the document level alone.  With several levels, a document
        # would be read once a level, while the main process is busy with the next
        # level's links (20,000 documents, every level: 26.8 -> 29.4 s).  A finer unit's
        # cut takes the whitespace beside it, which its quote lacks, so its document is
        # read again anyway, and the quotes held while the workers live only add to the
        # peak (100,000 documents, paragraph level: 32.6 -> 33.4 s, 851 -> 937 MiB).
        # With the documents' whole texts wanted, every document is read at the end.
        only_documents = [level.name for level in self.run.levels] == ["document"]
        if not only_documents or self.run.config.run.document_texts or not links:
            return
        if self.thread is None:
            self.thread = threading.Thread(target=self._serve, name="dedup-quotes", daemon=True)
            self.thread.start()
        self.jobs.put((li, links))

    def finish(self) -> dict[tuple[int, int], str]:
        """The quotes read, once every job is done."""
        self.close(wait=True)
        if self.error is not None:
            raise self.error
        return self.quotes

    def close(self, wait: bool = False) -> None:
        if not wait:
            self.stop.set()
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None

    def _serve(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                self._read(*job)
        except BaseException as exc:  # handed to the main thread by finish()
            self.error = exc

    def _read(self, li: int, links: list[Link]) -> None:
        wanted: dict[int, dict[tuple[int, int], None]] = {}
        _add_units(wanted, li, self.run.levels[li].arrays["doc"], links)
        for number, doc in self.run._reread(sorted(wanted)):
            if self.stop.is_set():
                return
            units = list(wanted[number])
            for unit, (start, end) in zip(units, self.run._spans(units), strict=True):
                self.quotes[unit] = doc.text[start:end]


def _add_units(
    wanted: dict[int, dict[tuple[int, int], None]], li: int, docs: I64, links: list[Link]
) -> None:
    """Add the (level, unit)s these links name to `wanted`, under their documents."""
    units = [u for link in links for u in (link.survivor, link.member)]
    for number, u in zip(docs[units].tolist(), units, strict=True):
        wanted.setdefault(number, {})[li, u] = None


def _from_quotes(
    quotes: dict[tuple[int, int], str],
    units: list[tuple[int, int]],
    spans: list[tuple[int, int]],
    cuts: list[tuple[int, int]],
) -> list[str] | None:
    """A document's unit texts then cut texts, from the quotes of its units; None if
    a unit has none or a cut lies outside every unit."""
    if not all(unit in quotes for unit in units):
        return None
    quoted = [quotes[unit] for unit in units]
    out = list(quoted)
    for start, end in cuts:
        for text, (us, ue) in zip(quoted, spans, strict=True):
            if us <= start and end <= ue:
                out.append(text[start - us : end - us])
                break
        else:
            return None
    return out


class _Run:
    """State of one analysis over one corpus."""

    def __init__(
        self,
        corpus: Corpus,
        config: Config,
        workers: Workers,
        progress: Progress | None = None,
    ) -> None:
        self.corpus = corpus
        self.config = config
        self.workers = workers
        self.levels = [_Level(name) for name in LEVELS if name in config.segment.levels]
        self.docs: list[_Doc] = []
        self.doc_chars: I64 = np.empty(0, np.int64)  # every document's length, once read
        self.ids: set[str] = set()
        self.file_index = {str(f.path): i for i, f in enumerate(corpus.files)}
        m = config.minhash
        self.params = lsh_params(m.threshold, m.num_perm, m.recall)
        self.pairs: list[list[tuple[int, int, Evidence]]] = [[] for _ in self.levels]
        self.boilerplate: list[set[int]] = [set() for _ in self.levels]  # survivors
        self.spared: set[tuple[int, int]] = set()  # (level, unit) of boilerplate kept
        self.texts: list[tuple[str, str]] = []
        self.progress: Progress = progress or (lambda stage, count: None)
        self.early = _EarlyQuotes(self)
        self.dropped: dict[int, dict[str, Any]] = {}  # document -> record left out when cleaning

    def close(self) -> None:
        self.early.close()

    # pass 1 ----------------------------------------------------------------
    def fingerprint(self, store: Store | None = None) -> None:
        if store is not None:
            self._fingerprint_indexed(store)
        else:
            self.corpus.skipped = []
            work = functools.partial(_fingerprint_chunk, config=self.config)
            sent: collections.deque[Chunk] = collections.deque()

            def chunks() -> Iterator[Chunk]:
                for chunk in self.corpus.chunks(_BATCH_CHARS, _BATCH_DOCS):
                    sent.append(chunk)
                    yield chunk

            answers = self.workers.map(work, chunks())
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
                    self.corpus.skipped.append(entry)
                base = len(self.docs)
                for doc_id, path, line, offset, chars in read.docs:
                    source = Source(path, line + first, offset)  # first: 0 but in a JSONL range
                    self._add_doc(doc_id, source, self.file_index[path], chars)
                for batch in read.prints:
                    for level, prints in zip(self.levels, batch, strict=True):
                        prints.rows[:, 0] += base
                        level.merge(prints)
                self.progress("documents read", len(self.docs))
                self.progress("units fingerprinted", sum(level.units for level in self.levels))
        for level in self.levels:
            level.freeze()
        self.doc_chars = np.array([doc.chars for doc in self.docs], dtype=np.int64)
        self.progress("documents read", len(self.docs))
        self.progress("units fingerprinted", sum(level.units for level in self.levels))
        logger.info("%d documents read and fingerprinted", len(self.docs))

    def _add_doc(self, doc_id: str, source: Source, file: int, chars: int) -> None:
        """Number the next document; a document id may occur once in a corpus."""
        if doc_id in self.ids:
            raise InputError(
                self.corpus.files[file].label,
                f"duplicate document id {doc_id!r}",
                source.line or None,
            )
        self.ids.add(doc_id)
        self.docs.append(_Doc(doc_id, source, file, chars))

    def _fingerprint_indexed(self, store: Store) -> None:
        """Fingerprint only the files whose content the index does not hold, then merge
        every file's units in corpus order, as the plain pass does."""
        found: list[Entry | None] = []
        stats = []
        changed: dict[int, bytes] = {}  # file number -> content hash, to fingerprint again
        for number, file in enumerate(self.corpus.files):
            key, st = os.path.abspath(file.path), file.path.stat()
            entry = store.get(key, st.st_size, st.st_mtime_ns, None)
            if entry is None:
                content = xxhash.xxh3_128_digest(file.path.read_bytes())
                entry = store.get(key, st.st_size, st.st_mtime_ns, content)
                if entry is not None:  # touched, not changed
                    store.put(key, st.st_size, st.st_mtime_ns, entry)
                else:
                    changed[number] = content
            found.append(entry)
            stats.append((key, st))
        work = functools.partial(_fingerprint_file, config=self.config)
        items = ((self.corpus.files[i], content) for i, content in changed.items())
        for i, entry in zip(changed, self.workers.map(work, items), strict=True):
            key, st = stats[i]
            store.put(key, st.st_size, st.st_mtime_ns, entry)
            found[i] = entry
        store.keep_only({key for key, _ in stats})
        entries = [entry for entry in found if entry is not None]
        assert len(entries) == len(found)  # every file has its entry by now
        bases: list[int] = []
        for i, entry in enumerate(entries):
            file = self.corpus.files[i]
            base = len(self.docs)
            for doc in entry.docs["docs"]:
                source = Source(str(file.path), doc["line"], doc["offset"])
                self._add_doc(doc["id"], source, i, doc["chars"])
            self.corpus.skipped.extend(entry.docs["skipped"])
            bases.append(base)
        for level in self.levels:
            level.merge_arrays([entry.arrays for entry in entries], bases)

    # pass 2 ----------------------------------------------------------------
    def candidates(self, li: int) -> dict[int, list[int]]:
        """The LSH neighbours of level `li`: key -> its candidate keys, sorted."""
        linked: dict[int, set[int]] = defaultdict(set)
        for space in self.levels[li].spaces.values():
            keys, bands = space.take(self.params.bands)
            pairs = candidate_pairs(bands)
            space.candidates = len(pairs)
            for a, b in keys[pairs].tolist():
                if a != b:  # a labelled title's own title (see _add_title_prints)
                    linked[a].add(b)
                    linked[b].add(a)
        return {key: sorted(others) for key, others in linked.items()}

    def _place(self, number: int) -> _Place:
        """Where a worker finds document `number` again."""
        doc = self.docs[number]
        return self.corpus.files[doc.file], doc.source

    def _reread(self, numbers: Sequence[int]) -> Iterator[tuple[int, Document]]:
        docs = self.corpus.load(self.docs[n].source for n in numbers)
        yield from zip(numbers, docs, strict=True)

    def verify_all(self) -> list[tuple[dict[int, list[int]], _BothWays]]:
        """Verify every candidate pair of distinct texts exactly, earlier key first, a
        level at a time; per level, the pairs found related (key -> its related keys,
        and their evidence).

        Workers take the pairs in batches of connected candidates, so that each text
        is read and shingled once, and send back only the scores.  Only related pairs
        are kept: the others, most candidates of a large corpus, are kept as one
        number a pair, for the levels below to skip (see `_verified_above`).
        """
        threshold = self.config.minhash.threshold
        work = functools.partial(_verify_batch, config=self.config)
        out: list[tuple[dict[int, list[int]], _BothWays]] = []
        unrelated: list[I64] = []  # per level, the codes of the pairs verified unrelated
        verified = 0
        for li, level in enumerate(self.levels):
            a = level.arrays
            first = level.key_unit.tolist()

            def chars(key: int, a: dict[str, I64] = a, first: list[int] = first) -> int:
                return int(a["end"][first[key]] - a["start"][first[key]])

            def unit(key: int, a: dict[str, I64] = a, first: list[int] = first) -> _KeyPlace:
                u = first[key]
                return key, self._place(int(a["doc"][u])), int(a["start"][u]), int(a["end"][u])

            found, fresh = self._verified_above(li, self.candidates(li), out, unrelated)
            for done in self.workers.map(
                work,
                (([unit(k) for k in keys], pairs) for keys, pairs in _pair_batches(fresh, chars)),
            ):
                for x, y, evidence in done:
                    found[x, y] = evidence
                self.progress("candidates verified", verified + len(found))
            verified += len(found)
            del fresh
            related = {pair: ev for pair, ev in found.items() if ev.relation is not None}
            unrelated.append(
                np.sort(
                    np.array(
                        [_code(x, y) for (x, y), ev in found.items() if ev.relation is None],
                        dtype=np.int64,
                    )
                )
            )
            del found
            linked: dict[int, list[int]] = defaultdict(list)
            for x, y in related:
                linked[x].append(y)
                linked[y].append(x)
            out.append(
                (
                    {key: sorted(others) for key, others in linked.items()},
                    _BothWays(related, threshold),
                )
            )
            self.pairs[li] = [(first[x], first[y], ev) for (x, y), ev in sorted(related.items())]
        return out

    def _verified_above(
        self,
        li: int,
        neighbours: dict[int, list[int]],
        above: list[tuple[dict[int, list[int]], _BothWays]],
        unrelated: list[I64],
    ) -> tuple[dict[tuple[int, int], Evidence], dict[int, list[int]]]:
        """The candidate pairs of level `li` whose two texts are units of a level above
        too (a paragraph that is its section, a sentence that is its paragraph, a record
        that is one sentence) and were verified there: verification depends on the texts
        alone, so their evidence is taken from there (a pair found unrelated there is
        unrelated here).  Returns that evidence, and the candidates left to verify."""
        found: dict[tuple[int, int], Evidence] = {}
        if not above or not neighbours:
            return found, neighbours
        pairs = np.array(
            [(x, y) for x, others in neighbours.items() for y in others if x < y], dtype=np.int64
        ).reshape(-1, 2)
        keys = np.unique(pairs)
        left = np.ones(len(pairs), dtype=bool)  # not settled yet
        for lj in range(li - 1, -1, -1):  # the nearest level first
            there = np.full(int(keys[-1]) + 1, -1, dtype=np.int64)
            there[keys] = self._same_text_above(li, lj, keys)
            mx, my = there[pairs[:, 0]], there[pairs[:, 1]]
            both = left & (mx >= 0) & (my >= 0)
            codes = _code(np.minimum(mx, my), np.maximum(mx, my))
            at = np.minimum(np.searchsorted(unrelated[lj], codes), max(len(unrelated[lj]) - 1, 0))
            known = (unrelated[lj][at] == codes) if len(unrelated[lj]) else np.zeros_like(both)
            for n in np.flatnonzero(both & known).tolist():
                found[int(pairs[n, 0]), int(pairs[n, 1])] = _UNRELATED
            left &= ~(both & known)
            evidence = above[lj][1]
            for n in np.flatnonzero(left & (mx >= 0) & (my >= 0)).tolist():
                if (int(mx[n]), int(my[n])) in evidence:
                    found[int(pairs[n, 0]), int(pairs[n, 1])] = evidence[int(mx[n]), int(my[n])]
                    left[n] = False
        if not found:
            return found, neighbours
        fresh: dict[int, list[int]] = defaultdict(list)
        for x, y in pairs[left].tolist():
            fresh[x].append(y)
            fresh[y].append(x)
        return found, {x: sorted(others) for x, others in fresh.items()}

    def _same_text_above(self, li: int, lj: int, keys: I64) -> I64:
        """For keys of level `li`, the key of the unit of level `lj` with the same span
        as the key's first unit (the same text), or -1."""
        a, b = self.levels[li].arrays, self.levels[lj].arrays
        offset = np.concatenate(([0], np.cumsum(self.doc_chars)))  # a document's first char
        units = self.levels[li].key_unit[keys]
        at = offset[a["doc"][units]] + a["start"][units]  # in the corpus's characters
        starts = offset[b["doc"]] + b["start"]  # in corpus order: sorted
        found = np.minimum(np.searchsorted(starts, at), len(starts) - 1)
        same = (starts[found] == at) & (b["end"][found] == a["end"][units]) & (b["key"][found] >= 0)
        return np.where(same, b["key"][found], -1)

    # pass 3 ----------------------------------------------------------------
    def resolve(self) -> tuple[list[list[Link]], dict[int, list[Removal]]]:
        """Links per level, and the removals (with whitespace context) per document."""
        verified = self.verify_all()
        links_per_level: list[list[Link]] = []
        removals: dict[int, list[Removal]] = defaultdict(list)
        gone: dict[int, _Spans] = defaultdict(_Spans)  # spans removed so far, per document
        for li, level in enumerate(self.levels):
            a = level.arrays
            units = [
                u
                for u in np.flatnonzero(a["key"] >= 0).tolist()
                if not gone[int(a["doc"][u])].covers(int(a["start"][u]), int(a["end"][u]))
            ]
            if self.config.cluster.keep == "longest":
                units.sort(key=lambda u: (-int(a["end"][u] - a["start"][u]), u))
            links = clusters(units, a["key"], *verified[li])
            links_per_level.append(links)
            self.early.read(li, links)
            removing = [link for link in links if link.evidence.relation in REMOVING]
            removing = self._spare_boilerplate(li, removing, gone)
            parts = self._repeated_parts(
                li, [k for k in removing if k.evidence.relation != "exact"]
            )
            members = [link.member for link in removing]
            finer = li + 1 < len(self.levels)  # only finer levels look at what is gone
            for u, number, *whole in zip(
                members, *(a[c][members].tolist() for c in ("doc", *_REMOVAL_COLUMNS)), strict=True
            ):
                cut = parts.get(u)  # an empty list: the survivor repeats none of its parts
                if cut is None:
                    cut = [Removal(_uid(li, u), *whole)]
                removals[number] += cut
                if finer:
                    for removal in cut:
                        gone[number].add(removal.start, removal.end)
        return links_per_level, removals

    def _spare_boilerplate(
        self, li: int, removing: list[Link], gone: dict[int, _Spans]
    ) -> list[Link]:
        """Flag the boilerplate clusters of a level; unless it is to be removed, keep
        their units (and shield them from finer levels).  Returns the links to remove.

        Boilerplate is a part of documents repeated across them (a byline, a footer): a
        member that is a whole document (a record posted again) is a duplicate however
        many copies there are, and neither counts towards the spread nor is spared (#27).
        """
        a = self.levels[li].arrays
        members = np.array([link.member for link in removing], dtype=np.int64)
        whole = (a["ws_before"][members] == 0) & (
            a["ws_after"][members] == self.doc_chars[a["doc"][members]]
        )
        parts = [link for link, entire in zip(removing, whole.tolist(), strict=True) if not entire]
        survivors = np.array([link.survivor for link in parts], dtype=np.int64)
        members = members[~whole]
        # The documents each survivor's cluster spreads over: distinct survivor * D + document
        # (np.unique of (survivor, document) rows took 0.6 s for 960,000 of them, this 0.05 s).
        width = len(self.docs)
        spread = distinct(
            np.concatenate(
                (survivors * width + a["doc"][survivors], survivors * width + a["doc"][members])
            )
        )
        clustered, docs = np.unique(spread // width, return_counts=True)
        rule = self.config.cluster
        flagged = {
            s
            for s, n in zip(clustered.tolist(), docs.tolist(), strict=True)
            if rule.is_boilerplate(n, len(self.docs))
        }
        self.boilerplate[li] = flagged
        if rule.boilerplate == "remove" or not flagged:
            return removing
        # Boilerplate is kept once a page: a second copy in a page that has one already
        # (a byline printed twice, a title printed twice on a tag page) is a duplicate.
        doc = a["doc"]
        placed = {(s, int(doc[s])) for s in flagged}
        spare = []
        for link in parts:
            if link.survivor in flagged:
                place = (link.survivor, int(doc[link.member]))
                if place not in placed:
                    placed.add(place)
                    spare.append(link.member)
        self.spared.update((li, u) for u in spare)
        kept = np.array(sorted(flagged) + spare, dtype=np.int64)
        for number, start, end in zip(
            *(a[c][kept].tolist() for c in ("doc", "start", "end")), strict=True
        ):
            gone[number].add(start, end)
        spared = set(spare)
        return [link for link in removing if link.member not in spared]

    def _repeated_parts(self, li: int, links: list[Link]) -> dict[int, list[Removal]]:
        """For near and contained duplicates, the children the survivor really repeats.

        A section or document loses the paragraphs its survivor repeats, a
        paragraph the sentences; what the survivor lacks stays in the output.
        Links are read and sent to the workers a batch at a time.
        """
        level = self.levels[li]
        if level.name == "sentence" or not links:
            return {}
        a = level.arrays
        work = functools.partial(_repeated_batch, level=level.name, config=self.config)
        # By member's document, then survivor: a document's links share a batch, which
        # reads it and finds its paragraphs once (a page of a thousand near repeats is
        # not segmented a thousand times), and a survivor is shingled once a batch.
        links = sorted(links, key=lambda link: (int(a["doc"][link.member]), link.survivor))
        out: dict[int, list[Removal]] = {}
        for found in self.workers.map(work, self._link_batches(li, links)):
            for u, kept in found:
                if kept is not None:
                    out[u] = [Removal(_uid(li, u), *child) for child in kept]
        return out

    def _link_batches(self, li: int, links: list[Link]) -> Iterator[list[_LinkPlace]]:
        """The links (sorted by member's document) in batches of about _BATCH_DOCS, a
        document's links never split between two batches."""
        a = self.levels[li].arrays
        docs = a["doc"][[k.member for k in links]].tolist()
        start = 0
        for i in range(1, len(links) + 1):
            if i == len(links) or (i - start >= _BATCH_DOCS and docs[i] != docs[i - 1]):
                yield self._link_places(li, links[start:i])
                start = i

    def _link_places(self, li: int, links: list[Link]) -> list[_LinkPlace]:
        """(member, survivor's document and span, member's document and span, the
        member's paragraphs from the paragraph level if the run has one) of each link."""
        a = self.levels[li].arrays
        below = [level.arrays for level in self.levels[li + 1 :] if level.name == "paragraph"]
        out: list[_LinkPlace] = []
        for k in links:
            doc, start, end = (int(a[c][k.member]) for c in ("doc", "start", "end"))
            children = None
            if below:
                p = below[0]
                lo, hi = np.searchsorted(p["doc"], [doc, doc + 1]).tolist()
                first, last = (lo + np.searchsorted(p["start"][lo:hi], [start, end])).tolist()
                inside = p["end"][first:last] <= end
                starts, ends = p["start"][first:last][inside], p["end"][first:last][inside]
                children = list(zip(starts.tolist(), ends.tolist(), strict=True))
            out.append(
                (
                    k.member,
                    self._place(int(a["doc"][k.survivor])),
                    (int(a["start"][k.survivor]), int(a["end"][k.survivor])),
                    self._place(doc),
                    (start, end),
                    children,
                )
            )
        return out

    # report ----------------------------------------------------------------
    def result(self) -> Result:
        links_per_level, removals = self.resolve()
        self.workers.close()  # the last pass that needs them: their memory goes back now
        cuts: dict[int, list[tuple[int, int]]] = {}
        doc_cuts: dict[int, list[tuple[int, int]]] = {}
        for number, items in removals.items():
            per_unit = pieces(items, self.docs[number].chars)
            cuts.update(per_unit)
            doc_cuts[number] = merge([span for spans_ in per_unit.values() for span in spans_])
        quoted, removed_text = self._quote(links_per_level, doc_cuts)
        return Result(
            self.config.as_dict(),
            self._doc_stats(links_per_level, doc_cuts, removed_text),
            tuple(self._clusters(links_per_level, quoted, cuts, doc_cuts)),
            self._lsh(),
            tuple(self._pairs()),
            tuple(self.corpus.skipped),
            tuple(
                segment
                for li, level in enumerate(self.levels)
                for segment in self._segments(
                    li, np.flatnonzero(level.arrays["suppressed"]).tolist()
                )
            ),
            tuple(self.texts),
        )

    def _segments(
        self, li: int, units: list[int], texts: Sequence[str] | None = None
    ) -> list[Segment]:
        """The Segments of these units of level `li` (with these texts, or none), their
        columns gathered at once."""
        level = self.levels[li]
        a = level.arrays
        at = np.asarray(units, dtype=np.int64)
        # A unit's index in its document: its number less its document's first unit's.
        index = at - np.searchsorted(a["doc"], a["doc"][at], side="left")
        columns = [a[c][at].tolist() for c in ("doc", "start", "end", "line", "end_line", "column")]
        return [
            Segment(
                self.docs[doc].doc_id,
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

    def _quote(
        self, links_per_level: list[list[Link]], doc_cuts: dict[int, list[tuple[int, int]]]
    ) -> tuple[dict[int, Segment], dict[int, tuple[str, ...]]]:
        """Segments (with text) of every unit named by a link, and the text of every cut.

        The texts come from the quotes `_EarlyQuotes` read while the workers worked,
        where they hold the document's units and cuts, else from the corpus, read
        again here: sending the texts back from workers took longer (100,000
        documents: 1.6 -> 1.1 s).
        """
        # Each unit once: a boilerplate survivor is named by every link to it.
        wanted: dict[int, dict[tuple[int, int], None]] = {n: {} for n in doc_cuts}
        for li, links in enumerate(links_per_level):
            _add_units(wanted, li, self.levels[li].arrays["doc"], links)
        numbers = sorted(wanted)
        early = self.early.finish()
        whole = self.config.run.document_texts  # every document is wanted whole, too
        held = {
            number: None
            if whole
            else _from_quotes(
                early,
                list(wanted[number]),
                self._spans(list(wanted[number])),
                doc_cuts.get(number, []),
            )
            for number in numbers
        }
        again = self._reread([number for number in numbers if held[number] is None])
        quotes: dict[tuple[int, int], str] = {}
        texts: dict[int, tuple[str, ...]] = {}
        for number in numbers:
            units = list(wanted[number])
            cut = held[number]
            if cut is None:  # an early quote, where there is one, is the same text
                _, doc = next(again)
                spans = self._spans(units)
                cut = [
                    early.get(u) or doc.text[s:e] for u, (s, e) in zip(units, spans, strict=True)
                ]
                cut += [doc.text[s:e] for s, e in doc_cuts.get(number, [])]
                if self.config.run.document_texts:
                    self.texts.append((self.docs[number].doc_id, doc.text))
            quotes.update(zip(units, cut, strict=False))
            texts[number] = tuple(cut[len(units) :])
        out: dict[int, Segment] = {}
        for li in range(len(self.levels)):
            mine = [u for (level, u) in quotes if level == li]
            found = self._segments(li, mine, [quotes[li, u] for u in mine])
            out.update((_uid(li, u), segment) for u, segment in zip(mine, found, strict=True))
        return out, texts

    def _spans(self, units: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """(start, end) of these (level, unit)s."""
        a = [level.arrays for level in self.levels]
        return [(int(a[li]["start"][u]), int(a[li]["end"][u])) for li, u in units]

    def _clusters(
        self,
        links_per_level: list[list[Link]],
        quoted: dict[int, Segment],
        cuts: dict[int, list[tuple[int, int]]],
        doc_cuts: dict[int, list[tuple[int, int]]],
    ) -> list[Cluster]:
        grouped: dict[tuple[int, int], list[Link]] = defaultdict(list)
        for li, links in enumerate(links_per_level):
            for link in links:
                grouped[li, link.survivor].append(link)
        out: list[Cluster] = []
        for number, (li, survivor) in enumerate(sorted(grouped), start=1):
            members = []
            for link in sorted(grouped[li, survivor], key=lambda k: k.member):
                segment = quoted[_uid(li, link.member)]
                if link.evidence.relation in REMOVING:
                    removed = tuple(cuts.get(_uid(li, link.member), ()))
                else:  # overlap: what lower levels cut inside it
                    doc = int(self.levels[li].arrays["doc"][link.member])
                    removed = tuple(
                        (s, e)
                        for s, e in doc_cuts.get(doc, [])
                        if s >= segment.start and e <= segment.end
                    )
                members.append(Member(segment, link.evidence, removed))
            boilerplate = survivor in self.boilerplate[li]
            if boilerplate and self.config.cluster.boilerplate == "keep":
                continue  # kept without a word, as asked
            out.append(
                Cluster(
                    f"c{number:05d}",
                    self.levels[li].name,
                    quoted[_uid(li, survivor)],
                    tuple(members),
                    boilerplate,
                )
            )
        return out

    def _pairs(self) -> Iterator[Pair]:
        for li, found in enumerate(self.pairs):
            firsts = self._segments(li, [a for a, _, _ in found])
            seconds = self._segments(li, [b for _, b, _ in found])
            for first, second, (_, _, evidence) in zip(firsts, seconds, found, strict=True):
                yield Pair(first, second, evidence)

    def _doc_stats(
        self,
        links_per_level: list[list[Link]],
        doc_cuts: dict[int, list[tuple[int, int]]],
        removed_text: dict[int, tuple[str, ...]],
    ) -> tuple[DocStats, ...]:
        units = np.zeros(len(self.docs), dtype=np.int64)
        dups = np.zeros(len(self.docs), dtype=np.int64)
        for li, level in enumerate(self.levels):
            a = level.arrays
            units += np.bincount(a["doc"][a["key"] >= 0], minlength=len(self.docs))
            removed = [
                k.member
                for k in links_per_level[li]
                if k.evidence.relation in REMOVING and (li, k.member) not in self.spared
            ]
            dups += np.bincount(a["doc"][removed], minlength=len(self.docs))
        names = [file.name for file in self.corpus.files]
        out = []
        record = 0
        for i, (d, unit_count, dup_count) in enumerate(
            zip(self.docs, units.tolist(), dups.tolist(), strict=True)
        ):
            record = record + 1 if i and d.file == self.docs[i - 1].file else 0
            cut = doc_cuts.get(i, ())
            out.append(
                DocStats(
                    d.doc_id,
                    d.chars,
                    unit_count,
                    dup_count,
                    sum(e - s for s, e in cut),
                    tuple(cut),
                    removed_text.get(i, ()),
                    names[d.file],
                    d.source,
                    None,
                    record,
                )
            )
        return tuple(out)

    def _lsh(self) -> dict[str, object]:
        out: dict[str, object] = {"bands": self.params.bands, "rows": self.params.rows}
        for li, level in enumerate(self.levels):
            out[level.name] = {
                "distinct_texts": len(level.key_unit),
                "candidate_pairs": sum(space.candidates for space in level.spaces.values()),
                "verified_pairs": len(self.pairs[li]),
            }
        return out

    # clean -----------------------------------------------------------------
    def cleaned(self, result: Result) -> Iterator[tuple[InputFile, Document, str]]:
        """Every document cleaned, in corpus order, but the JSONL records that cleaning
        emptied: those are left out (unless asked to keep them) and kept in `dropped`."""
        stats = result.documents
        keep_empty = self.config.output.keep_empty
        fields = self.config.input.text_field, self.config.input.id_field
        for number, doc in self._reread(range(len(self.docs))):
            file = self.corpus.files[self.docs[number].file]
            text = clean(doc.text, stats[number].removed)
            if file.jsonl and not keep_empty and stats[number].removed and not text.strip():
                self.dropped[number] = cleaned_record(doc, text, *fields)
                continue
            yield file, doc, text

    def with_dropped(self, result: Result) -> Result:
        """`result` with the records `cleaned` left out named in their documents' figures."""
        if not self.dropped:
            return result
        docs = list(result.documents)
        for number, record in self.dropped.items():
            docs[number] = dataclasses.replace(docs[number], dropped=record)
        return dataclasses.replace(result, documents=tuple(docs))


class _BothWays(Mapping[tuple[int, int], Evidence]):
    """Verified pairs, stored once (earlier key first) and read in either order."""

    def __init__(self, found: dict[tuple[int, int], Evidence], threshold: float) -> None:
        self.found = found
        self.threshold = threshold

    def __getitem__(self, pair: tuple[int, int]) -> Evidence:
        a, b = pair
        if a < b:
            return self.found[a, b]
        return reverse(self.found[b, a], self.threshold)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for a, b in self.found:
            yield a, b
            yield b, a

    def __len__(self) -> int:
        return 2 * len(self.found)


class _Spans:
    """Disjoint spans of one document, for asking whether a unit lies inside one."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)

    def covers(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end


#: The evidence of a pair a level above found unrelated (only related pairs are kept, so
#: no one reads its figures).
_UNRELATED = Evidence(0.0, 0.0, 0.0, None)


def _code(x: Any, y: Any) -> Any:
    """One number for a pair of keys (x < y, each under 2**31), or an array of them."""
    return (x << 31) + y


def _uid(level: int, unit: int) -> int:
    """One integer id for a unit of any level."""
    return unit * len(LEVELS) + level


def _jobs(config: Config) -> int:
    return config.run.jobs or default_jobs()


def index_params(config: Config) -> dict[str, Any]:
    """What fingerprints depend on: every option but file selection and the survivor rule."""
    options = config.as_dict()
    for name in (
        "include",
        "exclude",
        "keep",
        "boilerplate",
        "boilerplate_docs",
        "boilerplate_share",
        "keep_empty",
        "quotes",
        "pairs",
    ):
        options.pop(name, None)
    return options


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for the block, as it was after it.

    A run builds hundreds of thousands of objects that live to its end (links,
    document figures, report entries) and makes almost no reference cycles: a
    whole `--unit all` run over 20,000 documents left 403 unreachable objects.
    Each collection still walks every live object: without them, 100,000
    documents at document level took 15.4 / 14.7 s against 16.2 / 15.6, and
    20,000 at every level 25.7 s against 29.8.  Memory is freed by reference
    counting all the same (the same peak RSS).  The command line keeps it off
    for a whole command: on again after a run, its first collection walked the
    run's objects before the report was written (100,000 documents: 0.20 s).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run(
    paths: Sequence[str],
    config: Config,
    out: Path | None = None,
    stream: TextIO | None = None,
    index: Path | None = None,
    progress: Progress | None = None,
) -> Result:
    """Find duplicates in the corpus at `paths`; with `out` or `stream`, also write it cleaned.

    With `index`, fingerprints of unchanged files come from that SQLite index, which is
    brought up to date; the result is the same as without it.
    """
    config.validate()
    # Without workers, the numpy work happens here: keep its arrays on the heap, too.
    tune_allocator(keep_arrays=_jobs(config) <= 1)
    with (
        without_cycle_collection(),
        Corpus(paths, config.input) as corpus,
        Workers(_jobs(config)) as workers,
        contextlib.ExitStack() as stack,
    ):
        if out is not None:
            check_output_dir(out, corpus.files, paths)
        analysis = stack.enter_context(contextlib.closing(_Run(corpus, config, workers, progress)))
        if index is not None:
            with Store(index, index_params(config)) as store:
                analysis.fingerprint(store)
        else:
            analysis.fingerprint()
        result = analysis.result()
        if out is not None:
            write_documents(
                analysis.cleaned(result),
                out,
                config.input.text_field,
                config.input.id_field,
                config.input.encoding,
            )
        elif stream is not None:
            stream_documents(
                analysis.cleaned(result), stream, config.input.text_field, config.input.id_field
            )
        result = analysis.with_dropped(result)
    return result


def update_index(paths: Sequence[str], config: Config, index: Path) -> int:
    """Bring the index at `index` up to date for the corpus at `paths`; returns its file count."""
    config.validate()
    with (
        Corpus(paths, config.input) as corpus,
        Store(index, index_params(config)) as store,
        Workers(_jobs(config)) as workers,
    ):
        _Run(corpus, config, workers).fingerprint(store)
        return int(store.stats()["files"])


def index_stats(config: Config, index: Path) -> dict[str, Any]:
    """What the index holds (and the parameters it was built with)."""
    with Store(index, index_params(config)) as store:
        return store.stats()


def restore_corpus(cleaned: Path, report_path: Path, out: Path) -> int:
    """Rebuild the original documents under `out` from a `clean --out` folder and its report.

    The report lists the documents with findings; every other file of the folder, and
    every other record of a JSONL file, is as it was and is copied.  Returns the number
    of files written.
    """
    # Version 1 reports quote the removed text as version 2 ones do.
    report = read_json(report_path, "dedup_report", (1, REPORT_VERSION))
    options = report.get("options", {})
    if not options.get("quotes", True):
        raise InputError(
            str(report_path), "written with --no-quotes: it holds no removed text to put back"
        )
    encoding, text_field = options.get("encoding", "utf-8"), options.get("text_field", "text")
    if out.resolve() == cleaned.resolve():
        raise OutputError(f"{out}: restore would overwrite the cleaned documents")
    documents = report.get("documents", [])
    written: set[Path] = set()
    for name, group in itertools.groupby(documents, key=lambda d: str(d.get("file", ""))):
        docs = list(group)
        source, target = inside(cleaned, name), inside(out, name)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise InputError(str(source), f"cannot read: {exc.strerror}") from exc
        if name.endswith((".jsonl", ".ndjson")):
            lines = data.decode("utf-8").splitlines(keepends=True)
            write_bytes(target, _restored_records(lines, docs, text_field, str(source)))
        else:
            (doc,) = docs
            text, bom = decode(data, str(source), None, encoding)
            write_bytes(target, (("\ufeff" if bom else "") + _restored(text, doc)).encode(encoding))
        written.add(target)
    for source in sorted(cleaned.rglob("*")):  # the files without findings, as they are
        target = inside(out, str(source.relative_to(cleaned)))
        if source.is_file() and target not in written:
            write_bytes(target, source.read_bytes())
            written.add(target)
    return len(written)


def _restored_records(
    lines: list[str], docs: list[dict[str, Any]], text_field: str, source: str
) -> bytes:
    """A JSONL file's records restored: those the report lists (each at its place among
    the file's records, the ones `clean` left out put back), the others as they are."""
    at = {int(doc.get("record", n)): doc for n, doc in enumerate(docs)}
    total = len(lines) + sum("dropped" in doc for doc in docs)
    if at and max(at) >= total:
        raise InputError(source, f"{len(lines)} records, the report names record {max(at) + 1}")
    kept = iter(lines)
    rebuilt = []
    for number in range(total):
        doc = at.get(number)
        if doc is None:
            rebuilt.append(next(kept))
            continue
        record = doc["dropped"] if "dropped" in doc else json.loads(next(kept))
        if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
            raise InputError(source, f"no {text_field!r} text", number + 1)
        record[text_field] = _restored(record[text_field], doc)
        rebuilt.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(rebuilt).encode("utf-8")


def _restored(text: str, doc: dict[str, object]) -> str:
    removed = [(int(s), int(e)) for s, e in doc.get("removed", [])]  # type: ignore[attr-defined]
    original = restore(text, removed, list(doc.get("removed_text", [])), str(doc.get("doc")))  # type: ignore[call-overload]
    if len(original) != doc.get("chars_in"):
        raise InputError(str(doc.get("doc")), "restored length differs from the report's chars_in")
    return original
