"""Signatures are datasketch's own, bit for bit; shingles work for short and long units."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from dedup.config import MinHashConfig
from dedup.fingerprint import (
    fingerprint,
    kgram_hashes,
    lean_minhash,
    permutations,
    shingle_sets,
    signatures,
)
from dedup.normalize import normalize


@pytest.mark.parametrize("num_perm", [16, 128, 256])
@pytest.mark.parametrize("seed", [1, 42])
def test_signatures_equal_datasketch_minhash(num_perm: int, seed: int) -> None:
    rng = np.random.default_rng(seed + num_perm)
    sets = [
        np.unique(rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32))
        for n in (0, 1, 2, 7, 300, 70_000)
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
