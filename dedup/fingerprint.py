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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from dedup.config import MinHashConfig, NormalizeConfig
from dedup.native import native
from dedup.normalize import normalize
from dedup.order import I64 as I64
from dedup.order import U64 as U64
from dedup.order import distinct
from dedup.tokens import texts_hashes, word_hashes

U32 = npt.NDArray[np.uint32]

_DEFAULT = MinHashConfig()
WORD_SALT = 0x9E3779B97F4A7C15
_CHAR_SALT = 0xC2B2AE3D27D4EB4F
POLY = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SHIFT = np.uint64(32)
#: The key of a window that is no k-gram: above every real key, whose high bits (a
#: segment's number or tag, see `gram_keys`) never are all ones.
UNUSED = np.uint64(2**64 - 1)
#: Shingles per MinHash block: a (128 x 512) uint32 work array (256 KiB) stays in the
#: L2 cache; 512 measured fastest here among 256 to 2048, on documents and paragraphs.
_BLOCK = 512
#: Characters of normalized text shingled at once.
_GROUP_CHARS = 1 << 18


def exact_key(norm: str) -> bytes:
    """The exact-duplicate key of a normalized text: its 128-bit xxh3 digest."""
    return xxhash.xxh3_128_digest(norm.encode("utf-8"))


def exact_keys(norms: Iterable[str]) -> list[bytes]:
    """`exact_key` of each text, through map: no Python frame a text."""
    return digests(map(str.encode, norms))


def digests(data: Iterable[bytes | memoryview]) -> list[bytes]:
    """The exact key of each normalized text given in UTF-8 (see `exact_key`)."""
    return list(map(xxhash.xxh3_128_digest, data))


def mix64(x: U64) -> U64:
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


@dataclass
class Sets:
    """Many shingle-hash sets in one array: set i is values[offsets[i]:offsets[i + 1]]
    and belongs to unit `units[i]` of the batch it was made for.  Each set is sorted
    and distinct, unless it was made as a bag (see `batch_shingle_sets`)."""

    units: I64
    offsets: I64
    values: U32

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, i: int) -> U32:
        return self.values[self.offsets[i] : self.offsets[i + 1]]


def segment_kgrams(
    atoms: U32, bounds: I64, k: int, salt: int, bags: bool = False
) -> tuple[I64, U32]:
    """Sorted distinct 32-bit hashes of the k-grams of every segment of `atoms`.

    Segment i is atoms[bounds[i]:bounds[i + 1]]; a segment of fewer than k atoms
    (but at least one) is one gram of all of them.  Returns (offsets, values):
    segment i's hashes are values[offsets[i]:offsets[i + 1]].  With `bags`, a
    segment's hashes are its windows' in order, repeats and all: enough for a
    MinHash, which a repeat leaves alone, and spared the sort.  In C where it was built
    (`dedup.native`): each segment's grams sorted on their own, not all of them at once.
    """
    if native is not None:
        sizes = np.diff(bounds)
        room = int(np.maximum(sizes - (k - 1), 0).sum() + ((sizes > 0) & (sizes < k)).sum())
        offsets = np.empty(len(bounds), dtype=np.int64)
        values = np.empty(room, dtype=np.uint32)
        atoms = np.ascontiguousarray(atoms, dtype=np.uint32)
        bounds = np.ascontiguousarray(bounds, dtype=np.int64)
        used = native.kgram_sets(atoms, bounds, k, salt, bags, offsets, values)
        return offsets, values[:used]
    if not bags:
        offsets, keys = keyed_kgrams(atoms, bounds, k, salt)
        return offsets, keys.astype(np.uint32)
    sizes = np.diff(bounds)
    short = np.flatnonzero((sizes > 0) & (sizes < k))
    counts = np.maximum(sizes - (k - 1), 0)
    counts[short] = 1
    offsets = np.concatenate(([0], np.cumsum(counts)))
    keys = gram_keys(atoms, bounds, k, salt, None, 0)  # whole windows, then short segments
    windows = len(keys) - len(short)
    values = np.empty(offsets[-1], dtype=np.uint32)
    alone = np.zeros(len(values), dtype=bool)
    alone[offsets[short]] = True
    values[alone] = keys[windows:]
    whole = keys[:windows]
    values[~alone] = whole[whole != UNUSED]
    return offsets, values


