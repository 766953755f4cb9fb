"""The check, in time that follows the change: findings of the whole corpus, with only the
changed files read and fingerprinted when that is enough to know them.

A full check (a `run` over the whole corpus, with the index) leaves in the index what the
next check needs: every finding with the places of its two units, the spans each file
loses, the corpus's document count, and, beside the index, the *postings*: the exact key
and LSH band keys of every text, with the files that hold them.  The next check finds the
files changed since (size and mtime, then content hash), and when the change is *closed*
(`closed.close`) it reads and fingerprints only those:

- every text the change adds or takes away, at any level, is *private*: no file outside
  the change holds it or shares an LSH band key with it, so no unit outside is its
  candidate, and its clusters lie wholly inside the changed files;
- or a text added shares band keys with texts outside, but not the text itself, and the
  engine's verification relates it to none of them (a byline templated like every other
  post's, a paragraph on the same topic): as good as private;
- or, in a corpus read at one level, an exact copy of a text related to no other text,
  added after the text's first unit or taken away (not the first), in a cluster too
  small for boilerplate: an exact duplicate of the first, decided without a run; or in a
  cluster that files outside the change make boilerplate: kept;
- every other unit of a changed file whose text is shared is *stable*: the same texts,
  written the same, in the same order and documents, and, where finer levels follow,
  neither removed nor cut before or after the change;
- the boilerplate rule draws its line at the same number of documents.

Then no decision outside the change moves, and a run of the engine over the changed files
alone (counting the corpus's documents for the boilerplate share) decides the private
units as the whole run would.  The findings are the stored ones of the other files, with
the places of stable units read again from their files' new rows, the copies', and the
new run's findings of private units.  Only the stored findings of the changed files are
read and written again, and only the keys they gain or lose are accounted again against
the baseline (`io/stored_findings.py`): what the check tells is the findings stored as new.
Anything else (a changed text related to one outside, postings too far behind the index)
is a full check, which stores its findings for the next one.  The same findings either
way: `tests/test_incremental.py` compares the two over random edit sequences.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.check import NO_BASELINE, Baseline, Checked, Finding, code_of, findings, place, repeats
from dedup.config import Config
from dedup.engine.closed import Copying, Whole, close, cuts, moved, place_of
from dedup.engine.entries import Changed
from dedup.engine.fingerprint import changes, fingerprint_files
from dedup.engine.resembling import Resembling
from dedup.engine.run import index_params, run
from dedup.engine.table import COLUMNS
from dedup.io.check_state import CheckState, Outside, Stale, key64
from dedup.io.documents import InputFile
from dedup.io.packed import CODECS
from dedup.io.readers import STDIN, Listings, expand
from dedup.io.stat import Ahead
from dedup.io.store import Store
from dedup.io.stored_findings import Placed
from dedup.model import Result
from dedup.titles import META, Counted, settled

logger = logging.getLogger(__name__)

#: Files changed since the postings were made, at most, before a full check makes them anew.
DIRTY_MAX = 256
#: File names read as records, in a list of names a line each (any case; a few more than
#: the readers take: a name that is only the suffix), compressed ones too, by the suffixes
#: `packed` reads (see `readers.is_jsonl`).
_PACKED = "|".join(re.escape(suffix[1:]) for suffix in CODECS)
_RECORDS = re.compile(
    rf"\.(?:(?:jsonl|ndjson)(?:\.(?:{_PACKED}))?|json\.(?:{_PACKED})|parquet)\n", re.IGNORECASE
)
_DOC, _START, _END, _LINE, _WS_BEFORE, _WS_AFTER, _COLUMN = (
    COLUMNS.index(name)
    for name in ("doc", "start", "end", "line", "ws_before", "ws_after", "column")
)


def check(
    paths: Sequence[str], config: Config, index: Path | None, baseline: Baseline = NO_BASELINE
) -> Checked:
    """The findings of the corpus at `paths` that `baseline` does not accept, as a full
    check finds them; with `index`, from the changed files alone when the change allows
    it (see the module)."""
    if index is None:
        return Checked.of(findings(run(paths, config), config.normalize), baseline)
    try:
        before: dict[str, Any] = {}
        try:
            with Store(index, index_params(config)) as store:
                store.db.execute("BEGIN")  # every read from one snapshot of the index
                try:
                    before = CheckState(store).state() or {}
                    return _incremental(paths, config, store, baseline)
                finally:
                    if store.db.in_transaction:
                        store.db.rollback()
        except (Whole, Stale) as exc:
            logger.info("checking the whole corpus: %s", exc)
        result = run(paths, config, index=index)
        found = findings(result, config.normalize)
        checked = Checked.of(found, baseline)
        if STDIN not in paths:
            with Store(index, index_params(config)) as store:
                saved = CheckState(store)
                _save(saved, paths, config, result, found, before.get("generation"), baseline)
        return checked
    except sqlite3.Error as exc:  # locked by another run for too long, say
        logger.warning("%s: %s: checking the whole corpus without it", index, exc)
        return Checked.of(findings(run(paths, config), config.normalize), baseline)


def _save(
    saved: CheckState,
    paths: Sequence[str],
    config: Config,
    result: Result,
    found: list[Finding],
    before: str | None,
    baseline: Baseline,
) -> None:
    """Store what a full check found, for the next one, unless another check stored its
    own since this one began (`before`: the generation then)."""
    listings = saved.listings()
    listing = _listed(paths, config, listings)
    saved.keep(listings)
    if _RECORDS.search("\n".join(listing.names) + "\n"):
        return  # records: every check is a full one (see `_incremental`)
    keys = listing.keys
    labels = listing.labels()
    label_key = dict(zip(labels, keys, strict=True))
    held = saved.store.entries(set(keys))
    if any(held.get(key) is None for key in keys):
        return  # the index changed under the run: the next check is a full one
    removed: dict[str, list[list[int]]] = {}
    for doc in result.documents:
        for start, end in doc.removed:
            removed.setdefault(label_key[doc.path], []).append([doc.record, start, end])
    corpus = _corpus_params(paths, config)
    entries = [held[k] for k in keys]
    saved.save(keys, label_key, entries, found, removed, corpus, before, baseline)  # type: ignore[arg-type]


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


def _listed(paths: Sequence[str], config: Config, listings: Listings) -> _Listing:
    """The corpus's files (see `_Listing`), from the `listings` kept where the folders
    stand; a key is `os.path.abspath` of the file's label, made once a folder."""
    listing = _Listing([], [], [])
    for given in paths:
        prefix, names = expand(given, config.input, listings)
        listing.prefixes.append((len(listing.names), prefix))
        listing.names += names
        if not prefix or prefix.endswith(os.sep):  # a folder's, or the working folder's
            absolute = os.path.join(os.path.abspath(prefix or os.curdir), "")
            listing.keys += [absolute + name for name in names]
        else:
            listing.keys += [os.path.abspath(prefix + name) for name in names]
    return listing


