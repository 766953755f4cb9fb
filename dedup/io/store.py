"""The persistent index: per file, its content hash and its fingerprinting results, in SQLite.

One row per input file: size, mtime, xxh3 content hash, the documents it holds
(id, JSONL line and offset, length, BOM) and, per level, the unit rows, exact keys
and LSH band keys, stored as raw little-endian arrays behind a small JSON header.
Nothing is pickled or executed.  The parameters the results depend on are stored
in the file; an index built with others, or one SQLite cannot read, is rebuilt with
a warning.  WAL mode, a busy timeout and one transaction per write let concurrent
runs share it.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FORMAT = 3  # 2: whole documents keyed at any length; 3: band keys once a text (#27)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash BLOB NOT NULL,
    docs TEXT NOT NULL,
    prints BLOB NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """What the index holds for one file."""

    hash: bytes
    docs: dict[str, Any]  # {"docs": [{"id", "line", "offset", "chars"}], "skipped": [...]}
    arrays: dict[str, npt.NDArray[Any]]


def pack(arrays: dict[str, npt.NDArray[Any]]) -> bytes:
    """Arrays as one blob: a JSON header (names, dtypes, shapes) and their raw bytes."""
    header = [[name, a.dtype.str, list(a.shape)] for name, a in arrays.items()]
    head = json.dumps(header).encode("utf-8")
    body = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays.values())
    return len(head).to_bytes(4, "little") + head + body


def unpack(blob: bytes) -> dict[str, npt.NDArray[Any]]:
    size = int.from_bytes(blob[:4], "little")
    header = json.loads(blob[4 : 4 + size].decode("utf-8"))
    out: dict[str, npt.NDArray[Any]] = {}
    offset = 4 + size
    for name, dtype, shape in header:
        count = math.prod(shape)
        array = np.frombuffer(blob, dtype=np.dtype(dtype), count=count, offset=offset)
        out[name] = array.reshape(shape)
        offset += array.nbytes
    if offset != len(blob):
        raise ValueError("index entry has trailing bytes")
    return out


class Store:
    """An open index.  Use as a context manager."""

    def __init__(self, path: Path, params: dict[str, Any]) -> None:
        self.path = path
        self.params = json.dumps({"format": FORMAT, **params}, sort_keys=True)
        self.db = self._open()
        self._rows: dict[str, tuple[Any, ...]] | None = None

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True)
            # the index is the tool's cache: git ignores its folder, as it does .pytest_cache
            (folder / ".gitignore").write_text("# created by dedup\n*\n", encoding="utf-8")
        try:
            db = self._connect()
            found = db.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()
            if found is None:
                with db:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('params', ?)", (self.params,))
                return db
            if found[0] == self.params:
                return db
            db.close()
            reason = "it was built with other parameters"
        except sqlite3.DatabaseError as exc:
            reason = f"it cannot be read ({exc})"
        logger.warning("%s: rebuilding the index: %s", self.path, reason)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        db = self._connect()
        with db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('params', ?)", (self.params,))
        return db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def get(self, path: str, size: int, mtime_ns: int, content: bytes | None) -> Entry | None:
        """The entry of a file, if its size and mtime, or else its content hash, match.

        The first call reads every row at once: one query, not one a file.
        """
        if self._rows is None:
            query = "SELECT path, size, mtime_ns, hash, docs, prints FROM files"
            self._rows = {row[0]: row[1:] for row in self.db.execute(query)}
        row = self._rows.get(path)
        if row is None:
            return None
        if (row[0], row[1]) != (size, mtime_ns) and (content is None or row[2] != content):
            return None
        try:
            return Entry(row[2], json.loads(row[3]), unpack(row[4]))
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            logger.warning("%s: ignoring a damaged entry for %s: %s", self.path, path, exc)
            return None

    def put(self, path: str, size: int, mtime_ns: int, entry: Entry) -> None:
        self._rows = None
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (path, size, mtime_ns, entry.hash, json.dumps(entry.docs), pack(entry.arrays)),
            )

    def keep_only(self, paths: set[str]) -> int:
        """Forget files no longer in the corpus; returns how many."""
        known = {row[0] for row in self.db.execute("SELECT path FROM files")}
        gone = sorted(known - paths)
        with self.db:
            self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
        return len(gone)

    def stats(self) -> dict[str, Any]:
        files, size = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(prints)), 0) FROM files"
        ).fetchone()
        return {
            "path": str(self.path),
            "files": files,
            "bytes": size,
            "params": json.loads(self.params),
        }
