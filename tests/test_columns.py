"""Spans under keys as columns read as the dictionary of tuples they stand for."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.columns import KeyedSpans

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
