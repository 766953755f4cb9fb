"""Writing: cleaned documents and reports out, always atomically.

Every file is written to a temporary file in its destination folder and renamed
into place, so an interrupted run leaves the old file or the new one, never a
partial file.  Cleaned text files keep their relative paths, names, BOM and line
endings; JSONL inputs give JSONL outputs with the same records, text replaced.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TextIO

from dedup.errors import OutputError
from dedup.io.readers import InputFile
from dedup.model import Document

_BOM = "\ufeff"


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private: give it the mode the file had, or that open() gives
        os.chmod(tmp, _mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def inside(root: Path, name: str) -> Path:
    """`root / name`, refusing a name that would lead outside `root` (`../../etc/passwd`)."""
    target = (root / name).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise OutputError(f"{name}: refusing a path outside {root}")
    return target


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file atomically."""
    try:
        with atomic_writer(path) as handle:
            handle.write(data)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from exc


def write_pieces(path: Path, pieces: Iterable[bytes]) -> None:
    """Write a file atomically, from pieces (never held whole)."""
    try:
        with atomic_writer(path) as handle:
            for piece in pieces:
                handle.write(piece)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from exc


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    write_pieces(path, (text.encode("utf-8"),))


def check_output_dir(out: Path, files: Sequence[InputFile], inputs: Sequence[str]) -> None:
    """Refuse an output folder inside an input folder, or one that would overwrite an input."""
    target = out.resolve()
    for given in inputs:
        source = Path(given)
        if given != "-" and source.is_dir():
            root = source.resolve()
            if target == root or root in target.parents:
                raise OutputError(f"{out}: the output folder is inside the input folder {given}")
    inputs_resolved = {f.path.resolve() for f in files}
    for file in files:
        if (target / file.name).resolve() in inputs_resolved:
            raise OutputError(f"{out / file.name}: writing there would overwrite an input")


def _record_line(doc: Document, text: str, text_field: str, id_field: str) -> str:
    record: dict[str, Any] = dict(doc.record) if doc.record is not None else {id_field: doc.doc_id}
    record[text_field] = text
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_documents(
    cleaned: Iterable[tuple[InputFile, Document, str]],
    out: Path,
    text_field: str = "text",
    id_field: str = "id",
    encoding: str = "utf-8",
) -> list[Path]:
    """Write cleaned documents under `out`, one output file per input file."""
    written: list[Path] = []
    for file, group in itertools.groupby(cleaned, key=lambda item: item[0]):
        path = out / file.name
        try:
            with atomic_writer(path) as handle:
                for _file, doc, text in group:
                    if file.jsonl:
                        data = _record_line(doc, text, text_field, id_field)
                    else:
                        data = (_BOM if doc.bom else "") + text
                    handle.write(data.encode("utf-8" if file.jsonl else encoding, "replace"))
        except OSError as exc:
            raise OutputError(f"{path}: cannot write: {exc.strerror}") from exc
        written.append(path)
    return written


def stream_documents(
    cleaned: Iterable[tuple[InputFile, Document, str]],
    stream: TextIO,
    text_field: str = "text",
    id_field: str = "id",
) -> None:
    """Write every cleaned document as one JSONL record to `stream`."""
    for _file, doc, text in cleaned:
        stream.write(_record_line(doc, text, text_field, id_field))
