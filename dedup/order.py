"""Orders and distinct values of arrays, as the stages sort them: the stable order of
64-bit keys (`key_order`, a bucket sort in C where it was built), the rows of the keys
that repeat (`shared_order`), sorted distinct values (`distinct`), and the distinct 16-byte
digests of exact keys (`unique_digests`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.native import native

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def distinct(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Sorted distinct values; sorts `values` in place (np.unique's hash-based path
    measured 4x slower here)."""
    values.sort()
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


#: Keys past which `key_order` and `shared_order` take numpy's sort: in C, each key and
#: its row are sorted as a pair (16 bytes a key; 8 million: 128 MB for a moment).
SORTED_IN_C_MOST = 1 << 23


def key_order(keys: U64) -> I64:
    """`np.argsort(keys, kind="stable")` of 64-bit keys spread evenly (hashes): in C where
    it was built, by their highest bits into buckets of about eight, each sorted on its
    own (3.5 million digests: 0.21 s, numpy's stable sort 0.53; a radix sort of six
    passes took 0.3 s for a million)."""
    if native is None or len(keys) > SORTED_IN_C_MOST:
        order: I64 = np.argsort(keys, kind="stable")
        return order
    return _sorted_in_c(keys, shared=False)


def shared_order(keys: U64) -> I64:
    """The rows of `keys` whose key another row has too, in `key_order`'s order (by key,
    then row); in C where it was built, picked as they are sorted (a million band keys:
    25 ms, against 100 ms for a radix sort of them and the repeats picked from it)."""
    if native is not None and len(keys) <= SORTED_IN_C_MOST:
        return _sorted_in_c(keys, shared=True)
    order = key_order(keys)
    ordered = keys[order]
    shared = ordered[1:] == ordered[:-1]
    keep = np.zeros(len(ordered), dtype=bool)
    keep[1:] = shared
    keep[:-1] |= shared
    repeated: I64 = order[keep]
    return repeated


def _sorted_in_c(keys: U64, shared: bool) -> I64:
    """`native.key_order`: the rows of `keys` in order, or of the repeated ones only."""
    assert native is not None
    order = np.empty(len(keys), dtype=np.int64)
    count = native.key_order(np.ascontiguousarray(keys, dtype=np.uint64), order, shared)
    return order[:count]


def unique_digests(digests: npt.NDArray[np.void]) -> tuple[I64, I64]:
    """np.unique(digests, return_index=True, return_inverse=True) of 16-byte digests
    (dtype V16), less the unique values: (index of each distinct digest's first
    occurrence, in byte order; the number of each digest's distinct one).

    Sorted as two 64-bit integers, not as bytes: np.unique of four million digests took
    1.8 s, this a quarter of it.  Their first eight bytes read big-endian order them as
    bytes do; digests that differ only after those, a chance in 10**12 for millions,
    are sorted by the last eight too.
    """
    halves = np.ascontiguousarray(digests).view(">u8").reshape(-1, 2)
    high = halves[:, 0].astype(np.uint64)
    order = key_order(high)
    new = np.ones(len(order), dtype=bool)
    ordered = high[order]
    del high
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    ordered = halves[order, 1]  # the last eight bytes, in that order
    low_differs = ordered[1:] != ordered[:-1]
    del ordered
    if (low_differs & ~new[1:]).any():
        order = np.lexsort((halves[:, 1], halves[:, 0]))
        new[1:] = (halves[order[1:]] != halves[order[:-1]]).any(axis=1)
    else:
        new[1:] |= low_differs
    del low_differs
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse
