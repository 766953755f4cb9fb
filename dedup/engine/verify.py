"""Stage 3, verify: candidate pairs in, the evidence of each pair out, exact.

Workers re-read the candidate texts in batches of connected candidates, normalize and
shingle each once, and verify every pair on exact shingle sets (characters for short
units, word 5-grams for longer ones, then typos and word edits): `verify_batch`.  A pair
of texts verified at a coarser level takes the evidence found there.
"""

from __future__ import annotations

import array
import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.columns import numbers_type
from dedup.config import Config, MinHashConfig
from dedup.edit_keys import SEGMENT_MAX
from dedup.engine.candidates import Memo, candidates, code, neighbours_of, pair_batches
from dedup.engine.table import I64, KeyPlace, Progress, Table, read_spans
from dedup.facts import Facts, differ, facts
from dedup.fingerprint import U32, batch_shingle_sets, char_sets, distinct
from dedup.index import edits_near, reverse, scored, shared_many, typos_apart, words_replaced
from dedup.model import REMOVING, Evidence
from dedup.normalize import normalize_many
from dedup.parallel import Workers
from dedup.titles import Counted, Parts, holds, normalized

logger = logging.getLogger(__name__)

_DIGIT = re.compile(r"\d")

#: Per level: the pairs found related, as key -> its related keys, and their evidence.
Verified = tuple[dict[int, list[int]], "BothWays"]
#: Per level: the related pairs, as (first unit of a, first unit of b, evidence).
Related = list[tuple[int, int, Evidence]]


def verify_batch(
    batch: tuple[list[KeyPlace], list[tuple[int, int]]],
    config: Config,
    labels: Counted | None = None,
) -> tuple[list[tuple[int, int, Evidence]], I64]:
    """Exact evidence of candidate pairs of keys: the batch's units (key, document, span)
    are read once each, and each pair verified (`verify_texts`).  The related pairs come
    back with their evidence, the others (most candidates of a large corpus) as rows of
    an array: their evidence is never read, and sent back it was most of the answer."""
    units, pairs = batch
    raw = read_spans([(place, start, end) for _, place, start, end in units], config)
    at = {key: i for i, (key, _, _, _) in enumerate(units)}
    found = verify_texts(raw, [(at[a], at[b]) for a, b in pairs], config, labels)
    related = []
    unrelated = array.array("q")
    for (a, b), evidence in zip(pairs, found, strict=True):
        if evidence.relation is None:
            unrelated.append(a)
            unrelated.append(b)
        else:
            related.append((a, b, evidence))
    return related, np.frombuffer(unrelated, dtype=np.int64).reshape(-1, 2)


