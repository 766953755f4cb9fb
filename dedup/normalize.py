"""Normalization for comparison: raw unit text in, a canonical string out.

Unicode NFKC, casefold, optional accent folding, apostrophes of every kind
deleted (so "company's" and "companys", "l’arnaque" and "larnaque" compare
equal), and so are the invisible format characters (soft hyphens a hyphenating
site prints inside words, zero-width spaces and joiners, direction marks, byte
order marks: "répon\u00adse" and "réponse" compare equal), then every run of
characters that is not a letter, digit or combining mark (punctuation, symbols,
spaces of any kind including no-break spaces, quotes and dashes) becomes one space.
The result is only ever compared or hashed; output always quotes the raw text.
`normalize` is pure and idempotent.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dedup.config import NormalizeConfig
from dedup.native import native

_DEFAULT = NormalizeConfig()
_APOSTROPHES = "'’‘ʼ`´′"


class _Table(dict[int, int | None]):
    """str.translate table, filled on first sight of each character: letters,
    digits and marks map to themselves, apostrophes and format characters (Cf) to
    nothing, the rest to a space (but the characters given at creation).  One
    translate pass is several times faster than a regex that keeps combining marks."""

    def __missing__(self, code: int) -> int | None:
        char = chr(code)
        category = unicodedata.category(char)
        value: int | None
        if char in _APOSTROPHES or category == "Cf":
            value = None  # an apostrophe, or invisible (a soft hyphen, a zero-width space)
        elif category[0] in "LNM" and char != "_":
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
    if native is not None and (folded := _fold_texts([text], config, True)[0]) is not None:
        return folded
    return _normalize_one(text, config)


def _normalize_one(text: str, config: NormalizeConfig) -> str:
    """`normalize` without the C loops."""
    if len(text) >= _LONG and (fast := _fold_simple(text, config, _ASCII)) is not None:
        return fast
    folded = _fold(text, config, _TABLE)
    if len(folded) < _LONG:
        return " ".join(folded.split())
    return _collapse_spaces(folded)


def normalize_many(
    texts: Sequence[str], config: NormalizeConfig = _DEFAULT, *, spaces: bool = True
) -> list[str]:
    """`[normalize(text, config) for text in texts]`, at once: in C each text folded
    from its own characters (`_fold_texts`), else each step taken once over all of them
    joined (8,500 paragraphs took half the time of one call each).  Without spaces, each
    comes without its spaces (the form `covered_many` compares), and the collapse of
    spaces is skipped."""
    if native is not None:
        out = _fold_texts(list(texts), config, spaces)
        rest = [i for i, folded in enumerate(out) if folded is None]
        if rest:
            slow = _normalize_joined([texts[i] for i in rest], config, spaces)
            for i, folded in zip(rest, slow, strict=True):
                out[i] = folded
        return out  # type: ignore[return-value]  # none is None now
    return _normalize_joined(texts, config, spaces)


def _normalize_joined(texts: Sequence[str], config: NormalizeConfig, spaces: bool) -> list[str]:
    """`normalize_many` without the C loops: the texts joined, each step taken once."""
    joined = _SEPARATOR.join(texts)
    if len(texts) >= 2:
        # The separator passes _fold_simple as it is: more pieces than texts, one of
        # them holds one (and goes the plain way below).
        fast = _fold_simple(joined, config, _ASCII_SEPARATED, spaces)
        if fast is not None:
            out = fast.split(_SEPARATOR)
            if len(out) == len(texts):
                return out
        elif joined.count(_SEPARATOR) < len(texts):  # none holds one
            folded = _fold(joined, config, _SEPARATED)
            return (_collapse_spaces(folded) if spaces else _spaceless(folded)).split(_SEPARATOR)
    one_by_one = [_normalize_one(text, config) for text in texts]
    return one_by_one if spaces else [_spaceless(norm) for norm in one_by_one]


def _fold_texts(texts: list[str], config: NormalizeConfig, spaces: bool) -> list[str | None]:
    """`normalize_many` in C (`dedup.native`) of each text whose characters fold on their
    own (see `_fold_simple`), None for the others: each text folded straight from its own
    code points, its characters past ASCII looked up among those the process has met
    (`_Images`).  Nothing is joined, encoded or split: on French pages, a third of the
    time of folding them joined."""
    assert native is not None
    images = _IMAGES[config.fold_accents]
    out, met = native.fold_texts(texts, _ASCII, *images.arrays, spaces)
    if met:  # characters first met here: their images made, and their texts folded again
        images.learn(met, config)
        again = [i for i, folded in enumerate(out) if folded is None]
        redone, _ = native.fold_texts([texts[i] for i in again], _ASCII, *images.arrays, spaces)
        for i, folded in zip(again, redone, strict=True):
            out[i] = folded
    return out  # type: ignore[no-any-return]


class _Images:
    """The characters past ASCII a process has met, as `native.fold_texts` takes them:
    ascending code points, their images (UTF-8, one after another) and where each ends,
    and a byte each, 1 for a character that does not fold on its own.  Characters are
    learned a block of `_BLOCK` code points at a time, the block of each character met,
    and the arrays made again from the blocks' own: a corpus whose rare characters keep
    coming (Chinese) makes them again once a block, not once a character, and in numpy."""

    _Block = tuple[npt.NDArray[np.uint32], bytes, npt.NDArray[np.int64], bytes]

    def __init__(self, simple: dict[int, str | None]) -> None:
        self.simple = simple  # _SIMPLE or _SIMPLE_ACCENTS
        self.blocks: dict[int, _Images._Block] = {}
        self.arrays = self._arrays()

    def learn(self, codes: list[int], config: NormalizeConfig) -> None:
        for block in {code // _BLOCK for code in codes}.difference(self.blocks):
            span = _block(block)
            for code in span:
                if code not in self.simple:
                    self.simple[code] = _simple(code, config)
            images = [self.simple[code] for code in span]
            parts = [b"" if image is None else image.encode("utf-8") for image in images]
            self.blocks[block] = (
                np.arange(span.start, span.stop, dtype=np.uint32),
                b"".join(parts),
                np.array([len(part) for part in parts], dtype=np.int64),
                bytes(image is None for image in images),
            )
        self.arrays = self._arrays()

    def _arrays(self) -> tuple[npt.NDArray[np.uint32], bytes, npt.NDArray[np.int64], bytes]:
        ordered = [self.blocks[block] for block in sorted(self.blocks)]
        if not ordered:
            return np.empty(0, dtype=np.uint32), b"", np.empty(0, dtype=np.int64), b""
        return (
            np.concatenate([codes for codes, _, _, _ in ordered]),
            b"".join(blob for _, blob, _, _ in ordered),
            np.cumsum(np.concatenate([sizes for _, _, sizes, _ in ordered])),
            b"".join(bad for _, _, _, bad in ordered),
        )


#: Code points learned at once (see `_Images`).
_BLOCK = 256


def _block(block: int) -> range:
    """The code points of a block past ASCII (the first block starts at 0x80)."""
    return range(max(block * _BLOCK, 0x80), (block + 1) * _BLOCK)


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


def _fold_simple(
    text: str, config: NormalizeConfig, ascii_table: bytes, spaces: bool = True
) -> str | None:
    """`normalize(text)` where every character of the text folds on its own, else None.

    A character folds on its own (see `_simple`) when no NFKC composition, reordering or
    recomposition can reach across it: then the definition, applied to the whole text,
    is each character's own image one after another.  So, on the text's UTF-8 bytes in
    numpy, the few distinct characters past ASCII that change are replaced by their
    images at once, the ASCII bytes go through one `bytes.translate` (lower case,
    apostrophes deleted, the rest of punctuation and controls made spaces), and spaces
    are collapsed.  French, and English with typographic quotes and dashes, take this
    path whole.  Without `spaces`, the text comes without any (see `normalize_many`).
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if len(data) != len(text):  # past ASCII
        replaced = _replace_wide(np.frombuffer(data, dtype=np.uint8), config)
        if replaced is None:
            return None
        data = replaced
    folded = _collapse_bytes(data.translate(ascii_table, b"'`"))
    return folded if spaces else _spaceless(folded)