def keyed_kgrams(atoms: U32, bounds: I64, k: int, salt: int) -> tuple[I64, U64]:
    """`segment_kgrams` with each hash keyed by its segment: `i << 32 | hash`, in order.

    Every segment's grams are made, sorted and deduplicated together, segment
    number in the high bits, so the work is a few numpy calls whatever the
    number of segments.
    """
    count = len(bounds) - 1
    tags = np.arange(count, dtype=np.uint64) << _SHIFT
    merged = distinct(gram_keys(atoms, bounds, k, salt, tags, 0))
    if len(merged) and merged[-1] == UNUSED:
        merged = merged[:-1]
    offsets = np.searchsorted(merged >> _SHIFT, np.arange(count + 1, dtype=np.uint64))
    return offsets.astype(np.int64), merged


def gram_keys(atoms: U32, bounds: I64, k: int, salt: int, tags: U64 | None, shift: int) -> U64:
    """The k-grams of every segment of `atoms`, each as `hash << shift | tags[segment]`
    (no tag if `tags` is None), unsorted and with repeats: every window in order, one that
    runs past its segment's end UNUSED, then one gram for each segment of fewer than k
    atoms (but at least one), of all of them.  In C where it was built (`dedup.native`).
    """
    n = len(atoms)
    sizes = np.diff(bounds)
    if native is not None:
        windows = max(n - k + 1, 0)
        out = np.empty(windows + int(((sizes > 0) & (sizes < k)).sum()), dtype=np.uint64)
        native.gram_keys(
            np.ascontiguousarray(atoms, dtype=np.uint32),
            np.ascontiguousarray(bounds, dtype=np.int64),
            k,
            salt,
            None if tags is None else np.ascontiguousarray(tags, dtype=np.uint64),
            shift,
            out,
        )
        return out
    keys: list[U64] = [np.empty(0, dtype=np.uint64)]
    if n >= k:
        windows = n - k + 1
        wide = atoms.astype(np.uint64)
        wide += np.uint64(1)
        acc = np.full(windows, salt, dtype=np.uint64)
        for j in range(k):
            acc *= POLY
            acc += wide[j : j + windows]
        key = mix64(acc)
        key >>= np.uint64(32 - shift)
        if shift:
            key &= np.uint64(((1 << 32) - 1) << shift)
        if tags is not None:
            key |= np.repeat(tags, sizes)[:windows]
        # A window that runs past its segment's end starts among the last k - 1 atoms
        # before some segment's end (its own, or a later one if its segment is short).
        late = (bounds[1:, None] - np.arange(1, k)).ravel()
        key[late[(late >= 0) & (late < windows)]] = UNUSED
        keys.append(key)
    for i in np.flatnonzero((sizes > 0) & (sizes < k)).tolist():  # short segments
        acc1 = np.full(1, salt, dtype=np.uint64)
        for atom in atoms[bounds[i] : bounds[i + 1]].astype(np.uint64) + np.uint64(1):
            acc1 *= POLY
            acc1 += atom
        gram = (mix64(acc1) >> _SHIFT) << np.uint64(shift)
        keys.append(gram if tags is None else gram | tags[i])
    return np.concatenate(keys)


