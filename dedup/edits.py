"""Edits: whether two normalized texts that miss the threshold in shingles are near by
their edits, typos in a short text or words mistyped, added or left out in a longer one
(#19), and the pairs their shared words tell far apart before any edit is counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA, Levenshtein

from dedup.fingerprint import I64, word_bags
from dedup.index import shared_between

_DIGIT = re.compile(r"\d")


def edits_near(a: str, b: str, threshold: float, char_below: int) -> bool:
    """Whether two normalized texts that miss the threshold in shingles are near by their
    edits: units under 2 * `char_below` words when they differ by typos only (see
    `typos_apart`: 20 characters have 16 character 5-grams, and one typo changes 5 of
    them, "sons" / "snos": Jaccard 0.6); units of `char_below` words or more also when a
    word or two of every ten are added, left out or mistyped (edit similarity over words,
    1 - word edits / the longer length, >= threshold), a word replaced being one typo of
    the other (see `_one_typo`).

    A word replaced by another word is another statement, not an edit of it: "si x est
    inférieure à 1 et y négative" / "si x est supérieure à 1 et y positive", "ssize_t
    read(void *cookie, ...)" / "ssize_t write(...)", templated lines of a manual or a
    site; counted as edits, 582 such lines of 600 English manual pages went as copies.
    """
    words = max(a.count(" "), b.count(" ")) + 1
    if words < 2 * char_below and typos_apart(a, b, threshold):
        return True
    if min(a.count(" "), b.count(" ")) + 1 < char_below:
        return False
    x, y = a.split(), b.split()
    if Levenshtein.normalized_similarity(x, y, score_cutoff=threshold) < threshold:
        return False
    ops = Levenshtein.editops(x, y)
    return all(
        _one_typo(x[op.src_pos], y[op.dest_pos]) for op in ops if op.tag == "replace"
    ) and not _slot_filled(ops, x, y)


def _slot_filled(ops: Iterable[Any], x: list[str], y: list[str]) -> bool:
    """Whether the words added to `x` (or left out of it) to make `y` hold one word added
    beside the same word at two places: a template's slot filled twice, "id of the entry
    type or ... for the entry type" / "id of the entry or ... for the entry",
    "--update-namespace-labels ... --clear-namespace-labels" / "--update-labels ...
    --clear-labels", is another line.  An editor adds a word once, or beside other words."""
    seen: set[tuple[str, str, int, str]] = set()
    for op in ops:
        if op.tag == "insert":
            words, at = y, op.dest_pos
        elif op.tag == "delete":
            words, at = x, op.src_pos
        else:
            continue
        word = words[at]
        for side in (-1, 1):
            beside = words[at + side] if 0 <= at + side < len(words) else ""
            key = (op.tag, word, side, beside)
            if key in seen:
                return True
            seen.add(key)
    return False


def _one_typo(x: str, y: str) -> bool:
    """Whether a word replaced in a sentence is the other with one typo (a letter dropped,
    doubled or replaced, or two swapped): its first letter kept, four letters or more
    on one side ("sans" / "sns", "pour" / "pur"), and no digit (a number is a fact).
    An "ss" is one letter, the ß casefolding made two: "außßer" / "außer" is one typo."""
    return (
        x[0] == y[0]
        and max(len(x), len(y)) >= 4
        and not _DIGIT.search(x + y)
        and (
            OSA.distance(x, y, score_cutoff=1) <= 1
            or OSA.distance(x.replace("ss", "ß"), y.replace("ss", "ß"), score_cutoff=1) <= 1
        )
    )


def beyond_edits(
    norms: Sequence[str], words: I64, pairs: I64, threshold: float, char_below: int
) -> npt.NDArray[np.bool_]:
    """Which pairs of normalized texts (rows of numbers in `norms`, of `words` words each)
    `edits_near` finds not near, told from the words they share: texts of 2 * `char_below`
    words or more, which no typo rule is for, are near only by an edit similarity over
    words of `threshold`, and each word of the longer beyond those the two share (repeats
    counted) is an edit.  Other pairs are not told (False).  Of the pairs a quarter of a
    default run on 100,000 French documents measured by edits, 174,340 of 193,509 were told
    so, in a few numpy calls a batch.
    """
    beyond = np.zeros(len(pairs), dtype=bool)
    counts = words[pairs]
    at = np.flatnonzero(counts.min(axis=1) >= 2 * char_below)
    if not len(at):
        return beyond
    units, place = np.unique(pairs[at], return_inverse=True)
    bags = word_bags([norms[unit] for unit in units.tolist()])  # none empty: they have words
    place = place.reshape(-1, 2)
    common = shared_between(bags, place[:, 0], place[:, 1], bags=True)
    # Similarity at most common / longer; a hair under the threshold, for rounding.
    beyond[at] = common < (threshold - 1e-9) * counts[at].max(axis=1)
    return beyond


