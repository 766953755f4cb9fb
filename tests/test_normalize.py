from __future__ import annotations

import importlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import NormalizeConfig
from dedup.native import native
from dedup.normalize import _TABLE, _fold_plain, normalize, normalize_many
from dedup.tokens import texts_hashes


@pytest.fixture(autouse=True, params=["C", "numpy"])
def loops(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test with the C loops (dedup.native) and with the numpy ones."""
    if request.param == "C" and native is None:
        pytest.skip("dedup._native was not built here")
    if request.param == "numpy":
        monkeypatch.setattr(importlib.import_module("dedup.normalize"), "native", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Threads menace Twitter", "threads menace twitter"),
        ("L’arnaque", "larnaque"),  # typographic apostrophe
        ("L'arnaque", "larnaque"),
        ("company's companys", "companys companys"),
        ('«Allez» “vous” "faire"', "allez vous faire"),  # quotes of every kind
        ("a – b — c - d", "a b c d"),  # dashes
        ("90\u00a0%\u202fdes", "90 des"),  # no-break spaces, symbols
        ("Twitter :Le coup", "twitter le coup"),
        ("  many\t\n spaces  ", "many spaces"),
        ("ﬁnance Ⅻ", "finance xii"),  # NFKC
        ("STRASSE Straße", "strasse strasse"),  # casefold
        ("snake_case", "snake case"),
        ("नमस्ते दुनिया", "नमस्ते दुनिया"),  # combining marks stay inside words
        ("", ""),
        ("!!! ...", ""),
        # invisible format characters: a soft hyphen, a zero-width space, a zero-width
        # non-joiner and joiner, a word joiner, direction marks, a byte order mark
        ("répon\u00adse con\u200bnue", "réponse connue"),
        ("\ufeffmi\u200cx\u200dte\u2060s \u200eab\u200f", "mixtes ab"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("words", [5, 2000])
def test_a_text_a_hyphenating_site_prints_is_its_plain_text(words: int) -> None:
    """Soft hyphens inside long words, as a site that hyphenates prints them: the same
    comparison form as the plain text, short or long (the fast paths), one or many."""
    plain = " ".join(["Réponse", "développement", "l’arnaque", "caractères"] * words)
    printed = plain.replace("ponse", "\u00adponse").replace("veloppe", "ve\u00adloppe")
    assert "\u00ad" in printed
    assert normalize(printed) == normalize(plain)
    assert normalize_many([printed, "x", printed]) == normalize_many([plain, "x", plain])


def test_accent_folding_is_an_option() -> None:
    assert normalize("Réseaux Dérive") == "réseaux dérive"
    assert normalize("Réseaux Dérive", NormalizeConfig(fold_accents=True)) == "reseaux derive"


def test_glued_heading_normalizes_close_to_its_original() -> None:
    a = normalize("Réseaux sociaux : L’arnaque de Twitter !").replace(" ", "")
    b = normalize("Réseaux sociauxL’arnaque de Twitter !").replace(" ", "")
    assert a == b


@pytest.mark.parametrize("words", [5, 2000])
def test_short_and_long_texts_collapse_the_same_way(words: int) -> None:
    """Long texts take another path to collapse spaces; the result is the same."""
    rng = random.Random(words)
    picked = [rng.choice(["Été", "Œuvre", "x", "Twitter", "l’arnaque", "42"]) for _ in range(words)]
    glue = ["  ", " — ", "\n\n", "\u00a0", ", ", " !\t"]
    text = " ¡ " + "".join(w + rng.choice(glue) for w in picked) + " ?? "
    expected = " ".join(normalize(w) for w in picked)
    assert normalize(text) == expected


#: Characters that change under NFKC, casefold, composition or accent folding, and
#: the separator normalize_many joins texts with.
_TRICKY = "aZ é\u0301\u0308\u00a0\ufb01\u2460\u00b4ß\u03a3\u1100\u1161'’_\n\r\t\u2028-.\x1e"


@pytest.mark.parametrize("fold_accents", [False, True])
def test_normalizing_many_texts_at_once_equals_one_at_a_time(fold_accents: bool) -> None:
    config = NormalizeConfig(fold_accents=fold_accents)
    rng = random.Random(11)
    for round_ in range(400):
        texts = [
            "".join(rng.choice(_TRICKY if round_ % 2 else _TRICKY[:-1]) for _ in range(n))
            for n in rng.choices([0, 1, 2, 3, 8, 40, 3000], k=rng.randint(0, 12))
        ]
        one_by_one = [normalize(t, config) for t in texts]
        assert normalize_many(texts, config) == one_by_one, texts
        spaceless = [norm.replace(" ", "") for norm in one_by_one]
        assert normalize_many(texts, config, spaces=False) == spaceless, texts


def _reference(text: str, config: NormalizeConfig) -> str:
    """The definition, one step after another (see `_fold_plain`)."""
    return " ".join(_fold_plain(text, config, _TABLE).split())


#: Apostrophes beside combining marks, compatibility characters, no-break spaces, marks of
#: several scripts, the separator, and French.
_HARD = (
    "aZé\u0301\u0308\u0327\u0653\u093f\u00a0\u202f\u2009\u2026\ufb01\u2460\u00b4ß\u03a3"
    "\u1100\u1161'’‘ʼ`´′_\n\t\u2028-.«»“”\x1e\u0130İÅﬀ²½\u3000\ufe52"
)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(alphabet=_HARD), st.booleans())
def test_the_fast_path_is_the_definition(any_text: str, hard: str, fold: bool) -> None:
    config = NormalizeConfig(fold_accents=fold)
    for text in (any_text, hard, any_text + hard, "Réseaux " + hard + " l’été"):
        assert normalize(text, config) == _reference(text, config), repr(text)
    texts = [any_text, hard, "Publié le 8\u00a0janvier…", any_text[::-1]]
    assert normalize_many(texts, config) == [_reference(t, config) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(alphabet=_HARD + "\x00\x01\x1b\x7f\x85 "))
def test_a_normalized_text_has_a_word_more_than_its_spaces(any_text: str, hard: str) -> None:
    """What verification counts a text's words by (see `evidence._scores`): its spaces
    and one, as the tokenizer splits it."""
    norms = [norm for norm in normalize_many([any_text, hard, any_text + hard]) if norm]
    if norms:
        assert texts_hashes(norms)[1].tolist() == [norm.count(" ") + 1 for norm in norms]


def test_every_code_point_is_folded_as_the_definition_folds_it() -> None:
    for start in range(0x80, 0x110000, 4096):
        text = "".join(
            chr(c) for c in range(start, min(start + 4096, 0x110000)) if not 0xD800 <= c <= 0xDFFF
        )
        text = " a".join(text)  # each beside a letter, as in a word
        for fold in (False, True):
            config = NormalizeConfig(fold_accents=fold)
            assert normalize(text, config) == _reference(text, config), hex(start)


#: Pieces of French and English web text, and characters that fold on their own or not.
_PIECES = (
    "l’été",
    "L'ÉTÉ",
    "«\u00a0Réseaux sociaux\u00a0»",
    "œuvre",
    "Œuvre",
    "naïve",
    "“quoted”",
    "it’s",
    "—",
    "–",
    "…",
    "\u202f!",
    "ﬁn",
    "ＡＢＣ",
    "ΣΊΣΥΦΟΣ",
    "straße",
    "İstanbul",
    "😂👍",
    "漢字",
    "한국어",
    "ｶﾞ",
    "e\u0301",
    "\u0928\u093f",
    "\u1100\u1161",
    "x",
    " ",
    "\n\n",
    "42",
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=40), st.text(), st.booleans())
def test_long_texts_fold_as_the_definition_folds_them(
    pieces: list[str], extra: str, fold: bool
) -> None:
    """Texts long enough for the path that folds each character on its own (`_fold_simple`),
    with characters that must send them back to the general path (marks, jamo, ｶﾞ)."""
    config = NormalizeConfig(fold_accents=fold)
    text = " ".join(pieces) * (2100 // len(" ".join(pieces)) + 1)
    for long in (text, text + extra, extra + text):
        assert normalize(long, config) == _reference(long, config), repr(long[:200])
    many = [text, extra, " ".join(reversed(pieces))]
    assert normalize_many(many, config) == [_reference(t, config) for t in many]


def test_every_character_that_folds_on_its_own_is_folded_as_the_definition_folds_it() -> None:
    from dedup.normalize import _SIMPLE_BLOCKS

    codes = [c for low, high in _SIMPLE_BLOCKS for c in range(low, high)]
    for at in range(0, len(codes), 128):
        text = " ".join(f"l’{chr(c)}a{chr(c)}" for c in codes[at : at + 128]) * 3
        for fold in (False, True):
            config = NormalizeConfig(fold_accents=fold)
            assert normalize(text, config) == _reference(text, config), hex(codes[at])