def code_points(texts: Sequence[str]) -> tuple[U32, I64]:
    """The code points of texts joined, and the bounds of each text among them: in C
    where it was built, each text widened from its own characters (joined and encoded
    as UTF-32 took 189 against 25 us for 40 French pages)."""
    if native is not None:
        atoms, bounds = native.code_points(list(texts))
        return np.frombuffer(atoms, dtype=np.uint32), np.frombuffer(bounds, dtype=np.int64)
    atoms = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    return atoms, np.cumsum([0] + [len(t) for t in texts])


def char_kgrams(texts: Sequence[str], k: int, salt: int, bags: bool = False) -> tuple[I64, U32]:
    """`segment_kgrams` over the code points of each text (a segment each)."""
    return segment_kgrams(*code_points(texts), k, salt, bags)


def kgram_hashes(atoms: U32, k: int, salt: int) -> U32:
    """Sorted distinct 32-bit hashes of the k-grams of `atoms` (all of them if fewer than k)."""
    return segment_kgrams(atoms, np.array([0, len(atoms)], dtype=np.int64), k, salt)[1]


#: The two shingle spaces; a unit with fewer than 2 * char_below words has a char
#: set, one with at least char_below words a word set, so units in between have
#: both and are comparable with shorter and longer units alike.
SPACES: tuple[str, ...] = ("char", "word")


def batch_shingle_sets(
    norms: Sequence[str],
    config: MinHashConfig = _DEFAULT,
    bags: bool = False,
    word_sets: npt.NDArray[np.bool_] | None = None,
    words: I64 | None = None,
) -> dict[str, Sets]:
    """The shingle sets of many normalized texts, per space; empty texts have none.

    Texts are taken _GROUP_CHARS characters at a time (the size measured
    fastest here: its arrays stay in cache); in a group, every token is found
    and hashed at once, and every set of a space is made by one
    `segment_kgrams` call.  With `bags`, each set is a bag: its hashes in
    text order, with repeats (see `segment_kgrams`).  With `word_sets`, only the texts
    it marks may have a word set.  With `words` (zeros, one a text), each text's word
    count is written there as the words are hashed.
    """
    groups: list[tuple[int, dict[str, Sets]]] = []
    first, size = 0, 0
    for i, norm in enumerate(norms):
        size += len(norm)
        if size >= _GROUP_CHARS or i == len(norms) - 1:
            mine = None if word_sets is None else word_sets[first : i + 1]
            counts = None if words is None else words[first : i + 1]
            groups.append(
                (first, _group_shingle_sets(norms[first : i + 1], config, bags, mine, counts))
            )
            first, size = i + 1, 0
    if len(groups) == 1 and groups[0][0] == 0:
        return groups[0][1]
    out: dict[str, Sets] = {}
    for space in SPACES:
        parts = [(base, found[space]) for base, found in groups if space in found]
        if parts:
            ends = np.cumsum([0] + [len(sets.values) for _, sets in parts[:-1]])
            out[space] = Sets(
                np.concatenate([sets.units + base for base, sets in parts]),
                np.concatenate(
                    [sets.offsets[:-1] + end for (_, sets), end in zip(parts, ends, strict=True)]
                    + [np.array([ends[-1] + len(parts[-1][1].values)])]
                ),
                np.concatenate([sets.values for _, sets in parts]),
            )
    return out


def _group_shingle_sets(
    norms: Sequence[str],
    config: MinHashConfig,
    bags: bool,
    word_sets: npt.NDArray[np.bool_] | None,
    counts: I64 | None,
) -> dict[str, Sets]:
    texts = np.array([i for i, norm in enumerate(norms) if norm], dtype=np.int64)
    if not len(texts):
        return {}
    hashes, words = texts_hashes([norms[i] for i in texts.tolist()])
    if counts is not None:
        counts[texts] = words
    out: dict[str, Sets] = {}
    short = np.flatnonzero(words < 2 * config.char_below)
    if len(short):
        compact = [norms[i].replace(" ", "") for i in texts[short].tolist()]
        offsets, values = char_kgrams(compact, config.char_shingle_size, _CHAR_SALT, bags)
        out["char"] = Sets(texts[short], offsets, values)
    long = words >= config.char_below
    if word_sets is not None:
        long &= word_sets[texts]
    if long.any():
        atoms = hashes[np.repeat(long, words)]
        bounds = np.concatenate(([0], np.cumsum(words[long])))
        offsets, values = segment_kgrams(atoms, bounds, config.shingle_size, WORD_SALT, bags)
        out["word"] = Sets(texts[long], offsets, values)
    return out


