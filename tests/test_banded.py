"""The record of texts a process has banded in a run (engine/banded.py)."""

from __future__ import annotations

import random

import numpy as np

from dedup.engine import banded
from dedup.engine.banded import Banded, Record


def _digests(rng: random.Random, count: int) -> list[bytes]:
    found = [rng.randbytes(16) for _ in range(count)]
    for i in range(0, count, 7):  # first halves alike, second ones not
        found[i] = found[0][:8] + rng.randbytes(8)
    return found


def _halves(keys: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    halves = np.frombuffer(b"".join(keys), dtype="<u8").reshape(-1, 2)
    return halves[:, 0].copy(), halves[:, 1].copy()


def test_the_record_holds_each_digests_first_chunk_in_any_order_of_chunks() -> None:
    rng = random.Random(3)
    every = _digests(rng, 3000)
    record, first = Record(), {}
    chunks = list(range(60))
    rng.shuffle(chunks)  # a task retried, or rescheduled: chunks out of order
    for number in chunks:
        mine = list(dict.fromkeys(rng.sample(every, rng.randrange(1, 200))))
        record.add(*_halves(mine), number)
        for key in mine:
            first[key] = min(first.get(key, number), number)
        asked = rng.sample(every, 300)
        expected = [first.get(key, -1) for key in asked]
        assert record.first_chunks(*_halves(asked)).tolist() == expected
    assert len(record) == len(first)
    assert len(record.tiers) <= 12  # tiers of growing size, not one a chunk


def test_a_chunk_leaves_unbanded_what_it_or_an_earlier_chunk_banded() -> None:
    rng = random.Random(5)
    a, b, c = _digests(rng, 3)
    banded.forget_banded()
    later = Banded("run", 4)
    later.update([a])
    later.close()
    earlier = Banded("run", 2)
    assert earlier.banded([a, b]) == [False, False]  # banded for a later chunk only
    earlier.update([b])
    assert earlier.banded([a, b, c]) == [False, True, False]
    earlier.close()
    after = Banded("run", 5)
    assert after.banded([a, b, c]) == [True, True, False]
    other = Banded("another run", 9)
    assert other.banded([a, b]) == [False, False]
    banded.forget_banded()