def _corpus_params(paths: Sequence[str], config: Config) -> dict[str, Any]:
    """What the stored findings depend on beyond the fingerprints: the paths in their
    order (the corpus order) and every option."""
    return {"paths": list(paths), "options": config.as_dict()}


# --- the incremental check -----------------------------------------------------------


def _incremental(paths: Sequence[str], config: Config, store: Store, baseline: Baseline) -> Checked:
    """What the check tells, from the changed files alone; raises Whole when a full check
    must tell it."""
    saved = CheckState(store)
    state = saved.state()
    if state is None:
        raise Whole("no findings stored by a full check with these options")
    if state.get("corpus") != _corpus_params(paths, config) or STDIN in paths:
        raise Whole("other paths or options than the last full check")
    beside = saved.beside()
    seen = beside.paths()
    listings = saved.listings()
    with Ahead(seen) as ahead:  # half of the stats while the listing is read
        listing = _listed(paths, config, listings)
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
    if not content and not deleted and state.get("baseline") == baseline.digest:
        told = saved.findings.checked()
        store.db.rollback()  # the snapshot: now the stamps of files touched, not changed
        store.touch(touched_only)
        saved.keep(listings)
        return told
    touched = {keys[i] for i in content} | set(deleted)
    stored = saved.findings.touching(touched)
    if len(dirty | touched) > DIRTY_MAX:
        raise Whole(f"more than {DIRTY_MAX} files changed since the last full check")
    files = {i: listing.file(i) for i in content}
    made = fingerprint_files([(files[i], content[i]) for i in content], config)
    work = [
        Changed(keys[i], files[i], store.entry(keys[i]), new, (int(stats[i, 0]), int(stats[i, 1])))
        for i, new in zip(content, made, strict=True)
    ] + [Changed(key, None, store.entry(key), None) for key in deleted]
    if any(c.old is None and store.stamp(c.key) is not None for c in work):
        raise Whole("a damaged entry")
    labels = saved.labels()
    counted = Counted(labels)
    outside = beside.outside(dirty | touched, dirty - touched, counted)
    docs, below = _corpus_docs(state, work, config)
    rule = config.cluster
    levels = len(config.segment.levels)
    survivors = {(key, f.survivor_at[1], f.survivor_at[2]) for _, key, f in stored}
    # A file outside is read by its number in corpus order, which Copying makes once.
    if not all(settled(_titles_changed(change, outside), counted) for change in work):
        raise Whole("a labelled title whose parts are counted nearly as often as each other")
    resembling = Resembling(
        outside, store, config, lambda key: listing.file(copying.order[key]), counted
    )
    copying = Copying(
        outside,
        keys,
        work,
        levels,
        rule.keep,
        below,
        changed=len(work),
        survivors=survivors,
        boilerplate=rule.boilerplate,
        saved=saved,
        resembling=resembling,
    )
    for change in work:
        close(change, outside, saved, copying)
    found, removed = _alone(work, config, docs, labels)
    found += _copied(work, listing, store, copying)
    placed = _placed(stored, {c.key: c for c in work})
    changed = [(c.key, c.stamp, c.new) for c in work]
    store.db.rollback()  # the snapshot read; the update checks nothing was written since
    checked = saved.update(state, changed, [*placed, *found], removed, docs, baseline)
    if checked is None:
        raise Whole("another check wrote the index meanwhile")
    store.touch(touched_only)
    saved.keep(listings)
    logger.info("checked %d changed files alone (%d stored findings read)", len(work), len(stored))
    return checked