def char_sets(norms: Sequence[str], config: MinHashConfig = _DEFAULT) -> Sets:
    """The character shingle sets of normalized texts of any length, spaces removed (the
    char space of `batch_shingle_sets`, which gives it to short units only)."""
    compact = [norm.replace(" ", "") for norm in norms]
    offsets, values = char_kgrams(compact, config.char_shingle_size, _CHAR_SALT)
    return Sets(np.arange(len(norms), dtype=np.int64), offsets, values)


def word_bags(norms: Sequence[str]) -> Sets:
    """Each non-empty normalized text's words as a bag: their 32-bit hashes, sorted, with
    repeats.  `index.shared_many` of two bags counts the words the texts share, repeats
    counted (a word twice in each is two), or more where two words' hashes collide."""
    filled, hashes, counts = word_hashes(norms)
    owner = np.repeat(np.arange(len(filled), dtype=np.uint64), counts)
    keyed = (owner << np.uint64(32)) | hashes  # each text's words, sorted: one sort of all
    keyed.sort()
    offsets = np.concatenate(([0], np.cumsum(counts)))
    return Sets(np.asarray(filled, dtype=np.int64), offsets, keyed.astype(np.uint32))


def shingle_sets(norm: str, config: MinHashConfig = _DEFAULT) -> dict[str, U32]:
    """The shingle sets of a normalized text in each space it belongs to."""
    return {space: sets[0] for space, sets in batch_shingle_sets([norm], config).items()}


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


