"""Normalization for comparison: raw unit text in, a canonical string out.

Unicode NFKC, casefold, optional accent folding, apostrophes of every kind
deleted (so "company's" and "companys", "l’arnaque" and "larnaque" compare
equal), then every run of characters that is not a letter, digit or combining
mark (punctuation, symbols, spaces of any kind including no-break spaces,
quotes and dashes) becomes one space.  The result is only ever compared or
hashed; output always quotes the raw text.  `normalize` is pure and idempotent.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dedup.config import NormalizeConfig

_DEFAULT = NormalizeConfig()
_APOSTROPHES = "'’‘ʼ`´′"


class _Table(dict[int, int | None]):
    """str.translate table, filled on first sight of each character: letters,
    digits and marks map to themselves, apostrophes to nothing, the rest to a
    space (but the characters given at creation).  One translate pass is several
    times faster than a regex that keeps combining marks."""

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

    @functools.cached_property
    def ascii_actions(self) -> npt.NDArray[np.uint8]:
        """What the table does with each ASCII byte, for `_translate` (see `_action`)."""
        return np.array([_action(self, code) for code in range(128)], dtype=np.uint8)


_TABLE = _Table()
#: Between the texts `normalize_many` normalizes at once: a control character that
#: composes with nothing and has no decomposition, so no step carries across it.
_SEPARATOR = "\x1e"
_SEPARATOR_BYTE = ord(_SEPARATOR)  # one byte in UTF-8, too
_SEPARATED = _Table({ord(_SEPARATOR): ord(_SEPARATOR)})
_NO_SPACE = {32: None}


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
    folded = _fold(text, config, _TABLE)
    if len(folded) < _LONG:
        return " ".join(folded.split())
    return _collapse_spaces(folded)


def normalize_many(
    texts: Sequence[str], config: NormalizeConfig = _DEFAULT, *, spaces: bool = True
) -> list[str]:
    """`[normalize(text, config) for text in texts]`, each step taken once over all of
    them joined: 8,500 paragraphs took half the time of one call each.  Without
    spaces, each comes without its spaces (the form `covered_many` compares), and
    the collapse of spaces is skipped."""
    joined = _SEPARATOR.join(texts)
    if len(texts) < 2 or joined.count(_SEPARATOR) >= len(texts):  # a text has one
        one_by_one = [normalize(text, config) for text in texts]
        return one_by_one if spaces else [_spaceless(norm) for norm in one_by_one]
    folded = _fold(joined, config, _SEPARATED)
    return (_collapse_spaces(folded) if spaces else _spaceless(folded)).split(_SEPARATOR)


def _spaceless(text: str) -> str:
    """`text` without its spaces.  On 2.4 MB of ASCII, translate took 5 ms and
    replace 11; on French text, translate took 104 ms and replace 8."""
    return text.translate(_NO_SPACE) if text.isascii() else text.replace(" ", "")


def _fold(text: str, config: NormalizeConfig, table: _Table) -> str:
    """Every step of `normalize` but the collapse of spaces.

    NFKC is skipped where the text is NFKC already, which a quick check tells at once:
    most web text is, once the few characters NFKC changes in it are replaced by what
    NFKC makes of them (French puts a no-break space before ;:!? and inside « »).  On
    French text this halves the time of the two NFKC passes and the table (#20).
    `tests/test_normalize.py` holds it to the definition, `_fold_plain`.
    """
    if not text.isascii():
        for char, image in _COMPATIBILITY:
            if char in text:
                text = text.replace(char, image)
    folded = _nfkc(_nfkc(text).casefold())
    # Deleting an apostrophe can bring a letter and a combining mark together: recompose.
    folded = folded.translate(table) if folded.isascii() else _translate(folded, table)
    if not unicodedata.is_normalized("NFC", folded):
        folded = unicodedata.normalize("NFC", folded)
    if config.fold_accents:
        folded = _fold_accents(folded)
    return folded


def _translate(text: str, table: _Table) -> str:
    """`text.translate(table)` over the text's UTF-8 bytes in numpy: str.translate looks
    every character up in a dict once a text is not ASCII (26 ns a character), while here
    each distinct character is looked up once.  The table keeps a character, deletes it,
    or makes it a space (see `_Table`)."""
    try:
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    except UnicodeEncodeError:  # a lone surrogate: the plain way
        return text.translate(table)
    wide = np.flatnonzero(data >= 0x80)  # the bytes of characters past ASCII
    lead = data[wide] >= 0xC0
    starts = wide[lead]
    padded = np.concatenate((data, np.zeros(3, dtype=np.uint8)))
    first = padded[starts].astype(np.uint32)
    b1, b2, b3 = ((padded[starts + k] & 0x3F).astype(np.uint32) for k in (1, 2, 3))
    two = (first & 0x1F) << 6 | b1
    three = (first & 0x0F) << 12 | b1 << 6 | b2
    four = (first & 0x07) << 18 | b1 << 12 | b2 << 6 | b3
    codes = np.where(first < 0xE0, two, np.where(first < 0xF0, three, four))
    distinct_codes, which = np.unique(codes, return_inverse=True)
    # Per character: 0 kept, 1 deleted, 2 made a space; ASCII bytes from the table's own.
    act = np.array([_action(table, int(c)) for c in distinct_codes.tolist()], dtype=np.uint8)
    byte_act = table.ascii_actions[data & 0x7F]
    byte_act[wide] = act[which.ravel()][np.cumsum(lead) - 1]
    space = byte_act == 2
    space[wide[~lead]] = False  # a character made a space keeps one byte, its first
    out = data.copy()
    out[space] = 32
    return str(out[(byte_act == 0) | space].tobytes().decode("utf-8"))


def _action(table: _Table, code: int) -> int:
    value = table[code]
    return 1 if value is None else 0 if value == code else 2


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _fold_plain(text: str, config: NormalizeConfig, table: _Table) -> str:
    """The definition: NFKC, casefold, NFKC, the table, NFC, accents."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    folded = unicodedata.normalize("NFC", folded.translate(table))
    if config.fold_accents:
        folded = _fold_accents(folded)
    return folded


#: Characters of web text that NFKC changes, by far the most common, and what it makes of
#: them: no-break spaces, the thin space, the ellipsis.
_COMPATIBILITY = (("\u00a0", " "), ("\u202f", " "), ("\u2009", " "), ("\u2026", "..."))


#: From this many characters on, numpy collapses spaces faster than split and join.
_LONG = 2048


def _collapse_spaces(text: str) -> str:
    """`" ".join(text.split())` for a text whose only whitespace is U+0020, in numpy
    (a UTF-8 byte 0x20 is always that space); each piece between separators is
    collapsed on its own."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    keep = data != 32
    solid = keep & (data != _SEPARATOR_BYTE)
    keep[1:] |= solid[:-1]  # a space right after a word stays: no leading one
    kept = data[keep]
    # ... unless it ends its piece: spaces are single now, so one look ahead suffices.
    last = np.empty(len(kept), dtype=bool)
    last[-1:] = True
    np.equal(kept[1:], _SEPARATOR_BYTE, out=last[:-1])
    return str(kept[~((kept == 32) & last)].tobytes().decode("utf-8"))
