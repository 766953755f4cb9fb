"""Keys that make candidates of units a typo or two apart, and titles with a label (#19)."""

from __future__ import annotations

import itertools
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.edit_keys import deletion_keys, segment_keys
from dedup.edits import typos_apart
from dedup.fingerprint import POLY, mix64


def _hash(text: str) -> int:
    """The polynomial hash deletion keys are made of, one character at a time."""
    value = 0
    for char in text:
        value = (value * int(POLY) + ord(char) + 1) % (1 << 64)
    return value


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("ab é1 \u00e0z9"), max_size=12) | st.text(max_size=12),
        max_size=6,
    )
)
def test_deletion_keys_are_the_keys_of_each_text_with_a_character_left_out(
    texts: list[str],
) -> None:
    owner, keys = deletion_keys(texts)
    expected = []
    for n, text in enumerate(texts):
        # spaces left out; a character of a word with an ASCII digit is never left out
        may_go = [not any("0" <= c <= "9" for c in word) for word in text.split(" ") for _ in word]
        t = text.replace(" ", "")
        expected += [(n, _hash(t[:i] + t[i + 1 :])) for i in range(len(t)) if may_go[i]]
    expected += [(n, _hash(t.replace(" ", ""))) for n, t in enumerate(texts) if t.replace(" ", "")]
    assert owner.tolist() == [n for n, _ in expected]
    mixed = mix64(np.array([h for _, h in expected], dtype=np.uint64))
    assert keys.tolist() == mixed.tolist()


def _share_a_key(a: str, b: str) -> bool:
    owner, keys = deletion_keys([a, b])
    return bool(set(keys[owner == 0].tolist()) & set(keys[owner == 1].tolist()))


def test_texts_one_typo_apart_share_a_deletion_key() -> None:
    base = "desactiverlessonssysteme"
    rng = random.Random(2)
    for _ in range(50):
        i = rng.randrange(1, len(base) - 2)
        dropped = base[:i] + base[i + 1 :]
        doubled = base[:i] + base[i] + base[i:]
        swapped = base[:i] + base[i + 1] + base[i] + base[i + 2 :]
        replaced = base[:i] + "x" + base[i + 1 :]
        for typo in (dropped, doubled, swapped, replaced):
            assert _share_a_key(base, typo), typo
    assert not _share_a_key(base, "desactiverlesnossystemes")  # two typos
    assert not _share_a_key("threadsmenacetwitter", "threadsmenacefacebook")


def test_texts_of_as_many_words_with_two_words_changed_share_a_segment_key() -> None:
    words = [f"mot{i}" for i in range(30)]
    for i, j in itertools.combinations(range(30), 2):
        edited = list(words)
        edited[i], edited[j] = "typo", "autre"
        owner, keys = segment_keys([" ".join(words), " ".join(edited)])
        assert set(keys[owner == 0].tolist()) & set(keys[owner == 1].tolist())
    shifted = segment_keys([" ".join(words), " ".join([*words[1:], "fin"])])
    assert not set(shifted[1][shifted[0] == 0].tolist()) & set(shifted[1][shifted[0] == 1].tolist())


def test_a_number_or_code_that_changes_is_not_a_typo() -> None:
    assert not _share_a_key("tempor aaa0", "tempor aaaa")
    assert not _share_a_key("billet 2023", "billet 2024")
    assert _share_a_key("tempor aaab", "tempor aaac")  # letters only: a typo may be
    assert not typos_apart("tempor aaa0", "tempor aaaa", 0.7)
    assert not typos_apart("version 3 du noyau", "version 4 du noyau", 0.7)
    assert typos_apart("version du noyau linux", "versoin du noyau linux", 0.7)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["été", "a", "bb", "noyau", "x1", "dé", "ccc"]),
            min_size=15,
            max_size=79,
        ),
        min_size=1,
        max_size=12,
    )
)
def test_segment_keys_meet_where_the_runs_of_words_are_equal(texts: list[list[str]]) -> None:
    norms = [" ".join(words) for words in texts] * 2  # every text twice: keys must meet
    owner, keys = segment_keys(norms)
    assert owner.tolist() == [n for n in range(len(norms)) for _ in range(3)]

    def runs(words: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        cuts = [len(words) * i // 3 for i in range(4)]
        return [(len(words), i, tuple(words[cuts[i] : cuts[i + 1]])) for i in range(3)]

    plain = [run for words in texts * 2 for run in runs(words)]
    found = keys.tolist()
    for i in range(len(plain)):
        for j in range(len(plain)):
            assert (plain[i] == plain[j]) == (found[i] == found[j])