def signatures(sets: Sequence[U32] | Sets, num_perm: int, seed: int) -> U32:
    """MinHash signatures of many shingle sets at once, shape (len(sets), num_perm).

    All the sets' hashes are taken together, whatever set they belong to, cut into parts
    at every set start (`part_minima`); the parts of a set that spans blocks are reduced
    at the end.  An empty set gets datasketch's empty signature (every value 2**32 - 1).
    """
    if not isinstance(sets, Sets):
        sets = Sets(
            np.arange(len(sets), dtype=np.int64),
            np.cumsum([0] + [len(v) for v in sets]),
            np.concatenate(list(sets)) if len(sets) else np.empty(0, dtype=np.uint32),
        )
    out = np.full((len(sets), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    if not len(sets.values):
        return out
    offsets = np.asarray(sets.offsets, dtype=np.int64)
    filled = np.flatnonzero(np.diff(offsets) > 0)  # the sets with hashes
    cuts, parts = part_minima(sets.values, offsets[filled], num_perm, seed)
    # A set's parts are consecutive, the first at its offset: most sets have one or two.
    heads = np.searchsorted(cuts, offsets[filled])
    counts = np.diff(np.append(heads, len(cuts)))
    out[filled] = parts[:, heads].T
    for more in range(1, int(counts.max())):
        spans = np.flatnonzero(counts > more)
        out[filled[spans]] = np.minimum(out[filled[spans]], parts[:, heads[spans] + more].T)
    return out


def part_minima(values: U32, starts: I64, num_perm: int, seed: int) -> tuple[I64, U32]:
    """The MinHash of every part of a run of shingle hashes cut at `starts` (ascending,
    distinct): the cuts (where each part starts, sorted, from 0) and the parts' minima, a
    column each, shape (num_perm, parts).

    In C where it was built (`dedup.native`): a part at a time, each hash permuted in
    registers, 8 permutations an instruction with AVX2 (8 times the numpy loop below, on
    2 million hashes).  Else `_part_minima_numpy`, which cuts at every _BLOCK too.
    """
    if native is None:
        return _part_minima_numpy(values, starts, num_perm, seed)
    a, b = permutations(num_perm, seed)
    cuts = np.ascontiguousarray(starts, dtype=np.int64)
    if len(cuts) > 1 and not (cuts[1:] > cuts[:-1]).all():  # as the numpy way takes them
        cuts = np.unique(cuts)
    if not len(cuts) or cuts[0] != 0:
        cuts = np.concatenate(([0], cuts))
    rows = np.empty((len(cuts), num_perm), dtype=np.uint32)  # a part a row
    native.part_minima(np.ascontiguousarray(values, dtype=np.uint32), cuts, a, b, rows)
    return cuts, rows.T


def run_minima(rows: U32, heads: I64, counts: I64) -> U32:
    """The MinHash of runs of parts: of run i, the element-wise minimum of the rows
    (`part_minima`'s parts, a row each) heads[i] to heads[i] + counts[i] (one or more).
    In C where it was built, a run at a time; else gathered a part at a time over all
    the runs that have one more, fewest parts first (a sentence has one or two, a
    document many)."""
    out = np.empty((len(heads), rows.shape[1]), dtype=np.uint32)
    if native is not None and len(heads):
        native.run_minima(
            np.ascontiguousarray(rows, dtype=np.uint32),
            np.ascontiguousarray(heads, dtype=np.int64),
            np.ascontiguousarray(counts, dtype=np.int64),
            out,
        )
        return out
    order = np.argsort(counts, kind="stable")
    heads, counts = heads[order], counts[order]
    found = rows[heads]
    for more in range(1, int(counts[-1]) if len(counts) else 0):
        lo = int(np.searchsorted(counts, more, "right"))  # the runs with more parts
        np.minimum(found[lo:], rows[heads[lo:] + more], out=found[lo:])
    out[order] = found
    return out


def _part_minima_numpy(values: U32, starts: I64, num_perm: int, seed: int) -> tuple[I64, U32]:
    """`part_minima` in numpy, cut at every _BLOCK too.

    The hashes are taken _BLOCK at a time into a (num_perm x _BLOCK) work array: one row
    per permutation, so every step is a contiguous numpy loop (a broadcast operand
    measured twice as slow here), and each block is reduced by one `minimum.reduceat`
    over its parts.
    """
    a, b = _permutation_rows(num_perm, seed)
    hashes = _fmix32(values)
    blocks = np.arange(0, len(hashes), _BLOCK)
    cuts = np.union1d(starts, blocks)  # where each part starts
    first = [*np.searchsorted(cuts, blocks).tolist(), len(cuts)]  # each block's first part
    parts = np.empty((num_perm, len(cuts)), dtype=np.uint32)  # a column per part
    work = np.empty((num_perm, _BLOCK), dtype=np.uint32)
    for i, lo in enumerate(blocks.tolist()):
        width = min(_BLOCK, len(hashes) - lo)
        block = work[:, :width]
        block[:] = hashes[lo : lo + width]
        np.multiply(block, a[:, :width], out=block)
        np.add(block, b[:, :width], out=block)
        within = cuts[first[i] : first[i + 1]] - lo
        np.minimum.reduceat(block, within, axis=1, out=parts[:, first[i] : first[i + 1]])
    return cuts, parts


@functools.cache
def _permutation_rows(num_perm: int, seed: int) -> tuple[U32, U32]:
    """The permutation parameters as (num_perm x _BLOCK) arrays, each value along its row."""
    a, b = permutations(num_perm, seed)
    shape = (num_perm, _BLOCK)
    return (
        np.ascontiguousarray(np.broadcast_to(a[:, None], shape)),
        np.ascontiguousarray(np.broadcast_to(b[:, None], shape)),
    )


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
