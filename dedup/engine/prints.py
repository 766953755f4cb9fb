"""Stage 1 on one batch of documents: segmented, normalized and fingerprinted into each
level's unit rows and exact keys, and the LSH band keys of the batch's distinct texts
(`fingerprint_batch`).  Worker processes call it; `fingerprint` merges what they send.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dedup.config import Config, MinHashConfig
from dedup.edit_keys import DELETION_MAX, SEGMENT_MAX, SEGMENT_MIN, deletion_keys, segment_keys
from dedup.engine.layout import LevelUnits, cut, slices, space_counts
from dedup.engine.table import I64, BatchPrints, LevelPrints
from dedup.engine.texts import TextPrints
from dedup.engine.windows import Words
from dedup.fingerprint import U64, batch_shingle_sets, char_sets, exact_keys, signatures
from dedup.index import LshParams, band_keys, lsh_params
from dedup.model import LEVELS
from dedup.titles import META, normalized

#: Before the raw text of a whole document that normalizes to nothing ("»", "..."): its
#: exact key then is its text's, and no normalized text's.
_UNNORMALIZED = "\x00"


class BandedTexts(Protocol):
    """Texts banded already (their exact keys), and where to add those banded now."""

    def banded(self, keys: list[bytes]) -> list[bool]: ...

    def update(self, keys: Iterable[bytes]) -> None: ...


def fingerprint_batch(
    batch: list[tuple[int, str, str]], config: Config, known: BandedTexts | None = None
) -> BatchPrints:
    """Segment, normalize and fingerprint a batch of (document number, id, text).

    `known` holds the exact keys of texts an earlier batch of the same run, earlier in
    corpus order, has banded already: they are not banded again, and the new ones are
    added to it.  The table keeps a text's band keys from the first batch that has it,
    so leaving them out of later batches changes nothing but the work.
    """
    levels = [name for name in LEVELS if name in config.segment.levels]
    m = config.minhash
    out: list[LevelPrints] = []
    pool: dict[bytes, int] = {}  # the compared texts that get band keys, each once
    pool_norms: list[str] = []
    pool_runs: list[I64] = []  # and the finest units it is made of, a level's at once
    seen_before: BandedTexts = known if known is not None else _NoneBanded()
    layout = cut(batch, levels, config)
    pool_raw = _Raw(layout.levels[0].joined if layout.levels else "")
    for li, level in enumerate(layout.levels):
        if li and level is layout.levels[li - 1]:
            # The level above's units (a record of one sentence is its paragraph, section
            # and document): its arrays, sent and held once, as pickling sends an object
            # once.  A million one-line records were 630 MB of prints in the main process
            # before they were frozen, four copies of each unit's row.
            above = out[-1]
            out.append(LevelPrints(above.rows, above.digests, above.mask))
            continue
        table = level.rows
        # A unit a marker hushes is not compared; nor is a part of a document too short
        # once normalized, nor a short sentence of a longer paragraph (see `_few_chars`).
        # A whole document is compared at any length, as an exact copy only: a record
        # repeated whole is a duplicate however short, even one of punctuation alone
        # (#27), by its raw text if nothing of it is left normalized.
        lengths = level.lengths
        weighed = ~level.hushed & ((lengths >= m.min_chars) | level.whole)
        if levels[li] == "sentence":
            weighed &= ~_few_chars(level, lengths, m)
        units = np.flatnonzero(weighed)
        keys = _keys(level, units)
        # A text is shingled once a batch, at its first unit of any level: a text the
        # batch has had already (a byline, a footer) is not shingled again.  Nor is one
        # compared as an exact copy only: a record shorter than --min-chars, or one that
        # normalizes to nothing (emoji, punctuation), whose raw text holds any character.
        # Which of the others an earlier batch banded is asked once a level, at once.
        sizes = lengths[units]
        pooled = np.fromiter(map(pool.__contains__, keys), dtype=bool, count=len(keys))
        maybe = np.flatnonzero((sizes > 0) & (sizes >= m.min_chars) & ~pooled).tolist()
        before = seen_before.banded([keys[n] for n in maybe])
        fresh = []  # the units whose texts join the pool, by place among `units`
        for n, banded in zip(maybe, before, strict=True):
            key = keys[n]
            if not banded and key not in pool:  # a text twice in this level: once
                pool[key] = len(pool)
                fresh.append(n)
        mine = units[fresh]  # never hushed: their raw texts are their spans
        pool_raw.extend(level.starts[mine], level.ends[mine])
        pool_norms += level.norms(mine)
        pool_runs.append(level.runs[mine])
        mask = np.zeros(len(table), dtype=bool)
        mask[units] = True
        digests = np.zeros((len(table), 16), dtype=np.uint8)
        digests[units] = np.frombuffer(b"".join(keys), np.uint8).reshape(-1, 16)
        out.append(LevelPrints(table, digests, mask))
    texts = np.frombuffer(b"".join(pool), np.uint8).reshape(-1, 16)
    if known is not None:
        known.update(pool)
    runs = np.concatenate(pool_runs or [np.empty((0, 2), np.int64)]).astype(np.int64)
    words = Words(layout.pieces, runs)
    return BatchPrints(
        out, TextPrints(texts, _print_texts(pool_raw, pool_norms, config, (words, runs)))
    )


class _Raw:
    """The raw texts of a batch's pooled units, as spans of its texts joined, sliced when
    asked for: only the title prints ask, of short ones (a whole page copied for each
    took 4 % of fingerprinting a batch of pages at the document level: 0.059 s of 20,000)."""

    def __init__(self, joined: str) -> None:
        self.joined = joined
        self.spans: list[I64] = []  # (start, end) rows, a level's at once

    def extend(self, starts: I64, ends: I64) -> None:
        self.spans.append(np.stack((starts, ends), axis=1))

    def take(self, numbers: Sequence[int] | I64) -> list[str]:
        """The raw texts of the pooled units at these numbers."""
        spans = np.concatenate(self.spans) if self.spans else np.empty((0, 2), np.int64)
        taken = spans[np.asarray(numbers, dtype=np.int64)]
        return slices(self.joined, taken[:, 0], taken[:, 1])


def _keys(level: LevelUnits, units: I64) -> list[bytes]:
    """The exact keys of the texts these units are compared by: their normalized texts
    (see `LevelUnits.keys`), or, where nothing of one is left normalized, its raw text,
    stripped, behind `_UNNORMALIZED`."""
    keys = level.keys(units)
    alone = [n for n, key in enumerate(keys) if key is None]
    if alone:
        compared = level.norms(units[alone])
        for k, n in enumerate(alone):
            if not compared[k]:
                compared[k] = _UNNORMALIZED + level.raw(int(units[n])).strip()
        for n, key in zip(alone, exact_keys(compared), strict=True):
            keys[n] = key
    found: list[bytes] = keys  # type: ignore[assignment]  # every None replaced
    return found


def _few_chars(
    level: LevelUnits, lengths: npt.NDArray[np.int64], m: MinHashConfig
) -> npt.NDArray[np.bool_]:
    """The sentences too short to be compared on their own: shorter than
    --min-sentence-chars once normalized, inside a paragraph that holds more ("Founded
    1995.", "Thanks, Emma!" or "Tested on Debian." in two posts is a coincidence, not a
    copy; copied with its neighbours, it goes with the paragraph or section they make).
    Not so in scripts written without spaces, where a sentence of that many characters
    says much more (U+2E80 on: CJK, kana, hangul)."""
    few = level.inside & (lengths < m.min_sentence_chars)
    at = np.flatnonzero(few)
    few[at] = [not norm or max(norm) < "\u2e80" for norm in level.norms(at)]
    return few


class _NoneBanded:
    """No text banded before (a batch fingerprinted on its own)."""

    def banded(self, keys: list[bytes]) -> list[bool]:
        return [False] * len(keys)

    def update(self, keys: Iterable[bytes]) -> None:
        pass


def _print_texts(
    raw: _Raw,
    norms: list[str],
    config: Config,
    runs: tuple[Words, I64],
) -> dict[str, tuple[I64, U64]]:
    """The LSH band keys of texts (raw, and normalized), per key space: (text number, band
    keys) rows.  Bags, not sets: the MinHash is the same, and the sort cost a third of the
    shingling.  `runs` are the batch's words and the finest units [lo, hi) each text is
    made of: the word MinHash of a text made of them comes from its document's words,
    taken once (see `windows`)."""
    m = config.minhash
    params = lsh_params(m.threshold, m.num_perm, m.recall)
    enough = max(SEGMENT_MAX, 2 * m.char_below)  # what the keys below tell apart
    words, spans = runs
    made = spans[:, 1] > spans[:, 0]
    counted = words.count(spans)
    composed = made & (counted >= max(m.char_below, m.shingle_size))
    # Each text's spaces (its words less one): of a run, from its words; of any other,
    # counted.
    spaces = counted - 1
    alone = np.flatnonzero(~made)
    spaces[alone] = space_counts([norms[k] for k in alone.tolist()], enough)
    # Shingled here: the texts short enough for a character set, and those whose word set
    # no run gives (a document made of its runs was tokenized a second time for nothing:
    # 14 % of fingerprinting at document level).
    shingled = np.flatnonzero((counted < 2 * m.char_below) | ~composed)
    bags = batch_shingle_sets(
        [norms[k] for k in shingled.tolist()], m, bags=True, word_sets=~composed[shingled]
    )
    by_space = {
        space: (shingled[sets.units], band_keys(signatures(sets, m.num_perm, m.seed), params))
        for space, sets in bags.items()
    }
    if composed.any():
        mine = np.flatnonzero(composed)
        found = words.signatures(spans[mine], m)
        rows, bands = by_space.get(
            "word", (np.empty(0, np.int64), np.empty((0, params.bands), np.uint64))
        )
        rows = np.concatenate((rows, mine))
        order = np.argsort(rows, kind="stable")
        by_space["word"] = (rows[order], np.concatenate((bands, band_keys(found, params)))[order])
    add_title_prints(by_space, spaces, raw, config, params)
    add_typo_keys(by_space, norms, spaces, m)
    return by_space


def add_title_prints(
    by_space: dict[str, tuple[I64, U64]],
    spaces: I64,
    raw: _Raw,
    config: Config,
    params: LshParams,
) -> None:
    """Give each reading of a labelled title ("Titre | Blog", "Blog | Titre", "Dossier :
    Titre") the character band keys of its title, and the deletion keys of a short one, so
    that the title printed alone is its candidate (#19): the title key spaces, whose rows
    hold the keys of the reading's parts first (see `titles`); the table keeps those of
    the readings that hold.  Rows are text numbers, as in `by_space`."""
    m = config.minhash
    short = np.flatnonzero(spaces < 2 * m.char_below).tolist()
    found = [
        (short[k], parts)
        for k, parts in normalized(raw.take(short), config.normalize)
        if len(parts.title) >= m.min_chars
    ]
    if not found:
        return
    titles = [parts.title for _, parts in found]
    sets = char_sets(titles, m)
    bands = band_keys(signatures(sets, m.num_perm, m.seed), params)
    meta = np.array(
        [(parts.title_key, parts.label_key, parts.usual) for _, parts in found], dtype=np.uint64
    ).reshape(-1, META)
    rows = np.array([unit for unit, _ in found], dtype=np.int64)
    by_space["title"] = (rows, np.concatenate((meta, bands), axis=1))
    # A title short enough for deletion keys (see `add_typo_keys`) gets them too: the
    # title printed alone with a typo is a candidate of the labelled line.
    typed = _deletable(titles, space_counts(titles, m.char_below), m)
    owner, keys = deletion_keys([titles[k] for k in typed.tolist()])
    mine = typed[owner]
    if len(mine):
        by_space["title-typo"] = (rows[mine], np.concatenate((meta[mine], keys[:, None]), axis=1))


def add_typo_keys(
    by_space: dict[str, tuple[I64, U64]], norms: list[str], spaces: I64, m: MinHashConfig
) -> None:
    """Give short texts (a title, a heading) their deletion keys, and medium ones (a
    sentence, a short paragraph) their segment keys, one a row: a unit a typo or two from
    another is its candidate, which 5-grams cannot promise (20 characters have 16
    character 5-grams, and one typo changes 5; a typo changes 5 word 5-grams) (#19).
    Rows are text numbers, as in `by_space`."""
    short = _deletable(norms, spaces, m)
    medium = np.flatnonzero((spaces + 1 >= SEGMENT_MIN) & (spaces + 1 < SEGMENT_MAX))
    owner, keys = deletion_keys([norms[k] for k in short.tolist()])
    by_segment, segments = segment_keys([norms[k] for k in medium.tolist()])
    rows = np.concatenate((short[owner], medium[by_segment]))
    if len(rows):
        by_space["typo"] = (rows, np.concatenate((keys, segments))[:, None])


def _deletable(norms: list[str], spaces: I64, m: MinHashConfig) -> I64:
    """Which normalized texts (of `spaces` spaces each) are short enough for deletion
    keys, by place: those of few words are measured, through map."""
    few = np.flatnonzero(spaces < m.char_below)
    lengths = np.fromiter(map(len, [norms[k] for k in few.tolist()]), np.int64, len(few))
    return few[lengths - spaces[few] <= DELETION_MAX]
