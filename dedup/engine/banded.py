"""The texts a process has banded in a run (part of stage 1): a text an earlier batch banded
is not shingled and MinHashed again (`prints.fingerprint_batch`), and the table keeps a
text's band keys from the first batch that has them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.parallel import give_back_freed

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

#: The texts this process has banded in the run it works for, by run.
_BANDED: dict[str, Record] = {}
#: Past this many texts the record starts again: 20 bytes a text.
_BANDED_MAX = 1 << 20


def forget_banded() -> None:
    """Drop this process's record of texts banded, its heap given back: the fingerprint
    stage is over."""
    if _BANDED:
        _BANDED.clear()
        give_back_freed()


class Banded:
    """The texts chunk `number` of a run may leave unbanded: those this process banded
    for an earlier chunk, or for an earlier batch of this one.

    Local workers take chunks in corpus order, Spark's executors may not (a task
    retried, or rescheduled): a text banded for a later chunk is banded again.  So the
    first chunk that has a text never leaves it out, and the table, which keeps a text's
    band keys from the first batch that has them, has them whatever the order.
    """

    def __init__(self, run: str, number: int) -> None:
        record = _BANDED.get(run)
        if record is None or len(record) > _BANDED_MAX:
            _BANDED.clear()  # an earlier run's, or too many
            record = _BANDED[run] = Record()
        self.record = record
        self.number = number
        self.mine: set[bytes] = set()  # banded for this chunk, by this call

    def banded(self, keys: list[bytes]) -> list[bool]:
        """Whether each text (by its exact key) was banded already."""
        if not keys:
            return []
        first = self.record.first_chunks(*_halves(keys))
        earlier = ((first >= 0) & (first < self.number)).tolist()
        mine = self.mine
        return [before or key in mine for before, key in zip(earlier, keys, strict=True)]

    def update(self, keys: Iterable[bytes]) -> None:
        self.mine.update(keys)

    def close(self) -> None:
        """Record this chunk's texts (a text banded for an earlier one stays recorded so)."""
        if self.mine:
            self.record.add(*_halves(list(self.mine)), self.number)


def _halves(keys: list[bytes]) -> tuple[U64, U64]:
    """The two 8-byte halves of 16-byte exact keys."""
    halves = np.frombuffer(b"".join(keys), dtype="<u8").reshape(-1, 2)
    return halves[:, 0].copy(), halves[:, 1].copy()


class Record:
    """Exact keys (16-byte digests, as two halves) with the first chunk each was banded for.

    Columns sorted by the first half, in tiers each at least twice as large as the next
    (the last two merged while they are not): recording a chunk's texts costs about as
    much as they are, not as the record is.  20 bytes a text: a dict of the digests took
    about 100, and the texts of a million one-line records 65 MB a worker.
    """

    def __init__(self) -> None:
        self.tiers: list[_Tier] = []

    def __len__(self) -> int:
        return sum(len(tier.high) for tier in self.tiers)

    def first_chunks(self, high: U64, low: U64) -> I64:
        """The first chunk each digest was banded for; -1 for one not recorded."""
        first = np.full(len(high), -1, dtype=np.int64)
        order = np.argsort(high)  # looked up in order, each search starts where the last ended
        high, low = high[order], low[order]
        for tier in self.tiers:
            at = tier.find(high, low)
            found = at >= 0
            first[order[found]] = tier.chunk[at[found]]
        return first

    def add(self, high: U64, low: U64, number: int) -> None:
        """Record distinct digests banded for chunk `number`; one recorded for a later
        chunk takes this one."""
        order = np.argsort(high)
        high, low = high[order], low[order]
        fresh = np.ones(len(high), dtype=bool)
        for tier in self.tiers:
            at = tier.find(high, low)
            found = at >= 0
            tier.chunk[at[found]] = np.minimum(tier.chunk[at[found]], number)
            fresh &= ~found
        count = int(fresh.sum())
        self.tiers.append(_Tier(high[fresh], low[fresh], np.full(count, number, dtype=np.int32)))
        while len(self.tiers) > 1 and len(self.tiers[-2].high) < 2 * len(self.tiers[-1].high):
            last = self.tiers.pop()
            self.tiers[-1] = self.tiers[-1].merged(last)


@dataclass
class _Tier:
    """Digests sorted by their first half, and each one's first chunk."""

    high: U64
    low: U64
    chunk: I32

    def find(self, high: U64, low: U64) -> I64:
        """Where each digest is; -1 where it is not."""
        at = np.full(len(high), -1, dtype=np.int64)
        left = np.searchsorted(self.high, high)
        maybe = np.flatnonzero(left < len(self.high))
        maybe = maybe[self.high[left[maybe]] == high[maybe]]
        same = self.low[left[maybe]] == low[maybe]
        at[maybe[same]] = left[maybe[same]]
        for i in maybe[~same].tolist():  # first halves alike, the second not: rare
            end = int(np.searchsorted(self.high, high[i], "right"))
            match = np.flatnonzero(self.low[left[i] : end] == low[i])
            if len(match):
                at[i] = left[i] + match[0]
        return at

    def merged(self, other: _Tier) -> _Tier:
        """This tier and another, one sorted tier."""
        where = np.searchsorted(self.high, other.high)
        return _Tier(
            np.insert(self.high, where, other.high),
            np.insert(self.low, where, other.low),
            np.insert(self.chunk, where, other.chunk),
        )
