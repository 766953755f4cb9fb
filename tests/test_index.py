from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import verify
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.coverage import covered, covered_many
from dedup.edits import beyond_edits, edits_near
from dedup.fingerprint import signatures
from dedup.index import (
    LshParams,
    band_keys,
    candidate_pairs,
    lsh_params,
    relation,
    scored_many,
)
from dedup.model import Evidence


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_lsh_params_meet_the_recall_target(threshold: float, num_perm: int) -> None:
    params = lsh_params(threshold, num_perm, 0.99)
    assert params.bands * params.rows <= num_perm
    assert params.probability(threshold) >= 0.99
    # and it is the most selective such banding
    more = LshParams(num_perm // (params.rows + 1), params.rows + 1)
    assert more.bands == 0 or more.probability(threshold) < 0.99


def test_candidate_pairs_find_near_copies_and_not_strangers() -> None:
    rng = np.random.default_rng(3)
    base = np.unique(rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32))
    near = np.unique(
        np.concatenate([base[:380], rng.integers(0, 2**32, 20, dtype=np.uint64).astype(np.uint32)])
    )
    other = np.unique(rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32))
    sigs = signatures([base, other, near], 128, 1)
    pairs = candidate_pairs(band_keys(sigs, lsh_params(0.8, 128, 0.99)))
    assert pairs.tolist() == [[0, 2]]


def test_large_buckets_pair_members_with_the_earliest_only() -> None:
    keys = np.zeros((1000, 3), dtype=np.uint64)  # one bucket of 1000 in every band
    pairs = candidate_pairs(keys)
    assert len(pairs) == 64 * 63 // 2 + 64 * (1000 - 64)  # not 1000 * 999 / 2
    assert set(pairs[:, 0].tolist()) == set(range(64))
    small = candidate_pairs(np.zeros((5, 2), dtype=np.uint64))
    assert small.tolist() == [[a, b] for a in range(5) for b in range(a + 1, 5)]


def test_candidate_pairs_are_every_pair_sharing_a_band_key_once_and_sorted() -> None:
    rng = np.random.default_rng(8)
    for rows, values in ((40, 6), (300, 40), (150, 2)):  # 150 rows, 2 values: capped buckets
        keys = rng.integers(0, values, (rows, 4)).astype(np.uint64)
        expected = set()
        for band in range(4):
            for value in np.unique(keys[:, band]).tolist():
                members = np.flatnonzero(keys[:, band] == value).tolist()
                cap = members[:64]
                expected |= {(a, b) for a in members for b in members if a < b and a in cap}
        found = candidate_pairs(keys).tolist()
        assert found == sorted([a, b] for a, b in expected)


def _set(*values: int) -> np.ndarray:
    return np.array(sorted(values), dtype=np.uint32)


def test_verify_relations() -> None:
    ten = _set(*range(10))
    assert verify(ten, ten, 0.8, True).relation == "exact"
    assert verify(ten, _set(*range(9), 99), 0.8, False).relation == "near"
    contained = verify(ten, _set(*range(5)), 0.8, False)
    assert (contained.relation, contained.containment, contained.jaccard) == ("contained", 1.0, 0.5)
    overlap = verify(_set(*range(5)), ten, 0.8, False)
    assert (overlap.relation, overlap.containment_survivor) == ("overlap", 1.0)
    assert verify(ten, _set(*range(5, 15)), 0.8, False).relation is None


def test_covered_keeps_what_the_survivor_lacks() -> None:
    survivor = "reseaux sociaux l arnaque de twitter twitter aurait privilegie la progression"
    flags = covered(
        ["l arnaque de twitter", "twitter aurait privilegie la progresion", "1234"],
        survivor,
        5,
        0.8,
    )
    assert flags == [True, True, False]


def _covered_by_strings(child: str, survivor: str, k: int, threshold: float) -> bool:
    """The rule on k-gram strings: a spaceless child is covered when it occurs in the
    spaceless survivor, or when `threshold` of its distinct k-grams occur there."""
    if child in survivor:
        return True

    def grams(text: str) -> set[str]:
        return {text[i : i + k] for i in range(len(text) - k + 1)} or {text}

    return len(grams(child) & grams(survivor)) / len(grams(child)) >= threshold


