"""Sequences held as columns, each value made when it is read: a run's many small
values (document ids, a cluster's members) without an object each; and the helpers that
make and read such columns."""

from __future__ import annotations

import array
import bisect
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
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
        self.extend((value,))

    def extend(self, values: Sequence[str]) -> None:
        at = 0
        while at < len(values):
            room = self.BLOCK - len(self._open)
            self._open += values[at : at + room]
            at += room
            if len(self._open) == self.BLOCK:
                self._blocks.append("".join(self._open))
                self._ends.append(array.array("q", itertools.accumulate(map(len, self._open))))
                self._open = []
        self._count += len(values)

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


class Coded(Sequence[_T]):
    """Values drawn from a few distinct ones (`table`), held as each one's place in it
    (`codes`): a run's links, millions of them exact copies that share one evidence, took
    8 bytes a link as a list, and a gather of them an object array as large again (#27).
    A slice is another such sequence over the same table, not a tuple of values; it
    compares as the list of its values."""

    __slots__ = ("codes", "table")

    def __init__(self, codes: npt.NDArray[np.int32], table: Sequence[_T]) -> None:
        self.codes = codes
        self.table = table

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, i: int) -> _T: ...

    @overload
    def __getitem__(self, i: slice) -> Coded[_T]: ...

    def __getitem__(self, i: int | slice) -> _T | Coded[_T]:
        if isinstance(i, slice):
            return Coded(self.codes[i], self.table)
        return self.table[int(self.codes[i])]

    def __iter__(self) -> Iterator[_T]:
        return map(self.table.__getitem__, self.codes.tolist())

    def take(self, at: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> Coded[_T]:
        """The values at these places (or where this mask is set), in order."""
        return Coded(self.codes[at], self.table)

    def counts(self) -> list[tuple[_T, int]]:
        """Each value of the table that is held, and how many times."""
        held, counts = np.unique(self.codes, return_counts=True)
        return [
            (self.table[code], n) for code, n in zip(held.tolist(), counts.tolist(), strict=True)
        ]

    def where(self, test: Callable[[_T], bool]) -> npt.NDArray[np.bool_]:
        """Which values pass `test`, asked once a distinct value."""
        passed = np.fromiter(map(test, self.table), dtype=bool, count=len(self.table))
        found: npt.NDArray[np.bool_] = passed[self.codes]
        return found

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(map(operator.eq, self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Coded({len(self)} values, {len(self.table)} distinct)"


def coded(values: Iterable[_T]) -> Coded[_T]:
    """`values` as codes into a table of the distinct ones, in order of first use."""
    places: dict[_T, int] = {}
    codes = array.array("i", (places.setdefault(value, len(places)) for value in values))
    return Coded(np.frombuffer(codes, dtype=np.int32), list(places))


class KeyedSpans:
    """Spans under whole-number keys of 0 or more (a unit's uid, a document's number), each
    key's in the order they were added, as columns; and a value for each span once `values`
    is set (the text it removes).  A million records removed whole took about 250 bytes each
    as a dictionary of tuples, and their texts 125 more as another.  Add, `freeze`, read."""

    def __init__(self) -> None:
        self.span_keys, self.starts, self.ends = (
            array.array("q"),
            array.array("q"),
            array.array("q"),
        )
        self.keys = array.array("q")  # once frozen: each key once, sorted
        self.first = array.array("q", [0])  # and where its spans begin, then where all end
        self.values: Sequence[Any] = ()
        self._where: array.array[int] | None = None  # see `_at`

    def add(self, key: int, spans: Sequence[tuple[int, int]]) -> None:
        for start, end in spans:
            self.span_keys.append(key)
            self.starts.append(start)
            self.ends.append(end)

    def freeze(self) -> None:
        """Sort the spans by key (a key's stay in the order they were added)."""
        keys = np.frombuffer(self.span_keys, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        starts, ends = (np.frombuffer(c, dtype=np.int64)[order] for c in (self.starts, self.ends))
        self.span_keys, self.starts, self.ends = (python_ints(c) for c in (keys, starts, ends))
        heads = np.flatnonzero(np.diff(keys, prepend=-1))
        self.keys, self.first = python_ints(keys[heads]), python_ints(np.append(heads, len(keys)))
        self._where = None

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys)

    def __contains__(self, key: object) -> bool:
        return self._at(key) >= 0 if isinstance(key, int) else False

    def _at(self, key: int) -> int:
        """The place of `key` among the keys, -1 if it has no span: looked up in a table
        over every number up to the largest key (made on the first call) where the keys
        are that dense (the documents of a corpus that lose text), as a bisection took
        twice as long for the million look-ups of the cleaned output; else bisected."""
        if self._where is None:
            top = self.keys[-1] + 1 if self.keys else 0
            where = np.full(top if top <= 16 * len(self.keys) + 4096 else 0, -1, dtype=np.int64)
            if len(where):
                where[np.frombuffer(self.keys, dtype=np.int64)] = np.arange(len(self.keys))
            self._where = python_ints(where)
        if self._where:
            return self._where[key] if 0 <= key < len(self._where) else -1
        at = bisect.bisect_left(self.keys, key)
        return at if at < len(self.keys) and self.keys[at] == key else -1

    def bounds(self, keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], ...]:
        """Where the spans of each of these keys begin and end among the columns."""
        sorted_keys = np.frombuffer(self.span_keys, dtype=np.int64)
        return tuple(np.searchsorted(sorted_keys, keys, side) for side in ("left", "right"))

    def spans(self, first: int, last: int) -> list[tuple[int, int]]:
        return list(zip(self.starts[first:last], self.ends[first:last], strict=True))

    def get(self, key: int) -> tuple[tuple[int, int], ...]:
        """The spans of `key`, () for a key that has none."""
        at = self._at(key)
        if at < 0:
            return ()
        first, last = self.first[at], self.first[at + 1]
        if last == first + 1:  # most often: one span
            return ((self.starts[first], self.ends[first]),)
        return tuple(zip(self.starts[first:last], self.ends[first:last], strict=True))

    def values_of(self, key: int) -> tuple[Any, ...]:
        """The values of the spans of `key`."""
        at = self._at(key)
        return () if at < 0 else tuple(self.values[self.first[at] : self.first[at + 1]])

    def total(self) -> int:
        """The characters the spans hold."""
        return sum(self.ends) - sum(self.starts)


def python_ints(column: Column) -> array.array[int]:
    """A column as an array of the same width (4 bytes for int32, else 8) that reads as
    Python ints: a list of them takes 36 bytes an item."""
    if isinstance(column, np.ndarray) and column.dtype == np.int32:
        return array.array("i", column.tobytes())
    return array.array("q", np.asarray(column, dtype=np.int64).tobytes())


def numbers_type(count: int) -> type[np.signedinteger[Any]]:
    """The integers that number `count` things: int32 while they fit (the 5.7 million typo
    keys of a million records: 23 MB an array, not 46)."""
    return np.int32 if count < 2**31 else np.int64


def first_places(values: npt.NDArray[np.signedinteger[Any]]) -> npt.NDArray[np.int64]:
    """Where each distinct value first occurs, in increasing order: what
    np.sort(np.unique(values, return_index=True)[1]) gives, without its stable sort
    (2.8 million values: 0.53 s so, 0.08 s here; 0.60 and 0.20 s for sparse values).
    Values within four times their count of each other (unit or document numbers) are
    marked in a table; wider ones are sorted with their places, one 64-bit key each,
    where both fit."""
    n = len(values)
    if not n:
        return np.empty(0, dtype=np.int64)
    low = int(values.min())
    span = int(values.max()) - low + 1
    shift = n.bit_length()
    if span <= 4 * n:
        first = np.full(span, n, dtype=np.int64)
        np.minimum.at(first, values - low, np.arange(n, dtype=np.int64))
        found = first[first < n]
    elif span.bit_length() + shift <= 63:
        # One key a value, made in place: 5.5 million sentence links of 200,000 French
        # documents held four arrays of them at once, 180 MB.
        keys = values.astype(np.int64)  # a copy, whatever the type
        keys -= low
        keys <<= shift
        keys |= np.arange(n, dtype=np.int64)
        keys.sort()
        heads = np.empty(n, dtype=bool)
        heads[0] = True
        np.not_equal(keys[1:] >> shift, keys[:-1] >> shift, out=heads[1:])
        found = keys[heads] & ((1 << shift) - 1)
    else:
        found = np.unique(values, return_index=True)[1]
    marked = np.zeros(n, dtype=bool)
    marked[found] = True
    return np.flatnonzero(marked)
