"""What a full check leaves in the index for the next one (see `dedup.engine.incremental`).

In the index's SQLite file: every finding (as JSON) with the keys of the files of its two
units, the spans each file loses (document, start, end), the files changed since the last
full check (`dirty`), and a small JSON state: the corpus's document count, the paths and
options, a generation that each write changes.  Beside it, the *postings*: every file's
text keys (the exact key of each unit and text, and the LSH band keys of each text) as one
sorted array, with the number of the file holding each, in two `.npy` files that a check
maps into memory and searches without reading them whole; and the corpus's files as the
full check saw them (their keys in corpus order, and their size and mtime), which a check
compares with what it finds in one pass (see `Beside`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.check import Baseline, Checked, Finding
from dedup.io.readers import Listing, Listings
from dedup.io.store import Entry, Store
from dedup.io.stored_findings import Placed, StoredFindings
from dedup.model import LEVELS
from dedup.titles import META, TITLE_SPACES, Counted, holding, part_counts

U64 = npt.NDArray[np.uint64]


class Stale(Exception):
    """The stored state cannot be used: a full check must make it again."""


class CheckState:
    """The stored state of an open index."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db
        self.findings = StoredFindings(store.db)

    def state(self) -> dict[str, Any] | None:
        found = self.db.execute("SELECT value FROM meta WHERE key = 'check'").fetchone()
        return None if found is None else dict(json.loads(found[0]))

    def _set_state(self, state: dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('check', ?)", (_dumps(state),))

    def listings(self) -> Listings:
        """The folder listings stored, for `readers.expand`; `keep` stores the fresh ones."""
        return Listings(self._listing)

    def _listing(self, key: str) -> Listing | None:
        found = self.db.execute("SELECT listing FROM listings WHERE key = ?", (key,)).fetchone()
        if found is None:
            return None
        head, prefix, *names = found[0].decode("utf-8", "surrogateescape").split("\0")
        return [(f, m) for f, m in json.loads(head)], prefix, names

    def keep(self, listings: Listings) -> None:
        """Store the listings made fresh, in a transaction of their own (names cannot hold
        a NUL: it parts them)."""
        rows = [
            (
                key,
                "\0".join([json.dumps(folders), prefix, *names]).encode("utf-8", "surrogateescape"),
            )
            for key, (folders, prefix, names) in sorted(listings.fresh.items())
        ]
        if rows:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO listings VALUES (?, ?)", rows)

    def dirty(self) -> set[str]:  # the files changed since the postings were made
        return {row[0] for row in self.db.execute("SELECT path FROM dirty")}

    def removed(self, key: str) -> list[tuple[int, int, int]]:
        """The spans a file loses: (document, start, end)."""
        found = self.db.execute("SELECT spans FROM removed WHERE path = ?", (key,)).fetchone()
        return [] if found is None else [(r, s, e) for r, s, e in json.loads(found[0])]

    def save(
        self,
        keys: Sequence[str],
        label_key: dict[str, str],
        entries: Sequence[Entry],
        found: Iterable[Finding],
        removed: dict[str, list[list[int]]],
        corpus: dict[str, Any],
        before: str | None,
        baseline: Baseline,
    ) -> None:
        """Store what a full check found: `keys` and `entries` are the corpus's files in
        corpus order, `label_key` names their keys, `removed` holds the spans they lose,
        `found` are in order, and which are new is accounted against `baseline`.  Nothing
        is stored if a state is there that is not the one of generation `before` (another
        check stored it since this one began: it stands)."""
        token = uuid.uuid4().hex
        labels = label_counts(entries)
        Beside(self.store, token).write(keys, entries, Counted(labels))
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            now = self.state()
            if now is not None and now.get("generation") != before:
                Beside(self.store, token).remove()
                return
            for table in ("findings", "removed", "dirty", "posting_files"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.executemany("INSERT INTO posting_files VALUES (?, ?)", enumerate(keys))
            placed = [(label_key[f.unit_at[0]], label_key[f.survivor_at[0]], f) for f in found]
            self.findings.put(placed, set(keys), baseline, None)
            self.db.executemany(
                "INSERT INTO removed VALUES (?, ?)", [(k, _dumps(v)) for k, v in removed.items()]
            )
            self._set_state(
                {
                    "docs": sum(len(entry.docs["docs"]) for entry in entries),
                    "postings": token,
                    "generation": uuid.uuid4().hex,
                    "corpus": corpus,
                    "baseline": baseline.digest,
                    "labels": sorted(labels.items()),
                }
            )
        # Those of earlier full checks, this one's state told or not (an entry stored since
        # forgets the state: see Store.put).
        path = self.store.path
        for beside in path.parent.glob(f"{path.name}.*.*"):
            if beside.name.split(".")[-3] != token:
                beside.unlink(missing_ok=True)

    def update(
        self,
        state: dict[str, Any],
        changed: Sequence[tuple[str, tuple[int, int] | None, Entry | None]],
        placed: Iterable[Placed],
        removed: dict[str, list[list[int]]],
        docs: int,
        baseline: Baseline,
    ) -> Checked | None:
        """After an incremental check, in one transaction: the `changed` files' (key, stat,
        entry or None if deleted), their findings (`placed`: those naming a changed file),
        the spans they lose, the documents; the findings of the keys that gained or lost
        one accounted again against `baseline` (all of them if it is another baseline than
        the last).  What the check tells, or None, and nothing written, if another check
        wrote since `state` was read."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            now = self.state()
            if now is None or now.get("generation") != state["generation"]:
                self.db.rollback()
                return None
            keys = {key for key, _, _ in changed}
            for key, stamp, entry in changed:
                if entry is not None and stamp is not None:
                    self.store.write(key, *stamp, entry)
            self.store.forget([key for key, _, entry in changed if entry is None])
            self.findings.put(placed, keys, baseline, state.get("baseline"))
            self.db.executemany("DELETE FROM removed WHERE path = ?", [(k,) for k in keys])
            self.db.executemany(
                "INSERT INTO removed VALUES (?, ?)", [(k, _dumps(v)) for k, v in removed.items()]
            )
            self.db.executemany("INSERT OR IGNORE INTO dirty VALUES (?)", [(k,) for k in keys])
            state = {**state, "docs": docs, "baseline": baseline.digest}
            self._set_state({**state, "generation": uuid.uuid4().hex})
            checked = self.findings.checked()
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return checked

    def labels(self) -> dict[int, int]:
        """The counts of labelled titles' parts at the last full check (see `titles`)."""
        state = self.state() or {}
        return {int(key): int(count) for key, count in state.get("labels", [])}

    def beside(self) -> Beside:
        """The files the last full check wrote beside the index."""
        state = self.state() or {}
        if "postings" not in state:
            raise Stale("no postings")
        return Beside(self.store, state["postings"])


@dataclasses.dataclass
class Outside:
    """Text keys held outside a change (see `Beside.outside`)."""

    store: Store
    keys: U64  # the postings, sorted
    holders: npt.NDArray[np.int32]  # the file holding each
    bands: U64  # the texts' band keys, sorted
    texts: U64  # the text (the first 8 bytes of its exact key) holding each
    excluded: npt.NDArray[np.int32]  # files whose postings are stale
    #: Files changed since the postings, not now, by key: their keys, band keys and texts.
    now: dict[str, tuple[U64, U64, U64]]

    def holds(self, keys: U64) -> npt.NDArray[np.bool_]:
        """Per key, whether a file outside the change holds it."""
        out = np.zeros(len(keys), dtype=bool)
        lo = np.searchsorted(self.keys, keys, "left")
        hi = np.searchsorted(self.keys, keys, "right")
        for i in np.flatnonzero(hi > lo).tolist():
            # At most len(excluded) holders are excluded: one past them is outside.
            ids = np.asarray(self.holders[lo[i] : min(hi[i], lo[i] + len(self.excluded) + 1)])
            out[i] = not np.isin(ids, self.excluded).all()
        return out | np.isin(keys, self._now_held)

    @functools.cached_property
    def _now_held(self) -> U64:
        """The keys the files changed since the postings hold now, all of them: searched
        once, not once a file (136 of a check's 546 searches with 33 such files)."""
        held = [keys for keys, _, _ in self.now.values()]
        return np.unique(np.concatenate(held)) if held else np.empty(0, np.uint64)

    def neighbours(self, bands: U64, text: int) -> list[int]:
        """The texts other than `text` that hold one of these band keys, by their key (a
        text of a file changed since the postings were made counts: it may be gone)."""
        found: set[int] = set()
        lo = np.searchsorted(self.bands, bands, "left")
        hi = np.searchsorted(self.bands, bands, "right")
        for start, end in zip(lo.tolist(), hi.tolist(), strict=True):
            found.update(np.asarray(self.texts[start:end]).tolist())
        for _, keys, texts in self.now.values():
            found.update(texts[np.isin(keys, bands)].tolist())
        found.discard(text)
        return sorted(found)

    def holding(self, text: int) -> tuple[int, list[str]]:
        """How many files outside the change hold an exact key, and the first of those
        the postings hold with those changed since (by index key): one of them is the
        first in corpus order."""
        ids, fresh = self._held(text)
        return len(ids) + len(fresh), [*self._paths(ids[:1]), *fresh]

    def holding_files(self, text: int) -> Iterator[str]:
        """The files outside the change that hold an exact key (by index key): those of
        the postings in their order, then those changed since."""
        ids, fresh = self._held(text)
        yield from self._paths(ids)
        yield from fresh

    def _held(self, text: int) -> tuple[list[int], list[str]]:
        """The postings' files outside the change that hold an exact key (by number, in
        order), and the keys of the files changed since that hold it now."""
        lo, hi = (np.searchsorted(self.keys, np.uint64(text), side) for side in ("left", "right"))
        ids = np.asarray(self.holders[lo:hi])
        fresh = [key for key, (held, _, _) in self.now.items() if np.isin(text, held)]
        return ids[~np.isin(ids, self.excluded)].tolist(), fresh

    def _paths(self, ids: list[int]) -> Iterator[str]:
        query = "SELECT path FROM posting_files WHERE id = ?"
        for number in ids:
            yield from (row[0] for row in self.store.db.execute(query, (number,)))


def entry_spaces(
    arrays: dict[str, npt.NDArray[Any]], counted: Counted | None
) -> Iterator[tuple[str, npt.NDArray[np.int64], U64]]:
    """Per key space of an entry's texts, by name: each row's text number and band keys.
    A title space's rows are those whose reading holds with the corpus's counts
    (`counted`; all of them: None), without their parts' keys (see `titles`)."""
    for name in sorted(arrays):
        if name.startswith("texts.") and name.endswith(".bands"):
            rows, bands = arrays[name[: -len("bands")] + "rows"], arrays[name]
            if name[len("texts.") : -len(".bands")] in TITLE_SPACES:
                holds = slice(None) if counted is None else holding(bands[:, :META], counted)
                rows, bands = rows[holds], bands[holds, META:]
            yield name, rows, bands


def text_postings(entries: Sequence[Entry], counted: Counted | None = None) -> tuple[U64, U64]:
    """Every text's band keys, each with the text (the first 8 bytes of its exact key),
    distinct pairs by key: which texts a band key stands for.  Gathered key space by key
    space over the files, as `postings` does; `counted` as `entry_spaces` takes it."""
    bands: list[U64] = []
    texts: list[U64] = []
    spaces: dict[str, list[tuple[npt.NDArray[np.int64], U64, U64]]] = {}
    for entry in entries:
        owners = key64(entry.arrays["texts.digests"])
        for name, rows, keys in entry_spaces(entry.arrays, counted):
            spaces.setdefault(name, []).append((rows, keys, owners))
    for name in sorted(spaces):
        found = spaces[name]
        width = found[0][1].shape[1]
        bands.append(np.concatenate([b.ravel() for _, b, _ in found]).astype(np.uint64))
        texts.append(np.repeat(np.concatenate([o[r] for r, _, o in found]), width))
    return _by_key(bands, texts, np.uint64)


def postings(
    entries: Sequence[Entry], counted: Counted | None = None
) -> tuple[U64, npt.NDArray[np.int32]]:
    """Every file's keys (`entry_keys`), with the file's number, by key: each kind of key
    gathered over the files and handled at once (a pass a file took 0.4 s for 10,000);
    `counted` as `entry_spaces` takes it."""
    keys: list[U64] = []
    files: list[npt.NDArray[np.int32]] = []
    kinds: dict[str, list[tuple[int, npt.NDArray[Any]]]] = {}
    for number, entry in enumerate(entries):
        for name, array in entry.arrays.items():
            if name.endswith(".digests"):
                kinds.setdefault(name, []).append((number, array))
        for name, _, bands in entry_spaces(entry.arrays, counted):
            kinds.setdefault(name, []).append((number, bands))
    for name, found in kinds.items():
        if name.endswith(".digests"):
            level = name[: -len(".digests")]
            arrays = [
                a[entries[n].arrays[f"{level}.mask"].astype(bool)] if level != "texts" else a
                for n, a in found
            ]
            values = key64(np.concatenate(arrays))
        else:
            arrays = [a.ravel() for _, a in found]
            values = np.concatenate(arrays).astype(np.uint64)
        counts = [len(a) for a in arrays]
        owners = np.repeat(np.array([n for n, _ in found], np.int32), counts)
        keys.append(values)
        files.append(owners)
        if name.endswith(".digests") and level != "texts":  # and as a unit of its level
            keys.append(level_key(values, level))
            files.append(owners)
    return _by_key(keys, files, np.int32)


#: Per level, what a text's key is mixed with to say it is a unit of that level.
_LEVEL_SALTS: dict[str, np.uint64] = {
    name: np.uint64(xxhash.xxh3_64_intdigest(f"level:{name}".encode())) for name in LEVELS
}


def level_key(texts: U64, level: str) -> U64:
    """The postings' keys of texts (the first 8 bytes of their exact keys) as units of one
    level: which files hold a text at the levels a text it resembles is compared at."""
    keyed: U64 = texts ^ _LEVEL_SALTS[level]
    return keyed


def _by_key(keys: list[U64], owners: list[npt.NDArray[Any]], kind: Any) -> tuple[U64, Any]:
    """Distinct (key, owner) pairs, by key then owner."""
    flat = np.concatenate(keys) if keys else np.empty(0, np.uint64)
    owner = np.concatenate(owners) if owners else np.empty(0, kind)
    order = np.lexsort((owner, flat))
    flat, owner = flat[order], owner[order]
    fresh = np.ones(len(flat), dtype=bool)
    fresh[1:] = (flat[1:] != flat[:-1]) | (owner[1:] != owner[:-1])
    return flat[fresh], owner[fresh]


def entry_keys(entry: Entry, counted: Counted | None = None) -> U64:
    """An entry's distinct keys: of its units and of its texts (its postings)."""
    return postings([entry], counted)[0]


def unit_keys(entry: Entry) -> U64:
    """The exact keys of an entry's compared units, every level in order, as numbers."""
    found = [
        key64(entry.arrays[f"{name}.digests"][entry.arrays[f"{name}.mask"].astype(bool)])
        for name in LEVELS
        if f"{name}.rows" in entry.arrays
    ]
    return np.concatenate(found) if found else np.empty(0, np.uint64)


def text_keys(entry: Entry, counted: Counted | None = None) -> tuple[npt.NDArray[np.int64], U64]:
    """(text number, key) of every key of an entry's texts: its exact key and its LSH band
    keys of every key space (`counted` as `entry_spaces` takes it).  A band key stands
    for its band: one of another band or space that happens to be equal only makes a
    check a full one."""
    digests = entry.arrays["texts.digests"]
    rows = [np.arange(len(digests), dtype=np.int64)]
    keys = [key64(digests)]
    for _, numbers, bands in entry_spaces(entry.arrays, counted):
        rows.append(np.repeat(numbers, bands.shape[1]))
        keys.append(bands.ravel().astype(np.uint64))
    return np.concatenate(rows), np.concatenate(keys)


@dataclasses.dataclass(frozen=True)
class Beside:
    """The files a full check writes beside the index: the postings (every file's keys,
    sorted, and the file holding each), and the corpus's files then (their keys in corpus
    order, and their size and mtime)."""

    store: Store
    token: str

    def path(self, kind: str) -> Path:
        name = self.store.path.name
        suffix = "txt" if kind == "paths" else "npy"
        return self.store.path.with_name(f"{name}.{self.token}.{kind}.{suffix}")

    def write(self, keys: Sequence[str], entries: Sequence[Entry], counted: Counted) -> None:
        flat, holders = postings(entries, counted)
        np.save(self.path("keys"), flat)
        np.save(self.path("files"), holders)
        bands, texts = text_postings(entries, counted)
        np.save(self.path("tkeys"), bands)
        np.save(self.path("texts"), texts)
        stamps = self.store.stamps()
        np.save(self.path("stamps"), np.array([stamps[k] for k in keys], dtype=np.int64))
        text = "\n".join(keys)
        self.path("paths").write_text(text, encoding="utf-8", errors="surrogateescape")

    def remove(self) -> None:
        for kind in ("keys", "files", "tkeys", "texts", "stamps", "paths"):
            self.path(kind).unlink(missing_ok=True)

    def paths(self) -> list[str] | None:
        """The keys of the corpus's files when the postings were made, in corpus order."""
        try:
            text = self.path("paths").read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
        return text.split("\n") if text else []

    def stamps(self, count: int) -> npt.NDArray[np.int64] | None:
        """The (size, mtime) of those files then, one row a file of `paths`: a check that
        lists the same files compares them with what it finds as two arrays, where a dict
        of the index's stamps took 80 ms at 100,000 files."""
        try:
            stamps = np.load(self.path("stamps"))
        except (OSError, ValueError):
            return None
        return stamps if stamps.shape == (count, 2) else None

    def outside(self, stale: set[str], fresh: set[str], counted: Counted) -> Outside:
        """The keys held outside a change: the postings less the `stale` files (changed
        since they were made, or now), plus the `fresh` ones (changed since, not now) as
        the index holds them now (`counted`: the counts the postings were made with)."""
        try:
            kinds = ("keys", "files", "tkeys", "texts")
            arrays = [np.load(self.path(kind), mmap_mode="r") for kind in kinds]
        except (OSError, ValueError) as exc:
            raise Stale(f"the postings cannot be read ({exc})") from exc
        marks = ",".join("?" * len(stale))
        query = f"SELECT id FROM posting_files WHERE path IN ({marks})"
        found = self.store.db.execute(query, sorted(stale))
        excluded = np.array([row[0] for row in found], np.int32)
        now = {}
        for key in sorted(fresh):
            entry = self.store.entry(key)
            if entry is None:
                raise Stale(f"{key}: changed since the last full check, and not held")
            now[key] = (entry_keys(entry, counted), *text_postings([entry], counted))
        keys, holders, bands, texts = arrays
        return Outside(self.store, keys, holders, bands, texts, excluded, now)


def label_counts(entries: Sequence[Entry]) -> dict[int, int]:
    """`titles.part_counts` of the labelled texts of these files, a text counted once
    whatever the files that hold it."""
    found = [
        (
            key64(e.arrays["texts.digests"])[e.arrays["texts.title.rows"]],
            e.arrays["texts.title.bands"],
        )
        for e in entries
        if "texts.title.rows" in e.arrays
    ]
    if not found:
        return {}
    return part_counts(
        np.concatenate([texts for texts, _ in found]),
        np.concatenate([bands[:, :META] for _, bands in found]),
    )


def key64(digests: npt.NDArray[np.uint8]) -> U64:
    """The first 8 bytes of 16-byte exact keys, as numbers."""
    return np.ascontiguousarray(digests[:, :8]).view("<u8").ravel()


def text_key(digest: bytes) -> int:
    """The first 8 bytes of one exact key, as a number: a text in the postings."""
    return int(np.frombuffer(digest[:8], "<u8")[0])


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
