"""The corpus's texts, copied as the fingerprint stage reads them, for the reads after it.

Verification and the children check read units again, thousands a batch.  Through the
corpus, each is its whole JSONL record read and parsed again (about 20 us for a French
page of 4.8 KB) for a sentence of 150 characters.  Instead, the worker that fingerprints
a chunk writes its texts to a file of the run's (`write_copies`), UTF-8, and a unit is
read back by its own bytes (`CopyReader`).  Where character and byte places differ (a
text not ASCII), the text is preceded by the byte place of every STEP-th character and of
its end, so that any span is two small reads.  The copies live in a temporary folder
that goes with the run's table, and leave room there for the run's other temporary files
(`copy_folder`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from dedup.native import native

#: Characters between two byte places noted in a text that is not ASCII: 8 bytes each,
#: 3 % of a French text; a span is read with at most STEP - 1 characters more each side.
STEP = 256

#: Where a copied text is: (its file, its place there, its characters).  The place is
#: the byte offset shifted left once, its lowest bit set for an ASCII text (no marks).
Copy = tuple[str, int, int]


@dataclass(frozen=True)
class CopyFolder:
    """Where a run copies its texts, and the bytes its copies leave free there (see
    `copy_folder`)."""

    path: str
    keep_free: int


def copy_folder(owner: object, corpus_bytes: int) -> CopyFolder | None:
    """A new folder for the copies of a run over a corpus of `corpus_bytes`, removed when
    `owner` goes; None where none can be made (the texts are read from the corpus then).

    The run's other temporary files (the band keys and batches it spills, the long
    quotes) go to the same place, and a copy that filled it stopped the run: 96 MB of
    JSONL in a temporary folder of 120 MB, "cannot write the run's temporary files"
    (copies of 94 MB beside 51 MB spilled).  So the copies leave free the corpus's size,
    and half of what was free, whichever is more: there, 96 MB, and the rest of the
    texts are read from the corpus.
    """
    try:
        folder = tempfile.mkdtemp(prefix="dedup-texts-")
    except OSError:
        return None
    weakref.finalize(owner, shutil.rmtree, folder, ignore_errors=True)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    return CopyFolder(folder, max(free // 2, corpus_bytes))


def write_copies(path: str, texts: Sequence[str], keep_free: int = 0) -> list[int]:
    """Append the texts to the file at `path`; each one's place there (see `Copy`), -1
    for each if they cannot be written (a full disk), or if writing them would leave
    less than `keep_free` bytes free there: the stages read those texts from the corpus
    again, as without copies."""
    try:
        return _write(path, texts, keep_free)
    except OSError:
        return [-1] * len(texts)


def _room(path: str, size: int, keep_free: int) -> bool:
    """Whether `size` bytes more at `path` leave `keep_free` free on its file system."""
    return not keep_free or shutil.disk_usage(os.path.dirname(path)).free - size >= keep_free


def _write(path: str, texts: Sequence[str], keep_free: int = 0) -> list[int]:
    if native is not None:  # the same bytes, made in C: a third of a French batch's copying
        blob, relative = native.copies(list(texts), STEP)
        if not _room(path, len(blob), keep_free):
            return [-1] * len(texts)
        with open(path, "ab") as handle:
            at = handle.tell()
            handle.write(blob)
        found: list[int] = (np.frombuffer(relative, dtype=np.int64) + (at << 1)).tolist()
        return found
    wide = [i for i, text in enumerate(texts) if not text.isascii()]
    heads, bodies = _marked([texts[i] for i in wide])
    marked = dict(zip(wide, zip(heads, bodies, strict=True), strict=True))
    size = sum(len(text) for i, text in enumerate(texts) if i not in marked)
    if not _room(path, size + sum(len(h) + len(b) for h, b in marked.values()), keep_free):
        return [-1] * len(texts)
    with open(path, "ab") as handle:
        at = handle.tell()
        places: list[int] = []
        parts: list[bytes] = []
        for i, text in enumerate(texts):
            if i in marked:
                places.append(at << 1)
                parts += marked[i]
                at += len(marked[i][0]) + len(marked[i][1])
            else:
                data = text.encode("ascii")
                places.append(at << 1 | 1)
                parts.append(data)
                at += len(data)
        handle.write(b"".join(parts))
    return places


def _marked(texts: list[str]) -> tuple[list[bytes], list[bytes]]:
    """Each text's marks (as bytes) and UTF-8, for all the texts at once.

    A character of the Basic Multilingual Plane takes 1, 2 or 3 bytes by its code point,
    so the marks are sums of widths over runs of STEP characters, read from the texts'
    UTF-16 (a copy of their code units).  A text with a surrogate code unit (a character
    past the plane, or a lone surrogate) has its marks measured a run at a time, alone.  All at
    once: a French page of 4.8 KB a run at a time took 30 us to copy, this 14."""
    if not texts:
        return [], []
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    ends = np.cumsum(lengths)
    firsts = ends - lengths
    units = np.frombuffer("".join(texts).encode("utf-16-le", "surrogatepass"), dtype="<u2")
    if len(units) != ends[-1] or ((units >= 0xD800) & (units <= 0xDFFF)).any():
        if len(texts) == 1:
            return [_marks(texts[0])], [_utf8(texts[0])]
        each = [_marked([text]) for text in texts]  # the others stay on the fast path
        return [heads[0] for heads, _ in each], [data[0] for _, data in each]
    width = np.ones(len(units), dtype=np.uint8)
    width += units >= 0x80
    width += units >= 0x800
    runs = -(-lengths // STEP)  # each text's runs of STEP characters (the last shorter)
    bounds = np.concatenate(([0], np.cumsum(runs)))  # each text's first run, and the end
    within = np.arange(bounds[-1]) - np.repeat(bounds[:-1], runs)  # a run's place in its text
    sums = np.add.reduceat(width, np.repeat(firsts, runs) + within * STEP, dtype=np.int64)
    total = np.cumsum(sums)  # bytes to each run's end, from the first text's start
    before = np.concatenate(([0], total))[bounds[:-1]]  # bytes before each text
    marks = (total - np.repeat(before, runs)).astype("<i8")  # each run's end in its text
    zero = bytes(8)  # the first mark of every text
    heads = [zero + marks[lo:hi].tobytes() for lo, hi in itertools.pairwise(bounds.tolist())]
    return heads, [_utf8(text) for text in texts]


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _marks(text: str) -> bytes:
    """A text's marks, measured a run of STEP characters at a time."""
    marks = [0]
    for i in range(0, len(text), STEP):
        marks.append(marks[-1] + len(_utf8(text[i : i + STEP])))
    return b"".join(mark.to_bytes(8, "little") for mark in marks)


