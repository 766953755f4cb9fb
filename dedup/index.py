"""Candidate search and verification: signatures in, verified pair evidence out.

Candidates come from a MinHash LSH band index (b bands of r rows, the same
banding as datasketch's `MinHashLSH`), tuned for recall: (b, r) is chosen so a
pair at exactly the threshold becomes a candidate with probability >= `recall`.
An LSH hit is only a candidate; `scored_many` gives the exact Jaccard and both
containments of the two shingle sets before anything is called a duplicate.
"""

from __future__ import annotations

import concurrent.futures
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.facts import other_numbers
from dedup.fingerprint import I64, U32, U64, Sets
from dedup.io.spill import Columns
from dedup.model import Evidence, Relation
from dedup.native import native
from dedup.order import distinct, shared_order

_BAND_MULT = np.uint64(0x9E3779B97F4A7C15)
#: Pairs per member of an LSH bucket at most (see candidate_pairs).
_BUCKET_CAP = 64


@dataclass(frozen=True, slots=True)
class LshParams:
    bands: int
    rows: int

    def probability(self, similarity: float) -> float:
        """Probability that a pair of this Jaccard similarity becomes a candidate."""
        return float(1.0 - (1.0 - similarity**self.rows) ** self.bands)


@functools.cache
def lsh_params(threshold: float, num_perm: int, recall: float) -> LshParams:
    """The most selective banding (largest r, then as many bands as fit) meeting `recall`;
    found once a process (each batch asks: 2 % of fingerprinting a million short records).

    >>> lsh_params(0.8, 128, 0.99)
    LshParams(bands=21, rows=6)
    """
    best = LshParams(num_perm, 1)
    for rows in range(1, num_perm + 1):
        params = LshParams(num_perm // rows, rows)
        if params.probability(threshold) >= recall:
            best = params
    return best


def band_keys(sigs: U32, params: LshParams) -> U64:
    """One 64-bit key per (unit, band): shape (len(sigs), bands).  In C where it was built,
    a signature's bands at once (numpy took a column of every signature at a time: 12 %
    of fingerprinting French documents at every level)."""
    n = len(sigs)
    keys = np.empty((n, params.bands), dtype=np.uint64)
    if native is not None:
        native.band_keys(
            np.ascontiguousarray(sigs, dtype=np.uint32), params.bands, params.rows, keys
        )
        return keys
    for band in range(params.bands):
        acc = np.full(n, band + 1, dtype=np.uint64)
        for col in range(band * params.rows, (band + 1) * params.rows):
            acc = (acc ^ sigs[:, col].astype(np.uint64)) * _BAND_MULT
        keys[:, band] = acc ^ (acc >> np.uint64(29))
    return keys


def candidate_pairs(
    keys: U64 | Columns,
    rows: npt.NDArray[np.int64] | None = None,
    threads: int = 1,
    marks: npt.NDArray[np.signedinteger[Any]] | None = None,
) -> npt.NDArray[np.int64]:
    """Sorted distinct pairs (i, j), i < j, of rows sharing a key in at least one band.

    `keys` is `band_keys(...)` of every row: shape (rows, bands), in memory or on disk;
    with `rows`, of these rows of it only (i and j number them), a band at a time: not a
    copy of them all.  With `threads`, that many bands at a time (numpy sorts and compares
    without Python's lock; the workers wait for this stage: their cores are free).  With
    `marks` (the `facts.number_marks` of each row), a pair they prove states other
    numbers is none: templated lines are each in a bucket of thousands.
    """
    count = np.int64(len(keys) if rows is None else len(rows))
    if count < 2:
        return np.empty((0, 2), dtype=np.int64)

    def band_pairs(band: int) -> list[npt.NDArray[np.int64]]:
        column = keys.column(band) if isinstance(keys, Columns) else keys[:, band]
        if rows is not None:
            column = column[rows]
        return _band_pairs(column, count, marks)

    # Each pair as one integer, i * count + j, a band at a time: distinct pairs are then one
    # sort of integers (np.unique of the rows, axis=0, sorted them as records: 4x slower
    # on 160,000 sentences), and a pair costs 8 bytes until then, not 16 and a copy.
    bands = range(keys.shape[1])
    if threads > 1 and count >= _THREADED_ROWS:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            found = [pairs for part in pool.map(band_pairs, bands) for pairs in part]
    else:
        found = [pairs for band in bands for pairs in band_pairs(band)]
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    packed = np.concatenate(found)
    found.clear()
    packed = distinct(packed)
    return np.stack((packed // count, packed % count), axis=1)


#: Rows past which `candidate_pairs` takes bands in threads: below, starting them costs
#: more than it saves.
_THREADED_ROWS = 20_000
#: Pairs of a large bucket made at once, at most (see `_band_pairs`).
_CHUNK_PAIRS = 1 << 22


def _band_pairs(
    column: U64, count: np.int64, marks: npt.NDArray[np.signedinteger[Any]] | None = None
) -> list[npt.NDArray[np.int64]]:
    """The pairs of rows (as i * count + j, i < j) whose key in one band is the same, but
    those their `marks` prove state other numbers (see `candidate_pairs`).

    A long column is taken a quarter of its keys at a time, by their two highest bits:
    equal keys fall in the same quarter, and the sort's arrays are a quarter as large
    (the 5.7 million typo keys of a million short records held 180 MB of them at once).
    """
    if len(column) <= _PART_ROWS:
        return _bucket_pairs(column, None, count, marks)
    found: list[npt.NDArray[np.int64]] = []
    quarter = (column >> np.uint64(62)).astype(np.uint8)
    for part in range(4):
        rows = np.flatnonzero(quarter == part)
        found += _bucket_pairs(column[rows], rows, count, marks)
    return found


#: Keys of a band past which `_band_pairs` takes them a quarter at a time.
_PART_ROWS = 1 << 20


def _bucket_pairs(
    column: U64,
    rows: npt.NDArray[np.int64] | None,
    count: np.int64,
    marks: npt.NDArray[np.signedinteger[Any]] | None,
) -> list[npt.NDArray[np.int64]]:
    """`_band_pairs` of the keys of some rows (`rows`, ascending; None: every row)."""
    # Only keys two rows or more share: most rows share none, and the arrays below
    # over every row held 300 MB at once for the 5.7 million typo keys of a million
    # short records.  Any order of equal keys will do: members are sorted below.
    order = shared_order(column)
    ordered = column[order]
    del column
    if rows is not None:
        order = rows[order]
    boundaries = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    sizes = np.diff(np.concatenate((starts, [len(ordered)])))
    found: list[npt.NDArray[np.int64]] = []

    def add(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> None:
        if marks is not None:
            same = ~other_numbers(marks[a], marks[b])
            a, b = a[same], b[same]
        found.append(a * count + b)

    # Buckets of one size at once, as a matrix of their sorted members: most hold
    # two, and a Python loop over the others took 0.2 s of a 4 s run.
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= _BUCKET_CAP)]).tolist():
        at = starts[sizes == size]
        members = np.sort(order[at[:, None] + np.arange(size)], axis=1)
        i, j = _head_pairs(size)
        add(members[:, i].ravel(), members[:, j].ravel())
    for lo, size in zip(
        starts[sizes > _BUCKET_CAP].tolist(), sizes[sizes > _BUCKET_CAP].tolist(), strict=True
    ):
        members = np.sort(order[lo : lo + size])
        # A large bucket (templated lines differing in a number) would give
        # size**2 / 2 pairs; every member is paired with the bucket's earliest
        # _BUCKET_CAP members instead, which keep-first clustering needs most, a
        # run of members at a time (a million templated records are one bucket).
        i, j = _head_pairs(_BUCKET_CAP)
        add(members[i], members[j])
        head = members[:_BUCKET_CAP]
        step = max(1, _CHUNK_PAIRS // _BUCKET_CAP)
        for first in range(_BUCKET_CAP, size, step):
            rest = members[first : first + step]
            add(np.repeat(head, len(rest)), np.tile(rest, _BUCKET_CAP))
    return found


def relation(
    jaccard: float, contained: float, covers: float, threshold: float, few: bool = False
) -> Relation | None:
    """The relation of a later unit to an earlier one, from exact scores.

    `near` at Jaccard >= threshold.  Containment means containment (#19): `contained`
    when the later unit's shingles lie in the earlier one (`contained` >= threshold)
    and it is clearly the smaller, at most `threshold` of the other's shingles;
    `overlap` the other way round; else None.  Two texts of comparable size are
    duplicates only at Jaccard >= threshold (80 % of each inside the other is
    Jaccard 0.67), and with `few` (the smaller has only a few words: a short title
    inside a longer one) containment alone makes no duplicate.

    The size ratio is the ratio of the containments: |later| / |earlier| = covers / contained.
    """
    if jaccard >= threshold:
        return "near"
    if few:
        return None
    if contained >= threshold and covers <= threshold * contained:
        return "contained"
    if covers >= threshold and contained <= threshold * covers:
        return "overlap"
    return None


@functools.cache
def _head_pairs(head: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair (i, j), i < j < head (at most _BUCKET_CAP heads, so a small cache: it
    spares a triu_indices per bucket, 1.3 -> 0.5 s for the buckets of 160,000 sentences)."""
    i, j = np.triu_indices(head, k=1)
    i.flags.writeable = j.flags.writeable = False
    return i, j


#: The relations of `Scores.kinds`, by number.
KINDS: tuple[Relation | None, ...] = (None, "near", "contained", "overlap")
NEAR = KINDS.index("near")


@dataclass
class Scores:
    """Exact scores of many pairs, as columns (see `scored_many`): an Evidence is made only for
    the pairs that are read (most pairs a run verifies are unrelated, and sent back as
    rows of numbers)."""

    jaccard: npt.NDArray[np.float64]
    contained: npt.NDArray[np.float64]
    covers: npt.NDArray[np.float64]
    kinds: npt.NDArray[np.int8]  # the relation's number in KINDS
    few: npt.NDArray[np.bool_]
    differ: npt.NDArray[np.bool_]

    def evidence(self, at: I64 | None = None) -> list[Evidence]:
        """The Evidence of the pairs at these places (None: every pair), in order."""
        columns = self.columns()
        if at is not None:
            columns = [column[at] for column in columns]
        return [
            Evidence(j, c, v, KINDS[kind], f, d)
            for j, c, v, kind, f, d in zip(*(column.tolist() for column in columns), strict=True)
        ]

    def take(self, at: I64, other: Scores, these: I64) -> None:
        """Give the pairs at `at` the scores of `other`'s pairs at `these`."""
        for mine, theirs in zip(self.columns(), other.columns(), strict=True):
            mine[at] = theirs[these]

    def columns(self) -> list[npt.NDArray[Any]]:
        return [self.jaccard, self.contained, self.covers, self.kinds, self.few, self.differ]


def scored_many(
    inter: I64,
    survivor: I64,
    member: I64,
    threshold: float,
    few: npt.NDArray[np.bool_],
    differ: npt.NDArray[np.bool_],
) -> Scores:
    """Exact Jaccard and containments of pairs of shingle sets of these sizes that share
    `inter` values (see `shared_between`), and their relations, in numpy: `relation`'s
    rules; `few` where the smaller of two has only a few words (see `relation`), `differ`
    where they state different facts: no relation then.  Pairs of identical texts are
    `exact` copies, told apart before (`cluster.EXACT`)."""
    union = survivor + member - inter
    jaccard = np.divide(inter, union, out=np.ones(len(inter)), where=union > 0)
    contained = np.divide(inter, member, out=np.zeros(len(inter)), where=member > 0)
    covers = np.divide(inter, survivor, out=np.zeros(len(inter)), where=survivor > 0)
    near = jaccard >= threshold
    inside = ~few & (contained >= threshold) & (covers <= threshold * contained)
    over = ~few & (covers >= threshold) & (contained <= threshold * covers)
    kinds = np.select([differ, near, inside, over], [0, 1, 2, 3], 0).astype(np.int8)
    return Scores(jaccard, contained, covers, kinds, few.copy(), differ.copy())


#: At most about this many values of a batch's sets are looked up at once (see
#: `shared_many`): 16 MB an array.
_SHARED_VALUES = 1 << 21


def shared_many(pairs: list[tuple[U32, U32]]) -> list[int]:
    """`shared` of each pair of sorted sets of distinct values, a few calls for many
    pairs, not four for each: 5 % of the default run on 100,000 documents went in the
    calls.  Pairs are taken a run at a time of about _SHARED_VALUES values: 30,000 pairs
    of templated sentences at once took 266 MB (`_shared_run`)."""
    if not pairs:
        return []
    if native is not None:  # one merge a pair, in C
        found: list[int] = native.shared(pairs)
        return found
    sides = ([a for a, _ in pairs], [b for _, b in pairs])
    sizes = [np.fromiter(map(len, sets), dtype=np.int64, count=len(pairs)) for sets in sides]
    ends = np.cumsum(sizes[0] + sizes[1])
    out: list[int] = []
    start = 0
    while start < len(pairs):
        reach = (ends[start - 1] if start else 0) + _SHARED_VALUES
        end = max(start + 1, int(np.searchsorted(ends, reach, side="right")))
        run = slice(start, end)
        out += _shared_run(
            [(sets[run], size[run]) for sets, size in zip(sides, sizes, strict=True)]
        )
        start = end
    return out


def shared_between(sets: Sets, firsts: I64, seconds: I64, bags: bool = False) -> I64:
    """How many values sets firsts[k] and seconds[k] of `sets` both hold, for each k:
    `shared` of each pair; with `bags`, of sorted bags (a value held twice by each counts
    twice).  In C where it was built (no view of each set made, nor a list of them)."""
    firsts = np.ascontiguousarray(firsts, dtype=np.int64)
    seconds = np.ascontiguousarray(seconds, dtype=np.int64)
    out = np.zeros(len(firsts), dtype=np.int64)
    if native is not None:
        offsets = np.ascontiguousarray(sets.offsets, dtype=np.int64)
        native.shared_at(np.ascontiguousarray(sets.values), offsets, firsts, seconds, out)
        return out
    if not bags:
        views = zip(firsts.tolist(), seconds.tolist(), strict=True)
        out[:] = shared_many([(sets[x], sets[y]) for x, y in views])
        return out
    step = 1 << 12  # pairs at a time: their values as (pair, value) keys, counted each side
    offsets = sets.offsets
    for lo in range(0, len(firsts), step):
        sides = []
        for units in (firsts[lo : lo + step], seconds[lo : lo + step]):
            sizes = offsets[units + 1] - offsets[units]
            pair = np.repeat(np.arange(len(units), dtype=np.uint64), sizes)
            place = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            values = sets.values[np.repeat(offsets[units], sizes) + place]
            sides.append(np.unique((pair << np.uint64(32)) | values, return_counts=True))
        (a, a_counts), (b, b_counts) = sides
        _, at_a, at_b = np.intersect1d(a, b, assume_unique=True, return_indices=True)
        np.add.at(
            out,
            lo + (a[at_a] >> np.uint64(32)).astype(np.int64),
            np.minimum(a_counts[at_a], b_counts[at_b]),
        )
    return out


def _shared_run(sides: list[tuple[list[U32], I64]]) -> list[int]:
    """`shared` of each pair, all at once, given its first sets and their sizes, then its
    second ones: the values of pair k's two sets, as k * 2**32 + value, merged into one
    sorted array, where a value both sets hold is two equal neighbours (neither set
    holds a value twice).  Both runs are sorted already, so the stable sort merges them
    in one pass: 0.72 to 0.81 times the time of looking each value of the smaller set up
    among the larger's, by set size."""
    count = len(sides[0][0])
    number = np.arange(count, dtype=np.int64) << 32
    merged = np.concatenate(
        [np.repeat(number, size) | np.concatenate(sets).astype(np.int64) for sets, size in sides]
    )
    merged.sort(kind="stable")
    same = merged[1:] == merged[:-1]
    counts = np.bincount(merged[1:][same] >> 32, minlength=count)
    out: list[int] = counts.tolist()
    return out


def shared(a: U32, b: U32) -> int:
    """How many values two sorted sets of distinct values share: each of the smaller
    looked up in the larger (np.intersect1d sorts both together: twice as long for sets
    of 800, a document's)."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if not len(small):
        return 0
    at = large.searchsorted(small)
    at[at == len(large)] = 0
    return int(np.count_nonzero(large[at] == small))


def reverse(evidence: Evidence, threshold: float) -> Evidence:
    """The same verified pair seen from the other side (member and survivor swapped)."""
    jaccard, contained, covers = (
        evidence.jaccard,
        evidence.containment_survivor,
        evidence.containment,
    )
    few, differ = evidence.few, evidence.differ
    found = evidence.relation
    if found not in ("exact", "near"):  # both symmetric, whatever measure found them
        found = None if differ else relation(jaccard, contained, covers, threshold, few)
    return Evidence(jaccard, contained, covers, found, few, differ)
