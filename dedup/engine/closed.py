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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from dedup.check import place, repeats
from dedup.config import Config
from dedup.engine.table import COLUMNS
from dedup.engine.verify import verify_texts
from dedup.index import reverse
from dedup.io.check_state import (
    U64,
    CheckState,
    Outside,
    key64,
    text_key,
    text_keys,
    unit_keys,
)
from dedup.io.documents import InputFile, text_document
from dedup.io.store import Entry, Store
from dedup.model import LEVELS
from dedup.titles import Counted

_DOC, _START, _END, _LINE, _WS_BEFORE, _WS_AFTER, _COLUMN = (
    COLUMNS.index(name)
    for name in ("doc", "start", "end", "line", "ws_before", "ws_after", "column")
)


class Whole(Exception):
    """Why the change alone cannot tell the findings: a full check finds them."""


@dataclass
class Changed:
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
    #: Units added that copy a text found earlier outside: (level, row, the survivor's file).
    copies: list[tuple[str, int, str]] = dataclasses.field(default_factory=list)


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
    ) -> bool:
        """Whether a text copied (or no longer) in a changed file is decided so."""
        if self.level_count > 1:
            # A unit inside a coarser boilerplate or removed one is out of its level's
            # clusters: a copy added or taken away at one level moves the others.
            return False
        before = [u for u in old if u.digest == digest]
        after = [u for u in new if u.digest == digest]
        if any(u.whole for u in (*before, *after)):
            return False  # a whole document: keyed by its raw text if it normalizes to nothing
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
        if self.boilerplate != "remove" and count >= self.below and self._spread(digest):
            return True  # boilerplate before and after, whatever the change: every copy kept
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

    def _spread(self, digest: bytes) -> bool:
        """Whether files outside the change hold a text as a part of their document (a
        whole document does not count towards a cluster's spread), outside the spans they
        lose, in as many documents as boilerplate needs (a file is a document: the
        incremental check reads no records)."""
        found = 0
        for key in self.outside.holding_files(text_key(digest)):
            entry = self.outside.store.entry(key)
            if entry is None:
                return False
            removed = self.saved.removed(key)
            found += any(
                u.digest == digest
                and not u.whole
                and not any(r == u.doc and s <= u.start and u.end <= e for r, s, e in removed)
                for name in LEVELS
                if f"{name}.rows" in entry.arrays
                for u in sequence(entry, name)
            )
            if found >= self.below:
                return True
        return False


#: Texts outside a change, at most, that an added text is verified against before its
#: change is left to a full check (each is read from its file).
RESEMBLING_MAX = 64
#: Files outside, at most, searched for a text at a level of the one it meets.
HOLDERS_MAX = 16


@dataclass
class Resembling:
    """Texts added that resemble texts outside the change only by LSH band keys (no file
    outside holds the text itself): each is verified exactly against every text outside
    that shares one of its band keys, by the engine's own verification (read from its file
    as the engine reads it).  A text related to none of them is as good as private: no
    unit outside is related to it, so its clusters lie wholly inside the changed files.
    That is the usual new page: its byline or date line templated like every other post's
    (other facts: not duplicates), its paragraphs on the same topic as others."""

    outside: Outside
    store: Store
    config: Config
    file_of: Callable[[str], InputFile]  # a file outside, by key
    labels: Counted  # the counts of labelled titles' parts (see `titles`)
    verdicts: dict[bytes, bool] = dataclasses.field(default_factory=dict)

    def unrelated(self, change: Changed, digest: bytes, new: list[Unit]) -> bool:
        """Whether a text that `change` adds is related to no text outside it."""
        if digest not in self.verdicts:
            self.verdicts[digest] = self._unrelated(change, digest, new)
        return self.verdicts[digest]

    def _unrelated(self, change: Changed, digest: bytes, new: list[Unit]) -> bool:
        unit = next((u for u in new if u.digest == digest), None)
        if unit is None or change.new is None or change.file is None:
            return False  # taken away: its text cannot be read any more
        text = text_key(digest)
        bands = band_keys(change.new, digest, self.labels)
        if bands is None or self.outside.holds(np.array([text], np.uint64))[0]:
            return False  # a copy of a text outside
        raw = text_document(change.file, self.config.input).text[unit.start : unit.end]
        return not self.meets(raw, bands, text, levels_of(change.new, digest))

    def meets(self, raw: str, bands: U64, text: int, levels: set[str]) -> bool:
        """Whether a text (its raw form, band keys, key, and the levels it is a unit of) is
        related to a text outside the change that shares one of its band keys and a level
        (each level compares its own texts), or may be: too many to verify, or one that
        cannot be read."""
        texts = [raw]
        for other in self.outside.neighbours(bands, text):
            # A file outside that holds it at one of these levels (none: held inside the
            # change only, which the run alone verifies, or a unit of other levels only,
            # never compared with this one).
            for number, key in enumerate(self.outside.holding_files(other)):
                entry = self.store.entry(key)
                if entry is None or number == HOLDERS_MAX or len(texts) > RESEMBLING_MAX:
                    return True  # cannot tell
                span = span_of(entry, other, levels)
                if span is not None:
                    texts.append(self.read(key, span))
                    break
        pairs = [(0, n) for n in range(1, len(texts))] + [(n, 0) for n in range(1, len(texts))]
        threshold = self.config.minhash.threshold
        return any(
            found.relation is not None or reverse(found, threshold).relation is not None
            for found in verify_texts(texts, pairs, self.config, self.labels)
        )

    def read(self, key: str, span: tuple[int, int]) -> str:
        """A span of a file outside the change (by key), read as the engine reads it."""
        return text_document(self.file_of(key), self.config.input).text[span[0] : span[1]]


