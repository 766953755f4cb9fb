"""Stage 2, candidates: a level's LSH band keys in, its candidate pairs of keys out.

Two distinct texts are candidates when their band keys meet in a bucket of any key
space (word or character shingles, typo keys).  `pair_batches` cuts the candidates into
the batches workers verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import xxhash

from dedup.columns import first_places
from dedup.engine.table import BATCH_CHARS, I64, Table
from dedup.index import candidate_pairs
from dedup.order import distinct
from dedup.parallel import default_jobs

#: A batch of candidate pairs to verify: at most this many distinct texts.
BATCH_KEYS = 4096


#: Per key space, a digest of the last level's texts (in key order) and their number marks,
#: and their LSH pairs (rows): a digest, not the texts, which for the typo keys of a million
#: records are 45 MB.
Memo = dict[str, tuple[bytes, I64]]


def candidates(table: Table, li: int, memo: Memo) -> I64:
    """The candidate pairs of level `li`: distinct pairs of keys (a, b), a < b, sorted.

    Pairs of short texts whose number marks prove they state other numbers (see
    `facts.number_marks`) are none.  A level whose texts and marks in a key space are
    those of the level above (records of one line, documents of one section) takes that
    level's pairs from `memo`.
    """
    level = table.levels[li]
    found: list[I64] = []
    for space, keys, texts, rows in table.texts.of_level(li, level.texts):  # a space at a time
        last = memo.get(space)
        marks = level.marks[keys]
        hashed = xxhash.xxh3_128(np.ascontiguousarray(texts).data)
        hashed.update(np.ascontiguousarray(marks).data)  # not a copy of both joined
        digest = hashed.digest()
        del texts, hashed  # before LSH: 46 MB for the 5.7 million typo keys of a million records
        if last is not None and last[0] == digest:
            pairs = last[1]
        else:
            pairs = candidate_pairs(
                table.texts.bands(space), rows, default_jobs(table.config.run.jobs), marks
            )
        memo[space] = digest, pairs
        level.candidates[space] = len(pairs)
        found.append(keys[pairs].reshape(-1, 2).astype(np.int64))
    return distinct_pairs(np.concatenate(found) if found else np.empty((0, 2), np.int64))


def distinct_pairs(pairs: I64) -> I64:
    """Pairs of keys (rows, in either order) as sorted distinct pairs (a, b), a < b; a pair
    of a key with itself (a labelled title's own title, see
    fingerprint.add_title_prints) is none."""
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.stack(decode(distinct(code(pairs.min(axis=1), pairs.max(axis=1)))), axis=1)


def neighbours_of(pairs: I64) -> dict[int, list[int]]:
    """Key -> its neighbours, sorted, from pairs of keys (rows, in either order), keys in
    ascending order; a pair of a key with itself (a labelled title's own title, see
    fingerprint.add_title_prints) is none.  In numpy: a dict of sets built pair by pair
    took 0.66 s of a 7 s run."""
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if not len(pairs):
        return {}
    both = np.concatenate((pairs, pairs[:, ::-1]))
    codes = distinct(code(both[:, 0], both[:, 1]))
    keys, others = decode(codes)
    starts = np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1))
    bounds = [*starts.tolist(), len(codes)]
    flat = others.tolist()
    return {
        key: flat[start:end]
        for key, start, end in zip(keys[starts].tolist(), bounds, bounds[1:], strict=False)
    }


def code(x: Any, y: Any) -> Any:
    """One number for a pair of keys (each under 2**31), or an array of them."""
    return (x << _SHIFT) + y


def decode(codes: I64) -> tuple[I64, I64]:
    """The two keys of each pair `code` made."""
    return codes >> _SHIFT, codes & ((1 << _SHIFT) - 1)


_SHIFT = 31


def pair_batches(pairs: I64, chars: I64) -> Iterator[tuple[list[int], list[tuple[int, int]]]]:
    """The candidate pairs (distinct (a, b), a < b, sorted) in batches, with the keys each
    batch needs; `chars` is the length of each key's text.

    Connected groups of candidates (a text and its near copies, say) stay in one
    batch, so each text is shingled once; batches are filled with whole groups, by
    smallest key, up to about BATCH_CHARS characters or BATCH_KEYS keys.  A group larger
    than that (templated lines differing in a number) is cut along its sorted pairs, its
    keys then shingled once per batch that needs them.  The groups are found in numpy:
    a dict of each key's neighbours and one of their roots took 480 MB and 5 s for the
    1.9 million candidates of a million short records.
    """
    if not len(pairs):
        return
    keys = distinct(pairs.ravel().copy())  # the keys that have a candidate, ascending
    local = np.searchsorted(keys, pairs)
    root = components(local, len(keys))
    is_root = np.zeros(len(keys), dtype=bool)
    is_root[root] = True
    count = int(is_root.sum())
    group = (np.cumsum(is_root) - 1)[root]  # of each key: groups by their smallest keys
    del is_root
    key_order = np.argsort(group, kind="stable")  # by group, then key
    pair_order = np.argsort(group[local[:, 0]], kind="stable")  # by group, then (a, b)
    key_bounds = np.searchsorted(group[key_order], np.arange(count + 1)).tolist()
    pair_bounds = np.searchsorted(group[local[pair_order, 0]], np.arange(count + 1)).tolist()
    grouped_keys = keys[key_order]
    sizes = np.add.reduceat(chars[grouped_keys], key_bounds[:-1]).tolist()
    grouped_pairs = pairs[pair_order]
    del local, root, group, key_order, pair_order
    # Whole groups in a row make a batch: a range of the grouped keys and pairs.
    k_start = p_start = size = 0

    def batch(k_end: int, p_end: int) -> tuple[list[int], list[tuple[int, int]]]:
        return grouped_keys[k_start:k_end].tolist(), list(
            map(tuple, grouped_pairs[p_start:p_end].tolist())
        )

    for g, whole in enumerate(sizes):
        k0, k1 = key_bounds[g], key_bounds[g + 1]
        p0, p1 = pair_bounds[g], pair_bounds[g + 1]
        if p0 > p_start and (size + whole > BATCH_CHARS or k1 - k_start > BATCH_KEYS):
            yield batch(k0, p0)
            k_start, p_start, size = k0, p0, 0
        if whole <= BATCH_CHARS and k1 - k0 <= BATCH_KEYS:  # the group whole
            size += whole
            if size >= BATCH_CHARS or k1 - k_start >= BATCH_KEYS:
                yield batch(k1, p1)
                k_start, p_start, size = k1, p1, 0
            continue
        # A group too large for a batch, cut along its pairs in an order that keeps
        # neighbours together (the batch is empty here).
        held: dict[int, None] = {}
        cut: list[tuple[int, int]] = []
        for a, b in near_first(grouped_keys[k0:k1], grouped_pairs[p0:p1]).tolist():
            for key in (a, b):
                if key not in held:
                    held[key] = None
                    size += int(chars[key])
            cut.append((a, b))
            if size >= BATCH_CHARS or len(held) >= BATCH_KEYS:
                yield list(held), cut
                held, cut, size = {}, [], 0
        if cut:
            yield list(held), cut
        k_start, p_start, size = k1, p1, 0
    if p_start < len(grouped_pairs):
        yield batch(len(grouped_keys), len(grouped_pairs))


def near_first(keys: I64, pairs: I64) -> I64:
    """The pairs of one connected group (`keys` its keys, ascending) in an order where
    each pair's keys were met by few pairs before: batches cut from it in that order read
    each key about once.

    Keys are numbered in breadth-first order from the smallest (a key's neighbours next
    to it, as Cuthill and McKee number the rows of a sparse matrix), and pairs are taken
    by their later key's number.  Cut in key order instead, the sentences of 100,000
    French documents verified in the second wave (125,689 texts, 89,872 of them in one
    group) were read 4.4 times each; in this order, 1.3 times.
    """
    local = np.searchsorted(keys, pairs)
    both = np.concatenate((local, local[:, ::-1]))
    both = both[np.argsort(both[:, 0], kind="stable")]
    starts = np.searchsorted(both[:, 0], np.arange(len(keys) + 1))
    number = np.full(len(keys), -1, dtype=np.int64)
    number[0] = 0
    frontier = np.zeros(1, dtype=np.int64)
    met = 1
    while len(frontier):
        # Every neighbour of the frontier, in the frontier's order, then the first
        # sight of each one not numbered yet.
        counts = starts[frontier + 1] - starts[frontier]
        at = np.repeat(starts[frontier] - np.cumsum(counts) + counts, counts)
        seen = both[at + np.arange(int(counts.sum())), 1]
        seen = seen[number[seen] < 0]
        frontier = seen[first_places(seen)]
        number[frontier] = np.arange(met, met + len(frontier))
        met += len(frontier)
    x, y = number[local[:, 0]], number[local[:, 1]]
    return pairs[np.lexsort((np.minimum(x, y), np.maximum(x, y)))]


def components(edges: I64, count: int) -> I64:
    """The connected components of a graph of `count` nodes and these edges (rows of two
    nodes): each node's root, the smallest node of its component.

    Roots are hooked under the smaller root of every edge between two components, then
    every node is pointed at its root by pointer jumping, until no edge joins two roots;
    a few rounds of whole-array operations (scipy's would do it too, but importing it
    cost each process 31 MB).
    """
    root = np.arange(count, dtype=np.int64)
    a, b = edges[:, 0], edges[:, 1]
    while True:
        ra, rb = root[a], root[b]
        apart = ra != rb
        if not apart.any():
            return root
        low, high = np.minimum(ra[apart], rb[apart]), np.maximum(ra[apart], rb[apart])
        np.minimum.at(root, high, low)  # a root under the smallest root it meets
        while True:  # every node to its root
            up = root[root]
            if np.array_equal(up, root):
                break
            root = up