def typos_apart(a: str, b: str, threshold: float) -> bool:
    """Whether two normalized short texts differ by typos only: one typo (a letter dropped,
    doubled or replaced, or two letters swapped) for each five words or part of five, spaces
    left out, and an edit similarity (1 - typos / the longer length) >= threshold.

    A word replaced by another is more than a typo: "Comprendre boot en pratique" and
    "Comprendre reboot en pratique" are two titles, 0.92 similar by characters (#19).
    """
    x, y = a.replace(" ", ""), b.replace(" ", "")
    typos = 1 + max(a.count(" "), b.count(" ")) // 5
    distance = OSA.distance(x, y, score_cutoff=typos)
    longer = max(len(x), len(y))
    if distance > typos or not longer or 1 - distance / longer < threshold:
        return False
    return _typo_words(a.split(), b.split())


def words_replaced(a: str, b: str, few: bool = False) -> bool:
    """Whether two normalized texts of as many words differ in a word that is the other
    with a prefix of two letters: "Charger un module de noyau" / "Décharger un module de
    noyau", "boot" / "reboot", "mount" / "unmount" are two titles, 0.9 similar by
    characters (#19).  A typo does not add two letters before a word; longer additions
    make compounds as often as opposites ("site" / "website").

    With `few` (the shorter has fewer than `char_below` words: a title, a heading), also
    a word more than one typo from the other: "strftime" / "utime in der Praxis
    verstehen" share every character 5-gram but the first word's (0.83 similar), and a
    template whose variable part comes first joined every post's title in one cluster.
    In a sentence, a word replaced is an edit like any other (see `edits_near`)."""
    x, y = a.split(), b.split()
    return len(x) == len(y) and any(
        _prefixed(u, v) or _prefixed(v, u) or (few and OSA.distance(u, v, score_cutoff=2) > 1)
        for u, v in zip(x, y, strict=True)
        if u != v
    )


def word_of_its_own(a: str, b: str) -> bool:
    """Whether the shorter of two normalized texts (by words) holds a word of its own:
    one found nowhere in the other's text, spaces left out (words glued or split by a
    line's hyphenation are the other's), nor one typo of one of its words (see
    `_one_typo`).  A sentence one word apart from a longer one, or inside it but for a
    word, is another statement of one template: "ID of the repo or fully qualified
    identifier for the repo." / "... the rbacrolebinding ...", 0.83 of its character
    5-grams inside; "Reset VMware NSX sign-in credentials ..." / "Retrieve ...", 0.84
    similar.  Of two texts of as many words, either may hold one: "la commande ed(1)" /
    "la commande sed(1)", "ed" inside "sed" but not "sed" inside "ed"."""
    spaces_a, spaces_b = a.count(" "), b.count(" ")
    if spaces_a == spaces_b:
        return _own_word(a, b) or _own_word(b, a)
    return _own_word(a, b) if spaces_a < spaces_b else _own_word(b, a)


def _own_word(a: str, b: str) -> bool:
    """Whether `a` holds a word found nowhere in `b` (see `word_of_its_own`)."""
    words = set(b.split())
    compact = b.replace(" ", "")
    return any(
        word not in words
        and word not in compact
        and not any(_one_typo(word, other) for other in words)
        for word in set(a.split())
    )


def _prefixed(word: str, base: str) -> bool:
    return len(word) == len(base) + 2 and len(base) >= 3 and word.endswith(base)


def _typo_words(a: list[str], b: list[str]) -> bool:
    """Whether the words that differ, where both texts have as many, can hold typos: a
    typo keeps a word's first letter and leaves a word of four letters or more (one letter
    more or less makes another word of "fork" / "vfork", "at" / "apt", "sed" / "send"),
    and has no digit (a number or a code that changes, "aaa0" / "aaaa", is another fact);
    texts with words glued or split ("sociauxlarnaque") are taken as they are."""
    if len(a) != len(b):
        return True
    return all(
        x[0] == y[0] and min(len(x), len(y)) >= 4 and not _DIGIT.search(x + y)
        for x, y in zip(a, b, strict=True)
        if x != y
    )
