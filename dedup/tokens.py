"""Words of normalized text, all at once in numpy: where each token is, and its 32-bit
xxhash (`xxh32_spans`), the atoms of word shingles and of edit keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.native import native

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

_P1, _P2, _P3, _P4, _P5 = (
    np.uint32(p) for p in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1)
)


def _rotl(x: U32, bits: int) -> U32:
    return (x << np.uint32(bits)) | (x >> np.uint32(32 - bits))


def xxh32_spans(data: bytes, starts: I64, ends: I64) -> U32:
    """xxh32 (seed 0) of `data[s:e]` for every span, exactly as xxhash computes it: in C
    where it was built (`dedup.native`), else `_xxh32_spans_numpy`."""
    if native is None:
        return _xxh32_spans_numpy(data, starts, ends)
    out = np.empty(len(starts), dtype=np.uint32)
    native.xxh32_spans(
        data,
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        out,
    )
    return out


def _xxh32_spans_numpy(data: bytes, starts: I64, ends: I64) -> U32:
    """`xxh32_spans` in numpy.

    Spans under 16 bytes (nearly every word) take xxh32's short-input path in
    numpy, all at once: 4-byte lanes, then single bytes, then the avalanche.
    They are taken in order of length, so that each step works on a slice of
    the spans long enough for it, not on a gathered subset (this ran 20 % faster
    on word tokens).  Longer spans are hashed by xxhash itself, one call each.
    """
    padded = data + bytes(19 - (len(data) + 3) % 4)
    buf = np.frombuffer(padded, dtype=np.uint8)
    # The little-endian 32-bit word at every byte offset p: words[p], a view (unaligned).
    words = np.ndarray(shape=(len(padded) - 3,), dtype="<u4", buffer=padded, strides=(1,))
    size = np.minimum(ends - starts, 16).astype(np.uint8)
    order = np.argsort(size, kind="stable")  # a counting sort, for 8-bit keys
    size = size[order]
    at = starts[order]
    first = np.searchsorted(size, np.arange(17, dtype=np.uint8)).tolist()  # of each length
    short = first[16]
    h = size[:short].astype(np.uint32) + _P5
    for lane in range(3):
        lo = first[4 * lane + 4]
        where = at[lo:short] + 4 * lane
        step = h[lo:short] + words[where] * _P3
        h[lo:short] = _rotl(step, 17) * _P4
    for lanes in range(0, 16, 4):  # lengths lanes + 1 to lanes + 3 have tail bytes
        for byte in range(3):
            lo, hi = first[lanes + byte + 1], first[lanes + 4]
            step = h[lo:hi] + buf[at[lo:hi] + lanes + byte].astype(np.uint32) * _P5
            h[lo:hi] = _rotl(step, 11) * _P1
    h ^= h >> np.uint32(15)
    h *= _P2
    h ^= h >> np.uint32(13)
    h *= _P3
    h ^= h >> np.uint32(16)
    out = np.empty(len(order), dtype=np.uint32)
    out[order[:short]] = h
    for i in order[short:].tolist():
        out[i] = xxhash.xxh32_intdigest(data[starts[i] : ends[i]])
    return out


def token_spans(data: bytes) -> tuple[I64, I64, I64]:
    """(starts, ends, text number) of the tokens of normalized texts joined by newlines."""
    buf = np.frombuffer(data, dtype=np.uint8)
    cuts = np.flatnonzero(buf <= 32)  # spaces, and the newlines between texts
    starts = np.concatenate(([0], cuts + 1))
    ends = np.concatenate((cuts, [len(data)]))
    text = np.concatenate(([0], np.cumsum(buf[cuts] == 10)))
    return starts, ends, text


def joined_hashes(data: bytes) -> tuple[U32, I64]:
    """The xxh32 of every token of normalized texts joined by newlines (see
    `token_spans`), and how many tokens each text has: `texts_hashes` without the C
    loops, and its reference."""
    starts, ends, owner = token_spans(data)
    return xxh32_spans(data, starts, ends), np.bincount(owner)


def texts_hashes(texts: list[str]) -> tuple[U32, I64]:
    """`joined_hashes` of normalized texts joined by newlines: in C straight from the str
    objects where it was built (no join, and no encoding but of a token past ASCII)."""
    if native is None:
        return joined_hashes("\n".join(texts).encode("utf-8"))
    hashes, counts = native.text_token_hashes(texts)
    return np.frombuffer(hashes, dtype=np.uint32), np.frombuffer(counts, dtype=np.int64)


def word_hashes(
    texts: Sequence[str], numbers: Iterable[int] | None = None
) -> tuple[list[int], U32, I64]:
    """Of normalized texts (those at `numbers`, else all): the numbers of those that are not
    empty, the xxh32 of every word of theirs in order, and how many words each has."""
    filled = [i for i in (range(len(texts)) if numbers is None else numbers) if texts[i]]
    if not filled:
        return filled, np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.int64)
    hashes, counts = texts_hashes([texts[i] for i in filled])
    return filled, hashes, counts


def token_hashes(norm: str) -> U32:
    """32-bit xxhash of every space-separated token of a normalized text."""
    return texts_hashes([norm])[0]
