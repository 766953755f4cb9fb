"""Clusters never chain: a unit goes only if it matches a survivor."""

from __future__ import annotations

import random

import pytest

from dedup.cluster import EXACT, clusters
from dedup.engine.verify import BothWays
from dedup.index import reverse
from dedup.model import REMOVING, Evidence


def _evidence(table: dict[frozenset[int], float]) -> dict[tuple[int, int], Evidence]:
    out = {}
    for keys, j in table.items():
        a, b = sorted(keys)
        out[a, b] = out[b, a] = Evidence(j, j, j, "near" if j >= 0.8 else None)
    for a in range(3):  # neighbours that were verified but are not similar
        for b in range(3):
            out.setdefault((a, b), Evidence(0.0, 0.0, 0.0, None))
    return out


def test_a_b_c_chain_does_not_remove_c() -> None:
    # A~B and B~C, but C is unlike A: B goes (matches A), C survives.
    table = {frozenset((0, 1)): 0.85, frozenset((1, 2)): 0.85}
    links = clusters([0, 1, 2], [0, 1, 2], {0: [1], 1: [0, 2], 2: [1]}, _evidence(table))
    assert [(k.survivor, k.member) for k in links] == [(0, 1)]


def test_exact_keys_link_to_the_first_survivor() -> None:
    links = clusters([0, 1, 2], [7, 7, 7], {}, _evidence({}))
    assert [(k.survivor, k.member, k.evidence.relation) for k in links] == [
        (0, 1, "exact"),
        (0, 2, "exact"),
    ]


def test_best_survivor_wins_and_order_breaks_ties() -> None:
    table = {frozenset((0, 2)): 0.82, frozenset((1, 2)): 0.9}
    links = clusters([0, 1, 2], [0, 1, 2], {2: [0, 1], 0: [2], 1: [2]}, _evidence(table))
    assert [(k.survivor, k.member) for k in links] == [(1, 2)]
    tie = {frozenset((0, 2)): 0.9, frozenset((1, 2)): 0.9}
    links = clusters([0, 1, 2], [0, 1, 2], {2: [0, 1], 0: [2], 1: [2]}, _evidence(tie))
    assert [(k.survivor, k.member) for k in links] == [(0, 2)]


def test_keep_order_decides_the_survivor() -> None:
    table = {frozenset((0, 1)): 0.9}
    links = clusters([1, 0], [0, 1], {0: [1], 1: [0]}, _evidence(table))
    assert [(k.survivor, k.member) for k in links] == [(1, 0)]


def _plain_clusters(
    order: list[int],
    keys: list[int],
    neighbours: dict[int, list[int]],
    evidence: dict[tuple[int, int], Evidence],
) -> list[tuple[int, int, Evidence]]:
    """The clustering rule as it reads, one unit after another."""
    rank: dict[int, int] = {}
    survivor_of: dict[int, int] = {}
    out = []
    for position, unit in enumerate(order):
        key = keys[unit]
        rank[unit] = position
        if key in survivor_of:
            out.append((survivor_of[key], unit, EXACT))
            continue
        best = overlap = None
        for other in neighbours.get(key, ()):
            survivor = survivor_of.get(other)
            if survivor is None:
                continue
            found = evidence[other, key]
            if found.relation in REMOVING:
                score = (found.jaccard, -rank[survivor])
                if best is None or score > best[0]:
                    best = (score, (survivor, unit, found))
            elif found.relation == "overlap":
                score = (found.containment_survivor, -rank[survivor])
                if overlap is None or score > overlap[0]:
                    overlap = (score, (survivor, unit, found))
        if best is not None:
            out.append(best[1])
            continue
        survivor_of[key] = unit
        if overlap is not None:
            out.append(overlap[1])
    return out


@pytest.mark.parametrize("seed", range(400))
def test_clusters_link_as_the_rule_reads(seed: int) -> None:
    """Exact copies are linked all at once after the scan, and the later copies of a
    removed text after every first copy: the same links, in the same order, as a scan
    that visits every unit."""
    rng = random.Random(seed)
    units = rng.randrange(1, 60)
    keys = [rng.randrange(max(1, units // 3)) for _ in range(units)]
    order = list(range(units))
    rng.shuffle(order)
    distinct = sorted(set(keys))
    neighbours: dict[int, list[int]] = {}
    evidence: dict[tuple[int, int], Evidence] = {}
    for _ in range(rng.randrange(3 * len(distinct))):
        a, b = rng.sample(distinct, 2) if len(distinct) > 1 else (distinct[0], distinct[0])
        if a == b or b in neighbours.get(a, []):
            continue
        j = rng.choice([0.5, 0.82, 0.9, 0.9, 1.0])
        relation = rng.choice(["near", "contained", "overlap", None])
        found = Evidence(j, rng.random(), rng.random(), relation if j >= 0.8 else None)
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
        evidence[a, b] = evidence[b, a] = found
    links = clusters(order, keys, neighbours, evidence)
    expected = _plain_clusters(order, keys, neighbours, evidence)
    assert [(k.survivor, k.member, k.evidence) for k in links] == expected


def test_a_pair_read_the_other_way_is_turned_once() -> None:
    found = {(1, 2): Evidence(0.5, 0.95, 0.4, "contained"), (2, 3): Evidence(0.9, 0.9, 0.9, "near")}
    both = BothWays(found, 0.8)
    assert both[1, 2] is found[1, 2]
    turned = both[2, 1]
    assert turned == reverse(found[1, 2], 0.8)
    assert (turned.containment, turned.containment_survivor) == (0.4, 0.95)
    assert both[2, 1] is turned  # the same object: turned once
    assert both[3, 2] == found[2, 3]
    assert sorted(both) == [(1, 2), (2, 1), (2, 3), (3, 2)]
