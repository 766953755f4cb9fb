"""Reading: input paths in, a `Corpus` cut into chunks that workers read (and that can re-read
one document) out.

Inputs are text files (.txt, .md, any other name given directly), folders
(recursive, sorted, filtered by --include/--exclude globs), JSONL files (one
`{"id": ..., "text": ...}` object per line) and `-` for JSONL on stdin, which is
spooled to a temporary file so that later passes can read it again.  A file's
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
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import orjson

from dedup.config import InputConfig
from dedup.errors import InputError
from dedup.model import Document, Source

STDIN = "-"
_BOM = "\ufeff"
#: A JSON escape of a UTF-16 surrogate: the only way a lone one gets into a record.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file to read: its path, the id (or id prefix) of its documents, and its kind."""

    path: Path
    name: str  # document id for a text file; relative output name for a JSONL file
    jsonl: bool
    label: str  # how messages name it ("<stdin>" for standard input)


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


@functools.cache
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a set of globs (fnmatch's translation), matched case-sensitively."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    """A glob matches the file name or its path relative to the folder given."""
    pattern = _globs(tuple(patterns))
    return bool(pattern.match(rel.rsplit("/", 1)[-1]) or pattern.match(rel))


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
        path = Path(given)
        if path.is_dir():
            for rel, found in _walk(path):
                if _matches(rel, config.include) and not _matches(rel, config.exclude):
                    files.append(InputFile(found, rel, _is_jsonl(found), str(found)))
        elif path.is_file():
            files.append(InputFile(path, path.name, _is_jsonl(path), str(path)))
        elif path.exists():
            raise InputError(given, "not a regular file or folder")
        else:
            raise InputError(given, "no such file or folder")
    return files


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of every regular file below `root`, sorted by relative path.

    Symlinked folders are not followed.
    """
    found: list[tuple[str, Path]] = []
    folders = [(root, "")]
    while folders:  # os.scandir knows each entry's type without a stat of its own
        folder, prefix = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise InputError(str(folder), f"cannot read folder: {exc.strerror}") from exc
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((Path(entry.path), rel + "/"))
                elif entry.is_file():
                    found.append((rel, Path(entry.path)))
            except OSError:  # a symlink loop: neither
                continue
    yield from sorted(found)


class Skipped(Exception):
    """An input left out on purpose (binary, or undecodable with --errors skip-file)."""

    def __init__(self, label: str, reason: str, line: int | None = None) -> None:
        self.entry = {"path": label, "line": line, "reason": reason}
        super().__init__(f"{label}{f':{line}' if line else ''}: skipped: {reason}")


def decode(
    data: bytes,
    label: str,
    line: int | None = None,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> tuple[str, bool]:
    """Decode bytes, returning the text without its BOM and whether there was one.

    errors: "strict" raises InputError naming the byte offset, "replace" puts
    U+FFFD in place of undecodable bytes, "skip-file" raises Skipped.
    """
    try:
        text = data.decode(encoding, "replace" if errors == "replace" else "strict")
    except UnicodeDecodeError as exc:
        reason = f"invalid {encoding.upper()} at byte {exc.start}: {exc.reason}"
        if errors == "skip-file":
            raise Skipped(label, reason, line) from exc
        raise InputError(label, f"{reason} (--errors replace or skip-file to go on)", line) from exc
    except LookupError as exc:
        raise InputError(label, f"unknown encoding {encoding!r}") from exc
    if text.startswith(_BOM):
        return text[1:], True
    return text, False


def read_json(path: Path, kind: str, versions: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """A JSON file dedup wrote (a report, a baseline), checked by its `kind` version field,
    which must be one of `versions`.

    Plain JSON: nothing in it is ever executed.
    """
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get(kind) not in versions:
        wanted = " or ".join(str(v) for v in versions)
        raise InputError(str(path), f"not a dedup file ({kind} {wanted})")
    return document


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

    Use as a context manager: standard input is spooled to a temporary file that
    lives until the block ends.
    """

    def __init__(self, paths: Sequence[str], config: InputConfig) -> None:
        self.paths = list(paths)
        self.config = config
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.files: list[InputFile] = []
        #: Inputs left out during the first pass, in corpus order (for the report).
        self.skipped: list[dict[str, Any]] = []

    def __enter__(self) -> Corpus:
        stdin: Path | None = None
        if self.paths.count(STDIN) > 1:
            raise InputError("<stdin>", "'-' given more than once")
        if STDIN in self.paths:
            self._tmp = tempfile.TemporaryDirectory(prefix="dedup-")
            stdin = Path(self._tmp.name, "stdin.jsonl")
            with stdin.open("wb") as spool:
                shutil.copyfileobj(sys.stdin.buffer, spool)
        self.files = list_inputs(self.paths, self.config, stdin)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    @classmethod
    def of(cls, files: Iterable[InputFile], config: InputConfig) -> Corpus:
        """A corpus over files already listed (in a worker process, say)."""
        corpus = cls([], config)
        corpus.files = list(files)
        return corpus

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
        return data.count(b"\n"), self._records(file, io.BytesIO(data), 1, start)

    def load(self, sources: Iterable[Source]) -> Iterator[Document]:
        """Read the documents at these sources again, in the order given.

        Consecutive records of one JSONL file are read through one open handle.
        """
        labels = {str(f.path): f for f in self.files}
        for path, group in itertools.groupby(sources, key=lambda s: s.path):
            file = labels[path]
            if not file.jsonl:
                for _ in group:
                    yield self._text_document(file)
                continue
            handle = os.open(file.path, os.O_RDONLY)
            try:
                for source in group:
                    raw = _line_at(handle, source.offset)
                    yield self._record(file, raw, source.line, source.offset)
            finally:
                os.close(handle)

    def _read(self, file: InputFile) -> Iterator[Document | Skipped]:
        if not file.jsonl:
            try:
                yield self._text_document(file)
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
                    yield self._record(file, raw, number, offset)
                except Skipped as skipped:
                    yield skipped
            offset += len(raw)

    def _unpaired_surrogates(self, record: Any, file: InputFile, number: int) -> Any:
        """The record with no lone surrogate (half of a UTF-16 pair, written as a JSON
        escape), which no UTF-8 output can hold: an error, a skip or U+FFFD each."""
        errors = self.config.errors

        def mend(value: Any) -> Any:
            if isinstance(value, str):
                found = _SURROGATE.search(value)
                if found is None:
                    return value
                if errors == "replace":
                    return _SURROGATE.sub("\ufffd", value)
                reason = (
                    f"unpaired surrogate \\u{ord(found.group()):04x} at character "
                    f"{found.start()} of a string: not Unicode text"
                )
                if errors == "skip-file":
                    raise Skipped(file.label, reason, number)
                raise InputError(
                    file.label, f"{reason} (--errors replace or skip-file to go on)", number
                )
            if isinstance(value, dict):
                return {mend(k): mend(v) for k, v in value.items()}
            if isinstance(value, list):
                return [mend(v) for v in value]
            return value

        return mend(record)

    def _text_document(self, file: InputFile) -> Document:
        try:
            data = file.path.read_bytes()
        except OSError as exc:
            raise InputError(file.label, f"cannot read: {exc.strerror}") from exc
        cfg = self.config
        if b"\0" in data[:8192] and cfg.encoding.replace("-", "").lower() in ("utf8", "utf8sig"):
            raise Skipped(file.label, "binary file (NUL bytes)")
        text, bom = decode(data, file.label, None, cfg.encoding, cfg.errors)
        return Document(file.name, text, Source(str(file.path)), None, bom)

    def _record(self, file: InputFile, raw: bytes, number: int, offset: int) -> Document:
        record: Any = _plain_record(raw)
        if record is None:  # anything else takes the careful path
            line, _ = decode(raw, file.label, number, "utf-8", self.config.errors)
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    file.label, f"invalid JSON: {exc.msg} (column {exc.colno})", number
                ) from exc
            if not isinstance(record, dict):
                raise InputError(file.label, "a JSONL line must be an object", number)
            if _SURROGATE_ESCAPE.search(raw):
                record = self._unpaired_surrogates(record, file, number)
        text_field, id_field = self.config.text_field, self.config.id_field
        if text_field not in record:
            raise InputError(file.label, f"no {text_field!r} field", number)
        text = record[text_field]
        if not isinstance(text, str):
            raise InputError(
                file.label, f"field {text_field!r} is {type(text).__name__}, not a string", number
            )
        doc_id = record.get(id_field)
        if doc_id is None:
            doc_id = f"{file.name}:{number}"
        elif not isinstance(doc_id, str | int):
            raise InputError(
                file.label, f"field {id_field!r} must be a string or an integer", number
            )
        return Document(str(doc_id), text, Source(str(file.path), number, offset), record)


def _line_at(handle: int, offset: int) -> bytes:
    """The line starting at `offset` of an open file, with its line break: read with
    pread, a block at a time (a buffered seek and readline took twice as long)."""
    line = os.pread(handle, _LINE_BLOCK, offset)
    end = line.find(b"\n")
    while end < 0:
        more = os.pread(handle, len(line), offset + len(line))
        if not more:
            return line
        searched = len(line)
        line += more
        end = line.find(b"\n", searched)
    return line[: end + 1]


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


#: The types of a record's values that orjson reads exactly as the json module does.
_PLAIN = frozenset((str, int, bool, type(None)))


def _plain_record(raw: bytes) -> dict[str, Any] | None:
    """A JSONL line parsed by orjson (2.4 us against 5.8 us for json, plus 2 us for the
    surrogate search, on 4.6 KB records), when that is exactly what the json module
    would give: an object whose values are strings, integers, booleans or nulls.
    orjson reads an integer past 64 bits as a float, so a float sends the line to
    json; it refuses what the careful path reports or mends (a BOM, invalid UTF-8,
    a lone surrogate escape, NaN): None then, as for any value of another type."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(record) is dict and _PLAIN.issuperset(map(type, record.values())):
        return record
    return None
