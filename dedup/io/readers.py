"""Reading: input paths in, a `Corpus` cut into chunks that workers read (and that can re-read
one document) out.

Inputs are text files (.txt, .md, any other name given directly), folders
(recursive, sorted, filtered by --include/--exclude globs), JSONL files (one
`{"id": ..., "text": ...}` object per line), Parquet files (a row a record) and `-`
for JSONL on stdin.  Standard input and Parquet rows are spooled to temporary JSONL
files, so that later passes can read them again as they read JSONL.  A file's
document id is its path relative to the folder given, or its name when given
directly; a JSONL document's id is its id field (`<file>:<line>` without one).
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import io
import itertools
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np

from dedup.config import InputConfig
from dedup.errors import InputError
from dedup.io import packed, parquet
from dedup.io.documents import (
    InputFile,
    Skipped,
    Verbatim,
    record_document,
    text_document,
)
from dedup.model import Document, Source

STDIN = "-"

logger = logging.getLogger(__name__)


def is_jsonl(path: Path | str) -> bool:
    """Whether a file is read as JSONL records: by its suffix, in any case, a compression
    suffix left out (see `packed`); `.json` compressed is JSONL, as C4 and Dolma ship it."""
    name = packed.inner(path)
    return os.path.splitext(name)[1].lower() in (
        (".jsonl", ".ndjson", ".json") if name != str(path) else (".jsonl", ".ndjson")
    )


@functools.cache
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a set of globs (fnmatch's translation), matched case-sensitively."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    """A glob matches the file name or its path relative to the folder given."""
    pattern = _globs(tuple(patterns))
    return bool(pattern.match(rel.rsplit("/", 1)[-1]) or pattern.match(rel))


def _selected(rels: list[str], patterns: Sequence[str]) -> list[str]:
    """The paths `_matches` keeps; globs of a suffix alone ("*.md") by the suffix, which
    is what they match (100,000 regex matches took 70 ms of a check)."""
    suffixes = tuple(p[1:] for p in patterns)
    if all(p.startswith("*.") and not any(c in p[1:] for c in "*?[") for p in patterns):
        return [rel for rel in rels if rel.endswith(suffixes)]
    return [rel for rel in rels if _matches(rel, patterns)]


def list_inputs(
    paths: Sequence[str], config: InputConfig, stdin: Path | None = None
) -> list[InputFile]:
    """Expand the paths given into the files to read, in a stable order."""
    files: list[InputFile] = []
    for given in paths:
        if given == STDIN:
            if stdin is None:
                raise InputError("<stdin>", "standard input can only be read once")
            files.append(InputFile(stdin, "stdin.jsonl", True, "<stdin>"))
            continue
        prefix, names = expand(given, config)
        for name in names:
            path = prefix + name
            files.append(InputFile(Path(path), name, is_jsonl(path), path))
    return files


#: A listing is taken again (see `Listings`) only if every folder had been left alone this
#: long when it was made: an entry added within the same tick of the file system's clock
#: as the listing leaves the folder's mtime as it was.
SETTLED_NS = 2_000_000_000
#: A folder listing: the folders below the path given with their mtimes (in ns) before
#: they were read, then the prefix and the names `expand` returns.
Listing = tuple[list[tuple[str, int]], str, list[str]]


@dataclass
class Listings:
    """Listings of folders made before, by `known(key)`, and those made now (`fresh`), to
    be kept for the next time.  Adding, removing or renaming an entry changes its folder's
    mtime, so a listing stands while every folder it read has the mtime it had then."""

    known: Callable[[str], Listing | None]
    fresh: dict[str, Listing] = field(default_factory=dict)


def expand(
    given: str, config: InputConfig, listings: Listings | None = None
) -> tuple[str, list[str]]:
    """The files a path given (not stdin) stands for, in a stable order, as a prefix and
    their names (a file's path is the prefix and its name): the file itself, or every file
    below the folder that --include and --exclude select, named by its path relative to
    the folder.  Strings, not Paths: a check of 100,000 files lists them on every commit,
    from the last `listings` when the folders stand."""
    if os.path.isdir(given):
        key = json.dumps([os.path.abspath(given), given, config.include, config.exclude])
        known = listings.known(key) if listings is not None else None
        if known is not None and all(_mtime(f) == mtime for f, mtime in known[0]):
            return known[1], known[2]
        started = time.time_ns()
        folders: list[tuple[str, int]] = []
        root = str(Path(given))
        every = _walk(root, folders)
        rels = _selected(every, config.include)
        if every and not rels:
            _say_none_selected(given, every)
        if config.exclude:
            rels = [rel for rel in rels if not _matches(rel, config.exclude)]
        # "x.md" in the working folder, as a Path of "./x.md" prints it
        prefix = "" if root == os.curdir else root if root.endswith(os.sep) else root + os.sep
        if listings is not None and all(started - m > SETTLED_NS for _, m in folders):
            listings.fresh[key] = (folders, prefix, rels)
        return prefix, rels
    if os.path.isfile(given):
        path = str(Path(given))
        name = os.path.basename(path)
        return path[: len(path) - len(name)], [name]
    if os.path.exists(given):
        raise InputError(given, "not a regular file or folder")
    raise InputError(given, "no such file or folder")


def _say_none_selected(given: str, every: list[str]) -> None:
    """Warn that no file of a folder that holds some matches --include: a run over it reads
    nothing, and a folder of `.jsonl.gz` shards said nothing of it."""
    suffixes = sorted({"*" + "".join(Path(rel).suffixes[-2:]) for rel in every if "." in rel})
    logger.warning(
        "%s: none of its %d files matches --include (theirs: %s); add --include for them",
        given,
        len(every),
        " ".join(suffixes[:5]) or "no suffix",
    )


def _mtime(folder: str) -> int | None:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None


def _walk(root: str, folders: list[tuple[str, int]]) -> list[str]:
    """The path relative to `root` of every regular file below it, sorted; each folder
    read, with its mtime before it was, added to `folders`.

    Symlinked folders are not followed.
    """
    found: list[str] = []
    below = [(root, "")]
    while below:  # os.scandir knows each entry's type without a stat of its own
        folder, prefix = below.pop()
        try:
            folders.append((folder, os.stat(folder).st_mtime_ns))
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise InputError(folder, f"cannot read folder: {exc.strerror}") from exc
        for entry in entries:
            try:
                if entry.is_file():
                    found.append(prefix + entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    below.append((entry.path, prefix + entry.name + "/"))
            except OSError:  # a symlink loop: neither
                continue
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of the corpus that a worker process reads on its own.

    Whole text files (`files`), or the lines of one JSONL file that start in
    its byte range [start, end); chunks follow corpus order.  Ranges are cut
    without reading the file, so a chunk's lines are numbered from 1 within it
    (see `Corpus.read_chunk`).
    """

    files: tuple[InputFile, ...]
    start: int = 0
    end: int = 0


class Corpus:
    """The documents of a run, readable as many times as the stages need.

    Use as a context manager: standard input and Parquet rows are spooled to temporary
    files that live until the block ends.
    """

    def __init__(
        self, paths: Sequence[str], config: InputConfig, files: Iterable[InputFile] | None = None
    ) -> None:
        self.paths = list(paths)
        self.config = config
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        #: The files: listed already (`files`), or when the block begins.
        self.files: list[InputFile] = list(files or ())
        self._listed = files is not None
        self.skipped: list[dict[str, Any]] = []  # left out by the first pass, in order
        self.unchanged = Unchanged([])  # the files as they were when the block began

    def __enter__(self) -> Corpus:
        stdin: Path | None = None
        if self.paths.count(STDIN) > 1:
            raise InputError("<stdin>", "'-' given more than once")
        self._tmp = tempfile.TemporaryDirectory(prefix="dedup-")  # for spools
        try:
            if STDIN in self.paths:
                stdin = Path(self._tmp.name, "stdin.jsonl")
                with stdin.open("wb") as spool:
                    shutil.copyfileobj(sys.stdin.buffer, spool)
            if not self._listed:
                self.files = list_inputs(self.paths, self.config, stdin)
            self.files = _spooled(self.files, Path(self._tmp.name), self.config.text_field)
            self.unchanged = Unchanged(self.files)
        except BaseException:
            self._tmp.cleanup()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    @classmethod
    def of(cls, files: Iterable[InputFile], config: InputConfig) -> Corpus:
        """A corpus over files already listed (in a worker process, say)."""
        return cls([], config, files)

    def chunks(self, max_bytes: int, max_docs: int) -> Iterator[Chunk]:
        """The corpus cut into chunks, in corpus order: a JSONL file into byte ranges of
        `max_bytes`, text files into groups of about `max_bytes` bytes and at most
        `max_docs` files.

        Nothing is read here: finding where lines end is left to whoever reads
        the chunk, so the corpus is read once in this pass, by the workers.
        """
        texts: list[InputFile] = []
        size = 0
        for file in self.files:
            if not file.jsonl:
                texts.append(file)
                with contextlib.suppress(OSError):  # reported when the chunk is read
                    size += file.path.stat().st_size
                if len(texts) >= max_docs or size >= max_bytes:
                    yield Chunk(tuple(texts))
                    texts, size = [], 0
                continue
            if texts:
                yield Chunk(tuple(texts))
                texts, size = [], 0
            try:
                length = file.path.stat().st_size
            except OSError as exc:
                raise InputError(file.label, f"cannot read: {exc.strerror}") from exc
            for start in range(0, length, max_bytes):
                yield Chunk((file,), start, min(start + max_bytes, length))
        if texts:
            yield Chunk(tuple(texts))

    def read_chunk(self, chunk: Chunk) -> tuple[int, Iterator[Document | Skipped]]:
        """The number of lines a chunk holds, and its documents (a Skipped for what is
        left out).

        The lines of a JSONL range are numbered from 1 within it: only whoever
        sees the chunks in order knows how many came before.  Whole files are
        numbered from their first line (and count 0 here).
        """
        if chunk.end <= chunk.start:
            return 0, (doc for file in chunk.files for doc in self._read(file))
        (file,) = chunk.files
        try:
            with file.path.open("rb") as handle:
                start = _line_start(handle, chunk.start, chunk.end)
                handle.seek(start)
                data = handle.read(max(chunk.end - start, 0))
                if data and not data.endswith(b"\n"):
                    data += handle.readline()  # the last line, which starts in the range
        except OSError as exc:
            raise InputError(file.label, f"cannot read: {exc.strerror}") from exc
        return _line_breaks(data), self._records(file, io.BytesIO(data), 1, start)

    def load(
        self, sources: Iterable[Source], as_lines: Iterable[bool] | None = None
    ) -> Iterator[Document | Verbatim]:
        """Read the documents at these sources again, in the order given; with `as_lines`,
        a JSONL record marked True comes as its line alone, not parsed (see `Verbatim`).

        Consecutive records of one JSONL file are read through one open handle.
        """
        labels = {str(f.path): f for f in self.files}
        lines_alone = itertools.repeat(False) if as_lines is None else as_lines
        marked = zip(sources, lines_alone, strict=as_lines is not None)
        for path, group in itertools.groupby(marked, key=lambda pair: pair[0].path):
            file = labels[path]
            if not file.jsonl:
                for _ in group:
                    yield text_document(file, self.config)
                continue
            yield from _read_again(file, group, self.config)

    def _read(self, file: InputFile) -> Iterator[Document | Skipped]:
        if not file.jsonl:
            try:
                yield text_document(file, self.config)
            except Skipped as skipped:
                yield skipped
            return
        try:
            handle: BinaryIO = file.path.open("rb")
        except OSError as exc:
            raise InputError(file.label, f"cannot read: {exc.strerror}") from exc
        with handle:
            yield from self._records(file, handle, 1, 0)

    def _records(
        self, file: InputFile, lines: Iterable[bytes], line: int, offset: int
    ) -> Iterator[Document | Skipped]:
        """The records of JSONL lines, the first of them line `line` at byte `offset`."""
        for number, raw in enumerate(lines, start=line):
            if raw.strip():
                try:
                    yield record_document(file, raw, number, offset, self.config)
                except Skipped as skipped:
                    yield skipped
            offset += len(raw)


def _read_again(
    file: InputFile, marked: Iterable[tuple[Source, bool]], config: InputConfig
) -> Iterator[Document | Verbatim]:
    """The records of a JSONL file at these sources, through one open handle; one
    marked True as its line alone (see `Corpus.load`)."""
    handle = os.open(file.path, os.O_RDONLY)
    try:
        lines = _Lines(handle)
        for source, line_alone in marked:
            raw = lines.at(source.offset)
            if line_alone:
                yield Verbatim(raw)
            else:
                yield record_document(file, raw, source.line, source.offset, config)
    finally:
        os.close(handle)


class _Lines:
    """Lines of an open file by the offsets they start at, read with pread a block at a
    time (a buffered seek and readline took twice as long).  Lines asked in order of
    offset come out of the block last read while they lie whole inside it: short
    records are not read a system call each."""

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self.start = 0  # the offset of the block last read
        self.block = b""

    def at(self, offset: int) -> bytes:
        """The line starting at `offset`, with its line break."""
        within = offset - self.start
        if 0 <= within < len(self.block):
            end = self.block.find(b"\n", within)
            if end >= 0:
                return self.block[within : end + 1]
        line = self.block = os.pread(self.handle, _LINE_BLOCK, offset)
        self.start = offset
        end = line.find(b"\n")
        while end < 0:
            more = os.pread(self.handle, len(line), offset + len(line))
            if not more:
                return line
            searched = len(line)
            line += more
            end = line.find(b"\n", searched)
        return line[: end + 1]


def _line_breaks(data: bytes) -> int:
    """How many line breaks `data` holds, counted by numpy: bytes.count takes a byte at a
    time (a MB of French records: 0.31 against 0.10 ms)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10))


#: Bytes read at once for a line: most records of a text corpus fit.
_LINE_BLOCK = 1 << 13


def _line_start(handle: BinaryIO, start: int, end: int) -> int:
    """Where the first line starting at or after `start` starts (`end` or past it: none
    starts before `end`).  Scans no further than `end`, so that a line longer than
    many ranges is read whole only by the range it starts in."""
    if start == 0:
        return 0
    handle.seek(start - 1)
    at = start - 1
    while at < end:
        block = handle.read(min(1 << 16, end - at))
        if not block:
            return at
        found = block.find(b"\n")
        if found >= 0:
            return at + found + 1
        at += len(block)
    return end


def _spooled(files: list[InputFile], folder: Path, text_field: str) -> list[InputFile]:
    """The files, Parquet and compressed ones as the JSONL or plain spools in `folder`
    that the run reads (see `parquet`, `packed`)."""
    out = []
    for i, file in enumerate(files):
        if parquet.is_parquet(file.path):
            file = parquet.spool(file, folder / f"{i}.jsonl", text_field)
        elif packed.codec(file.path) is not None:
            file = packed.spool(file, folder / str(i))
        out.append(file)
    return out


class Unchanged:
    """A run's files as they were when it began (size, modification time, inode), to
    tell that one changed while the run read it: records appended to a JSONL file while
    a run cleaned it were left out of its output without a word, and a file saved anew
    stopped the run with "invalid JSON" at a valid line."""

    def __init__(self, files: Sequence[InputFile]) -> None:
        self.files = list(files)
        self.stamps = [_stamp(file.path) for file in self.files]

    @property
    def bytes(self) -> int:
        """The files' bytes when the run began (those that could not be read: none)."""
        return sum(stamp[0] for stamp in self.stamps if stamp is not None)

    def check(self) -> None:
        """An InputError naming the first file that changed, if one did."""
        for file, stamp in zip(self.files, self.stamps, strict=True):
            if _stamp(file.path) != stamp:
                raise InputError(
                    file.label, "changed while the run read it: run it again once it is settled"
                )

    @contextlib.contextmanager
    def read_again(self) -> Iterator[None]:
        """The stages that read the corpus again by the places fingerprinting found: a
        file changed is the InputError raised, in place of what reading it again met (a
        record that no longer parses at its place), and when the block ends."""
        try:
            yield
        except InputError:
            self.check()
            raise
        self.check()


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """A file's size, modification time (ns) and inode; None if it cannot be read (that
    is reported where it is read)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino
