"""The findings a check stored in the index, with the baseline's accounting kept beside
them (see `dedup.engine.incremental`).

A finding is a row: the keys of the files of its two units, its fields, where its two
units are, and whether it is *new* (beyond what the baseline accepts).  The baseline
accepts, of each key (`Finding.key`: the unit, the document, the two fingerprints), the
first findings in order, as many as it counts (`check.new_marks`).  So a change that adds
or takes away findings of some keys is accounted again for those keys alone, with the
baseline's counts stored in the `accepted` table; another baseline (its bytes' digest
differs) is stored and accounts for every finding again.  What a check tells is then the
rows marked new, and how many rows there are.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from dedup.check import Baseline, Checked, Finding, in_order, new_marks

#: The files a finding stands between: (key of the unit's file, key of the survivor's file).
Placed = tuple[str, str, Finding]

#: A stored finding as read: its row, the keys of its two files, and its fields.
_FIELDS = (
    "rowid, path, survivor, f_path, line, col, code, unit, relation, jaccard, doc, repeats, "
    "fingerprint, survivor_fingerprint, unit_file, unit_doc, unit_start, "
    "survivor_file, survivor_doc, survivor_start"
)
_INSERT = f"INSERT INTO findings VALUES ({', '.join('?' * 20)})"
_TOUCHING = "WHERE path = ?1 OR survivor = ?1"
_KEY = "unit = ? AND doc = ? AND fingerprint = ? AND survivor_fingerprint = ?"
_ACCEPTED = "SELECT unit, doc, fingerprint, survivor_fingerprint, count FROM accepted"


class StoredFindings:
    """The findings table of an open index; writes go into the caller's transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def touching(self, keys: Iterable[str]) -> list[Placed]:
        """The stored findings with a unit in one of these files (by key)."""
        query = f"SELECT {_FIELDS} FROM findings {_TOUCHING}"
        found = {}
        for key in keys:
            for rowid, path, survivor, *fields in self.db.execute(query, (key,)):
                found[rowid] = (path, survivor, _finding(fields))
        return [found[rowid] for rowid in sorted(found)]

    def checked(self) -> Checked:
        """What the stored findings tell: those marked new, in order, and how many."""
        rows = self.db.execute(f"SELECT {_FIELDS} FROM findings WHERE new")
        (total,) = self.db.execute("SELECT COUNT(*) FROM findings").fetchone()
        return Checked(in_order(_finding(row[3:]) for row in rows), total)

    def put(
        self, placed: Iterable[Placed], files: set[str], baseline: Baseline, last: str | None
    ) -> None:
        """The findings naming these `files` (by key) are `placed` now: those stored are
        replaced, and the keys that gained or lost a finding accounted again, against
        `baseline`; every key if `last`, the digest of the baseline stored, is another."""
        gone = f"SELECT unit, doc, fingerprint, survivor_fingerprint FROM findings {_TOUCHING}"
        keys = {tuple(row) for file in sorted(files) for row in self.db.execute(gone, (file,))}
        self.db.executemany(f"DELETE FROM findings {_TOUCHING}", [(f,) for f in sorted(files)])
        placed = [(p, s, f) for p, s, f in placed if p in files or s in files]
        self.db.executemany(_INSERT, [(p, s, *_row(f), 1) for p, s, f in placed])
        if last != baseline.digest:
            self.db.execute("DELETE FROM accepted")
            self.db.executemany(
                "INSERT INTO accepted VALUES (?, ?, ?, ?, ?)",
                [(*key, count) for key, count in sorted(baseline.counts.items())],
            )
            self._mark(None)
        else:
            self._mark(sorted(keys | {f.key for _, _, f in placed}))

    def _mark(self, keys: Sequence[tuple[str, ...]] | None) -> None:
        """Mark which findings of these keys (None: of every key) are new, by the stored
        baseline's counts."""
        counts: Counter[tuple[str, ...]] = Counter()
        if keys is None:
            rows = self.db.execute(f"SELECT {_FIELDS} FROM findings").fetchall()
            counts.update({tuple(row[:4]): row[4] for row in self.db.execute(_ACCEPTED)})
        else:
            rows = []
            for key in keys:
                rows += self.db.execute(f"SELECT {_FIELDS} FROM findings WHERE {_KEY}", key)
                for (count,) in self.db.execute(f"SELECT count FROM accepted WHERE {_KEY}", key):
                    counts[key] = count
        found = sorted(((_finding(row[3:]), row[0]) for row in rows), key=lambda f: f[0].order)
        marks = new_marks([f for f, _ in found], counts)
        self.db.executemany(
            "UPDATE findings SET new = ? WHERE rowid = ?",
            [(int(new), rowid) for (_, rowid), new in zip(found, marks, strict=True)],
        )


def _row(f: Finding) -> tuple[Any, ...]:
    """A finding's fields, in the order of the table's columns (`dataclasses.astuple`,
    which copies deep, took 70 us a finding)."""
    fields = (f.path, f.line, f.column, f.code, f.unit, f.relation, f.jaccard, f.doc, f.repeats)
    return (*fields, f.fingerprint, f.survivor_fingerprint, *f.unit_at, *f.survivor_at)


def _finding(row: Sequence[Any]) -> Finding:
    """A finding from its row's fields (a JSON document a finding took 4 us to read)."""
    values: list[Any] = [*row[:11], tuple(row[11:14]), tuple(row[14:17])]
    return Finding(*values)
