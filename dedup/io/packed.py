"""Compressed inputs: a file whose name ends in .gz, .bz2, .xz or .zst (`notes.jsonl.gz`, as
C4 and Dolma ship their records, `train.jsonl.zst` as the Pile, `page.txt.xz`) is read as
the file its name holds without that suffix, and written back compressed the same way.

The engine reads a file by byte places, more than once, which a compressed stream does not
allow; so a compressed input is decompressed once into a spool in the run's temporary
folder (`spool`), as standard input and Parquet are, and read there.  Line N of the spool is
line N of the file: messages and the report name records as they do for any JSONL file.
The cleaned file is compressed as it is written (`compressing`), with no time or name in
its header, so that the same input gives the same bytes.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from dedup.errors import InputError
from dedup.io.documents import InputFile


class _Zstd:
    """Zstandard through the `zstandard` package (`pip install 'dedup[zstd]'`), with the
    functions of gzip, bz2 and lzma that `packed` calls.  A file of several frames (as
    `pzstd` writes) is read across them."""

    @staticmethod
    def _zstandard() -> Any:
        try:
            import zstandard
        except ImportError as exc:
            raise _Missing("reading .zst needs zstandard: pip install 'dedup[zstd]'") from exc
        return zstandard

    def open(self, file: Any, mode: str) -> Any:
        zstandard = self._zstandard()
        if mode == "rb":
            handle = open(file, "rb") if isinstance(file, (str, Path)) else file  # noqa: SIM115
            reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True)
            return reader
        return zstandard.ZstdCompressor().stream_writer(file, closefd=False)

    def decompress(self, data: bytes) -> bytes:
        with self.open(io.BytesIO(data), "rb") as reader:
            return bytes(reader.read())


class _Missing(Exception):
    """A codec whose package is not installed."""


#: Each suffix read as compressed, and the module that reads and writes it.
CODECS: dict[str, Any] = {".gz": gzip, ".bz2": bz2, ".xz": lzma, ".zst": _Zstd()}

#: What a damaged or truncated stream raises, zstandard's error but where it is missing.
_DAMAGED: tuple[type[Exception], ...] = (
    EOFError,
    zlib.error,
    lzma.LZMAError,
    OSError,  # gzip.BadGzipFile among them
    ValueError,
)
with contextlib.suppress(ImportError):
    from zstandard import ZstdError

    _DAMAGED += (ZstdError,)


def codec(path: Path | str) -> Any | None:
    """The module that reads `path`, if its name ends in a suffix of CODECS."""
    return CODECS.get(Path(path).suffix.lower())


def inner(path: Path | str) -> str:
    """The name `path` holds without its compression suffix (`a.jsonl.gz` -> `a.jsonl`)."""
    name = str(path)
    return name[: -len(Path(name).suffix)] if codec(name) is not None else name


def spool(file: InputFile, target: Path) -> InputFile:
    """`file` decompressed to `target`; the InputFile that reads it there (named and
    labelled as the compressed file, which stays its origin)."""
    module = codec(file.path)
    assert module is not None
    try:
        with module.open(file.path, "rb") as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except (FileNotFoundError, PermissionError) as exc:
        raise InputError(file.label, f"cannot read: {exc.strerror}") from exc
    except _Missing as exc:
        raise InputError(file.label, str(exc)) from exc
    except _DAMAGED as exc:
        raise InputError(file.label, f"cannot decompress: {exc}") from exc
    return InputFile(target, file.name, file.jsonl, file.label, packed=file.path)


@contextlib.contextmanager
def compressing(handle: IO[bytes], name: str) -> Iterator[IO[bytes]]:
    """`handle` written through the compressor `name`'s suffix asks for (itself if none),
    finished when the block ends; a gzip header holds no time and no name."""
    module = codec(name)
    if module is None:
        yield handle
        return
    if module is gzip:
        packer: Any = gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0)
    else:
        packer = module.open(handle, "wb")
    with packer:
        yield packer


def decompressed(data: bytes, name: str) -> bytes:
    """The bytes of a file named `name`, decompressed if its suffix says so."""
    module = codec(name)
    if module is None:
        return data
    try:
        return bytes(module.decompress(data))
    except _Missing as exc:
        raise InputError(name, str(exc)) from exc
    except _DAMAGED as exc:
        raise InputError(name, f"cannot decompress: {exc}") from exc


def compressed(data: bytes, name: str) -> bytes:
    """`data` compressed as `compressing` writes a file named `name`."""
    if codec(name) is None:
        return data
    sink = io.BytesIO()
    with compressing(sink, name) as packer:
        packer.write(data)
    return sink.getvalue()