def _replace_wide(data: npt.NDArray[np.uint8], config: NormalizeConfig) -> bytes | None:
    """UTF-8 bytes with every character past ASCII replaced by its image (see `_simple`);
    None if one of them does not fold on its own."""
    codes, starts = _wide_codes(data)
    changed = _changed(np.unique(codes).tolist(), config)
    if changed is None:
        return None
    if not changed:
        return data.tobytes()
    targets = np.fromiter(changed, dtype=np.uint32, count=len(changed))  # sorted: from unique
    if len(targets) <= 16:  # np.isin sorts: a few compares cost less
        where = codes == targets[0]
        for target in targets[1:].tolist():
            where |= codes == target
    else:
        where = np.isin(codes, targets)
    found = np.flatnonzero(where)  # the characters that change
    at = starts[found]  # where their bytes start
    width = np.where(data[at] < 0xE0, 2, np.where(data[at] < 0xF0, 3, 4))
    which = np.searchsorted(targets, codes[found])
    blob = np.frombuffer(b"".join(changed.values()), dtype=np.uint8)
    size = np.array([len(image) for image in changed.values()], dtype=np.int64)
    first = np.cumsum(size) - size  # where each image starts in blob
    lengths = size[which]
    keep = np.ones(len(data), dtype=bool)
    keep[_ranges(at, width)] = False
    # Into the bytes kept, each image goes where its character was.
    moved = at - (np.cumsum(width) - width)
    return bytes(
        np.insert(data[keep], np.repeat(moved, lengths), blob[_ranges(first[which], lengths)])
    )


def _changed(codes: list[int], config: NormalizeConfig) -> dict[int, bytes] | None:
    """The UTF-8 image of each of these characters (ascending) that changes, in order; None
    if one of them does not fold on its own (see `_simple`).  Each is looked at once a run."""
    images = _SIMPLE_ACCENTS if config.fold_accents else _SIMPLE
    changed: dict[int, bytes] = {}
    for code in codes:
        if code not in images:
            images[code] = _simple(code, config)
        image = images[code]
        if image is None:
            return None
        if image != chr(code):
            changed[code] = image.encode("utf-8")
    return changed


