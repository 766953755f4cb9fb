"""Stage 2, candidates: a level's LSH band keys in, its candidate pairs of keys out.

Two distinct texts are candidates when their band keys meet in a bucket of any key
space (word or character shingles, typo keys).  `pair_batches` cuts the candidates into
the batches workers verify.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from dedup.engine.table import BATCH_CHARS, I64, Table
from dedup.index import candidate_pairs

#: A batch of candidate pairs to verify: at most this many distinct texts.
BATCH_KEYS = 4096


#: Per key space, the last level's texts (in key order) and their LSH pairs (rows).
Memo = dict[str, tuple[I64, I64]]


def candidates(table: Table, li: int, memo: Memo) -> I64:
    """The candidate pairs of level `li`: distinct pairs of keys (a, b), a < b, sorted.

    A level whose texts in a key space are those of the level above (records of one
    line, documents of one section) takes that level's pairs from `memo`.
    """
    level = table.levels[li]
    found: list[I64] = []
    for space, keys, texts, rows in table.texts.of_level(li, level.texts):  # a space at a time
        last = memo.get(space)
        if last is not None and np.array_equal(last[0], texts):
            pairs = last[1]
        else:
            pairs = candidate_pairs(table.texts.bands(space, rows))
        memo[space] = texts, pairs
        level.candidates[space] = len(pairs)
        found.append(keys[pairs].reshape(-1, 2))
    return distinct_pairs(np.concatenate(found) if found else np.empty((0, 2), np.int64))


def distinct_pairs(pairs: I64) -> I64:
    """Pairs of keys (rows, in either order) as sorted distinct pairs (a, b), a < b; a pair
    of a key with itself (a labelled title's own title, see
    fingerprint.add_title_prints) is none."""
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.stack(decode(np.unique(code(pairs.min(axis=1), pairs.max(axis=1)))), axis=1)


def neighbours_of(pairs: I64) -> dict[int, list[int]]:
    """Key -> its neighbours, sorted, from pairs of keys (rows, in either order), keys in
    ascending order; a pair of a key with itself (a labelled title's own title, see
    fingerprint.add_title_prints) is none.  In numpy: a dict of sets built pair by pair
    took 0.66 s of a 7 s run."""
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if not len(pairs):
        return {}
    both = np.concatenate((pairs, pairs[:, ::-1]))
    codes = np.unique(code(both[:, 0], both[:, 1]))
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


def pair_batches(
    neighbours: Mapping[int, Sequence[int]], chars: Callable[[int], int]
) -> Iterator[tuple[list[int], list[tuple[int, int]]]]:
    """The candidate pairs (a < b) in batches, with the keys each batch needs.

    Connected groups of candidates (a text and its near copies, say) stay in one
    batch, so each text is shingled once; batches are filled with whole groups up
    to about BATCH_CHARS characters or BATCH_KEYS keys.  A group larger than that
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
        if pairs and (size + whole > BATCH_CHARS or len(keys) + len(group) > BATCH_KEYS):
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
                    if size >= BATCH_CHARS or len(keys) >= BATCH_KEYS:
                        yield list(keys), pairs
                        keys, pairs, size = {}, [], 0
    if pairs:
        yield list(keys), pairs