def verify_texts(
    raw: list[str],
    pairs: list[tuple[int, int]],
    config: Config,
    labels: Counted | None = None,
) -> list[Evidence]:
    """Exact evidence of pairs of texts (by number in `raw`, the earlier text first): each
    text normalized and shingled once, and each pair verified in the shingle space both
    share (characters first: short units).  `labels` are the corpus's counts of the parts
    of labelled titles (see `titles`); None: every reading of one holds."""
    norms = normalize_many(raw, config.normalize)
    words = [norm.count(" ") + 1 for norm in norms]
    sets: list[dict[str, U32]] = [{} for _ in raw]
    for space, shingled in batch_shingle_sets(norms, config.minhash).items():
        for i, unit in enumerate(shingled.units.tolist()):
            sets[unit][space] = shingled[i]
    m = config.minhash
    stated: dict[int, Facts] = {}  # the facts of each short unit, once
    found: list[tuple[int, int, Evidence]] = []
    chars_first: list[bool] = []  # whether a pair was verified by characters
    spaces = ["char" if "char" in sets[i] and "char" in sets[j] else "word" for i, j in pairs]
    inter = iter(
        shared_many(
            [
                (sets[i][space], sets[j][space])
                for (i, j), space in zip(pairs, spaces, strict=True)
                if space in sets[i] and space in sets[j]
            ]
        )
    )
    for (i, j), space in zip(pairs, spaces, strict=True):
        chars_first.append(space == "char")
        if space not in sets[i] or space not in sets[j]:
            # A short unit against one of twice its words or more, met through a title
            # or typo key: no space in common, and no duplicate unless by edits (below).
            found.append((i, j, Evidence(0.0, 0.0, 0.0, None)))
            continue
        # Short units (compared by characters) that state other facts, or where a word
        # is replaced by another, are other lines.
        other = False
        few = min(words[i], words[j]) < m.char_below
        if space == "char":
            for unit in (i, j):
                if unit not in stated:
                    stated[unit] = facts(raw[unit])
            other = differ(stated[i], stated[j]) or words_replaced(norms[i], norms[j], few)
        a, b = sets[i][space], sets[j][space]
        found.append((i, j, scored(next(inter), len(a), len(b), m.threshold, False, few, other)))
    # A typo changes one word but five word shingles: a 30-word paragraph with one typo
    # has word Jaccard 0.71.  Pairs of units under SEGMENT_MAX words below the threshold in
    # words are also measured in characters, which see a typo as a typo, then by their
    # edits (#19).  Longer units are near by word 5-grams alone: a document with one word
    # in ten replaced is 0.9 similar by its word edits, but only 0.4 by its 5-grams.
    again = [
        n
        for n, (i, j, ev) in enumerate(found)
        if ev.jaccard < m.threshold and not ev.differ and max(words[i], words[j]) < SEGMENT_MAX
    ]
    _add_char_sets(sets, sorted({unit for n in again for unit in found[n][:2]}), norms, m)
    titled: dict[int, list[Parts]] = {}

    def parts_of(unit: int) -> list[Parts]:
        """The titles inside a labelled unit, of the readings that hold (see `titles`)."""
        if unit not in titled:
            short = words[unit] < 2 * m.char_below
            found = normalized([raw[unit]], config.normalize) if short else []
            titled[unit] = [parts for _, parts in found if holds(parts, labels)]
        return titled[unit]

    def titles(unit: int) -> list[Titled]:
        return [(parts.title, None) for parts in parts_of(unit)]

    by_words = [n for n in again if not chars_first[n]]  # verified by characters now
    in_chars = shared_many(
        [(sets[found[n][0]]["char"], sets[found[n][1]]["char"]) for n in by_words]
    )
    by_chars_of = dict(zip(by_words, in_chars, strict=True))
    for n in again:
        i, j, evidence = found[n]
        by_chars = evidence  # the pair was verified by characters already, unless:
        if not chars_first[n]:
            a, b = sets[i]["char"], sets[j]["char"]
            by_chars = scored(by_chars_of[n], len(a), len(b), m.threshold, False, evidence.few)
        if by_chars.relation == "near":
            found[n] = (i, j, by_chars)
        elif edits_near(norms[i], norms[j], m.threshold, m.char_below) or _one_title(
            titles(i), (norms[i], None), titles(j), (norms[j], None), m.threshold
        ):
            found[n] = (i, j, dataclasses.replace(by_chars, relation="near"))

    # A labelled line whose label states a fact ("Titre | Notes de Paul" names Paul)
    # differs from its title printed alone or beside another label, which is its copy all
    # the same when the titles state the same facts, and no number (dates are facts, and
    # "Par Claire Dubois | 8 janvier 2023" is no title).
    said: dict[int, list[Titled]] = {}

    def stating(unit: int) -> list[Titled]:
        """The titles inside a unit that state no number, and their facts."""
        if unit not in said:
            found = parts_of(unit)
            said[unit] = [(p.title, facts(p.raw)) for p in found if not _DIGIT.search(p.title)]
        return said[unit]

    for n, (i, j, evidence) in enumerate(found):
        if not evidence.differ or evidence.relation is not None:
            continue
        mine, others = stating(i), stating(j)
        if (mine or others) and _one_title(
            mine, (norms[i], stated[i]), others, (norms[j], stated[j]), m.threshold
        ):
            found[n] = (i, j, dataclasses.replace(evidence, relation="near"))
    return [evidence for _, _, evidence in found]