@pytest.mark.parametrize(
    ("group_chars", "group_units"), [(1, 1 << 15), (300, 3), (300, 1 << 15), (1 << 14, 2)]
)
def test_covered_many_answers_for_each_unit_as_covered_does_alone(
    group_chars: int, group_units: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether survivors are compared one at a time, several or all together, and when a
    survivor's children fill several groups; each answer is the rule's on k-gram strings."""
    monkeypatch.setattr("dedup.coverage._GROUP_CHARS", group_chars)
    monkeypatch.setattr("dedup.coverage._GROUP_UNITS", group_units)
    rng = random.Random(4)
    words = [
        "the",
        "harbour",
        "reopened",
        "on",
        "monday",
        "after",
        "the",
        "storm",
        "damaged",
        "the",
        "pier",
    ]
    survivors = [" ".join(rng.choices(words, k=rng.randint(0, 40))) for _ in range(30)]
    children: list[str] = []
    owners: list[int] = []
    for owner, survivor in enumerate(survivors):
        for _ in range(rng.randint(1, 5)):
            taken = survivor.split()
            if rng.random() < 0.5 and len(taken) > 12:  # a run of the survivor, one word changed
                start = rng.randrange(len(taken) - 12)
                taken = taken[start : start + rng.randint(6, 12)]
                taken[rng.randrange(len(taken))] = rng.choice(words)
            else:
                taken = rng.choices(words, k=rng.randint(0, 12))
            children.append(" ".join(taken))
            owners.append(owner)
    alone = [
        flag
        for owner, survivor in enumerate(survivors)
        for flag in covered(
            [c for c, o in zip(children, owners, strict=True) if o == owner], survivor, 5, 0.8
        )
    ]
    spaceless = [[text.replace(" ", "") for text in texts] for texts in (children, survivors)]
    assert covered_many(spaceless[0], owners, spaceless[1], 5, 0.8) == alone
    assert alone == [
        _covered_by_strings(child, spaceless[1][owner], 5, 0.8)
        for child, owner in zip(spaceless[0], owners, strict=True)
    ]
    assert True in alone and False in alone
    by_grams = [
        flag and child not in spaceless[1][owner]
        for flag, child, owner in zip(alone, spaceless[0], owners, strict=True)
    ]
    assert by_grams.count(True) >= 10  # covered, though no substring of the survivor


def test_candidate_pairs_in_threads_are_those_found_a_band_at_a_time() -> None:
    rng = np.random.default_rng(5)
    rows = 60_000  # past the rows that take threads
    keys = rng.integers(0, 40_000, size=(rows, 7)).astype(np.uint64)  # buckets of every size
    keys[::3, 2] = 7  # one bucket past the cap
    some = np.sort(rng.choice(rows, size=50_000, replace=False))
    for subset in (None, some):
        alone = candidate_pairs(keys, subset)
        assert len(alone) > 100_000
        assert np.array_equal(candidate_pairs(keys, subset, threads=2), alone)
        assert np.array_equal(candidate_pairs(keys, subset, threads=3), alone)


def test_long_bands_taken_a_quarter_at_a_time_give_the_same_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dedup.index

    rng = np.random.default_rng(11)
    rows = 20_000
    values = rng.integers(0, 2**63, 6_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    keys = values[rng.integers(0, len(values), (rows, 3))]  # buckets in every quarter
    keys[::5, 1] = values[0]  # one bucket past the cap
    marks = rng.integers(0, 2**31, rows).astype(np.int32)
    marks[::2] = 0  # states no number: pairs with anything
    some = np.sort(rng.choice(rows, size=15_000, replace=False))
    whole = [candidate_pairs(keys, subset, 1, marks) for subset in (None, some)]
    assert len(whole[0]) > 1000 and (np.unique(keys >> np.uint64(62)) == range(4)).all()
    monkeypatch.setattr(dedup.index, "_PART_ROWS", 1000)
    for subset, found in zip((None, some), whole, strict=True):
        assert np.array_equal(candidate_pairs(keys, subset, 1, marks), found)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.booleans()),
        max_size=20,
    ),
    st.sampled_from([0.5, 0.8, 0.9]),
    st.booleans(),
)
@example([(4, 5, 7, False), (4, 7, 5, False)], 0.8, False)  # 0.8 inside: at the bounds
def test_scored_many_scores_each_pair_by_the_rules_of_relation(
    rows: list[tuple[int, int, int, bool]], threshold: float, few: bool
) -> None:
    """Scores of many pairs at once are the divisions of their own numbers, and their
    relations those `relation` gives (which `reverse` applies to one pair), none where the
    texts state other facts (sizes from 0: an empty set, too)."""
    rows = [(min(shared, a, b), a, b, stated) for shared, a, b, stated in rows]
    inter, survivor, member = (np.array([row[k] for row in rows], np.int64) for k in range(3))
    differ = np.array([row[3] for row in rows], dtype=bool)
    got = scored_many(
        inter, survivor, member, threshold, np.full(len(rows), few), differ
    ).evidence()
    want = []
    for shared, a, b, stated in rows:
        union = a + b - shared
        jaccard = shared / union if union else 1.0
        contained, covers = (shared / b if b else 0.0), (shared / a if a else 0.0)
        found = None if stated else relation(jaccard, contained, covers, threshold, few)
        want.append(Evidence(jaccard, contained, covers, found, few, stated))
    assert got == want


_WORDS = ["le", "noyau", "charge", "un", "module", "de", "la", "mémoire", "à", "chaud"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40),
            st.lists(st.tuples(st.integers(0, 40), st.sampled_from([*_WORDS, ""])), max_size=8),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([0.7, 0.8, 0.9]),
)
def test_beyond_edits_never_hides_a_pair_edits_find_near(
    texts: list[tuple[list[str], list[tuple[int, str]]]], threshold: float
) -> None:
    """A pair told beyond edits by the words it shares is one `edits_near` finds not near;
    texts drawn from ten words (shared words abound) and their copies with words replaced,
    added or left out."""
    norms = []
    for words, edits in texts:
        norms.append(" ".join(words))
        edited = list(words)
        for at, word in edits:
            at %= len(edited) + 1
            if word:
                edited.insert(at, word)
            elif at < len(edited) and len(edited) > 1:
                del edited[at]
        norms.append(" ".join(edited))
    pairs = np.array([(a, b) for a in range(len(norms)) for b in range(len(norms)) if a != b])
    words = np.array([norm.count(" ") + 1 for norm in norms], dtype=np.int64)
    beyond = beyond_edits(norms, words, pairs, threshold, 10)
    for (a, b), told in zip(pairs.tolist(), beyond.tolist(), strict=True):
        if told:
            assert not edits_near(norms[a], norms[b], threshold, 10)
    assert beyond[words[pairs].min(axis=1) < 20].sum() == 0  # the typo rule's: not told
