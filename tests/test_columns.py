"""Spans under keys as columns read as the dictionary of tuples they stand for; first
places found without a stable sort are numpy's; values held as codes read as their list."""

from __future__ import annotations

import collections

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.columns import KeyedSpans, coded, first_places

spans = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=4)


@given(st.lists(st.tuples(st.integers(0, 50), spans), max_size=30), st.sampled_from([1, 10**4]))
def test_keyed_spans_read_as_a_dictionary_of_tuples(
    added: list[tuple[int, list[tuple[int, int]]]], spread: int
) -> None:
    """Keys as dense as document numbers (looked up in a table) or sparse (bisected)."""
    expected: dict[int, list[tuple[int, int]]] = {}
    held = KeyedSpans()
    for key, these in added:
        held.add(key * spread, these)
        if these:
            expected.setdefault(key * spread, []).extend(these)
    held.freeze()
    order = sorted(expected)
    held.values = [f"{key}:{n}" for key in order for n in range(len(expected[key]))]
    assert list(held) == order and len(held) == len(order)
    asked = sorted({-1, *range(52), *(k * spread + d for k in range(51) for d in (-1, 0, 1))})
    for key in asked:
        assert held.get(key) == tuple(expected.get(key, ()))
        assert (key in held) == (key in expected)
        texts = tuple(f"{key}:{n}" for n in range(len(expected.get(key, ()))))
        assert held.values_of(key) == texts
    assert held.total() == sum(e - s for these in expected.values() for s, e in these)
    keys = np.array(asked, dtype=np.int64)
    for key, first, last in zip(asked, *held.bounds(keys), strict=True):
        assert held.spans(first, last) == expected.get(key, [])


@given(
    st.lists(st.integers(-(2**62), 2**62), max_size=60),
    st.sampled_from([1, 3, 1000, 2**40, 2**62]),
)
def test_first_places_are_numpys_unique(values: list[int], spread: int) -> None:
    """Each of its three ways (a table, one sorted key, np.unique) gives where each
    distinct value first occurs, in order."""
    column = np.array([v % spread for v in values], dtype=np.int64)
    expected = np.sort(np.unique(column, return_index=True)[1])
    assert first_places(column).tolist() == expected.tolist()
    assert first_places(np.array(values, dtype=np.int64)).tolist() == (
        np.sort(np.unique(np.array(values, dtype=np.int64), return_index=True)[1]).tolist()
    )


@given(st.lists(st.sampled_from(["exact", "near", "contained", None]), max_size=40), st.data())
def test_values_held_as_codes_read_as_their_list(
    values: list[str | None], data: st.DataObject
) -> None:
    held = coded(values)
    assert len(held) == len(values) and list(held) == values and held == values
    assert len(held.table) == len(set(values))
    assert [held[i] for i in range(len(values))] == values
    lo, hi = data.draw(st.integers(0, len(values))), data.draw(st.integers(0, len(values)))
    assert list(held[lo:hi]) == values[lo:hi] and held[lo:hi].table is held.table
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool
    )
    assert list(held.take(mask)) == [v for v, m in zip(values, mask, strict=True) if m]
    at = np.array(data.draw(st.lists(st.integers(0, max(len(values) - 1, 0)))), dtype=np.int64)
    if values:
        assert list(held.take(at)) == [values[i] for i in at.tolist()]
    assert held.where(lambda v: v in ("near", None)).tolist() == [
        v in ("near", None) for v in values
    ]
    assert dict(held.counts()) == collections.Counter(values)
