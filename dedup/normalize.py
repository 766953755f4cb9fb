"""Normalization for comparison: raw unit text in, a canonical string out.

Unicode NFKC, casefold, optional accent folding, apostrophes of every kind
deleted, then every run of characters that is not a letter, digit or combining
mark (punctuation, symbols, spaces of any kind including no-break spaces,
quotes and dashes) becomes one space.  The result is only ever compared or hashed; output
always quotes the raw text.  `normalize` is pure and idempotent.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

from dedup.config import NormalizeConfig

_DEFAULT = NormalizeConfig()


@functools.cache
def _separator() -> re.Pattern[str]:
    # `\w` alone would split words at combining marks (Devanagari vowel signs,
    # Arabic harakat), so marks are kept explicitly.
    marks: list[str] = []
    start = prev = -2
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code))[0] != "M":
            continue
        if code != prev + 1:
            if start >= 0:
                marks.append(_range(start, prev))
            start = code
        prev = code
    marks.append(_range(start, prev))
    return re.compile(r"(?:[^\w" + "".join(marks) + r"]|_)+")


def _range(first: int, last: int) -> str:
    return (
        re.escape(chr(first))
        if first == last
        else f"{re.escape(chr(first))}-{re.escape(chr(last))}"
    )


# Apostrophes of every kind are deleted rather than spaced, so that "company's"
# and "companys", or "l’arnaque" and "larnaque", compare equal.
_APOSTROPHES = re.compile("['’‘ʼ`´′]")


def _fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def normalize(text: str, config: NormalizeConfig = _DEFAULT) -> str:
    """Return the comparison form of `text`.

    >>> normalize("Réseaux  sociaux : L’arnaque — de «Twitter» !")
    'réseaux sociaux larnaque de twitter'
    >>> normalize("Réseaux sociaux", NormalizeConfig(fold_accents=True))
    'reseaux sociaux'
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    # Deleting an apostrophe can bring a letter and a combining mark together: recompose.
    folded = unicodedata.normalize("NFC", _APOSTROPHES.sub("", folded))
    if config.fold_accents:
        folded = _fold_accents(folded)
    return _separator().sub(" ", folded).strip()
