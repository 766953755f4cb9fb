"""Exact evidence of pairs of texts: raw texts and pairs of them in, an Evidence a pair out.

Each text is normalized and shingled once, and every pair verified on exact shingle sets
in the space both have (characters for short units, word 5-grams for longer ones), in a
few numpy calls for all of a batch's pairs; then the pairs below the threshold are
measured again by characters, by typos and word edits, and by the titles inside labelled
lines (`verify_texts`).  Stage 3 (`verify`) and the pre-commit check (`resembling`) call
it.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

import numpy as np

from dedup.config import Config, MinHashConfig, NormalizeConfig
from dedup.edit_keys import SEGMENT_MAX
from dedup.edits import (
    beyond_edits,
    edits_near,
    typos_apart,
    word_of_its_own,
    words_replaced,
)
from dedup.engine.table import I64
from dedup.facts import Facts, differ, facts
from dedup.fingerprint import Sets, batch_shingle_sets, char_sets
from dedup.index import NEAR, Scores, scored_many, shared_between
from dedup.model import Evidence
from dedup.normalize import normalize_many
from dedup.titles import Counted, Parts, holds, normalized

_DIGIT = re.compile(r"\d")


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
    return _scores(raw, pairs, config, labels).evidence()


def verify_related(
    raw: list[str],
    pairs: list[tuple[int, int]],
    config: Config,
    labels: Counted | None = None,
    norms: list[str] | None = None,
) -> tuple[I64, list[Evidence]]:
    """`verify_texts`, but only the related pairs' evidence: their places among `pairs`,
    and their Evidence.  `norms`: the texts normalized, if the caller has them."""
    found = _scores(raw, pairs, config, labels, norms)
    related = np.flatnonzero(found.kinds)
    return related, found.evidence(related)


def _scores(
    raw: list[str],
    pairs: list[tuple[int, int]],
    config: Config,
    labels: Counted | None,
    norms: list[str] | None = None,
) -> Scores:
    """The scores and relations of every pair, as columns (see `verify_texts`)."""
    m = config.minhash
    if norms is None:
        norms = normalize_many(raw, config.normalize)
    count = len(norms)
    # Each text's words, as hashing counts them: a normalized text's spaces are single,
    # none at either end, so its words are its spaces and one (an empty text: 1).
    words = np.zeros(count, dtype=np.int64)
    shingled = batch_shingle_sets(norms, m, words=words)
    words[words == 0] = 1
    chars, word_space = (_Space.of(shingled.get(space), count) for space in ("char", "word"))
    both = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    i, j = both[:, 0], both[:, 1]
    # Whether a pair is verified by characters (both short), else by words, if both have
    # words enough; a short unit against one of twice its words or more, met through a
    # title or typo key, has no space in common: no duplicate unless by edits (below).
    by_chars = chars.holds(i) & chars.holds(j)
    by_words = ~by_chars & word_space.holds(i) & word_space.holds(j)
    inter = np.zeros(len(both), dtype=np.int64)
    sizes = np.zeros((len(both), 2), dtype=np.int64)
    for space, mask in ((chars, by_chars), (word_space, by_words)):
        inter[mask] = space.shared(i[mask], j[mask])
        sizes[mask] = space.sizes(both[mask])
    few = words[both].min(axis=1) < m.char_below
    # Short units (compared by characters) that state other facts, or where a word is
    # replaced by another, are other lines; so are those of `char_below` words or more
    # whose shorter holds a word of its own (a title's label is told by `_one_title`).
    stated: dict[int, Facts] = {}  # the facts of each short unit, once
    titles = _Titles(raw, words, m, config.normalize, labels)
    other = np.zeros(len(both), dtype=bool)
    for n, x, y, f in zip(
        *(a.tolist() for a in (np.flatnonzero(by_chars), i[by_chars], j[by_chars])),
        few[by_chars].tolist(),
        strict=True,
    ):
        for unit in (x, y):
            if unit not in stated:
                stated[unit] = facts(raw[unit])
        other[n] = (
            differ(stated[x], stated[y])
            or words_replaced(norms[x], norms[y], f)
            or (not f and _own_word(norms, titles, x, y))
        )
    found = scored_many(inter, sizes[:, 0], sizes[:, 1], m.threshold, few, other)
    apart = ~by_chars & ~by_words  # no space in common: no scores
    for column in found.columns():
        column[apart] = 0
    _again(found, both, by_chars, norms, words, chars, titles, m)
    # A labelled line whose label states a fact ("Titre | Notes de Paul" names Paul)
    # differs from its title printed alone or beside another label, which is its copy all
    # the same when the titles state the same facts, and no number (dates are facts, and
    # "Par Claire Dubois | 8 janvier 2023" is no title).

    @functools.cache
    def stating(unit: int) -> list[Titled]:
        """The titles inside a unit that state no number, and their facts."""
        return [
            (p.title, facts(p.raw)) for p in titles.parts_of(unit) if not _DIGIT.search(p.title)
        ]

    for n in np.flatnonzero(other).tolist():  # never near (above): short units, facts stated
        x, y = int(i[n]), int(j[n])
        mine, others = stating(x), stating(y)
        if (mine or others) and _one_title(
            mine, (norms[x], stated[x]), others, (norms[y], stated[y]), m.threshold
        ):
            found.kinds[n] = NEAR
    return found


def _own_word(norms: list[str], titles: _Titles, x: int, y: int) -> bool:
    """Whether the shorter of two units (either, of as many words) holds a word of its own
    (see `word_of_its_own`), each also read as the title inside it, if it is a labelled
    one: `[Lesenswert] Titel` and `Titel | Das Notizbuch` print one title."""
    if not word_of_its_own(norms[x], norms[y]):
        return False
    forms = [[norms[u], *(p.title for p in titles.parts_of(u))] for u in (x, y)]
    read = itertools.product(*forms)
    next(read)  # the two whole units: asked above
    return all(word_of_its_own(a, b) for a, b in read)


def _again(
    found: Scores,
    both: I64,
    by_chars: np.ndarray,
    norms: list[str],
    words: I64,
    chars: _Space,
    titles: _Titles,
    m: MinHashConfig,
) -> None:
    """The pairs below the threshold measured again (see `verify_texts`).

    A typo changes one word but five word shingles: a 30-word paragraph with one typo
    has word Jaccard 0.71.  Pairs of units under SEGMENT_MAX words below the threshold in
    words are also measured in characters, which see a typo as a typo, then by their
    edits (#19).  Longer units are near by word 5-grams alone: a document with one word
    in ten replaced is 0.9 similar by its word edits, but only 0.4 by its 5-grams.
    """
    again = np.flatnonzero(
        (found.jaccard < m.threshold) & ~found.differ & (words[both].max(axis=1) < SEGMENT_MAX)
    )
    if not len(again):
        return
    chars.add(np.unique(both[again]), norms, m)
    # Pairs verified by words so far, now by characters: near, or else measured by edits
    # (and near so, with their scores by characters).
    by_words = again[~by_chars[again]]
    x, y = both[by_words, 0], both[by_words, 1]
    sizes = chars.sizes(both[by_words])
    in_chars = scored_many(
        chars.shared(x, y),
        sizes[:, 0],
        sizes[:, 1],
        m.threshold,
        found.few[by_words],
        np.zeros(len(by_words), dtype=bool),
    )
    near = np.flatnonzero(in_chars.jaccard >= m.threshold)
    found.take(by_words[near], in_chars, near)
    rescored = np.full(len(found.kinds), -1, dtype=np.int64)  # a pair's place in in_chars
    rescored[by_words] = np.arange(len(by_words))
    left = again[found.kinds[again] != NEAR]
    left = left[~beyond_edits(norms, words, both[left], m.threshold, m.char_below)]
    for n, a, b in zip(left.tolist(), *both[left].T.tolist(), strict=True):
        if edits_near(norms[a], norms[b], m.threshold, m.char_below) or _one_title(
            titles.of(a), (norms[a], None), titles.of(b), (norms[b], None), m.threshold
        ):
            if rescored[n] >= 0:  # verified by words: its scores by characters
                found.take(np.array([n]), in_chars, rescored[n : n + 1])
            found.kinds[n] = NEAR


@dataclass
class _Space:
    """A space's shingle sets of a batch's texts, found by text number."""

    sets: Sets
    at: I64  # each text's set number; -1: it has none in this space

    @classmethod
    def of(cls, sets: Sets | None, count: int) -> _Space:
        if sets is None:
            sets = Sets(np.empty(0, np.int64), np.zeros(1, np.int64), np.empty(0, np.uint32))
        at = np.full(count, -1, dtype=np.int64)
        at[sets.units] = np.arange(len(sets.units), dtype=np.int64)
        return cls(sets, at)

    def holds(self, units: I64) -> np.ndarray:
        return self.at[units] >= 0

    def sizes(self, units: I64) -> I64:
        """The sizes of the sets of `units` (any shape; each must have one)."""
        offsets = self.sets.offsets
        return offsets[self.at[units] + 1] - offsets[self.at[units]]

    def shared(self, x: I64, y: I64) -> I64:
        """How many values the sets of x[k] and y[k] share, for each k."""
        return shared_between(self.sets, self.at[x], self.at[y])

    def add(self, units: I64, norms: list[str], config: MinHashConfig) -> None:
        """Give these units their character shingle sets, whatever their length, if they
        have none yet."""
        need = units[self.at[units] < 0]
        if not len(need):
            return
        extra = char_sets([norms[unit] for unit in need.tolist()], config)
        sets = self.sets
        self.at[need] = len(sets.units) + np.arange(len(need))
        self.sets = Sets(
            np.concatenate((sets.units, need)),
            np.concatenate((sets.offsets[:-1], extra.offsets + sets.offsets[-1])),
            np.concatenate((sets.values, extra.values)),
        )


class _Titles:
    """The titles inside a batch's short labelled units, of the readings that hold (see
    `titles`), looked for once a unit."""

    def __init__(
        self,
        raw: list[str],
        words: I64,
        m: MinHashConfig,
        config: NormalizeConfig,
        labels: Counted | None,
    ) -> None:
        self.raw, self.words, self.labels = raw, words, labels
        self.short = 2 * m.char_below
        self.config = config
        self.found: dict[int, list[Parts]] = {}

    def parts_of(self, unit: int) -> list[Parts]:
        parts = self.found.get(unit)
        if parts is None:
            short = self.words[unit] < self.short
            readings = normalized([self.raw[unit]], self.config) if short else []
            parts = self.found[unit] = [p for _, p in readings if holds(p, self.labels)]
        return parts

    def of(self, unit: int) -> list[Titled]:
        return [(parts.title, None) for parts in self.parts_of(unit)]


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
