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

import array
import bisect
import itertools
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.columns import Coded, coded, first_places
from dedup.model import REMOVING, Evidence

EXACT = Evidence(1.0, 1.0, 1.0, "exact")


@dataclass(frozen=True, slots=True)
class Link:
    survivor: int
    member: int
    evidence: Evidence


@dataclass
class Links:
    """Links as columns, in visiting order: the survivor and member of each, and its
    evidence, as codes into the distinct ones (exact copies share one).  A boilerplate
    line on every page of a large corpus is a link a page: an object each cost the run as
    much again (#27)."""

    survivors: npt.NDArray[np.int64]
    members: npt.NDArray[np.int64]
    evidence: Coded[Evidence]

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[Link]:
        for survivor, member, found in zip(
            self.survivors.tolist(), self.members.tolist(), iter(self.evidence), strict=True
        ):
            yield Link(survivor, member, found)

    def take(self, which: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> Links:
        """The links at these positions (or where this mask is set), in order."""
        return Links(self.survivors[which], self.members[which], self.evidence.take(which))

    def relations(self, names: Collection[str | None]) -> npt.NDArray[np.bool_]:
        """Which links have one of these relations."""
        return self.evidence.where(lambda found: found.relation in names)


def clusters(
    order: Sequence[int] | npt.NDArray[np.int64],
    keys: Sequence[int] | npt.NDArray[np.int64],
    neighbours: Mapping[int, Sequence[int]],
    evidence: Mapping[tuple[int, int], Evidence],
) -> Links:
    """Link every duplicate unit to the survivor it was verified against.

    Args:
        order: unit ids in keep order (only the units taking part).
        keys: exact key id of every unit.
        neighbours: key id -> LSH candidate key ids.
        evidence: (survivor key, member key) -> verified Evidence, for every pair of
            neighbouring keys in both orders.

    Returns:
        One link per removed unit, plus one per surviving unit that overlaps
        (covers most of) an earlier survivor, in visiting order.
    """
    units = np.asarray(order, dtype=np.int64)
    order_keys = np.asarray(keys)[units].astype(np.int64)
    # Only a text that repeats or has LSH neighbours can ever be looked up: the
    # others are survivors nobody matches, and are not tracked (memory: a dict
    # entry per unit of a large corpus).
    tracked = np.bincount(order_keys, minlength=int(order_keys.max(initial=-1)) + 1) > 1
    for key in neighbours:
        if key < len(tracked):
            tracked[key] = True
    survivor_of: dict[int, int] = {}
    settled: dict[int, int] = {}  # key -> the position of its survivor
    at = array.array("q")  # the positions, survivors and members of the links made here
    survivors = array.array("q")
    members = array.array("q")
    found_of: list[Evidence] = []

    def visit(position: int, key: int, unit: int) -> None:
        best: tuple[float, int, int, Evidence] | None = None
        overlap: tuple[float, int, int, Evidence] | None = None
        for other in neighbours.get(key, ()):
            survivor = survivor_of.get(other)
            if survivor is None or settled[other] > position:
                continue
            found = evidence[other, key]
            if found.relation in REMOVING:
                score = (found.jaccard, -settled[other], survivor, found)
                if best is None or score[:2] > best[:2]:
                    best = score
            elif found.relation == "overlap":
                score = (found.containment_survivor, -settled[other], survivor, found)
                if overlap is None or score[:2] > overlap[:2]:
                    overlap = score
        chosen = best
        if best is None:
            survivor_of[key] = unit
            settled[key] = position
            chosen = overlap
        if chosen is not None:
            at.append(position)
            survivors.append(chosen[2])
            members.append(unit)
            found_of.append(chosen[3])

    # A text survives or not at its first copy: survivors are made only there, so the
    # first copies are visited first, in order, and then the later copies of the texts
    # removed, each against the survivors settled before it (the one its first copy was
    # removed against among them).  A later copy of a survivor is its exact copy, linked
    # below: 2.6 million of the 2.8 million sentences of 100,000 French documents visited.
    visited = np.flatnonzero(tracked[order_keys])
    firsts = visited[first_places(order_keys[visited])]
    for position, key, unit in _visits(units, order_keys, firsts):
        visit(position, key, unit)
    gone = np.ones(len(tracked), dtype=bool)  # the texts removed at their first copy
    gone[np.fromiter(survivor_of, dtype=np.int64, count=len(survivor_of))] = False
    later = np.ones(len(units), dtype=bool)
    later[firsts] = False
    # A later copy of a text removed at its first is removed too, against the best of
    # its neighbours that survive and are settled before it: survivors are all settled
    # by now (its first copy's survivor among them), so each text's are ranked once,
    # and each copy takes the best settled before it (a sentence on page after page
    # weighed its hundred neighbours again at each copy: 1.6 s of 100,000 documents).
    again = visited[(later & gone[order_keys])[visited]]
    again = again[np.argsort(order_keys[again], kind="stable")]  # by text, in order
    bounds = [*np.flatnonzero(np.diff(order_keys[again], prepend=-1)).tolist(), len(again)]
    for lo, hi in itertools.pairwise(bounds):
        key = int(order_keys[again[lo]])
        ranked = _ranked(key, neighbours.get(key, ()), survivor_of, settled, evidence)
        places = [place for place, _, _, _ in ranked]
        for position in again[lo:hi].tolist():
            best = bisect.bisect_right(places, position) - 1
            if best < 0:  # none settled before it (its first copy's survivor always is)
                visit(position, key, int(units[position]))
                continue
            _, survivor, found, _ = ranked[best]
            at.append(position)
            survivors.append(survivor)
            members.append(int(units[position]))
            found_of.append(found)
    # A unit whose text has a survivor before it is that survivor's exact copy.
    first = np.full(len(tracked), len(units), dtype=np.int64)  # position of each survivor
    survivor_at = np.full(len(tracked), -1, dtype=np.int64)
    if settled:
        keyed = np.fromiter(settled, dtype=np.int64, count=len(settled))
        first[keyed] = np.fromiter(settled.values(), dtype=np.int64, count=len(settled))
        survivor_at[keyed] = np.fromiter(
            (survivor_of[key] for key in settled), dtype=np.int64, count=len(settled)
        )
    copies = np.flatnonzero(np.arange(len(units)) > first[order_keys])
    positions = np.concatenate((np.frombuffer(at, dtype=np.int64), copies))
    visited = np.argsort(positions, kind="stable")
    held = coded([EXACT, *found_of])  # the exact copies' is code 0
    return Links(
        np.concatenate((np.frombuffer(survivors, dtype=np.int64), survivor_at[order_keys[copies]]))[
            visited
        ],
        np.concatenate((np.frombuffer(members, dtype=np.int64), units[copies]))[visited],
        Coded(
            np.concatenate((held.codes[1:], np.zeros(len(copies), dtype=np.int32)))[visited],
            held.table,
        ),
    )


def _ranked(
    key: int,
    others: Sequence[int],
    survivor_of: dict[int, int],
    settled: dict[int, int],
    evidence: Mapping[tuple[int, int], Evidence],
) -> list[tuple[int, int, Evidence, float]]:
    """(place, survivor, evidence, Jaccard) of the best survivor a copy of text `key`
    placed after `place` is removed against (highest Jaccard, then earliest), one a
    place where the best changes, by place: of the neighbours that survive and remove
    it."""
    found = []
    for other in others:
        survivor = survivor_of.get(other)
        if survivor is not None and (match := evidence[other, key]).relation in REMOVING:
            found.append((settled[other], survivor, match, match.jaccard))
    found.sort()
    best: list[tuple[int, int, Evidence, float]] = []
    for candidate in found:  # settled later: better only by a higher Jaccard
        if not best or candidate[3] > best[-1][3]:
            best.append(candidate)
    return best


def _visits(
    units: npt.NDArray[np.int64], keys: npt.NDArray[np.int64], visited: npt.NDArray[np.int64]
) -> Iterator[tuple[int, int, int]]:
    """(position, key, unit) of the units visited, as Python ints a slice at a time: a
    list each of the 2.7 million sentences of 100,000 documents took 300 MB."""
    for lo in range(0, len(visited), 1 << 16):
        part = visited[lo : lo + (1 << 16)]
        yield from zip(part.tolist(), keys[part].tolist(), units[part].tolist(), strict=True)
