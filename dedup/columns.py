"""Sequences held as columns, each value made when it is read: a run's many small
values (document ids, a cluster's members) without an object each."""

from __future__ import annotations

import array
import itertools
import operator
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

_T = TypeVar("_T")

#: Whole numbers, one an item: a list, a range, or an array.
Column = Sequence[int] | npt.NDArray[np.signedinteger[Any]]
#: Places in an array, or numbers of documents, as numpy gives them.
Numbers = npt.NDArray[np.intp]


class MadeOnRead(Sequence[_T]):
    """A sequence of values held as columns, each value made when it is read (`_made`):
    it reads, slices and compares as the tuple of its values."""

    __slots__ = ()

    def _made(self, i: int) -> _T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> _T: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[_T, ...]: ...

    def __getitem__(self, i: int | slice) -> _T | tuple[_T, ...]:
        if isinstance(i, slice):
            return tuple(map(self._made, range(*i.indices(len(self)))))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._made(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(map(operator.eq, self, other))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} values)"


class Strings(MadeOnRead[str]):
    """Many short strings (the documents' ids), appended one by one and held as blocks of
    their text joined, with where each ends: a million ids of a few characters took 52 MB
    as objects, about 10 so (#27)."""

    __slots__ = ("_blocks", "_count", "_ends", "_open")

    #: Strings a block.
    BLOCK = 1 << 14

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._ends: list[array.array[int]] = []  # each block's strings' ends in it
        self._open: list[str] = []  # the last block's, until it is full
        self._count = 0

    def append(self, value: str) -> None:
        self._open.append(value)
        self._count += 1
        if len(self._open) == self.BLOCK:
            self._blocks.append("".join(self._open))
            self._ends.append(array.array("q", itertools.accumulate(map(len, self._open))))
            self._open = []

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...

    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        if isinstance(i, int) and 0 <= i < self._count:  # the common case, without checks
            return self._made(i)
        return super().__getitem__(i)

    def _made(self, i: int) -> str:
        block, at = divmod(i, self.BLOCK)
        if block == len(self._blocks):
            return self._open[at]
        ends = self._ends[block]
        return self._blocks[block][ends[at - 1] if at else 0 : ends[at]]

    def __iter__(self) -> Iterator[str]:
        for text, ends in zip(self._blocks, self._ends, strict=True):
            start = 0
            for end in ends:
                yield text[start:end]
                start = end
        yield from self._open