def _ranges(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The indices start, start + 1, ... start + length - 1 of each range, one after another."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)


#: Per character past ASCII: its image when it folds on its own, else None; one table
#: with accents kept, one with them folded.
_SIMPLE: dict[int, str | None] = {}
_SIMPLE_ACCENTS: dict[int, str | None] = {}
#: The same, as `_fold_texts` hands them to C, by whether accents are folded.
_IMAGES = {False: _Images(_SIMPLE), True: _Images(_SIMPLE_ACCENTS)}
#: Blocks whose characters no NFKC composition takes as a second part (the starters that
#: compose with what precedes them are Hangul jamo and vowel signs of Indic scripts; marks
#: are left out one by one): Latin, Greek, Cyrillic and the rest below Devanagari; Latin
#: Extended Additional to Supplemental Punctuation (punctuation, dashes, quotes, symbols);
#: CJK punctuation, kana and ideographs; Hangul syllables; the alphabetic presentation
#: forms (ligatures); the fullwidth forms; emoji and pictographs.
_SIMPLE_BLOCKS = (
    (0x80, 0x900),
    (0x1E00, 0x2E80),
    (0x3000, 0x3100),
    (0x4E00, 0xA000),
    (0xAC00, 0xD7A4),
    (0xFB00, 0xFB07),
    (0xFF00, 0xFF60),
    (0x1F000, 0x1FB00),
)


def _simple(code: int, config: NormalizeConfig) -> str | None:
    """The image of a character that folds on its own (what `_fold_plain` makes of it
    alone); None for any other character.

    It must lie in `_SIMPLE_BLOCKS`, not be a mark, and decompose (NFKD) into something
    that starts with a character of combining class 0 that is not a mark either: nothing
    before it can then compose with it or be reordered with it."""
    char = chr(code)
    if not any(low <= code < high for low, high in _SIMPLE_BLOCKS):
        return None
    if unicodedata.category(char)[0] == "M":
        return None
    first = unicodedata.normalize("NFKD", char)[:1]
    if first and (unicodedata.combining(first) or unicodedata.category(first)[0] == "M"):
        return None
    return _fold_plain(char, config, _TABLE)


def _ascii_table(keep: str = "") -> bytes:
    """A bytes.translate table: ASCII as `_TABLE` and casefold make it (apostrophes are
    deleted by the caller), `keep` kept, every byte past ASCII left alone."""
    table = bytearray(range(256))
    for code in range(128):
        char = chr(code)
        if char not in keep and _TABLE[code] != code:
            table[code] = 32
        elif char not in keep:
            table[code] = ord(char.casefold())
    return bytes(table)


_ASCII = _ascii_table()
_ASCII_SEPARATED = _ascii_table(_SEPARATOR)


def _wide_codes(data: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.intp]]:
    """The code points of the characters past ASCII in valid UTF-8 bytes, and where the
    bytes of each start."""
    starts = np.flatnonzero(data >= 0xC0)  # a character past ASCII starts with one of these
    last = len(data) - 1
    first = data[starts].astype(np.uint32)
    b1, b2, b3 = ((data[np.minimum(starts + k, last)] & 0x3F).astype(np.uint32) for k in (1, 2, 3))
    two = (first & 0x1F) << 6 | b1
    three = (first & 0x0F) << 12 | b1 << 6 | b2
    four = (first & 0x07) << 18 | b1 << 12 | b2 << 6 | b3
    return np.where(first < 0xE0, two, np.where(first < 0xF0, three, four)), starts


def _translate(text: str, table: _Table) -> str:
    """`text.translate(table)` over the text's UTF-8 bytes in numpy: str.translate looks
    every character up in a dict once a text is not ASCII (26 ns a character), while here
    each distinct character is looked up once.  The table keeps a character, deletes it,
    or makes it a space (see `_Table`)."""
    try:
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    except UnicodeEncodeError:  # a lone surrogate: the plain way
        return text.translate(table)
    codes, _ = _wide_codes(data)
    wide = np.flatnonzero(data >= 0x80)  # the bytes of characters past ASCII
    lead = data[wide] >= 0xC0
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
    return _collapse_bytes(text.encode("utf-8"))


def _collapse_bytes(utf8: bytes) -> str:
    """`_collapse_spaces` of a text given as UTF-8."""
    data = np.frombuffer(utf8, dtype=np.uint8)
    if not len(data):
        return ""
    keep = data != 32
    solid = keep & (data != _SEPARATOR_BYTE)
    keep[1:] |= solid[:-1]  # a space right after a word stays: no leading one
    kept = data[keep]
    # ... unless it ends its piece: spaces are single now, so one look ahead suffices.
    last = np.empty(len(kept), dtype=bool)
    last[-1:] = True
    np.equal(kept[1:], _SEPARATOR_BYTE, out=last[:-1])
    return str(kept[~((kept == 32) & last)].tobytes().decode("utf-8"))