def band_keys(entry: Entry, digest: bytes, labels: Counted) -> U64 | None:
    """The band keys of a text of a file's entry (None if the entry has no such text),
    with the corpus's counts of labelled titles' parts (see `check_state.entry_spaces`)."""
    rows, keys = text_keys(entry, labels)
    number = np.flatnonzero(
        (entry.arrays["texts.digests"] == np.frombuffer(digest, np.uint8)).all(axis=1)
    )
    if len(number) != 1:
        return None
    found: U64 = keys[(rows == number[0]) & (keys != np.uint64(text_key(digest)))]
    return found


def levels_of(entry: Entry, digest: bytes | int) -> set[str]:
    """The levels a text (by its exact key, or its first 8 bytes) is a compared unit of in
    a file's entry."""
    found: set[str] = set()
    for name in LEVELS:
        if f"{name}.rows" in entry.arrays and span_of(entry, digest, {name}) is not None:
            found.add(name)
    return found


def span_of(
    entry: Entry, text: bytes | int, levels: set[str] | None = None
) -> tuple[int, int] | None:
    """The (start, end) of a compared unit of a text (by its exact key, or its first 8
    bytes), at one of `levels` (any if None), in a file's entry of one document."""
    digests = entry.arrays["texts.digests"]
    number = text_key(text) if isinstance(text, bytes) else text
    for key in digests[key64(digests) == np.uint64(number)]:
        for row in _rows_of(entry, bytes(key), levels)[:1]:
            return int(row[_START]), int(row[_END])
    return None


def units_of(entry: Entry, digest: bytes) -> list[tuple[int, int]]:
    """(document, start) of a file's compared units of a text, at any level."""
    return [(int(row[_DOC]), int(row[_START])) for row in _rows_of(entry, digest)]


def _rows_of(entry: Entry, digest: bytes, levels: set[str] | None = None) -> list[Any]:
    """The rows of a file's compared units of a text, at `levels` (any if None), level by
    level from the coarsest."""
    key = np.frombuffer(digest, np.uint8)
    found: list[Any] = []
    for name in LEVELS:
        if f"{name}.rows" in entry.arrays and (levels is None or name in levels):
            mask = entry.arrays[f"{name}.mask"].astype(bool)
            same = (entry.arrays[f"{name}.digests"] == key).all(axis=1) & mask
            found += list(entry.arrays[f"{name}.rows"][same])
    return found


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
            if copying.closed(change, digest, old, new):
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


def all_digests(entry: Entry, levels: Sequence[str]) -> list[bytes]:
    """The digests of an entry's compared units, every level, in `_unit_keys` order."""
    return [
        bytes(d)
        for name in levels
        for d in entry.arrays[f"{name}.digests"][entry.arrays[f"{name}.mask"].astype(bool)]
    ]


class Unit(NamedTuple):
    """A compared unit of a changed file's entry, at one level."""

    digest: bytes  # its text's exact key
    raw: int  # the hash of its raw text
    doc_id: str
    whole: bool  # it is its whole document
    doc: int  # its document among the file's
    start: int
    end: int
    row: int  # its row in the entry's level

    def written(self) -> tuple[bytes, int, str, bool]:
        """What must not change for the unit of a shared text to stand where it stood."""
        return self.digest, self.raw, self.doc_id, self.whole


def sequence(entry: Entry | None, level: str) -> list[Unit]:
    """An entry's compared units of a level, in order."""
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
            Unit(
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
