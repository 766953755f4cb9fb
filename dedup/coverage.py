"""How much of a near duplicate's children its survivor repeats (see
`engine.children`): a child found verbatim in the survivor's text, or by the share of its
character k-grams the survivor has.
"""

from __future__ import annotations

import numpy as np

from dedup.fingerprint import UNUSED, code_points, gram_keys
from dedup.native import native
from dedup.order import distinct


def covered(children: list[str], survivor: str, k: int, threshold: float) -> list[bool]:
    """Which children (normalized texts) of a near-duplicate unit its survivor really repeats.

    A child counts as repeated when its spaceless text occurs in the survivor's,
    or when at least `threshold` of its character k-grams occur there; the rest
    is text the survivor lacks, and is kept.
    """
    compact = [child.replace(" ", "") for child in children]
    return covered_many(compact, [0] * len(children), [survivor.replace(" ", "")], k, threshold)


def covered_many(
    texts: list[str], owners: list[int], compact: list[str], k: int, threshold: float
) -> list[bool]:
    """`covered` for the children of many units at once, spaceless: child texts[i]
    belongs to the unit whose survivor is compact[owners[i]], each a normalized text
    without its spaces (see `normalize_many`)."""
    return [share >= threshold for share in coverage_many(texts, owners, compact, k)]


def coverage_many(texts: list[str], owners: list[int], compact: list[str], k: int) -> list[float]:
    """The share of each child's character k-grams its survivor has (1.0 for a child found
    verbatim in it): children and survivors as for `covered_many`.  Survivors are
    compared a group at a time (see `_covered_group`), so that the arrays stay in the
    cache.
    """
    out = [float(text in compact[owner]) for text, owner in zip(texts, owners, strict=True)]
    rest: dict[int, list[int]] = {}  # survivor -> children to compare by k-grams
    for i, found in enumerate(out):
        if not found and texts[i]:
            rest.setdefault(owners[i], []).append(i)
    group: list[tuple[int, list[int]]] = []  # (survivor, its children in this group)
    size = units = 0
    for owner in sorted(rest):
        waiting = rest[owner]
        while waiting:  # a survivor with more children than a group holds spans groups
            room = _GROUP_UNITS - units
            group.append((owner, waiting[:room]))
            waiting = waiting[room:]
            size += len(compact[owner])
            units += len(group[-1][1])
            if size >= _GROUP_CHARS or units >= _GROUP_UNITS or len(group) >= _GROUP_UNITS:
                _covered_group(group, compact, texts, k, out)
                group, size, units = [], 0, 0
    if group:
        _covered_group(group, compact, texts, k, out)
    return out


#: Characters of survivor text compared at once: small enough for the arrays of a group
#: to stay in the L2 cache (20,000 documents, single process: the document level's
#: children check 1.96 -> 1.83 s, the paragraph level's run 11.7 -> 11.3 s, against 1 << 18),
#: large enough to keep the numpy calls few (captured batches, against 1 << 12: document
#: level 1.18-1.21 -> 1.11-1.15 s, paragraph level 1.02-1.03 -> 0.90-0.93 s).
_GROUP_CHARS = 1 << 14
#: Survivors, and children, in a group at most: a gram's key holds its survivor's place
#: in the group (15 bits), its hash (32) and its child's number (16).
_GROUP_UNITS = (1 << 15) - 1


def _covered_group(
    group: list[tuple[int, list[int]]],
    compact: list[str],
    texts: list[str],
    k: int,
    out: list[float],
) -> None:
    """Sets out[i] for the children of a group of survivors.

    Every gram of the group is one 64-bit key: its survivor's place in the
    group, its hash, then 0 for a survivor's gram or the child's number from 1.
    Sorted together and deduplicated, equal grams of one place make a run that
    a survivor's gram heads, if the survivor has it: each child counts its keys,
    and those in runs so headed.
    """
    children = [(i, place) for place, (_, mine) in enumerate(group) for i in mine]
    if native is not None:  # in C: a child's grams looked up in its survivor's, hashed
        owners = np.array([place for _, place in children], dtype=np.int64)
        hits, counts = np.empty((2, len(children)), dtype=np.int64)
        native.covered(
            *code_points([compact[owner] for owner, _ in group]),
            *code_points([texts[i] for i, _ in children]),
            owners,
            k,
            0,
            hits,
            counts,
        )
        for (i, _), shared, count in zip(children, hits.tolist(), counts.tolist(), strict=True):
            out[i] = shared / count
        return
    low = len(children).bit_length()
    high = np.uint64(32 + low)
    places = np.array([place for _, place in children], dtype=np.uint64)
    survivor_keys = gram_keys(
        *code_points([compact[owner] for owner, _ in group]),
        k,
        0,
        np.arange(len(group), dtype=np.uint64) << high,
        low,
    )
    child_keys = gram_keys(
        *code_points([texts[i] for i, _ in children]),
        k,
        0,
        places << high | np.arange(1, len(children) + 1, dtype=np.uint64),
        low,
    )
    keys = distinct(np.concatenate((survivor_keys, child_keys)))
    if len(keys) and keys[-1] == UNUSED:  # windows that were no gram
        keys = keys[:-1]
    child = (keys & np.uint64((1 << low) - 1)).astype(np.intp)
    gram = keys >> np.uint64(low)
    edge = np.empty(len(keys), dtype=bool)
    edge[:1] = True
    np.not_equal(gram[1:], gram[:-1], out=edge[1:])
    heads = np.flatnonzero(edge)
    headed = np.repeat(child[heads] == 0, np.diff(np.append(heads, len(keys))))
    sizes = np.bincount(child, minlength=len(children) + 1)[1:]
    found = np.bincount(child, weights=headed, minlength=len(children) + 1)[1:]
    for (i, _), hits, count in zip(children, found.tolist(), sizes.tolist(), strict=True):
        out[i] = hits / count
