"""Whether a change is closed: what the incremental check asks of each changed file (see
`dedup.engine.incremental`).

A changed file's entries before and after the change are compared level by level: the texts
it adds or takes away must be private (no file outside holds one of their keys), or exact
copies of a text related to no other, decided without a run (`Copying`), or added texts that
exact verification relates to no text outside they share band keys with (`Resembling`); the
units whose
text is shared must stand as they stood (`close`), and the stored findings that name them
are placed anew from the file's new rows (`moved`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dedup.check import place, repeats
from dedup.engine.entries import (
    Changed,
    Unit,
    all_digests,
    band_keys,
    levels_of,
    sequence,
    span_of,
    units_of,
)
from dedup.engine.resembling import Resembling
from dedup.engine.table import COLUMNS
from dedup.io.check_state import (
    U64,
    CheckState,
    Outside,
    key64,
    level_key,
    text_key,
    text_keys,
    unit_keys,
)
from dedup.io.store import Entry
from dedup.model import LEVELS

_DOC, _START, _END, _LINE, _COLUMN = (
    COLUMNS.index(name) for name in ("doc", "start", "end", "line", "column")
)


class Whole(Exception):
    """Why the change alone cannot tell the findings: a full check finds them."""


@dataclass(frozen=True)
class At:
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


def moved(change: Changed, level: str, at: tuple[str, int, int]) -> At | None:
    """Where a stable unit of a changed file is after the change (None: not stable)."""
    row_number = change.moved.get(level, {}).get((at[1], at[2]))
    if row_number is None or change.new is None or change.file is None:
        return None
    return place_of(change.new, change.file.label, level, row_number)


def place_of(entry: Entry, label: str, level: str, row_number: int) -> At:
    """Where a unit of a file's entry (a row of a level) is."""
    row = entry.arrays[f"{level}.rows"][row_number]
    doc = entry.docs["docs"][int(row[_DOC])]
    return At(
        label,
        int(row[_DOC]),
        int(row[_START]),
        int(doc["line"]),
        str(doc["id"]),
        int(row[_LINE]),
        int(row[_COLUMN]),
    )


def cuts(change: Changed, record: int, s: int, e: int) -> bool:
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


@dataclass
class Kept:
    """The copies of boilerplate that changes add or take away, read at every level (see
    `Copying.closed`): by file key, the spans (doc, start, end) of each version's."""

    spans: dict[str, dict[str, list[tuple[int, int, int]]]] = dataclasses.field(
        default_factory=dict
    )

    def add(self, key: str, before: list[Unit], after: list[Unit]) -> None:
        mine = self.spans.setdefault(key, {"old": [], "new": []})
        mine["old"] += [(u.doc, u.start, u.end) for u in before]
        mine["new"] += [(u.doc, u.start, u.end) for u in after]

    def hold(self, key: str, old: list[Unit], new: list[Unit]) -> bool:
        """Whether every unit of a file's entries before and after its change lies inside
        one of those copies."""
        return all(self._within(key, version, u) for version, u in _versions(old, new))

    def apart(self, key: str, old: list[Unit], new: list[Unit]) -> bool:
        """Whether no unit of a file's entries before and after its change does."""
        return not any(self._within(key, version, u) for version, u in _versions(old, new))

    def _within(self, key: str, version: str, unit: Unit) -> bool:
        """Whether a unit lies inside a copy of that version's."""
        spans = self.spans.get(key, {}).get(version, [])
        return any(d == unit.doc and s <= unit.start and unit.end <= e for d, s, e in spans)


def _versions(old: list[Unit], new: list[Unit]) -> Iterator[tuple[str, Unit]]:
    """Each unit of a file's entries before and after a change, with its version."""
    yield from (("old", u) for u in old)
    yield from (("new", u) for u in new)


