"""Clustering without chaining: units in keep order in, survivor links out.

Units are visited in keep order (corpus order, or longest first).  A unit is
removed only when it is verified against a unit that survives, so A~B and B~C
never remove a C that is unlike A; otherwise it becomes a survivor itself.  A
unit with the same exact key as a survivor is its exact duplicate; otherwise
its LSH neighbours that survive are verified, and the best match (highest
Jaccard, then earliest in keep order) wins.  Ties are broken by keep order,
which is total, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.model import REMOVING, Evidence

EXACT = Evidence(1.0, 1.0, 1.0, "exact")


@dataclass(frozen=True, slots=True)
class Link:
    survivor: int
    member: int
    evidence: Evidence


def clusters(
    order: Sequence[int],
    keys: Sequence[int] | npt.NDArray[np.int64],
    neighbours: Mapping[int, Sequence[int]],
    evidence: Mapping[tuple[int, int], Evidence],
) -> list[Link]:
    """Link every duplicate unit to the survivor it was verified against.

    Args:
        order: unit ids in keep order (only the units taking part).
        keys: exact key id of every unit.
        neighbours: key id -> LSH candidate key ids.
        evidence: (survivor key, member key) -> verified Evidence, for every pair of
            neighbouring keys in both orders.

    Returns:
        One Link per removed unit, plus one per surviving unit that overlaps
        (covers most of) an earlier survivor, in visiting order.
    """
    # Only a text that repeats or has LSH neighbours can ever be looked up: the
    # others are survivors nobody matches, and are not tracked (memory: a dict
    # entry per unit of a large corpus).
    order_keys = np.asarray(keys, dtype=np.int64)[np.asarray(order, dtype=np.int64)]
    tracked = np.bincount(order_keys, minlength=int(order_keys.max(initial=-1)) + 1) > 1
    for key in neighbours:
        if key < len(tracked):
            tracked[key] = True
    rank: dict[int, int] = {}
    survivor_of: dict[int, int] = {}
    links: list[Link] = []
    for position, (unit, key) in enumerate(zip(order, order_keys.tolist(), strict=True)):
        if not tracked[key]:
            continue
        rank[unit] = position
        if key in survivor_of:
            links.append(Link(survivor_of[key], unit, EXACT))
            continue
        best: tuple[float, int, Link] | None = None
        overlap: tuple[float, int, Link] | None = None
        for other in neighbours.get(key, ()):
            survivor = survivor_of.get(other)
            if survivor is None:
                continue
            found = evidence[other, key]
            link = Link(survivor, unit, found)
            if found.relation in REMOVING:
                score = (found.jaccard, -rank[survivor], link)
                if best is None or score[:2] > best[:2]:
                    best = score
            elif found.relation == "overlap":
                score = (found.containment_survivor, -rank[survivor], link)
                if overlap is None or score[:2] > overlap[:2]:
                    overlap = score
        if best is not None:
            links.append(best[2])
            continue
        survivor_of[key] = unit
        if overlap is not None:
            links.append(overlap[2])
    return links
