from __future__ import annotations

import pytest
from conftest import PAGES
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.model import LEVELS, Document, Source
from dedup.segment import LineIndex, is_heading, paragraphs, sections, segment, sentences, spans

PAGE = (PAGES / "002_c54355be08307aaa.txt").read_text(encoding="utf-8")


def _lines_of(text: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    index = LineIndex(text)
    return [(index.line(s), index.line(e - 1)) for s, e in found]


def test_adjacent_lines_of_a_web_page_are_separate_paragraphs() -> None:
    lines = _lines_of(PAGE, paragraphs(PAGE))
    assert (22, 22) in lines and (23, 23) in lines
    assert all(a == b for a, b in lines)  # one paragraph per line on this page


def test_hard_wrapped_paragraphs_stay_whole() -> None:
    text = (
        "The importer now reads compressed archives directly, without unpacking\n"
        "them to a temporary folder first. Large imports finish in about half the\n"
        "time they used to take on the same machine.\n"
        "\n"
        "A second paragraph that is wrapped the same way as the first one, at\n"
        "seventy-two columns, over three lines of text, ending on a short one.\n"
        "Short.\n"
        "# Heading\n"
        "- item one\n"
        "- item two\n"
    )
    assert _lines_of(text, paragraphs(text)) == [(1, 3), (5, 7), (8, 8), (9, 9), (10, 10)]


def test_sections_group_repeated_titles_with_their_paragraphs() -> None:
    found = _lines_of(PAGE, sections(PAGE, paragraphs(PAGE)))
    assert (72, 89) in found and (91, 108) in found and (203, 219) in found


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("Threads menace Twitter", True),
        ("Un nouveau réseau pour remplacer Twitter ?", True),
        (
            "# A Markdown heading that goes on for quite a few words, more than fifteen of them",
            True,
        ),
        ("Avenir Twitter menacé ? .", False),
        ("Le MTA, pour sa part, a salué le renversement.", False),
        ("Rédigé par:", False),
        ("1234", False),
    ],
)
def test_is_heading(line: str, heading: bool) -> None:
    assert is_heading(line) is heading


def test_sentences_split_on_final_punctuation_only() -> None:
    text = "«Allez vous faire foutre. Est-ce que c’est clair?» a-t-il lancé. M. Musk rit. 7.500 postes."
    found = [text[s:e] for s, e in sentences(text, (0, len(text)))]
    assert found == [
        "«Allez vous faire foutre.",
        "Est-ce que c’est clair?» a-t-il lancé.",
        "M. Musk rit.",
        "7.500 postes.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a sentence that ends with a number ends there
        (
            "EINVAL offset était inférieur à 0. Afficher l’arbre.",
            ["EINVAL offset était inférieur à 0.", "Afficher l’arbre."],
        ),
        ("Version 2. Elle sort.", ["Version 2.", "Elle sort."]),
        # an initial, and the number of an item opening its paragraph, end nothing
        ("Par J. Dupont. Il dit.", ["Par J. Dupont.", "Il dit."]),
        ("1. Installer le paquet. Puis le lancer.", ["1. Installer le paquet.", "Puis le lancer."]),
        # a day before its month (German dates) ends nothing; a year, or a day before
        # anything else, still ends its sentence
        (
            "Veröffentlicht am 20. August 2018 von Jonas. Am 3. Mär. kam er.",
            ["Veröffentlicht am 20. August 2018 von Jonas.", "Am 3. Mär. kam er."],
        ),
        ("Es war 2018. August kam.", ["Es war 2018.", "August kam."]),
        ("Er wurde 20. Augusta blieb.", ["Er wurde 20.", "Augusta blieb."]),
        ("Seite 12. Dann mehr.", ["Seite 12.", "Dann mehr."]),
    ],
)
def test_a_dot_after_one_character(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in sentences(text, (0, len(text)))] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Chinese and Japanese end a sentence at 。！？ with no space after it
        (
            "东京是日本的首都。人口约一千四百万！你去过吗？我去过。",
            ["东京是日本的首都。", "人口约一千四百万！", "你去过吗？", "我去过。"],
        ),
        # closing brackets and quotes stay with their sentence; a space after is between
        (
            "彼は「行きます。」と言った。 次の日、出発した｡最後です",
            ["彼は「行きます。」", "と言った。", "次の日、出発した｡", "最後です"],
        ),
        # a run of marks, theirs or Latin ones, ends one sentence
        ("真的吗？！真的。", ["真的吗？！", "真的。"]),
        # Arabic, Urdu and Devanagari marks end a sentence before white space, as . does
        ("هل أنت بخير؟ نعم", ["هل أنت بخير؟", "نعم"]),
        ("यह पहला वाक्य है। यह दूसरा है।", ["यह पहला वाक्य है।", "यह दूसरा है।"]),
    ],
)
def test_sentences_of_other_scripts(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in sentences(text, (0, len(text)))] == expected
    found = spans(text, ("sentence",))["sentence"]
    assert [text[s:e] for s, e in found] == expected


def test_spans_nest_and_quote_the_text() -> None:
    found = spans(PAGE, ("document", "section", "paragraph", "sentence"))
    ((doc_start, doc_end),) = found["document"]
    for outer, inner in (("section", "paragraph"), ("paragraph", "sentence")):
        for s, e in found[inner]:
            assert any(a <= s and e <= b for a, b in found[outer])
            assert doc_start <= s and e <= doc_end
            assert PAGE[s:e] == PAGE[s:e].strip() != ""


def test_segment_carries_offsets_and_lines() -> None:
    doc = Document("a.txt", "Title\r\n\r\nOne. Two.\r\n", Source("a.txt"))
    got = [(s.text, s.line, s.end_line, s.index) for s in segment(doc, "sentence")]
    assert got == [("Title", 1, 1, 0), ("One.", 3, 3, 1), ("Two.", 3, 3, 2)]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=60) | st.just(" \r"))
def test_a_text_of_one_line_is_cut_as_its_lines_would_be(text: str) -> None:
    # One line is one paragraph, not read line by line: as the same text with a line break
    # after it is, read so.  One paragraph is one section, a heading or not.
    paras = paragraphs(text)
    assert paras == paragraphs(text + "\n")
    found = spans(text, LEVELS)
    assert found["paragraph"] == paras
    assert found["section"] == paras
    assert sections("## Titre", [(0, 8)]) == [(0, 8)]