@dataclass
class Copying:
    """Exact copies of a text found outside, added to a changed file or taken away from
    it, decided without a run: in a corpus read at one level (no unit is inside a removed
    one), with the first unit kept, a text related to no other text (of those it shares
    band keys with outside, none verified related; none in a changed file) is a cluster
    of its copies alone, the first in corpus order its survivor;
    while that cluster is spread over fewer documents than boilerplate needs, every later
    copy is an exact duplicate of it, and adding or taking away one moves nothing else.
    Once files outside the change alone spread it so far (the comment form every post
    carries), it is boilerplate before and after, whichever unit is kept, and every copy
    is kept."""

    outside: Outside
    keys: list[str]  # the corpus's files in corpus order
    work: list[Changed]
    level_count: int
    keep: str
    below: int  # the fewest documents a cluster is boilerplate over, before or after
    changed: int  # files changed: at most that many more or fewer documents hold a text
    survivors: set[tuple[str, int, int]]  # the stored findings' survivors: file key, doc, start
    boilerplate: str  # what is done with it (see `ClusterConfig.boilerplate`)
    saved: CheckState
    resembling: Resembling  # which verifies the texts that meet a copied one
    survivor: dict[bytes, str] = dataclasses.field(default_factory=dict)  # text -> file key
    kept: Kept = dataclasses.field(default_factory=lambda: Kept())  # boilerplate copies moved

    @functools.cached_property
    def order(self) -> dict[str, int]:
        """Corpus order by file key: made when a copy is met (10 ms at 100,000 files)."""
        return {key: number for number, key in enumerate(self.keys)}

    def closed(
        self,
        change: Changed,
        digest: bytes,
        old: list[Unit],
        new: list[Unit],
        level: str,
        levels: Sequence[str],
    ) -> bool:
        """Whether a text copied (or no longer) in a changed file is decided so."""
        before = [u for u in old if u.digest == digest]
        after = [u for u in new if u.digest == digest]
        if any(u.whole for u in (*before, *after)):
            return False  # a whole document: keyed by its raw text if it normalizes to nothing
        # Read at several levels, a unit inside a coarser boilerplate or removed one is out
        # of its level's clusters: a copy added or taken away at one level moves the
        # others.  What is decided still: a copy of boilerplate at the level under the
        # documents (a document is never boilerplate, and one removed is a removed span),
        # and a unit of a finer level inside such a copy, out of its level's clusters.
        top = levels.index(level) == int(levels[0] == "document")
        if self.level_count > 1 and not top:
            return self.kept.hold(change.key, before, after)
        entry = change.new if after else change.old
        assert entry is not None
        text = text_key(digest)
        bands = band_keys(entry, digest, self.resembling.labels)
        count, firsts = self.outside.holding(text)
        held = self.outside.store.entry(firsts[0]) if firsts else None
        span = None if held is None else span_of(held, digest)
        if bands is None or span is None or self._inside(bands, text):
            return False
        raw = self.resembling.read(firsts[0], span)
        if self.resembling.meets(raw, bands, text, levels_of(entry, digest)):
            return False  # related to another text: a cluster of more than its copies
        if self.boilerplate != "remove" and count >= self.below and self._spread(digest, level):
            # Boilerplate before and after, whatever the change: every copy kept (and read
            # at several levels, the units inside them out of their levels' clusters).
            self.kept.add(change.key, before, after)
            return True
        if self.level_count > 1:
            return False
        if self.keep != "first":
            return False
        if before and after:
            return False  # copies left beside those added or taken away
        if count + self.changed >= self.below:
            return False  # boilerplate now, or maybe after
        if before:  # taken away: a copy that no finding named as survivor goes alone
            return not any((change.key, u.doc, u.start) in self.survivors for u in before)
        assert change.file is not None
        first = min(firsts, key=lambda key: self.order.get(key, len(self.order)), default=None)
        if first is None:
            return False
        at = self.order.get(first, len(self.order))
        for other in self.work:  # the first copy, now or before, in a changed file?
            now = other.new
            if now is not None and self.order[other.key] <= at and units_of(now, digest):
                return False
            if other.old is not None and any(
                (other.key, doc, start) in self.survivors
                for doc, start in units_of(other.old, digest)
            ):
                return False
        self.survivor[digest] = first
        return True

    def _inside(self, bands: U64, text: int) -> bool:
        """Whether another text of a changed file, after the change, shares a band key, one
        that no file outside holds (those are verified with the texts outside)."""
        for change in self.work:
            if change.new is not None:
                rows, keys = text_keys(change.new, self.resembling.labels)
                owner = key64(change.new.arrays["texts.digests"])[rows]
                meet = np.unique(owner[np.isin(keys, bands) & (owner != np.uint64(text))])
                if len(meet) and not self.outside.holds(meet).all():
                    return True
        return False

    def _spread(self, digest: bytes, level: str) -> bool:
        """Whether files outside the change hold a text as a part of their document (a
        whole document does not count towards a cluster's spread), as a unit of `level`,
        outside the spans they lose, in as many documents as boilerplate needs (a file is
        a document: the incremental check reads no records)."""
        found = 0
        held = level_key(np.array([text_key(digest)], np.uint64), level)
        for key in self.outside.holding_files(int(held[0])):  # those holding it at `level`
            entry = self.outside.store.entry(key)
            if entry is None:
                return False
            removed = self.saved.removed(key)
            found += any(
                u.digest == digest
                and not u.whole
                and not any(r == u.doc and s <= u.start and u.end <= e for r, s, e in removed)
                for u in sequence(entry, level)
            )
            if found >= self.below:
                return True
        return False