def _titles_changed(change: Changed, outside: Outside) -> npt.NDArray[np.uint64]:
    """The readings of the labelled texts a change adds to the corpus or takes away from
    it: the first META columns of their "title" rows (see `titles`).  A text that files
    outside the change hold before and after (the share bar of every page) moves no
    count: a part is counted once a text that holds it."""
    held = [entry for entry in (change.old, change.new) if entry is not None]
    texts = [{bytes(d) for d in entry.arrays["texts.digests"]} for entry in held]
    moved = texts[0] ^ texts[1] if len(texts) == 2 else texts[0]
    found = [np.empty((0, META), dtype=np.uint64)]
    for entry in held:
        if "texts.title.rows" in entry.arrays:
            digests = entry.arrays["texts.digests"]
            rows = entry.arrays["texts.title.rows"].reshape(-1)
            mine = np.array([bytes(digests[r]) in moved for r in rows.tolist()], dtype=bool)
            mine[mine] = ~outside.holds(key64(digests[rows[mine]]))
            found.append(entry.arrays["texts.title.bands"][mine, :META])
    return np.concatenate(found)


def _corpus_docs(state: dict[str, Any], work: list[Changed], config: Config) -> tuple[int, int]:
    """The corpus's documents after the change, and the fewest documents a cluster is
    boilerplate over; raises Whole if the boilerplate share draws that line at another
    number than before the change."""
    old = sum(len(c.old.docs["docs"]) for c in work if c.old)
    new = sum(len(c.new.docs["docs"]) for c in work if c.new)
    docs = int(state["docs"]) - old + new
    rule = config.cluster
    lines = [rule.boilerplate_line(count) for count in (int(state["docs"]), docs)]
    if lines[0] != lines[1]:
        raise Whole("the boilerplate share now draws its line at another number of documents")
    return docs, lines[1]


