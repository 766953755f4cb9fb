"""Spans under keys as columns read as the dictionary of tuples they stand for."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.columns import KeyedSpans

spans = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=4)


@given(st.lists(st.tuples(st.integers(0, 50), spans), max_size=30))
def test_keyed_spans_read_as_a_dictionary_of_tuples(
    added: list[tuple[int, list[tuple[int, int]]]],
) -> None:
    expected: dict[int, list[tuple[int, int]]] = {}
    held = KeyedSpans()
    for key, these in added:
        held.add(key, these)
        if these:
            expected.setdefault(key, []).extend(these)
    held.freeze()
    order = sorted(expected)
    held.values = [f"{key}:{n}" for key in order for n in range(len(expected[key]))]
    assert list(held) == order and len(held) == len(order)
    for key in range(-1, 52):
        assert held.get(key) == tuple(expected.get(key, ()))
        assert (key in held) == (key in expected)
        assert held.values_of(key) == tuple(f"{key}:{n}" for n in range(len(expected.get(key, ()))))
    assert held.total() == sum(e - s for these in expected.values() for s, e in these)
    keys = np.arange(-1, 52, dtype=np.int64)
    for key, first, last in zip(keys.tolist(), *held.bounds(keys), strict=True):
        assert held.spans(first, last) == expected.get(key, [])
