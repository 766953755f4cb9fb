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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

#: 2: whole documents keyed at any length; 3: band keys once a text (#27); 4: raw hashes;
#: 5: the baseline's accounting kept with the findings; 6: the number marks of short units;
#: 7: a short sentence inside a paragraph not compared; 8: format characters (soft hyphens,
#: zero-width spaces) deleted by normalization; 9: no title read inside a synopsis's
#: bracketed options
FORMAT = 9
_TOUCH = "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?"
#: How long a run waits for another to let go of the index.
BUSY_SECONDS = 30.0
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash BLOB NOT NULL,
    docs TEXT NOT NULL,
    prints BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stamps ON files (path, size, mtime_ns, hash);
CREATE TABLE IF NOT EXISTS findings (
    path TEXT NOT NULL,
    survivor TEXT NOT NULL,
    f_path TEXT, line INTEGER, col INTEGER, code TEXT, unit TEXT, relation TEXT, jaccard REAL,
    doc TEXT, repeats TEXT, fingerprint TEXT, survivor_fingerprint TEXT,
    unit_file TEXT, unit_doc INTEGER, unit_start INTEGER,
    survivor_file TEXT, survivor_doc INTEGER, survivor_start INTEGER,
    new INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_path ON findings (path);
CREATE INDEX IF NOT EXISTS findings_survivor ON findings (survivor);
CREATE INDEX IF NOT EXISTS findings_key ON findings (unit, doc, fingerprint, survivor_fingerprint);
CREATE INDEX IF NOT EXISTS findings_new ON findings (new) WHERE new;
CREATE TABLE IF NOT EXISTS accepted (
    unit TEXT, doc TEXT, fingerprint TEXT, survivor_fingerprint TEXT, count INTEGER NOT NULL,
    PRIMARY KEY (unit, doc, fingerprint, survivor_fingerprint)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS removed (path TEXT PRIMARY KEY, spans TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirty (path TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS posting_files (id INTEGER PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (key TEXT PRIMARY KEY, listing BLOB NOT NULL) WITHOUT ROWID;
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
        self._rows: dict[str, tuple[int, int]] | None = None
        self._forgot = False  # the stored findings, by this run

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True)
            # the index is the tool's cache: git ignores its folder, as it does .pytest_cache
            (folder / ".gitignore").write_text("# created by dedup\n*\n", encoding="utf-8")
        try:
            db = self._connect()
            found = db.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()
            if found is None or found[0] == self.params:
                return self._ready(db, found is None)
            db.close()
            reason = "it was built with other parameters"
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise  # another run holds it: not a damaged index
            reason = f"it cannot be read ({exc})"
        logger.warning("%s: rebuilding the index: %s", self.path, reason)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        for beside in folder.glob(f"{self.path.name}.*.*"):  # what the last check left
            beside.unlink(missing_ok=True)
        return self._ready(self._connect(), True)

    def _ready(self, db: sqlite3.Connection, new: bool) -> sqlite3.Connection:
        if new:
            with db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('params', ?)", (self.params,))
        db.executescript(_SCHEMA)
        return db

    def _connect(self) -> sqlite3.Connection:
        """The database, with its parameters' table (the others once the parameters match)."""
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_META)
        return db

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def stamps(self) -> dict[str, tuple[int, int]]:
        """Every file's (size, mtime): one query over the covering index, which leaves the
        entries' pages unread (reading them took 1.2 s at 100,000 files)."""
        if self._rows is None:
            query = "SELECT path, size, mtime_ns FROM files INDEXED BY stamps"
            self._rows = {path: (size, mtime) for path, size, mtime in self.db.execute(query)}
        return self._rows

    def stamp(self, path: str) -> tuple[int, int, bytes] | None:
        """A file's (size, mtime, content hash), if the index holds it."""
        query = "SELECT size, mtime_ns, hash FROM files WHERE path = ?"
        return self.db.execute(query, (path,)).fetchone()  # type: ignore[no-any-return]

    def entry(self, path: str) -> Entry | None:
        """What the index holds for a file, whatever its content now (None if nothing, or
        if the entry is damaged)."""
        found = self.db.execute(
            "SELECT hash, docs, prints FROM files WHERE path = ?", (path,)
        ).fetchone()
        if found is None:
            return None
        try:
            return Entry(found[0], json.loads(found[1]), unpack(found[2]))
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            logger.warning("%s: ignoring a damaged entry for %s: %s", self.path, path, exc)
            return None

    def entries(self, paths: set[str]) -> dict[str, Entry | None]:
        """The entries of many files, in one pass over the table (None: damaged)."""
        out: dict[str, Entry | None] = {}
        for path, content, docs, prints in self.db.execute(
            "SELECT path, hash, docs, prints FROM files"
        ):
            if path in paths:
                try:
                    out[path] = Entry(content, json.loads(docs), unpack(prints))
                except (ValueError, KeyError, json.JSONDecodeError):
                    out[path] = None
        return out

    def touch(self, touched: Sequence[tuple[str, tuple[int, int]]]) -> None:
        """Files touched, not changed: their new (size, mtime), in one transaction."""
        if touched:
            self._rows = None
            with self.db:
                self.db.executemany(_TOUCH, [(size, mtime, p) for p, (size, mtime) in touched])

    def put(self, rows: Sequence[tuple[str, int, int, Entry]]) -> None:
        """Store files' (path, size, mtime, entry) in one transaction; forget the findings."""
        with self.db:
            if not self._forgot:
                self.forget_findings()
            for path, size, mtime_ns, entry in rows:
                self.write(path, size, mtime_ns, entry)

    def write(self, path: str, size: int, mtime_ns: int, entry: Entry) -> None:
        """Store a file's entry within the caller's transaction."""
        self._rows = None
        self.db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
            (path, size, mtime_ns, entry.hash, json.dumps(entry.docs), pack(entry.arrays)),
        )

    def keep_only(self, paths: set[str]) -> int:
        """Forget files no longer in the corpus; returns how many."""
        gone = sorted(set(self.stamps()) - paths)
        if gone:
            with self.db:
                self.forget_findings()
                self.forget(gone)
        return len(gone)

    def forget(self, paths: list[str]) -> None:
        """Forget files, within the caller's transaction."""
        self._rows = None
        self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    # --- what the last check found (see dedup.engine.incremental) ------------------

    def forget_findings(self) -> None:
        """Mark the stored findings stale (within the caller's transaction): the next
        check is a full one."""
        self.db.execute("DELETE FROM meta WHERE key = 'check'")
        self._forgot = True

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
