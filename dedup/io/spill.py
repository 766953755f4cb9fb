"""Arrays a run keeps on disk between two stages rather than in memory.

`Spool` holds arrays written once and read back once: the band keys of each batch, from
the workers until the table is frozen.  `DiskColumn` is a column of the table of units
that only the units a run links are read from (their lines, the line breaks around them),
gathered by index.  `Columns` is a matrix of 64-bit integers filled
a block of rows at a time and read back a column at a time; past SPILL_BYTES it is
written to an unlinked temporary file, column after column.  The LSH band keys of a
run's texts (168 bytes a text for 21 bands) wait there from fingerprinting to
candidates, a band in memory at a time (#27: a million one-line records held 242 MB of
band keys).  Read and written with pread and pwrite, not mapped: the pages stay in the
kernel's cache, not in the process.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.errors import OutputError

U64 = npt.NDArray[np.uint64]

#: A matrix this large or larger is kept on disk; a smaller one in memory.
SPILL_BYTES = 32 << 20


class Columns:
    """A (rows, columns) matrix of uint64, in memory or on disk (column-major)."""

    def __init__(self, rows: int, columns: int) -> None:
        self.shape = (rows, columns)
        self._memory: U64 | None = None
        self._file = None
        if rows * columns * 8 < SPILL_BYTES:
            self._memory = np.empty(self.shape, dtype=np.uint64)
            return
        self._file = temporary_file(self, "dedup-columns-")

    def __len__(self) -> int:
        return self.shape[0]

    def write(self, at: int, block: U64) -> None:
        """Rows [at, at + len(block)) of every column."""
        if self._memory is not None:
            self._memory[at : at + len(block)] = block
            return
        assert self._file is not None
        rows, columns = self.shape
        try:
            for c in range(columns):
                data = np.ascontiguousarray(block[:, c], dtype=np.uint64).data.cast("B")
                _write_all(self._file.fileno(), data, (c * rows + at) * 8)
        except OSError as exc:
            raise _unwritable(exc) from exc

    def column(self, c: int) -> U64:
        """Column `c`, whole, in memory."""
        if self._memory is not None:
            return self._memory[:, c]
        assert self._file is not None
        rows = self.shape[0]
        out = np.empty(rows, dtype=np.uint64)
        _read_all(self._file, out.data.cast("B"), c * rows * 8)
        return out

    def array(self) -> U64:
        """The whole matrix, in memory."""
        if self._memory is not None:
            return self._memory
        return np.stack([self.column(c) for c in range(self.shape[1])], axis=1)

    def close(self) -> None:
        self._memory = None
        if self._file is not None:
            self._file.close()


class DiskColumn:
    """A column of integers written once to an unlinked temporary file and read back by
    index (`column[at]`), a chunk of rows at a time, only the chunks that hold a row
    asked for.  Never mapped: the pages stay in the kernel's cache, not in the process."""

    #: Rows read at once.
    CHUNK = 1 << 20

    def __init__(self, values: npt.NDArray[Any]) -> None:
        data = np.ascontiguousarray(values)
        self.dtype = data.dtype
        self.size = len(data)
        self._file = temporary_file(self, "dedup-column-")
        try:
            _write_all(self._file.fileno(), data.data.cast("B"), 0)
        except OSError as exc:
            raise _unwritable(exc) from exc

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, at: Any) -> npt.NDArray[Any]:
        """The values at the rows `at` (an array or list of row numbers), in that order."""
        at = np.asarray(at, dtype=np.int64).ravel()
        out = np.empty(len(at), dtype=self.dtype)
        order = np.argsort(at, kind="stable")
        wanted = at[order]
        if len(wanted) and (wanted[0] < 0 or wanted[-1] >= self.size):
            raise IndexError(f"rows {wanted[0]} to {wanted[-1]} of a column of {self.size}")
        chunk = np.empty(min(self.CHUNK, self.size), dtype=self.dtype)
        bounds = np.searchsorted(wanted, np.arange(0, self.size + self.CHUNK, self.CHUNK))
        for number, (lo, hi) in enumerate(itertools.pairwise(bounds.tolist())):
            if lo == hi:
                continue
            first = number * self.CHUNK
            rows = chunk[: min(self.CHUNK, self.size - first)]
            _read_all(self._file, rows.data.cast("B"), first * self.dtype.itemsize)
            out[order[lo:hi]] = rows[wanted[lo:hi] - first]
        return out


class Spool:
    """Arrays written one after another to an unlinked temporary file (made at the first),
    each read back whole."""

    def __init__(self) -> None:
        self._file: Any = None
        self._end = 0

    def put(self, array: npt.NDArray[Any]) -> Stored:
        data = np.ascontiguousarray(array)
        if self._file is None:
            self._file = temporary_file(self, "dedup-spool-")
        try:
            _write_all(self._file.fileno(), data.data.cast("B"), self._end)
        except OSError as exc:
            raise _unwritable(exc) from exc
        stored = Stored(self, self._end, data.dtype, data.shape)
        self._end += data.nbytes
        return stored

    def read(self, stored: Stored) -> npt.NDArray[Any]:
        out = np.empty(stored.shape, dtype=stored.dtype)
        _read_all(self._file, out.data.cast("B"), stored.offset)
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._end = 0


@dataclass(frozen=True)
class Stored:
    """An array a Spool holds."""

    spool: Spool
    offset: int
    dtype: np.dtype[Any]
    shape: tuple[int, ...]

    def read(self) -> npt.NDArray[Any]:
        return self.spool.read(self)


def temporary_file(owner: object, prefix: str) -> Any:
    """An unlinked temporary file, closed when `owner` goes; a folder that cannot hold
    one is an OutputError naming it."""
    try:
        file = tempfile.TemporaryFile(prefix=prefix)  # noqa: SIM115 (lives on)
    except OSError as exc:
        raise _unwritable(exc) from exc
    weakref.finalize(owner, file.close)
    return file


def _write_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        done = os.pwrite(fd, data, offset)
        data, offset = data[done:], offset + done


def _read_all(file: Any, data: memoryview, offset: int) -> None:
    while data:
        done = os.preadv(file.fileno(), [data], offset)
        if not done:
            raise OSError(f"{file.name}: {len(data)} bytes missing at {offset}")
        data, offset = data[done:], offset + done


def _unwritable(exc: OSError) -> OutputError:
    return OutputError(
        f"{tempfile.gettempdir()}: cannot write the run's temporary files "
        f"(set TMPDIR to a folder with room): {exc.strerror}"
    )