#: Copy files a reader holds open at once, the last read: a corpus of 1 GB is a thousand
#: chunks, each copied to a file of its own, and Linux lets a process open 1,024 files by
#: default (see `read_spans`, which reads a file's spans together).
OPEN_MOST = 32


class CopyReader:
    """Spans of copied texts read back; at most OPEN_MOST files open at once, the one
    read longest ago closed first, every one closed on exit."""

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}  # in the order last read

    def __enter__(self) -> CopyReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def span(self, copy: Copy, start: int, end: int) -> str:
        """Characters [start, end) of a copied text."""
        path, place, chars = copy
        fd = self._fds.pop(path, None)
        if fd is None:
            if len(self._fds) >= OPEN_MOST:
                os.close(self._fds.pop(next(iter(self._fds))))
            fd = os.open(path, os.O_RDONLY)
        self._fds[path] = fd
        at = place >> 1
        if place & 1:
            return _read(fd, at + start, end - start, path).decode("ascii")
        count = -(-chars // STEP) + 1  # marks: every STEP-th character's, and the end's
        first, last = start // STEP, min(-(-end // STEP), count - 1)
        marks = _read(fd, at + 8 * first, 8 * (last - first + 1), path)
        lo, hi = int.from_bytes(marks[:8], "little"), int.from_bytes(marks[-8:], "little")
        data = _read(fd, at + 8 * count + lo, hi - lo, path)
        text = data.decode("utf-8", "surrogatepass")
        return text[start - first * STEP : end - first * STEP]


def _read(fd: int, offset: int, size: int, path: str) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise OSError(f"{path}: {size - len(data)} bytes missing at {offset + len(data)}")
    return data
