"""Stage 3, verify: candidate pairs in, the evidence of each pair out, exact.

Workers re-read the candidate texts in batches of connected candidates and verify every
pair exactly (`evidence.verify_related`): `verify_batch`.  A pair of texts verified at a
coarser level takes the evidence found there.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from dedup.columns import numbers_type
from dedup.config import Config
from dedup.engine.candidates import Memo, candidates, code, neighbours_of, pair_batches
from dedup.engine.children import Child, LinkPlace, repeated
from dedup.engine.evidence import verify_related
from dedup.engine.places import KeyPlace, read_places, read_spans
from dedup.engine.table import I64, Progress, Table
from dedup.index import reverse
from dedup.io.texts import SHORT
from dedup.model import REMOVING, Evidence
from dedup.normalize import normalize_many
from dedup.order import distinct
from dedup.parallel import Workers
from dedup.titles import Counted

logger = logging.getLogger(__name__)

#: Per level: the pairs found related, as key -> its related keys, and their evidence.
Verified = tuple[dict[int, list[int]], "BothWays"]
#: Per level: the related pairs, as (first unit of a, first unit of b, evidence).
Related = list[tuple[int, int, Evidence]]


#: Of a document-level batch whose members' children are guessed: each key's place in
#: keep order, as `cluster.clusters` visits them.
Ranks = list[int] | None
#: The children a verify batch found for a member it guessed the survivor of: (member
#: key, survivor key, its children as `children.repeated` gives them); and the texts of
#: those members and survivors, for the report to quote (see `quote.EarlyQuotes.given`):
#: (key, text), a long one as UTF-8.
Guessed = tuple[list[tuple[int, int, list[Child] | None]], list[tuple[int, str | bytes]]]


def verify_batch(
    batch: tuple[list[KeyPlace], list[tuple[int, int]], Ranks],
    config: Config,
    labels: Counted | None = None,
) -> tuple[list[tuple[int, int, Evidence]], I64, Guessed]:
    """Exact evidence of candidate pairs of keys: the batch's units (key, document, span)
    are read once each, and each pair verified (`evidence.verify_related`).  The related
    pairs come back with their evidence, the others (most candidates of a large corpus) as
    rows of an array: their evidence is never made, and sent back it was most of the
    answer.

    With `ranks` (documents, whose paragraphs the children check finds itself), the
    documents read are also checked for the children of near duplicates, each against
    the survivor `cluster.clusters` would choose among the batch's texts (`_guessed`):
    the children check then need not read them again (100,000 French documents: 12,612
    links, every one guessed right)."""
    units, pairs, ranks = batch
    spans = [(place, start, end) for _, place, start, end in units]
    whole = None
    if ranks is None:
        raw = read_spans(spans, config)
    else:  # whole documents, for the children check; a unit is one, but white space
        whole = read_places([place for place, _, _ in spans], config)
        raw = [text[start:end] for text, (_, start, end) in zip(whole, spans, strict=True)]
    at = {key: i for i, (key, _, _, _) in enumerate(units)}
    norms = normalize_many(raw, config.normalize)
    places, found = verify_related(raw, [(at[a], at[b]) for a, b in pairs], config, labels, norms)
    keys = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    unrelated = np.ones(len(keys), dtype=bool)
    unrelated[places] = False
    related = [
        (a, b, evidence) for (a, b), evidence in zip(keys[places].tolist(), found, strict=True)
    ]
    guessed: Guessed = [], []
    if ranks is not None and whole is not None:
        guessed = _guessed(units, ranks, related, _Read(at, raw, whole, norms), config)
    return related, keys[unrelated], guessed


class _Read(NamedTuple):
    """A verify batch's texts, each key's at its place (`at`): its unit, its document,
    and its unit normalized."""

    at: dict[int, int]
    raw: list[str]
    whole: list[str]
    norms: list[str]


def _guessed(
    units: list[KeyPlace],
    ranks: list[int],
    related: list[tuple[int, int, Evidence]],
    read: _Read,
    config: Config,
) -> Guessed:
    """The children of each near duplicate of a batch of documents that its likely
    survivor repeats: of the texts before it in keep order that it duplicates, the one
    `cluster.clusters` links it to while they all survive (highest Jaccard, then first).
    With them, the texts of those duplicates and survivors."""
    at = read.at
    threshold = config.minhash.threshold
    best: dict[int, tuple[float, int, int, Evidence]] = {}  # member -> its likely survivor
    for a, b, evidence in related:
        if ranks[at[a]] > ranks[at[b]]:
            a, b, evidence = b, a, reverse(evidence, threshold)
        if evidence.relation not in REMOVING:
            continue
        score = (evidence.jaccard, -ranks[at[a]], a, evidence)
        if b not in best or score[:2] > best[b][:2]:
            best[b] = score
    items: list[LinkPlace] = []
    survivors: list[int] = []
    texts: list[str] = []
    quoted: dict[int, str | bytes] = {}
    for member, (_, _, survivor, evidence) in best.items():
        for key in (member, survivor):
            if key not in quoted:
                text = read.raw[at[key]]
                quoted[key] = text if len(text) < SHORT else text.encode("utf-8")
        if evidence.relation == "exact":  # an exact copy goes whole: no children
            continue
        (_, kept, ks, ke), (_, place, ms, me) = units[at[survivor]], units[at[member]]
        items.append((member, kept, (ks, ke), place, (ms, me), None))
        survivors.append(survivor)
        texts += [read.whole[at[survivor]], read.whole[at[member]]]
    norms = [read.norms[at[survivor]] for survivor in survivors]
    found = repeated(items, texts, "document", config, norms)
    children = [
        (member, survivor, kept) for (member, kept), survivor in zip(found, survivors, strict=True)
    ]
    return children, list(quoted.items())


class BothWays(Mapping[tuple[int, int], Evidence]):
    """Verified pairs, stored once (earlier key first) and read in either order; a pair
    read the other way is turned once (clustering reads a pair again for each copy of a
    removed text: 1.0 s of 100,000 French documents' clustering turned them anew)."""

    def __init__(self, found: dict[tuple[int, int], Evidence], threshold: float) -> None:
        self.found = found
        self.threshold = threshold
        self.turned: dict[tuple[int, int], Evidence] = {}

    def __getitem__(self, pair: tuple[int, int]) -> Evidence:
        a, b = pair
        if a < b:
            return self.found[a, b]
        turned = self.turned.get(pair)
        if turned is None:
            turned = self.turned[pair] = reverse(self.found[b, a], self.threshold)
        return turned

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for a, b in self.found:
            yield a, b
            yield b, a

    def __len__(self) -> int:
        return 2 * len(self.found)


class Verifier:
    """Stage 3 for `resolve`, a level at a time: a level's candidate pairs verified by the
    workers once the levels above are resolved, and their evidence.

    A unit inside a unit already removed takes no part in its level (`resolve`), so its
    pairs are never read: only the pairs of two texts that are units taking part are
    verified.  Most candidates of the finer levels lie inside documents and paragraphs
    removed above them: 145,162 sentence candidates of 20,000 French documents, 57,837
    taking part; 2.05 million of 100,000, 0.89 million (#27).  A pair of texts verified
    at one level is not verified again at another (`Known`), and a pair no decision
    reads is not verified unless every pair is to be listed (`read_ones`).  Candidates
    are found for every level first: the band keys are then freed.
    """

    def __init__(
        self,
        table: Table,
        workers: Workers,
        progress: Progress,
        on_texts: Callable[[int, list[int], list[str | bytes]], None] = lambda *_: None,
    ) -> None:
        """`on_texts` is told the texts of units read to guess their children: (level,
        units, texts), a long one as UTF-8 (see `verify_batch`)."""
        self.table = table
        self.workers = workers
        self.progress = progress
        self.on_texts = on_texts
        memo: Memo = {}
        self.pairs: list[I64 | None] = []
        for li, level in enumerate(table.levels):
            above = self.pairs[-1] if self.pairs else None
            coarser = table.levels[li - 1] if li else None
            if (
                above is not None
                and coarser is not None
                and np.array_equal(level.texts, coarser.texts)
                and np.array_equal(level.marks, coarser.marks)
            ):
                # Its keys are the level above's texts, in order, with their number marks
                # (one-line records): so are its candidates, not looked for again.
                level.candidate_pairs = coarser.candidate_pairs
                self.pairs.append(above)
                continue
            pairs = candidates(table, li, memo)
            if above is not None and np.array_equal(pairs, above):
                pairs = above  # the same pairs as the level above's: held once
            self.pairs.append(pairs)
        for space in table.texts.spaces.values():  # the band keys: no stage needs them now
            for columns in space.blocks:
                columns.close()
        table.texts.spaces.clear()
        self.known = Known(table.config.minhash.threshold)
        self.related: list[Related] = []  # per level, as `level` verifies them
        self.verified = 0  # pairs verified or known, for the progress line
        # The children of near duplicates the last level's verification found, by
        # (member key, survivor key): see `verify_batch`.
        self.guessed: dict[tuple[int, int], list[Child] | None] = {}

    def level(self, li: int, units: I64) -> Verified:
        """The neighbours and evidence `cluster.clusters` reads for level `li`, whose
        units taking part are `units`."""
        table, level = self.table, self.table.levels[li]
        a = level.arrays
        pairs = self.pairs[li]
        self.pairs[li] = None
        assert pairs is not None
        taking_part = np.zeros(len(level.texts), dtype=bool)
        taking_part[a["key"][np.asarray(units, dtype=np.int64)]] = True
        pairs = pairs[taking_part[pairs[:, 0]] & taking_part[pairs[:, 1]]]
        related, verified_before, fresh = self.known.take(level.texts, pairs)
        self.verified += verified_before
        key_unit = level.key_unit
        chars = a["end"][key_unit] - a["start"][key_unit]  # of each key's text

        def places(keys: list[int]) -> list[KeyPlace]:
            """Each key, and where its text is (its first unit's document and span)."""
            at = key_unit[keys]
            return list(
                zip(
                    keys,
                    table.places(a["doc"][at]),
                    *(a[c][at].tolist() for c in ("start", "end")),
                    strict=True,
                )
            )

        @functools.cache
        def in_keep_order() -> tuple[Places, Places]:
            """Of each text, the places of its first and last copies among `units`."""
            return firsts_and_lasts(a["key"], units)

        # The children check finds a document's paragraphs itself where no level below
        # has them: there, the documents verification reads are checked for children too.
        ranks = None
        if level.name == "document" and all(
            below.name != "paragraph" for below in table.levels[li + 1 :]
        ):
            ranks = in_keep_order()[0]
        labels = Counted(table.texts.labels)
        work = functools.partial(verify_batch, config=table.config, labels=labels)
        threshold = table.config.minhash.threshold
        unrelated: list[I64] = []  # pairs of keys, a batch's rows each
        finer = li + 1 < len(table.levels)  # a finer level may meet these pairs again

        def batches(these: I64) -> Iterator[tuple[list[KeyPlace], list[tuple[int, int]], Ranks]]:
            for keys, batch in pair_batches(these, chars):
                yield places(keys), batch, None if ranks is None else ranks[keys].tolist()

        def verify(these: I64) -> None:
            for found, others, (guessed, texts) in self.workers.map(work, batches(these)):
                for member, survivor, kept in guessed:
                    self.guessed[member, survivor] = kept
                if texts:
                    keys, quoted = zip(*texts, strict=True)
                    self.on_texts(li, key_unit[list(keys)].tolist(), list(quoted))
                related.update(((x, y), evidence) for x, y, evidence in found)
                if finer:  # kept for it (the last level's: 32 MB of 100,000 documents')
                    unrelated.append(others)
                self.verified += len(found) + len(others)
                self.progress("candidates verified", self.verified)

        unread = 0
        if table.config.output.pairs:  # every pair is to be listed: every pair verified
            verify(fresh)
        else:
            unread = read_ones(pairs, fresh, *in_keep_order(), related, verify, threshold)
        logger.info(
            "%s: %d candidate pairs taking part, %d verified or known, %d that no decision reads",
            level.name,
            len(pairs),
            len(pairs) - unread,
            unread,
        )
        if finer:
            self.known.add(
                level.texts,
                related,
                np.concatenate(unrelated) if unrelated else np.empty((0, 2), dtype=np.int64),
            )
        del fresh
        unrelated.clear()
        found = sorted(related.items())
        found_pairs = np.array([pair for pair, _ in found], np.int64).reshape(-1, 2)
        # Each pair's first units (a list of every key's took 110 MB for 100,000 documents).
        firsts = key_unit[found_pairs].tolist()
        self.related.append([(x, y, ev) for (x, y), (_, ev) in zip(firsts, found, strict=True)])
        return neighbours_of(found_pairs), BothWays(related, threshold)


def read_ones(
    pairs: I64,
    fresh: I64,
    rank: Places,
    last: Places,
    related: dict[tuple[int, int], Evidence],
    verify: Callable[[I64], None],
    threshold: float,
) -> int:
    """Verify the fresh pairs of a level that its clustering reads, in two waves, and
    return how many were left out.

    `cluster.clusters` visits the units in keep order, each against the texts that
    survive by then: a text is read against another when that one survives and comes
    before the first copy of the text (or before a later copy, if the text is removed).
    A text with no candidate before it survives: its pairs are verified first, and a
    text they relate to it as a duplicate is removed.  Then every other pair is verified
    but those such a text comes first in, with the other text removed too or coming
    only after its last copy: no visit reads them.  Near copies of one paragraph on a
    hundred pages are 99 pairs, not 4,851.  `rank` and `last`: each text's first and last
    places among the units in keep order (see `firsts_and_lasts`).
    """
    size = len(rank)

    def in_order(these: I64) -> tuple[I64, I64]:
        a, b = these[:, 0], these[:, 1]
        ahead = rank[a] <= rank[b]
        return np.where(ahead, a, b), np.where(ahead, b, a)

    later = np.zeros(size, dtype=bool)  # a text with a candidate before it
    later[in_order(pairs)[1]] = True
    e, l_ = in_order(fresh)
    first_wave = ~later[e]
    verify(fresh[first_wave])
    removed = np.zeros(size, dtype=bool)
    both = BothWays(related, threshold)
    for x, y in related:
        if rank[x] > rank[y]:
            x, y = y, x
        if not later[x] and both[x, y].relation in REMOVING:
            removed[y] = True
    unread = removed[e] & (removed[l_] | (last[e] < rank[l_]))
    second = ~first_wave & ~unread
    verify(fresh[second])
    return int((~first_wave & unread).sum())


#: Places in keep order, one a text.
Places = npt.NDArray[np.signedinteger[Any]]


def firsts_and_lasts(keys: I64, units: I64) -> tuple[Places, Places]:
    """Of each text (`keys`: of every unit), the place of its first copy and of its last
    among `units` (in keep order; 0 for a text none has), int32 while they fit."""
    order = keys[np.asarray(units, dtype=np.int64)]
    size = int(keys.max(initial=0)) + 1
    place = numbers_type(len(order))
    # Unbuffered ufunc.at, not np.unique's stable sorts (4.5 million units: 1.7 s).
    at = np.arange(len(order), dtype=place)
    first: Places = np.full(size, len(order), dtype=place)
    np.minimum.at(first, order, at)
    first[first == len(order)] = 0  # a text no unit taking part has
    last: Places = np.zeros(size, dtype=place)
    np.maximum.at(last, order, at)
    return first, last


class Known:
    """The pairs of texts verified so far, at any level: verification depends on the
    texts alone, so a pair of texts that are units of several levels (a paragraph that
    is its section, a sentence that is its paragraph, a record that is one sentence) is
    verified at the first and its evidence taken at the others.

    Texts are numbered across levels (`Table.texts`).  Related pairs keep their
    evidence, the earlier text first; unrelated ones, most candidates of a large
    corpus, one number a pair.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.related: dict[int, Evidence] = {}  # by code of the pair of texts
        self.related_codes: I64 = np.empty(0, np.int64)  # sorted
        self.unrelated: I64 = np.empty(0, np.int64)  # sorted codes of pairs of texts

    def take(self, texts: I64, pairs: I64) -> tuple[dict[tuple[int, int], Evidence], int, I64]:
        """For a level's candidate pairs of keys (`texts` their texts): the evidence of
        those known related, the number known unrelated, and the pairs left to verify."""
        tx, ty = texts[pairs[:, 0]], texts[pairs[:, 1]]
        codes = code(np.minimum(tx, ty), np.maximum(tx, ty))
        unrelated = _among(self.unrelated, codes)
        related = _among(self.related_codes, codes)
        found: dict[tuple[int, int], Evidence] = {}
        for n in np.flatnonzero(related).tolist():
            evidence = self.related[int(codes[n])]
            if tx[n] > ty[n]:
                evidence = reverse(evidence, self.threshold)
            found[int(pairs[n, 0]), int(pairs[n, 1])] = evidence
        return found, int(unrelated.sum()) + len(found), pairs[~(unrelated | related)]

    def add(self, texts: I64, related: dict[tuple[int, int], Evidence], unrelated: I64) -> None:
        """Remember a level's verified pairs of keys (`texts` their texts)."""
        for (a, b), evidence in related.items():
            x, y = int(texts[a]), int(texts[b])
            if x > y:
                x, y, evidence = y, x, reverse(evidence, self.threshold)
            self.related.setdefault(int(code(x, y)), evidence)
        self.related_codes = np.sort(np.fromiter(self.related, dtype=np.int64))
        tx, ty = texts[unrelated[:, 0]], texts[unrelated[:, 1]]
        fresh = code(np.minimum(tx, ty), np.maximum(tx, ty))
        if len(fresh):
            self.unrelated = distinct(np.concatenate((self.unrelated, fresh)))


def _among(sorted_codes: I64, codes: I64) -> npt.NDArray[np.bool_]:
    """Which of `codes` are in `sorted_codes`."""
    if not len(sorted_codes):
        return np.zeros(len(codes), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_codes, codes), len(sorted_codes) - 1)
    found: npt.NDArray[np.bool_] = sorted_codes[at] == codes
    return found
