"""Normalization for comparison: raw unit text in, a canonical string out.

Unicode NFKC, casefold, optional accent folding, apostrophes of every kind
deleted (so "company's" and "companys", "l’arnaque" and "larnaque" compare
equal), then every run of characters that is not a letter, digit or combining
mark (punctuation, symbols, spaces of any kind including no-break spaces,
quotes and dashes) becomes one space.  The result is only ever compared or
hashed; output always quotes the raw text.  `normalize` is pure and idempotent.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from dedup.config import NormalizeConfig

_DEFAULT = NormalizeConfig()
_APOSTROPHES = "'’‘ʼ`´′"


class _Table(dict[int, int | None]):
    """str.translate table, filled on first sight of each character: letters,
    digits and marks map to themselves, apostrophes to nothing, the rest to a
    space.  One translate pass is several times faster than a regex that keeps
    combining marks."""

    def __missing__(self, code: int) -> int | None:
        char = chr(code)
        value: int | None
        if char in _APOSTROPHES:
            value = None
        elif unicodedata.category(char)[0] in "LNM" and char != "_":
            value = code
        else:
            value = 32
        self[code] = value
        return value


_TABLE = _Table()


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
    folded = unicodedata.normalize("NFC", folded.translate(_TABLE))
    if config.fold_accents:
        folded = _fold_accents(folded)
    if len(folded) < _LONG:
        return " ".join(folded.split())
    return _collapse_spaces(folded)


#: From this many characters on, numpy collapses spaces faster than split and join.
_LONG = 2048


def _collapse_spaces(text: str) -> str:
    """`" ".join(text.split())` for a text whose only whitespace is U+0020, in numpy
    (a UTF-8 byte 0x20 is always that space)."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    solid = data != 32
    keep = solid.copy()
    keep[1:] |= solid[:-1]  # a space right after a non-space stays: no leading one
    kept = data[keep]
    if len(kept) and kept[-1] == 32:  # a trailing one is at most one
        kept = kept[:-1]
    return str(kept.tobytes().decode("utf-8"))
