"""Edit keys: normalized short and medium texts in, keys that two texts a typo or two
apart share out (LSH keys of the "typo" space, #19).

Character 5-grams cannot promise that two titles a typo apart meet as candidates (20
characters have 16 character 5-grams, and one typo changes 5); word 5-grams cannot for a
30-word paragraph with two typos (word Jaccard 0.44).  A deletion key is a short text's
hash with one character left out; a segment key is one of three runs of words of a
medium text, keyed by its place.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from dedup.fingerprint import I64, POLY, U64, code_points, mix64
from dedup.native import native
from dedup.tokens import token_spans, xxh32_spans

#: The longest text (code points, spaces removed) given deletion keys: a title, a heading.
DELETION_MAX = 48
#: (POLY ** -1) mod 2 ** 64: POLY is odd, so it has an inverse.
_POLY_INVERSE = np.uint64(pow(int(POLY), -1, 1 << 64))


@functools.cache
def _powers(count: int) -> U64:
    """POLY ** k mod 2 ** 64 for k < count (at least DELETION_MAX + 1 of them)."""
    count = max(count, DELETION_MAX + 1)
    return np.array([pow(int(POLY), k, 1 << 64) for k in range(count)], np.uint64)


def deletion_keys(texts: Sequence[str]) -> tuple[I64, U64]:
    """The keys of every text, spaces left out, with one character left out, and of the
    text whole: two texts one typo apart (a letter dropped, doubled, replaced, or two
    swapped) share one.  A character of a word with a digit is never left out: a number
    or a code that changes is another fact, not a typo (see `edits.typos_apart`).

    Returns (text number, key) rows.  A text's polynomial hash with character i left out
    is made from the sums of the terms before and after i, so a text of n characters
    costs n + 1 keys in a few numpy calls, not n slices and hashes.
    """
    spaced, spaced_bounds = code_points(texts)
    if native is not None:  # term for term, in C
        owners = np.empty(len(spaced) + len(texts), dtype=np.int64)
        keys = np.empty(len(owners), dtype=np.uint64)
        used = native.deletion_keys(spaced, spaced_bounds.astype(np.int64), owners, keys)
        return owners[:used], keys[:used]
    space = spaced == ord(" ")
    starts = np.zeros(len(spaced), dtype=np.int64)  # a word starts after a space and a text
    np.add.at(starts, spaced_bounds[:-1][spaced_bounds[:-1] < len(spaced)], 1)
    word = np.cumsum(space + starts)
    digit = (spaced >= ord("0")) & (spaced <= ord("9"))
    numbered = np.bincount(word, weights=digit, minlength=int(word[-1]) + 1 if len(word) else 0)
    atoms = spaced[~space]
    may_go = (numbered[word] == 0)[~space]
    bounds = spaced_bounds - np.concatenate(([0], np.cumsum(space, dtype=np.int64)))[spaced_bounds]
    lengths = np.diff(bounds)
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    if not len(atoms):
        return owner, np.empty(0, dtype=np.uint64)
    local = np.arange(len(atoms), dtype=np.int64) - bounds[:-1][owner]
    with np.errstate(over="ignore"):
        powers = _powers(int(lengths.max()))
        terms = (atoms.astype(np.uint64) + np.uint64(1)) * powers[lengths[owner] - 1 - local]
        before = np.cumsum(terms, dtype=np.uint64) - terms  # the sum of the terms before i
        start = before[bounds[:-1][lengths > 0]]
        first = np.zeros(len(texts), dtype=np.uint64)
        first[lengths > 0] = start
        last = bounds[1:][lengths > 0] - 1
        total = np.zeros(len(texts), dtype=np.uint64)
        total[lengths > 0] = before[last] + terms[last]
        total -= first
        prefix = before - first[owner]
        suffix = total[owner] - prefix - terms
        left_out = prefix * _POLY_INVERSE + suffix
    keys = np.concatenate((mix64(left_out[may_go]), mix64(total[lengths > 0])))
    owners = np.concatenate((owner[may_go], np.flatnonzero(lengths > 0)))
    return owners, keys


#: Units of this many words or more and fewer than SEGMENT_MAX get segment keys: below,
#: character 5-grams see two typos (12 words: Jaccard 0.74), above, word 5-grams do (80
#: words: 0.78); segments of five words or more rarely meet by chance.
SEGMENT_MIN, SEGMENT_MAX = 15, 80
#: Segments a unit is cut into: a unit with fewer replaced words keeps one whole.
SEGMENTS = 3


def segment_keys(norms: Sequence[str]) -> tuple[I64, U64]:
    """Keys of the SEGMENTS equal runs of words of each normalized text, each keyed by its
    place: two texts of as many words that differ in fewer than SEGMENTS words (typos,
    a word replaced) share one, whatever their word 5-grams (a 30-word paragraph with
    two typos has word Jaccard 0.44).  Returns (text number, key) rows.

    Word j of a text of n words is in segment ((j + 1) * SEGMENTS - 1) // n, the runs
    `words[n * i // SEGMENTS : n * (i + 1) // SEGMENTS]`; a segment's key is a polynomial
    hash of its words' xxh32 hashes, with the text's length and the segment's number,
    all made in a few numpy calls.
    """
    if not norms:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    data = "\n".join(norms).encode("utf-8")
    if native is not None:  # term for term, in C
        owners = np.empty(SEGMENTS * len(norms), dtype=np.int64)
        keys = np.empty(len(owners), dtype=np.uint64)
        used = native.segment_keys(data, len(norms), owners, keys)
        return owners[:used], keys[:used]
    starts, ends, owner = token_spans(data)
    hashes = xxh32_spans(data, starts, ends).astype(np.uint64) + np.uint64(1)
    words = np.bincount(owner, minlength=len(norms))
    first = np.concatenate(([0], np.cumsum(words)[:-1]))
    local = np.arange(len(owner), dtype=np.int64) - first[owner]
    segment = ((local + 1) * SEGMENTS - 1) // words[owner]
    group = owner * SEGMENTS + segment  # in text order: runs of equal groups
    bounds = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    lengths = np.diff(np.concatenate((bounds, [len(group)])))
    place = local - local[bounds][np.repeat(np.arange(len(bounds)), lengths)]
    with np.errstate(over="ignore"):
        terms = hashes * _powers(int(lengths.max()))[np.repeat(lengths, lengths) - 1 - place]
        sums = np.add.reduceat(terms, bounds)
        texts = owner[bounds]
        tags = words[texts].astype(np.uint64) * np.uint64(SEGMENTS) + segment[bounds].astype(
            np.uint64
        )
        keys = mix64(sums ^ mix64(tags + np.uint64(0x9E3779B97F4A7C15)))
    return texts.astype(np.int64), keys
