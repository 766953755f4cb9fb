"""Writing a file atomically from pieces, the writes made by a thread behind the caller."""

from __future__ import annotations

import errno
import io
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dedup.errors import OutputError
from dedup.io import writers
from dedup.io.writers import write_pieces


def _writers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dedup-writer"]


@pytest.mark.parametrize("block", [1, 7, 1 << 22])
def test_pieces_arrive_whole_and_in_order(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "_BLOCK", block)
    monkeypatch.setattr(writers, "_SYNC", 3 * block)  # synced along the way, too
    rng = random.Random(block)
    pieces = [rng.randbytes(rng.choice([0, 1, 5, 100, 5000])) for _ in range(300)]
    target = tmp_path / "report.json"
    write_pieces(target, iter(pieces))
    assert target.read_bytes() == b"".join(pieces)
    assert not _writers_alive()


def test_a_failing_source_leaves_the_old_file_and_no_thread(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")

    def pieces() -> Iterator[bytes]:
        yield b"x" * (1 << 23)  # two blocks on their way
        raise RuntimeError("the report could not be made")

    with pytest.raises(RuntimeError):
        write_pieces(target, pieces())
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert not _writers_alive()


class _Full(io.BytesIO):
    """A file that takes `room` bytes, then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_write_error_in_the_thread_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "_BLOCK", 10)
    with pytest.raises(OSError, match="No space"), writers._Behind(_Full(25)) as out:
        for _ in range(1000):
            out.write(b"0123456789")
    assert not _writers_alive()


def test_write_pieces_names_the_file_it_cannot_write(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    with pytest.raises(OutputError, match="taken"):
        write_pieces(folder, iter([b"x"]))  # a folder cannot be replaced by a file