#: A title inside a unit, or the unit: its normalized text, and the facts it states (None:
#: not weighed).
Titled = tuple[str, Facts | None]


def _one_title(
    titles_a: list[Titled], whole_a: Titled, titles_b: list[Titled], whole_b: Titled, t: float
) -> bool:
    """Whether two short units print one title, with a label (a site's name, a topic)
    beside it in one or both: a title inside one is the other unit, or a title inside it,
    or one of them with typos only; stating the same facts, where they are weighed."""
    return any(
        (a == b or typos_apart(a, b, t))
        and (facts_a is None or facts_b is None or not differ(facts_a, facts_b))
        for parts, others in ((titles_a, [whole_b, *titles_b]), (titles_b, [whole_a]))
        for a, facts_a in parts
        for b, facts_b in others
    )


def _add_char_sets(
    sets: list[dict[str, U32]], units: list[int], norms: list[str], config: MinHashConfig
) -> None:
    """Give these units their character shingle sets, whatever their length, if they have
    none yet."""
    need = [i for i in units if "char" not in sets[i]]
    found = char_sets([norms[i] for i in need], config)
    for n, i in enumerate(need):
        sets[i]["char"] = found[n]


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
    reads is not verified unless every pair is to be listed (`_read_ones`).  Candidates
    are found for every level first: the band keys are then freed.
    """

    def __init__(self, table: Table, workers: Workers, progress: Progress) -> None:
        self.table = table
        self.workers = workers
        self.progress = progress
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
                level.candidates = dict(coarser.candidates)
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
            return [
                (key, table.place(doc), start, end)
                for key, doc, start, end in zip(
                    keys, *(a[c][at].tolist() for c in ("doc", "start", "end")), strict=True
                )
            ]

        labels = Counted(table.texts.labels)
        work = functools.partial(verify_batch, config=table.config, labels=labels)
        threshold = table.config.minhash.threshold
        unrelated: list[I64] = []  # pairs of keys, a batch's rows each
        finer = li + 1 < len(table.levels)  # a finer level may meet these pairs again

        def verify(these: I64) -> None:
            for found, others in self.workers.map(
                work, ((places(keys), batch) for keys, batch in pair_batches(these, chars))
            ):
                related.update(((x, y), evidence) for x, y, evidence in found)
                if finer:  # kept for it (the last level's: 32 MB of 100,000 documents')
                    unrelated.append(others)
                self.verified += len(found) + len(others)
                self.progress("candidates verified", self.verified)

        unread = 0
        if table.config.output.pairs:  # every pair is to be listed: every pair verified
            verify(fresh)
        else:
            unread = _read_ones(pairs, fresh, a["key"], units, related, verify, threshold)
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


def _read_ones(
    pairs: I64,
    fresh: I64,
    keys: I64,
    units: I64,
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
    hundred pages are 99 pairs, not 4,851.
    """
    order = keys[np.asarray(units, dtype=np.int64)]
    size = int(keys.max(initial=0)) + 1
    # Of each text, the place of its first copy and of its last (int32 while they fit).
    place = numbers_type(len(order))
    # Unbuffered ufunc.at, not np.unique's stable sorts (4.5 million units: 1.7 s).
    at = np.arange(len(order), dtype=place)
    rank: npt.NDArray[np.signedinteger[Any]] = np.full(size, len(order), dtype=place)
    np.minimum.at(rank, order, at)
    rank[rank == len(order)] = 0  # a text no unit taking part has
    last: npt.NDArray[np.signedinteger[Any]] = np.zeros(size, dtype=place)
    np.maximum.at(last, order, at)
    del at

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
