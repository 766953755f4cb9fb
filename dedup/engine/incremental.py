"""The check, in time that follows the change: findings of the whole corpus, with only the
changed files read and fingerprinted when that is enough to know them.

A full check (a `run` over the whole corpus, with the index) leaves in the index what the
next check needs: every finding with the places of its two units, the spans each file
loses, the corpus's document count, and, beside the index, the *postings*: the exact key
and LSH band keys of every text, with the files that hold them.  The next check finds the
files changed since (size and mtime, then content hash), and when the change is *closed*
it reads and fingerprints only those:

- every text the change adds or takes away, at any level, is *private*: no file outside
  the change holds it or shares an LSH band key with it, so no unit outside is its
  candidate, and its clusters lie wholly inside the changed files;
- every other unit of a changed file whose text is not private is *stable*: the same
  texts, in the same order, in the same documents, each first held by a file outside the
  change (whose raw text is what the engine compares), and neither removed nor cut
  before or after the change;
- the boilerplate rule draws its line at the same number of documents.

Then no decision outside the change moves, and a run of the engine over the changed files
alone (counting the corpus's documents for the boilerplate share) decides the private
units as the whole run would.  The findings are the stored ones of the other files, with
the places of stable units read again from their files' new rows, and the new run's
findings of private units.  Anything else (a changed text that repeats or resembles one
outside, postings too far behind the index) is a full check, which stores its findings for
the next one.  The same findings either way: `tests/test_incremental.py` compares the two
over random edit sequences.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dedup.check import Finding, findings, in_order, place, repeats
from dedup.config import Config
from dedup.engine.fingerprint import changes, fingerprint_files
from dedup.engine.run import index_params, run
from dedup.engine.table import COLUMNS
from dedup.io.check_state import (
    CheckState,
    Outside,
    Placed,
    Stale,
    text_keys,
    unit_keys,
)
from dedup.io.documents import InputFile
from dedup.io.readers import STDIN, expand
from dedup.io.stat import Ahead
from dedup.io.store import Entry, Store
from dedup.model import LEVELS, Result

logger = logging.getLogger(__name__)

#: Files changed since the postings were made, at most, before a full check makes them anew.
DIRTY_MAX = 256
#: File names read as records, in a list of names a line each (any case; a few more than
#: the readers take: a name that is only the suffix).
_RECORDS = re.compile(r"\.(?:jsonl|ndjson|parquet)\n", re.IGNORECASE)
_DOC, _START, _END, _LINE, _WS_BEFORE, _WS_AFTER, _COLUMN = (
    COLUMNS.index(name)
    for name in ("doc", "start", "end", "line", "ws_before", "ws_after", "column")
)


def check(paths: Sequence[str], config: Config, index: Path | None) -> list[Finding]:
    """Every finding of the corpus at `paths`, as a full check finds them; with `index`,
    from the changed files alone when the change allows it (see the module)."""
    if index is None:
        return findings(run(paths, config), config.normalize)
    try:
        before: dict[str, Any] = {}
        try:
            with Store(index, index_params(config)) as store:
                store.db.execute("BEGIN")  # every read from one snapshot of the index
                try:
                    before = CheckState(store).state() or {}
                    return _incremental(paths, config, store)
                finally:
                    if store.db.in_transaction:
                        store.db.rollback()
        except (Whole, Stale) as exc:
            logger.info("checking the whole corpus: %s", exc)
        result = run(paths, config, index=index)
        found = findings(result, config.normalize)
        if STDIN not in paths:
            with Store(index, index_params(config)) as store:
                _save(CheckState(store), paths, config, result, found, before.get("generation"))
        return found
    except sqlite3.Error as exc:  # locked by another run for too long, say
        logger.warning("%s: %s: checking the whole corpus without it", index, exc)
        return findings(run(paths, config), config.normalize)


def _save(
    saved: CheckState,
    paths: Sequence[str],
    config: Config,
    result: Result,
    found: list[Finding],
    before: str | None,
) -> None:
    """Store what a full check found, for the next one, unless another check stored its
    own since this one began (`before`: the generation then)."""
    listing = _listed(paths, config)
    keys = listing.keys
    labels = listing.labels()
    if any(label.lower().endswith(".parquet") for label in labels):
        return  # read from a spool made anew each run: every check is a full one
    label_key = dict(zip(labels, keys, strict=True))
    held = saved.store.entries(set(keys))
    if any(held.get(key) is None for key in keys):
        return  # the index changed under the run: the next check is a full one
    removed: dict[str, list[list[int]]] = {}
    for doc in result.documents:
        for start, end in doc.removed:
            removed.setdefault(label_key[doc.path], []).append([doc.record, start, end])
    corpus = _corpus_params(paths, config)
    saved.save(keys, label_key, [held[k] for k in keys], found, removed, corpus, before)  # type: ignore[misc]


@dataclass
class _Listing:
    """The corpus's files in corpus order: per path given, a prefix and the names of its
    files (a file's label is the prefix and its name), and each file's index key (its
    absolute path).  Labels are made for the files that need one: 100,000 strings made
    and compared cost a check of 100,000 files a tenth of its time."""

    prefixes: list[tuple[int, str]]  # (first file, prefix)
    names: list[str]
    keys: list[str]

    def labels(self) -> list[str]:
        return [prefix + name for prefix, name in zip(self._prefix_of(), self.names, strict=True)]

    def file(self, number: int) -> InputFile:
        """The file to read (never records: the incremental check reads none)."""
        prefix = next(p for first, p in reversed(self.prefixes) if first <= number)
        label = prefix + self.names[number]
        return InputFile(Path(label), self.names[number], False, label)

    def _prefix_of(self) -> list[str]:
        ends = [first for first, _ in self.prefixes[1:]] + [len(self.names)]
        return [
            p
            for (first, p), end in zip(self.prefixes, ends, strict=True)
            for _ in range(first, end)
        ]


def _listed(paths: Sequence[str], config: Config) -> _Listing:
    """The corpus's files (see `_Listing`); a key is `os.path.abspath` of the file's label,
    made once a folder."""
    listing = _Listing([], [], [])
    for given in paths:
        prefix, names = expand(given, config.input)
        listing.prefixes.append((len(listing.names), prefix))
        listing.names += names
        absolute = os.path.join(os.path.abspath(prefix), "") if prefix else ""
        if prefix.endswith(os.sep):
            listing.keys += [absolute + name for name in names]
        else:
            listing.keys += [os.path.abspath(prefix + name) for name in names]
    return listing


def _corpus_params(paths: Sequence[str], config: Config) -> dict[str, Any]:
    """What the stored findings depend on beyond the fingerprints: the paths in their
    order (the corpus order) and every option."""
    return {"paths": list(paths), "options": config.as_dict()}


class Whole(Exception):
    """Why the change alone cannot tell the findings: a full check finds them."""


# --- the incremental check -----------------------------------------------------------


@dataclass
class _Changed:
    """A changed file: its key, its file (None: deleted), and its entries before and after
    (None: none)."""

    key: str
    file: InputFile | None
    old: Entry | None
    new: Entry | None
    stamp: tuple[int, int] | None = None  # size and mtime
    #: Per level, (document, start) of a stable unit before the change -> its row after.
    moved: dict[str, dict[tuple[int, int], int]] = dataclasses.field(default_factory=dict)
    #: Per level, (document, start) after the change of each unit whose text is shared.
    shared: dict[str, set[tuple[int, int]]] = dataclasses.field(default_factory=dict)
    #: The same for the levels with finer ones below: the units that must stand.
    standing: dict[str, set[tuple[int, int]]] = dataclasses.field(default_factory=dict)


def _incremental(paths: Sequence[str], config: Config, store: Store) -> list[Finding]:
    """The findings from the changed files alone; raises Whole when a full check must
    find them."""
    saved = CheckState(store)
    state = saved.state()
    if state is None:
        raise Whole("no findings stored by a full check with these options")
    if state.get("corpus") != _corpus_params(paths, config) or STDIN in paths:
        raise Whole("other paths or options than the last full check")
    beside = saved.beside()
    seen = beside.paths()
    with Ahead(seen) as ahead:  # half of the stats while the folders are listed
        listing = _listed(paths, config)
        keys = listing.keys
        if _RECORDS.search("\n".join(listing.names) + "\n"):
            raise Whole("records (JSONL, Parquet) carry ids that must stay unique across files")
        known = beside.stamps(len(keys)) if keys == seen else None
        stats, content, touched_only = changes(keys, store, known, ahead.stamps)
    dirty = saved.dirty()
    if known is not None:  # the same files as the full check: deleted ones came since
        present = set(keys)
        gone = (key for key in dirty if key not in present and store.stamp(key) is not None)
        deleted = sorted(gone)
    else:
        deleted = sorted(set(store.stamps()) - set(keys))
    stored = saved.findings()
    if not content and not deleted:
        store.db.rollback()  # the snapshot: now the stamps of files touched, not changed
        saved.touch(touched_only)
        return in_order(f for _, _, f in stored)
    touched = {keys[i] for i in content} | set(deleted)
    if len(dirty | touched) > DIRTY_MAX:
        raise Whole(f"more than {DIRTY_MAX} files changed since the last full check")
    files = {i: listing.file(i) for i in content}
    made = fingerprint_files([(files[i], content[i]) for i in content], config)
    work = [
        _Changed(keys[i], files[i], store.entry(keys[i]), new, (int(stats[i, 0]), int(stats[i, 1])))
        for i, new in zip(content, made, strict=True)
    ] + [_Changed(key, None, store.entry(key), None) for key in deleted]
    if any(c.old is None and store.stamp(c.key) is not None for c in work):
        raise Whole("a damaged entry")
    outside = beside.outside(dirty | touched, dirty - touched)
    for change in work:
        _close(change, outside, saved)
    docs = _corpus_docs(state, work, config)
    found, removed = _alone(work, config, docs)
    placed = _placed(stored, {c.key: c for c in work})
    label_key = {c.file.label: c.key for c in work if c.file}
    changed = [(c.key, c.stamp, c.new) for c in work]
    store.db.rollback()  # the snapshot read; the update checks nothing was written since
    if saved.update(state, changed, placed, found, label_key, removed, docs):
        saved.touch(touched_only)
    logger.info("checked %d changed files alone", len(work))
    return in_order([f for _, _, f in placed] + found)


def _corpus_docs(state: dict[str, Any], work: list[_Changed], config: Config) -> int:
    """The corpus's documents after the change; raises Whole if the boilerplate share
    draws its line at another number of them."""
    old = sum(len(c.old.docs["docs"]) for c in work if c.old)
    new = sum(len(c.new.docs["docs"]) for c in work if c.new)
    docs = int(state["docs"]) - old + new
    rule = config.cluster
    if any(
        rule.is_boilerplate(n, state["docs"]) != rule.is_boilerplate(n, docs)
        for n in range(1, rule.boilerplate_docs + 1)
    ):
        raise Whole("the boilerplate share now draws its line at another number of documents")
    return docs


def _alone(
    work: list[_Changed], config: Config, docs: int
) -> tuple[list[Finding], dict[str, list[list[int]]]]:
    """The findings of private units, and the spans the changed files lose, from a run
    over the changed files alone; raises Whole if that run cuts a unit that must stand."""
    files = {c.file.label: c.file for c in work if c.file is not None}
    if not files:
        return [], {}
    alone = dataclasses.replace(config, run=dataclasses.replace(config.run, jobs=1))
    result = run([], alone, files=list(files.values()), corpus_docs=docs)
    by_label = {c.file.label: c for c in work if c.file is not None}
    removed: dict[str, list[list[int]]] = {}
    for doc in result.documents:
        change = by_label[doc.path]
        for start, end in doc.removed:
            if _cuts(change, doc.record, start, end):
                raise Whole(f"{doc.path}: a unit repeated elsewhere is now removed")
            removed.setdefault(change.key, []).append([doc.record, start, end])
    found = []
    for f in findings(result, config.normalize):
        if (f.unit_at[1], f.unit_at[2]) in by_label[f.unit_at[0]].shared.get(f.unit, ()):
            continue  # a stable unit: its findings are the stored ones
        survivor = by_label[f.survivor_at[0]]
        if (f.survivor_at[1], f.survivor_at[2]) in survivor.shared.get(f.unit, ()):
            raise Whole("a private text met a shared one")  # cannot be
        found.append(f)
    return found, removed


def _placed(stored: list[Placed], changed: dict[str, _Changed]) -> list[Placed]:
    """The stored findings that stand, their units in changed files placed anew."""
    out = []
    for path, survivor, f in stored:
        if path in changed:
            at = _moved(changed[path], f.unit, f.unit_at)
            if at is None:
                continue  # a private unit's finding: found again by the run alone, or gone
            f = dataclasses.replace(f, **at.as_unit())
        if survivor in changed:
            at = _moved(changed[survivor], f.unit, f.survivor_at)
            if at is None:
                raise Whole("the survivor of a finding kept is not stable")  # cannot be
            f = dataclasses.replace(f, **at.as_survivor())
        out.append((path, survivor, f))
    return out


@dataclass(frozen=True)
class _At:
    """A unit placed again in its file after the change."""

    label: str
    record: int
    start: int
    record_line: int
    doc_id: str
    line: int
    column: int

    def as_unit(self) -> dict[str, Any]:
        path, line, column = place(self.label, self.record_line, self.line, self.column)
        return {
            "path": path,
            "line": line,
            "column": column,
            "unit_at": (self.label, self.record, self.start),
        }

    def as_survivor(self) -> dict[str, Any]:
        return {
            "repeats": repeats(self.label, self.record_line, self.doc_id, self.line),
            "survivor_at": (self.label, self.record, self.start),
        }


def _moved(change: _Changed, level: str, at: tuple[str, int, int]) -> _At | None:
    """Where a stable unit of a changed file is after the change (None: not stable)."""
    row_number = change.moved.get(level, {}).get((at[1], at[2]))
    if row_number is None or change.new is None or change.file is None:
        return None
    row = change.new.arrays[f"{level}.rows"][row_number]
    doc = change.new.docs["docs"][int(row[_DOC])]
    return _At(
        change.file.label,
        int(row[_DOC]),
        int(row[_START]),
        int(doc["line"]),
        str(doc["id"]),
        int(row[_LINE]),
        int(row[_COLUMN]),
    )


def _cuts(change: _Changed, record: int, s: int, e: int) -> bool:
    """Whether a removed span [s, e) of document `record` overlaps a unit that must stand."""
    assert change.new is not None
    for level, units in change.standing.items():
        rows = change.new.arrays[f"{level}.rows"]
        for doc, start in units:
            if doc == record:
                end = int(rows[(rows[:, _DOC] == doc) & (rows[:, _START] == start)][0, _END])
                if start < e and s < end:
                    return True
    return False


def _close(change: _Changed, outside: Outside, saved: CheckState) -> None:
    """Note a changed file's stable units; raises Whole if its change is not closed (see
    the module)."""
    name_of = change.file.label if change.file else change.key
    versions = [e for e in (change.old, change.new) if e is not None]
    levels = [name for name in LEVELS if f"{name}.rows" in versions[0].arrays]
    # A text is shared when a file outside the change holds one of its keys.
    shared: set[bytes] = set()
    for entry in versions:
        rows, keys = text_keys(entry)
        digests = entry.arrays["texts.digests"]
        for number in np.unique(rows[outside.holds(keys)]).tolist():
            shared.add(bytes(digests[number]))
        held = outside.holds(unit_keys(entry))
        shared.update(d for d, out in zip(_all_digests(entry, levels), held, strict=True) if out)
    removed = [] if change.old is None else saved.removed(change.key)
    for name in levels:
        old = _sequence(change.old, name)
        new = _sequence(change.new, name)
        delta = (Counter(u[0] for u in old) - Counter(u[0] for u in new)) + (
            Counter(u[0] for u in new) - Counter(u[0] for u in old)
        )
        if any(d in shared for d in delta):
            raise Whole(f"{name_of}: a {name} added or taken away repeats or resembles one outside")
        stable_old = [u for u in old if u[0] in shared]
        stable_new = [u for u in new if u[0] in shared]
        # The same texts, written the same (the engine compares a text's first raw form),
        # in the same order and documents: their units stand where they stood.
        if [u[:4] for u in stable_old] != [u[:4] for u in stable_new]:
            raise Whole(f"{name_of}: a {name} repeated or resembled elsewhere was edited or moved")
        # A unit that a coarser one contains is out of its level's clusters once that one
        # goes: a shared unit with finer levels below must stand, before and after.
        for *_, doc, start, end, _ in stable_old if name != levels[-1] else ():
            if any(r == doc and s < end and start < e for r, s, e in removed):
                raise Whole(f"{name_of}: a {name} repeated elsewhere was removed")
        change.moved[name] = {
            (o[4], o[5]): n[7] for o, n in zip(stable_old, stable_new, strict=True)
        }
        change.shared[name] = {(n[4], n[5]) for n in stable_new}
        if name != levels[-1]:
            change.standing[name] = change.shared[name]


def _all_digests(entry: Entry, levels: Sequence[str]) -> list[bytes]:
    """The digests of an entry's compared units, every level, in `_unit_keys` order."""
    return [
        bytes(d)
        for name in levels
        for d in entry.arrays[f"{name}.digests"][entry.arrays[f"{name}.mask"].astype(bool)]
    ]


def _sequence(entry: Entry | None, level: str) -> list[tuple[Any, ...]]:
    """(digest, raw hash, document id, whole document, document, start, end, row) of an
    entry's compared units of a level, in order."""
    if entry is None:
        return []
    rows = entry.arrays[f"{level}.rows"]
    digests = entry.arrays[f"{level}.digests"]
    raw = entry.arrays[f"{level}.raw"]
    docs = entry.docs["docs"]
    out = []
    for number in np.flatnonzero(entry.arrays[f"{level}.mask"]).tolist():
        row = rows[number]
        doc = int(row[_DOC])
        whole = int(row[_WS_BEFORE]) == 0 and int(row[_WS_AFTER]) == int(docs[doc]["chars"])
        out.append(
            (
                bytes(digests[number]),
                int(raw[number]),
                docs[doc]["id"],
                whole,
                doc,
                int(row[_START]),
                int(row[_END]),
                number,
            )
        )
    return out