def _alone(
    work: list[Changed], config: Config, docs: int, labels: dict[int, int]
) -> tuple[list[Placed], dict[str, list[list[int]]]]:
    """The findings of private units, and the spans the changed files lose, from a run
    over the changed files alone (with the corpus's documents and counts of labelled
    titles' parts); raises Whole if that run cuts a unit that must stand."""
    files = {c.file.label: c.file for c in work if c.file is not None}
    if not files:
        return [], {}
    alone = dataclasses.replace(config, run=dataclasses.replace(config.run, jobs=1))
    result = run([], alone, files=list(files.values()), corpus_docs=docs, labels=labels)
    by_label = {c.file.label: c for c in work if c.file is not None}
    removed: dict[str, list[list[int]]] = {}
    for doc in result.documents:
        change = by_label[doc.path]
        for start, end in doc.removed:
            if cuts(change, doc.record, start, end):
                raise Whole(f"{doc.path}: a unit repeated elsewhere is now removed")
            removed.setdefault(change.key, []).append([doc.record, start, end])
    found: list[Placed] = []
    for f in findings(result, config.normalize):
        if (f.unit_at[1], f.unit_at[2]) in by_label[f.unit_at[0]].shared.get(f.unit, ()):
            continue  # a stable unit: its findings are the stored ones
        survivor = by_label[f.survivor_at[0]]
        if (f.survivor_at[1], f.survivor_at[2]) in survivor.shared.get(f.unit, ()):
            raise Whole("a private text met a shared one")  # cannot be
        found.append((by_label[f.unit_at[0]].key, survivor.key, f))
    return found, removed


def _copied(work: list[Changed], listing: _Listing, store: Store, copying: Copying) -> list[Placed]:
    """The findings of the copies added: each an exact duplicate of its text's first unit."""
    found: list[Placed] = []
    for change in work:
        for level, row_number, survivor in change.copies:
            assert change.new is not None and change.file is not None
            member = place_of(change.new, change.file.label, level, row_number)
            entry = store.entry(survivor)
            if entry is None:
                raise Whole(f"{survivor}: not held")
            digest = change.new.arrays[f"{level}.digests"][row_number]
            mask = entry.arrays[f"{level}.mask"].astype(bool)
            same = np.flatnonzero((entry.arrays[f"{level}.digests"] == digest).all(axis=1) & mask)
            label = listing.file(copying.order[survivor]).label
            first = place_of(entry, label, level, int(same[0]))
            code = code_of(level, "exact")
            fingerprint = bytes(digest).hex()
            where = place(member.label, member.record_line, member.line, member.column)
            found.append(
                (
                    change.key,
                    survivor,
                    Finding(
                        *where,
                        code,
                        level,
                        "exact",
                        1.0,
                        member.doc_id,
                        repeats(first.label, first.record_line, first.doc_id, first.line),
                        fingerprint,
                        fingerprint,
                        (member.label, member.record, member.start),
                        (first.label, first.record, first.start),
                    ),
                )
            )
    return found


def _placed(stored: list[Placed], changed: dict[str, Changed]) -> list[Placed]:
    """The stored findings that stand, their units in changed files placed anew."""
    out = []
    for path, survivor, f in stored:
        if path in changed:
            at = moved(changed[path], f.unit, f.unit_at)
            if at is None:
                continue  # a private unit's finding: found again by the run alone, or gone
            f = dataclasses.replace(f, **at.as_unit())
        if survivor in changed:
            at = moved(changed[survivor], f.unit, f.survivor_at)
            if at is None:
                raise Whole("the survivor of a finding kept is not stable")  # cannot be
            f = dataclasses.replace(f, **at.as_survivor())
        out.append((path, survivor, f))
    return out