def close(change: Changed, outside: Outside, saved: CheckState, copying: Copying) -> None:
    """Note a changed file's stable units and copies; raises Whole if its change is not
    closed (see the module)."""
    name_of = change.file.label if change.file else change.key
    versions = [e for e in (change.old, change.new) if e is not None]
    levels = [name for name in LEVELS if f"{name}.rows" in versions[0].arrays]
    # A text is shared when a file outside the change holds one of its keys.
    shared: set[bytes] = set()
    for entry in versions:
        rows, keys = text_keys(entry, copying.resembling.labels)
        digests = entry.arrays["texts.digests"]
        for number in np.unique(rows[outside.holds(keys)]).tolist():
            shared.add(bytes(digests[number]))
        held = outside.holds(unit_keys(entry))
        shared.update(d for d, out in zip(all_digests(entry, levels), held, strict=True) if out)
    removed = [] if change.old is None else saved.removed(change.key)
    for name in levels:
        old = sequence(change.old, name)
        new = sequence(change.new, name)
        delta = (Counter(u.digest for u in old) - Counter(u.digest for u in new)) + (
            Counter(u.digest for u in new) - Counter(u.digest for u in old)
        )
        copied = {d for d in delta if d in shared}
        for digest in sorted(copied):
            if copying.closed(change, digest, old, new, name, levels):
                continue
            if not copying.resembling.unrelated(change, digest, new):
                raise Whole(
                    f"{name_of}: a {name} added or taken away repeats or resembles one outside"
                )
            copied.discard(digest)  # related to nothing outside: private
            shared.discard(digest)
        change.copies += [  # those of boilerplate have none
            (name, u.row, copying.survivor[u.digest]) for u in new if u.digest in copying.survivor
        ]
        copies = {(u.doc, u.start) for u in new if u.digest in copied}  # the run alone decides none
        stable_old = [u for u in old if u.digest in shared and u.digest not in copied]
        stable_new = [u for u in new if u.digest in shared and u.digest not in copied]
        # The same texts, written the same (the engine compares a text's first raw form),
        # in the same order and documents: their units stand where they stood.
        if [u.written() for u in stable_old] != [u.written() for u in stable_new]:
            raise Whole(f"{name_of}: a {name} repeated or resembled elsewhere was edited or moved")
        # One inside a copy of boilerplate the change adds or takes away leaves its level's
        # clusters, or joins them.
        if not copying.kept.apart(change.key, stable_old, stable_new):
            raise Whole(f"{name_of}: a {name} repeated elsewhere is now in or out of boilerplate")
        # A unit that a coarser one contains is out of its level's clusters once that one
        # goes: a shared unit with finer levels below must stand, before and after.
        for u in stable_old if name != levels[-1] else ():
            if any(r == u.doc and s < u.end and u.start < e for r, s, e in removed):
                raise Whole(f"{name_of}: a {name} repeated elsewhere was removed")
        change.moved[name] = {
            (o.doc, o.start): n.row for o, n in zip(stable_old, stable_new, strict=True)
        }
        change.shared[name] = {(n.doc, n.start) for n in stable_new} | copies
        if name != levels[-1]:
            change.standing[name] = change.shared[name]
