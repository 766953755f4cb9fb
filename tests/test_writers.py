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


def test_many_files_are_synced_before_they_are_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "_GROUP", 4)
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    real_fsync, real_replace = writers.os.fsync, writers.os.replace

    def fsync(fd: int) -> None:
        with lock:
            events.append(("sync", Path(f"/proc/self/fd/{fd}").resolve().name))
        real_fsync(fd)

    def replace(src: str, dst: Path) -> None:
        events.append(("place", Path(src).name))
        real_replace(src, dst)

    monkeypatch.setattr(writers.os, "fsync", fsync)
    monkeypatch.setattr(writers.os, "replace", replace)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "3.txt").write_bytes(b"old")
    (tmp_path / "a" / "3.txt").chmod(0o640)
    with writers.Files() as files:
        for n in range(10):
            files.write(tmp_path / "a" / f"{n}.txt", f"text {n}".encode())
    assert [(tmp_path / "a" / f"{n}.txt").read_bytes() for n in range(10)] == [
        f"text {n}".encode() for n in range(10)
    ]
    assert (tmp_path / "a" / "3.txt").stat().st_mode & 0o777 == 0o640  # the mode it had
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        f"{n}.txt" for n in range(10)
    )
    # Groups of 4, 4 and 2: every file of a group synced before the first is placed, the
    # files placed in the order they were written.
    kinds = "".join("s" if kind == "sync" else "p" for kind, _ in events)
    assert kinds == "sssspppp" + "sssspppp" + "sspp"
    synced = [name for kind, name in events if kind == "sync"]
    placed = [name for kind, name in events if kind == "place"]
    assert sorted(synced) == sorted(placed)
    assert [name.split(".")[1] for name in placed] == [str(n) for n in range(10)]


def test_an_error_places_nothing_more_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "_GROUP", 4)
    for n in range(6):
        (tmp_path / f"{n}.txt").write_bytes(b"old")
    with pytest.raises(RuntimeError), writers.Files() as files:
        for n in range(6):
            files.write(tmp_path / f"{n}.txt", b"new")
        raise RuntimeError("the next document could not be cleaned")
    # The first group of four was placed; the two written after it were not.
    assert [(tmp_path / f"{n}.txt").read_bytes() for n in range(6)] == [b"new"] * 4 + [b"old"] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.txt" for n in range(6)]


def test_a_failed_sync_names_the_file_and_places_none_of_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(writers.os, "fsync", fsync)
    failed = pytest.raises(OutputError, match=r"b\.txt: cannot write: Input/output error")
    with failed, writers.Files() as files:
        files.write(tmp_path / "b.txt", b"new")
    assert list(tmp_path.iterdir()) == []
