"""Signatures are datasketch's own, bit for bit; shingles work for short and long units."""

from __future__ import annotations

import random

import numpy as np
import pytest
import xxhash
from datasketch import LeanMinHash, MinHash

from dedup.config import MinHashConfig
from dedup.fingerprint import (
    batch_shingle_sets,
    fingerprint,
    kgram_hashes,
    lean_minhash,
    permutations,
    segment_kgrams,
    shingle_sets,
    signatures,
)
from dedup.normalize import normalize
from dedup.tokens import token_hashes, xxh32_spans


@pytest.mark.parametrize("num_perm", [16, 128, 256])
@pytest.mark.parametrize("seed", [1, 42])
def test_signatures_equal_datasketch_minhash(num_perm: int, seed: int) -> None:
    rng = np.random.default_rng(seed + num_perm)
    sets = [
        np.unique(rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32))
        # sets spanning work blocks (the block is 512 shingles), and a huge one
        for n in (0, 1, 2, 7, *[150] * 40, 255, 511, 512, 513, 1500, 70_000)
    ]
    ours = signatures(sets, num_perm, seed)
    for values, row in zip(sets, ours, strict=True):
        reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda x: x)
        reference.update_batch(values.tolist())
        assert np.array_equal(reference.hashvalues, row)


@pytest.mark.parametrize(("num_perm", "seed"), [(1, 0), (128, 1), (256, 42), (64, 2**31)])
def test_permutations_are_datasketchs_own(num_perm: int, seed: int) -> None:
    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    ours = permutations(num_perm, seed)
    assert np.array_equal(ours[0], a) and np.array_equal(ours[1], b)


def test_signature_is_a_valid_lean_minhash_for_datasketch() -> None:
    a = fingerprint("Elon Musk cherche un idiot pour diriger le réseau social, dit-il.")
    b = fingerprint("Elon Musk cherche un idiot pour diriger le réseau social, dit-il !")
    assert isinstance(a, LeanMinHash)
    assert a.jaccard(b) == 1.0
    copy = lean_minhash(np.asarray(a.hashvalues, dtype=np.uint32), 1)
    assert copy.jaccard(a) == 1.0


def test_kgram_hashes_are_order_sensitive_and_sorted() -> None:
    atoms = np.array([1, 2, 3, 4, 5, 6], dtype=np.uint32)
    forward = kgram_hashes(atoms, 3, 7)
    backward = kgram_hashes(atoms[::-1].copy(), 3, 7)
    assert len(forward) == 4 and list(forward) == sorted(forward)
    assert not set(forward.tolist()) & set(backward.tolist())
    assert len(kgram_hashes(atoms[:2], 3, 7)) == 1  # shorter than k: one shingle of everything


def _kgram_reference(atoms: list[int], k: int, salt: int) -> list[int]:
    """The definition, one gram at a time: a polynomial of (atom + 1) from `salt`,
    SplitMix64's finalizer, the high 32 bits; fewer than k atoms make one gram."""
    mask = (1 << 64) - 1

    def gram(run: list[int]) -> int:
        acc = salt
        for atom in run:
            acc = (acc * 0x100000001B3 + atom + 1) & mask
        acc ^= acc >> 30
        acc = (acc * 0xBF58476D1CE4E5B9) & mask
        acc ^= acc >> 27
        acc = (acc * 0x94D049BB133111EB) & mask
        return (acc ^ (acc >> 31)) >> 32

    if not atoms:
        return []
    runs = [atoms[i : i + k] for i in range(len(atoms) - k + 1)] or [atoms]
    return [gram(run) for run in runs]


@pytest.mark.parametrize("bags", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8])
def test_segment_kgrams_follow_the_definition_segment_by_segment(k: int, bags: bool) -> None:
    """Sorted distinct hashes, or (bags) every window's hash in text order."""
    rng = random.Random(k)
    sizes = [rng.choice([0, 1, k - 1, k, k + 1, rng.randint(0, 40)]) for _ in range(60)]
    # any code point, and often a small alphabet, so that segments repeat their own k-grams
    atoms = [
        rng.choice([0, 7, 0x10FFFF, rng.getrandbits(21), rng.getrandbits(2), rng.getrandbits(2)])
        for _ in range(sum(sizes))
    ]
    bounds = np.cumsum([0, *sizes])
    salt = rng.getrandbits(64)
    offsets, values = segment_kgrams(np.array(atoms, dtype=np.uint32), bounds, k, salt, bags)
    assert len(offsets) == len(sizes) + 1
    for i, (lo, hi) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
        got = values[offsets[i] : offsets[i + 1]].tolist()
        grams = _kgram_reference(atoms[lo:hi], k, salt)
        assert got == (grams if bags else sorted(set(grams))), (i, sizes[i])


