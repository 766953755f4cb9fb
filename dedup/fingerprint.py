"""Fingerprinting: normalized unit text in, exact keys, shingle sets and MinHash signatures out.

Shingles are hashed without a Python call per shingle: tokens are hashed once
with xxhash (or, for character shingles, taken as code points), and the k-gram
hashes are combined from them with numpy.  Long units use word k-grams; short
ones (headings, short lines) use character k-grams of the text with its spaces
removed, so "Réseaux sociaux : L’arnaque" and "Réseaux sociauxL’arnaque" share
every shingle; units of middling length have both (see `shingle_sets`).

Signatures follow datasketch 2.x's default `affine32` scheme bit for bit: the
shingle hash is pre-mixed with the 32-bit MurmurHash3 finalizer, then permuted
with `a * h + b mod 2**32` using datasketch's own permutation parameters, so a
signature row is a valid `LeanMinHash` for datasketch's LSH and storage.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.config import MinHashConfig, NormalizeConfig
from dedup.normalize import normalize

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

_DEFAULT = MinHashConfig()
_WORD_SALT = 0x9E3779B97F4A7C15
_CHAR_SALT = 0xC2B2AE3D27D4EB4F
_POLY = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
#: Shingles per MinHash block: a (2048 x 128) uint32 work array (1 MiB) stays in cache,
#: which measured 7x faster here than blocks of 65536 rows.
_BLOCK = 2048
#: Sets with at least this many shingles are reduced on their own.
_LARGE = 256


def exact_key(norm: str) -> bytes:
    """The exact-duplicate key of a normalized text: its 128-bit xxh3 digest."""
    return xxhash.xxh3_128_digest(norm.encode("utf-8"))


def _mix64(x: U64) -> U64:
    """SplitMix64's finalizer, on arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def _fmix32(h: U32) -> U32:
    """MurmurHash3's 32-bit finalizer, as datasketch's affine32 scheme applies it."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def token_hashes(norm: str) -> U32:
    """32-bit xxhash of every space-separated token of a normalized text, one C call each."""
    tokens = norm.encode("utf-8").split(b" ")
    return np.fromiter(map(xxhash.xxh32_intdigest, tokens), dtype=np.uint32, count=len(tokens))


def kgram_hashes(atoms: U32, k: int, salt: int) -> U32:
    """Sorted distinct 32-bit hashes of the k-grams of `atoms` (all of them if fewer than k)."""
    n = len(atoms)
    if n == 0:
        return np.empty(0, dtype=np.uint32)
    k = min(k, n)
    count = n - k + 1
    wide = atoms.astype(np.uint64)
    wide += np.uint64(1)
    acc = np.full(count, salt, dtype=np.uint64)
    for j in range(k):
        acc *= _POLY
        acc += wide[j : j + count]
    return _distinct((_mix64(acc) >> np.uint64(32)).astype(np.uint32))


def _distinct(values: U32) -> U32:
    """Sorted distinct values (np.unique's hash-based path measured 4x slower here)."""
    values.sort()
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


#: The two shingle spaces; a unit with fewer than 2 * char_below words has a char
#: set, one with at least char_below words a word set, so units in between have
#: both and are comparable with shorter and longer units alike.
SPACES: tuple[str, ...] = ("char", "word")


def shingle_sets(norm: str, config: MinHashConfig = _DEFAULT) -> dict[str, U32]:
    """The shingle sets of a normalized text in each space it belongs to."""
    if not norm:
        return {}
    words = norm.count(" ") + 1
    out: dict[str, U32] = {}
    if words < 2 * config.char_below:
        compact = norm.replace(" ", "").encode("utf-32-le")
        out["char"] = kgram_hashes(
            np.frombuffer(compact, dtype=np.uint32), config.char_shingle_size, _CHAR_SALT
        )
    if words >= config.char_below:
        out["word"] = kgram_hashes(token_hashes(norm), config.shingle_size, _WORD_SALT)
    return out


def shingles(norm: str, config: MinHashConfig = _DEFAULT) -> U32:
    """The shingle set of a normalized text, as sorted distinct 32-bit hashes.

    Character k-grams for short texts, word k-grams for the others.

    >>> a = shingles("threads menace twitter")
    >>> bool((a == shingles("threads menace twitter")).all()), len(a)
    (True, 16)
    """
    sets = shingle_sets(norm, config)
    return sets.get("char", sets.get("word", np.empty(0, dtype=np.uint32)))


@functools.cache
def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """The affine32 permutation parameters (a, b) datasketch 2.x draws for num_perm and seed.

    datasketch draws them from numpy's legacy RandomState(seed): num_perm odd
    multipliers, then num_perm offsets.  Drawing them here spares every process
    the import of datasketch (and of scipy, which it loads: about a second);
    tests/test_fingerprint.py checks them against datasketch's own.
    """
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signatures(sets: Sequence[U32], num_perm: int, seed: int) -> U32:
    """MinHash signatures of many shingle sets at once, shape (len(sets), num_perm).

    Work happens in a (_BLOCK x num_perm) array small enough to stay in cache:
    a large set alone (a column-wise min, measured twice as fast as reduceat),
    small sets a block at a time (one reduceat).  An empty set gets
    datasketch's empty signature (every value 2**32 - 1).
    """
    a, b = permutations(num_perm, seed)
    out = np.full((len(sets), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    work = np.empty((_BLOCK, num_perm), dtype=np.uint32)
    small: list[int] = []
    small_rows = 0
    for i, shingle_set in enumerate(sets):
        if len(shingle_set) >= _LARGE:
            out[i] = _permuted_min(_fmix32(shingle_set), a, b, work)
        elif len(shingle_set):
            if small_rows + len(shingle_set) > _BLOCK:
                _small_block(sets, small, a, b, work, out)
                small, small_rows = [], 0
            small.append(i)
            small_rows += len(shingle_set)
    if small:
        _small_block(sets, small, a, b, work, out)
    return out


def _small_block(
    sets: Sequence[U32], units: list[int], a: U32, b: U32, work: U32, out: U32
) -> None:
    flat = _fmix32(np.concatenate([sets[i] for i in units]))
    block = work[: len(flat)]
    np.multiply(flat[:, None], a, out=block)
    np.add(block, b, out=block)
    starts = np.cumsum([0] + [len(sets[i]) for i in units[:-1]])
    out[units] = np.minimum.reduceat(block, starts, axis=0)


def _permuted_min(hashes: U32, a: U32, b: U32, work: U32) -> U32:
    """Column-wise minimum of a * h + b over one large set, _BLOCK rows at a time."""
    result = np.empty(len(a), dtype=np.uint32)
    for lo in range(0, len(hashes), _BLOCK):
        chunk = hashes[lo : lo + _BLOCK]
        block = work[: len(chunk)]
        np.multiply(chunk[:, None], a, out=block)
        np.add(block, b, out=block)
        if lo == 0:
            block.min(axis=0, out=result)
        else:
            np.minimum(result, block.min(axis=0), out=result)
    return result


def lean_minhash(signature: U32, seed: int) -> Any:
    """Wrap one signature row as a datasketch LeanMinHash (affine32)."""
    from datasketch import LeanMinHash  # imported on use: it loads scipy

    return LeanMinHash(seed=seed, hashvalues=signature, scheme="affine32")


def fingerprint(
    text: str, config: MinHashConfig = _DEFAULT, norm_config: NormalizeConfig | None = None
) -> Any:
    """The LeanMinHash of one raw text.

    >>> fingerprint("Threads menace Twitter").jaccard(fingerprint("threads, menace: Twitter!"))
    1.0
    """
    sets = [shingles(normalize(text, norm_config or NormalizeConfig()), config)]
    return lean_minhash(signatures(sets, config.num_perm, config.seed)[0], config.seed)
