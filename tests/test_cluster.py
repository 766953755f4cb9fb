"""Clusters never chain: a unit goes only if it matches a survivor."""

from __future__ import annotations

from dedup.cluster import clusters
from dedup.model import Evidence


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