def test_short_units_use_character_shingles() -> None:
    config = MinHashConfig()
    heading = shingle_sets(normalize("Threads menace Twitter"), config)
    assert set(heading) == {"char"}
    a = shingle_sets(normalize("Réseaux sociaux : L’arnaque de Twitter !"), config)["char"]
    b = shingle_sets(normalize("Réseaux sociauxL’arnaque de Twitter !"), config)["char"]
    assert np.array_equal(a, b)


def test_middling_units_have_both_spaces() -> None:
    config = MinHashConfig()
    words = " ".join(f"w{i}" for i in range(12))
    assert set(shingle_sets(words, config)) == {"char", "word"}
    assert set(shingle_sets(" ".join(f"w{i}" for i in range(40)), config)) == {"word"}


def test_token_hashes_are_xxh32_of_every_token() -> None:
    rng = random.Random(5)
    alphabet = "abcxyz0é漢😀"  # 1- to 4-byte characters in UTF-8
    for _ in range(200):
        tokens = [
            "".join(rng.choices(alphabet, k=rng.choice([1, 2, 3, 4, 5, 8, 12, 15, 16, 17, 40])))
            for _ in range(rng.randint(1, 25))
        ]
        expected = [xxhash.xxh32_intdigest(t.encode("utf-8")) for t in tokens]
        assert token_hashes(" ".join(tokens)).tolist() == expected


def test_xxh32_spans_of_any_length_equal_xxhash() -> None:
    data = bytes(range(256)) * 3
    starts = np.arange(0, 300, 7, dtype=np.int64)
    ends = starts + np.arange(len(starts), dtype=np.int64) % 40
    expected = [xxhash.xxh32_intdigest(data[s:e]) for s, e in zip(starts, ends, strict=True)]
    assert xxh32_spans(data, starts, ends).tolist() == expected


def test_a_batch_gives_every_text_the_sets_it_has_alone() -> None:
    """No shingle crosses from one text into the next, whatever the batch."""
    config = MinHashConfig()
    rng = random.Random(9)
    words = [
        "le",
        "chat",
        "dort",
        "sur",
        "un",
        "tapis",
        "rouge",
        "près",
        "de",
        "la",
        "porte",
        "ouverte",
    ]
    # about 400,000 characters: more than one group of texts shingled together
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 45))) for _ in range(3500)]
    texts[7] = "a"  # shorter than a character shingle
    batch = batch_shingle_sets(texts, config)
    for space, sets in batch.items():
        for i, text in enumerate(sets.units.tolist()):
            alone = batch_shingle_sets([texts[text]], config)[space]
            assert np.array_equal(sets[i], alone[0])
    counted = sum(len(sets) for sets in batch.values())
    assert counted == sum(len(batch_shingle_sets([t], config)) for t in texts)


def test_a_batch_of_bags_has_the_signatures_of_its_sets() -> None:
    """Without the sort, each text's hashes repeat and come in text order: same MinHash."""
    config = MinHashConfig()
    rng = random.Random(11)
    words = ["le", "chat", "dort", "sur", "un", "tapis", "rouge"]
    texts = [" ".join(rng.choices(words, k=rng.choice([0, 3, 12, 25, 400]))) for _ in range(700)]
    sets = batch_shingle_sets(texts, config)
    bags = batch_shingle_sets(texts, config, bags=True)
    assert sets.keys() == bags.keys() == {"char", "word"}
    for space, bag in bags.items():
        assert np.array_equal(bag.units, sets[space].units)
        assert len(bag.values) > len(sets[space].values)  # the repeats are there
        for i in range(len(bag)):
            assert np.array_equal(np.unique(bag[i]), sets[space][i])
        assert np.array_equal(signatures(bag, 128, 1), signatures(sets[space], 128, 1))


def test_unique_digests_are_numpys_unique() -> None:
    from dedup.order import unique_digests

    rng = np.random.default_rng(3)
    halves = rng.integers(0, 2**63, size=(2000, 2), dtype=np.uint64)
    halves[100:110, 0] = halves[5, 0]  # first eight bytes shared, last ones not
    halves[200:300] = halves[:100]  # whole digests repeated
    halves[400:410] = halves[400]
    digests = np.ascontiguousarray(halves).view("V16").ravel()
    for part in (digests, digests[::-1], digests[:0], digests[:1]):
        _, first, inverse = np.unique(part, return_index=True, return_inverse=True)
        found_first, found_inverse = unique_digests(part)
        assert found_first.tolist() == first.tolist()
        assert found_inverse.tolist() == inverse.ravel().tolist()
