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

from dedup.columns import first_places, numbers_type
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
        found.append(keys[pairs].reshape(-1, 2).astype(np.int64))
    pairs = distinct_pairs(np.concatenate(found) if found else np.empty((0, 2), np.int64))
    level.candidate_pairs = len(pairs)
    return pairs


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
    key_type = numbers_type(int(keys[-1]) + 1)
    # Numbers as narrow as they fit, and each array freed once read: the sentences of
    # 200,000 French documents verified 6 million pairs in one wave, 100 MB an int64 copy.
    local = np.searchsorted(keys, pairs).astype(numbers_type(len(keys)))
    root = components(local, len(keys))
    is_root = np.zeros(len(keys), dtype=bool)
    is_root[root] = True
    count = int(is_root.sum())
    # Of each key, and each pair, its group: groups numbered by their smallest keys.
    group = (np.cumsum(is_root) - 1).astype(numbers_type(count))[root]
    del is_root, root
    pair_group = group[local[:, 0]]
    del local
    key_order = np.argsort(group, kind="stable")  # by group, then key
    key_bounds = np.searchsorted(group[key_order], np.arange(count + 1))
    del group
    pair_order = np.argsort(pair_group, kind="stable")  # by group, then (a, b)
    pair_bounds = np.searchsorted(pair_group[pair_order], np.arange(count + 1))
    del pair_group
    grouped_keys = keys[key_order]
    del keys, key_order
    grouped_pairs = pairs[pair_order].astype(key_type)
    del pair_order
    sizes = np.add.reduceat(chars[grouped_keys], key_bounds[:-1])
    # Whole groups in a row make a batch, up to about BATCH_CHARS characters or
    # BATCH_KEYS keys; a group larger than that is a batch of its own, cut below.
    small = (sizes <= BATCH_CHARS) & (np.diff(key_bounds) <= BATCH_KEYS)
    # A batch holds at most BATCH_KEYS // 2 groups (two keys or more each): where it
    # ends is found among as many groups after its first, in numpy, not a group at a time.
    reach = BATCH_KEYS // 2 + 2
    g = 0
    while g < count:
        if not small[g]:
            yield from _cut_group(
                grouped_keys[key_bounds[g] : key_bounds[g + 1]],
                grouped_pairs[pair_bounds[g] : pair_bounds[g + 1]],
                chars,
            )
            g += 1
            continue
        last = min(count, g + reach)
        filled = np.cumsum(sizes[g:last])  # the batch's characters up to each group
        held = key_bounds[g + 1 : last + 1] - key_bounds[g]  # and its keys
        full = (filled >= BATCH_CHARS) | (held >= BATCH_KEYS)
        # ... or the next group would overflow it, or goes alone.
        full[:-1] |= (filled[1:] > BATCH_CHARS) | (held[1:] > BATCH_KEYS) | ~small[g + 1 : last]
        full[-1] |= last == count
        end = g + int(np.argmax(full)) + 1
        yield (
            grouped_keys[key_bounds[g] : key_bounds[end]].tolist(),
            list(map(tuple, grouped_pairs[pair_bounds[g] : pair_bounds[end]].tolist())),
        )
        g = end


def _cut_group(
    keys: I64, pairs: I64, chars: I64
) -> Iterator[tuple[list[int], list[tuple[int, int]]]]:
    """A group too large for a batch, cut along its pairs in an order that keeps
    neighbours together (see `near_first`)."""
    held: dict[int, None] = {}
    cut: list[tuple[int, int]] = []
    size = 0
    ordered = near_first(keys, pairs)
    # A slice at a time as Python ints: the whole group's as a list of lists took 300 MB
    # (the sentences of 200,000 French documents, one group of millions of pairs).
    for lo in range(0, len(ordered), 1 << 16):
        for a, b in ordered[lo : lo + (1 << 16)].tolist():
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
    narrow = numbers_type(len(keys))  # keys by place among `keys`, narrow while they fit
    local = np.searchsorted(keys, pairs).astype(narrow)
    both = np.concatenate((local, local[:, ::-1]))
    both = both[np.argsort(both[:, 0], kind="stable")]
    starts = np.searchsorted(both[:, 0], np.arange(len(keys) + 1))
    number = np.full(len(keys), -1, dtype=narrow)
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
