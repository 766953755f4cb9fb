"""Labelled titles: "Titre | Blog", "Blog | Titre", "Dossier : Titre", "[Tuto] Titre".

A short line with a separator may be a title beside its label (a site's name, a topic),
printed alone elsewhere.  Which part is the label is told by repetition: a label stands
beside many titles, a title beside a label or two.  Each way of reading a line
(`readings`) names a title and a label; over the corpus, each part is counted in the
labelled lines that hold it (`part_counts`), and a reading holds when its label is the
part counted more or, counted as often, when the parts stand in the usual order: a title
before a site's name, after a topic (`holds`).  A label in square brackets is one as
written.  So `Le Blog de Sophie | Gestion des signaux` on every post's page reads as the
title after the site's name, and a page header `Le Blog de Sophie` is no title's copy.

Fingerprinting gives the title of every reading the character band keys and deletion keys
its own line would have, so that the title printed alone is its candidate, each row after
the keys of both parts (`META`, `TITLE_SPACES`); the table keeps the keys of the readings
that hold (`Texts.freeze`), and verification weighs them with the same counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.config import NormalizeConfig
from dedup.native import native
from dedup.normalize import normalize_many

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

#: A label after a title ("Titre | Blog", "Titre – Blog", "Titre · Blog") and one before
#: it ("Dossier : Titre"): the separators, and the longest label taken for one.
_SUFFIX_LABEL = re.compile(r"\s*[|•·»]\s*|\s+[-–—/]\s+")
#: The same in a text that opens a French quote: its » closes it.
_SUFFIX_LABEL_QUOTING = re.compile(_SUFFIX_LABEL.pattern.replace("»", ""))
_PREFIX_LABEL = re.compile(r"\s*:\s+|\s+:\s*")
#: What every reading needs (see `_separated`, `_bracketed`): a separator character, and
#: then a bar, bullet or closing quote, a dash or slash between spaces, a colon beside
#: one, or an opening bracket.  A hyphenated word ("peut-être") or a time ("10:30") is
#: none: each dash and colon read a third of French sentences again (5 % of
#: fingerprinting); the first search is the quicker, and most texts stop there.
_ANY_SEPARATOR = re.compile(r"[|•·»:/\-–—\[]")
_SEPARATOR = re.compile(r"[|•·»\[]|\s[-–—/]\s|\s:|:\s")
_LABEL_WORDS = 5
#: The fewest characters of a title of one word.
_ONE_WORD_TITLE = 12
_DIGIT = re.compile(r"\d")

#: The key spaces of the titles inside labelled lines (their character bands, and their
#: deletion keys), and the spaces their rows join where their reading holds.
TITLE_SPACES = {"title": "char", "title-typo": "typo"}
#: Columns before the keys in a row of a title space: the keys of the reading's title
#: and label (0: a label in brackets), and 1 for the usual order.
META = 3


class Reading(NamedTuple):
    """One way to read a labelled line: its title, its label (None: one in square
    brackets, a label as written), and whether the parts stand in the usual order."""

    title: str
    label: str | None
    usual: bool


class Parts(NamedTuple):
    """A reading normalized: its title, the keys of its title and label (0: none), and
    its title as written."""

    title: str
    title_key: int
    label_key: int
    usual: bool
    raw: str = ""


def readings(text: str) -> list[Reading]:
    """Every way `text` reads as a title beside a label, the usual order first.

    >>> readings("Threads menace Twitter | Le Blog de Sophie")[0]
    Reading(title='Threads menace Twitter', label='Le Blog de Sophie', usual=True)
    >>> readings("Dossier : Désactiver les sons système")
    [Reading(title='Désactiver les sons système', label='Dossier', usual=True)]
    >>> readings("[Tuto] Désactiver les sons système")
    [Reading(title='Désactiver les sons système', label=None, usual=True)]
    """
    if not _ANY_SEPARATOR.search(text):
        return []
    if native is None and not _SEPARATOR.search(text):  # the C readings find none as soon
        return []
    whole = text.strip()
    out = _separated(whole)
    bracketed = _bracketed(whole)
    if bracketed is not None and _is_label(*bracketed):
        title = bracketed[0]
        out += [Reading(title, None, True), *_separated(title)]
    return out


def _bracketed(text: str) -> tuple[str, str] | None:
    """(title, label) of a text with a label in square brackets before it ("[Tuto] Titre")
    or after it ("Titre [MAJ]"), the label holding no bracket, the title not in brackets
    itself (a synopsis's options, "[--async] [--labels=[KEY=VALUE,...]]"); else None."""
    found = None
    if text.startswith("["):
        end = text.find("]")
        if end > 1 and "[" not in text[1:end]:
            found = text[end + 1 :].strip(), text[1:end]
    if found is None and text.endswith("]"):
        start = text.rfind("[")
        if start > 0 and "]" not in text[start + 1 : -1]:
            found = text[:start].strip(), text[start + 1 : -1]
    if found is not None and found[0].startswith("[") and found[0].endswith("]"):
        return None
    return found


def _separated(text: str) -> list[Reading]:
    """The readings of `text` as two parts around a separator: the title before a label
    after it ("Titre | Blog"), or after one before it ("Dossier : Titre"), and the other
    way round.  In C where it was built (the regular expressions took a third of
    fingerprinting a million templated records, each read as a labelled line)."""
    if native is not None:
        return [Reading(title, label, usual) for title, label, usual in native.separated(text)]
    out: list[Reading] = []
    suffix = _SUFFIX_LABEL_QUOTING if "«" in text else _SUFFIX_LABEL
    for separator, title_first in ((suffix, True), (_PREFIX_LABEL, False)):
        parts = separator.split(text, maxsplit=1)
        if len(parts) == 2:
            first, second = parts
            usual = (first, second) if title_first else (second, first)
            for title, label in (usual, usual[::-1]):
                # A title holds no separator of the kind: "Titre — page 12 — 8 mai 2023"
                # is a list of fields, not a title beside a label.
                if _is_label(title, label) and not separator.search(title):
                    out.append(Reading(title, label, (title, label) == usual))
    return out


def _is_label(title: str, label: str) -> bool:
    """Whether `label` can label `title`: a title of two words or more, or a long one (a
    compound: `Prozessverfolgung`), and a label of a few words, one a word of letters at
    least (a "." after a quote closed is none), that states no number ("5 min de lecture"
    after a byline is a fact)."""
    words = label.split()
    named = len(title.split()) >= 2 or len(title) >= _ONE_WORD_TITLE
    lettered = any(character.isalpha() for character in label)
    return named and lettered and 0 < len(words) <= _LABEL_WORDS and not _DIGIT.search(label)


def part_key(norm: str) -> int:
    """The key of a normalized part: never 0, which stands for no label."""
    return xxhash.xxh3_64_intdigest(norm.encode("utf-8", "surrogatepass")) or 1


def normalized(texts: Sequence[str], config: NormalizeConfig) -> list[tuple[int, Parts]]:
    """Each reading of each text (by its number in `texts`), normalized and keyed."""
    found = [(k, reading) for k, text in enumerate(texts) for reading in readings(text)]
    labels = [r.label for _, r in found if r.label is not None]
    norms = normalize_many([r.title for _, r in found] + labels, config)
    label_norms = iter(norms[len(found) :])
    out = []
    for (k, reading), title in zip(found, norms, strict=False):
        label = 0 if reading.label is None else part_key(next(label_norms))
        out.append((k, Parts(title, part_key(title), label, reading.usual, reading.title)))
    return out


def holds(parts: Parts, counted: Counted | None) -> bool:
    """`holding`, of one reading (None: every reading holds, the corpus unknown)."""
    if counted is None:
        return True
    row = np.array([(parts.title_key, parts.label_key, parts.usual)], dtype=np.uint64)
    return bool(holding(row, counted)[0])


def part_counts(texts: npt.NDArray[np.integer[Any]], meta: U64) -> dict[int, int]:
    """In how many labelled texts each part is, of those in two or more: `texts` are the
    texts of readings (any numbers), `meta` their first META columns (see `META`)."""
    keys = np.concatenate((meta[:, 0], meta[:, 1]))
    owners = np.concatenate((texts, texts))
    named = keys != 0
    keys, owners = keys[named], owners[named]
    order = np.lexsort((owners, keys))
    keys, owners = keys[order], owners[order]
    new = np.ones(len(keys), dtype=bool)  # a (part, text) not the one before it
    new[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
    parts, counts = np.unique(keys[new], return_counts=True)
    many = counts >= 2
    return dict(zip(parts[many].tolist(), counts[many].tolist(), strict=True))


class Counted:
    """`part_counts` as sorted arrays, for `holding` of many readings at once."""

    def __init__(self, counts: Mapping[int, int]) -> None:
        self.keys = np.fromiter(counts, dtype=np.uint64, count=len(counts))
        order = np.argsort(self.keys)
        self.keys = self.keys[order]
        self.values = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))[order]

    def of(self, keys: U64) -> I64:
        """The count of each part (1: in one labelled text)."""
        if not len(self.keys):
            return np.ones(len(keys), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found: I64 = np.where(self.keys[at] == keys, self.values[at], 1)
        return found


def holding(meta: U64, counted: Counted) -> npt.NDArray[np.bool_]:
    """Whether readings (their first META columns) hold, given in how many labelled texts
    each part is (`counted`): where the label is the part counted more or, counted as
    often, the parts stand in the usual order; a label in brackets always."""
    title, label = counted.of(meta[:, 0]), counted.of(meta[:, 1])
    held: npt.NDArray[np.bool_] = (
        (meta[:, 1] == 0) | (label > title) | ((label == title) & (meta[:, 2] == 1))
    )
    return held


def settled(meta: U64, counted: Counted) -> bool:
    """Whether the readings (their first META columns) of texts a change adds or takes
    away hold as they would with any part counted once more or once less: their parts'
    counts (`counted`) at least two apart.  Else the change may move which part of a
    labelled title is its label, here or in a text beside the same part."""
    named = meta[meta[:, 1] != 0]
    return bool(np.all(np.abs(counted.of(named[:, 0]) - counted.of(named[:, 1])) >= 2))


def merged(counts: Mapping[int, int], prior: Mapping[int, int]) -> dict[int, int]:
    """Counts of a part of a corpus, each at least its count in the whole (`prior`)."""
    out = dict(counts)
    for key, count in prior.items():
        out[key] = max(count, out.get(key, 1))
    return out
