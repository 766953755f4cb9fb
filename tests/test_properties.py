"""Properties over generated text and corpora (hypothesis)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import dedup
from dedup.fingerprint import shingle_sets
from dedup.model import LEVELS, Document, Level, Source
from dedup.normalize import normalize
from dedup.segment import segment

SETTINGS = settings(
    max_examples=int(os.environ.get("DEDUP_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

texts = st.text(
    alphabet=st.sampled_from([*"ab cdé\u00a0’'.!?,:;-—«»\n\r\t#É1", "ﬁ", "ß", "İ", "\u0301"]),
    max_size=200,
)
words = st.text(alphabet="bcdfghjklmnprstvz", min_size=2, max_size=7)
sentence = st.lists(words, min_size=4, max_size=10).map(lambda w: " ".join(w).capitalize() + ".")
paragraph = st.lists(sentence, min_size=1, max_size=3).map(" ".join)


@st.composite
def corpora(draw: st.DrawFn, distinct: bool = False) -> list[str]:
    """Documents of paragraphs drawn from a small pool, so that repeats are common."""
    if distinct:
        # every word once in the whole corpus: no two units share a shingle
        vocabulary = draw(st.lists(words, min_size=4, max_size=120, unique=True))
        sentences = [
            " ".join(vocabulary[i : i + 6]).capitalize() + "." for i in range(0, len(vocabulary), 6)
        ]
        paras = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
        cut = draw(st.integers(1, len(paras)))
        docs = [d for d in (paras[:cut], paras[cut:]) if d]
    else:
        pool = draw(st.lists(paragraph, min_size=1, max_size=5))
        docs = draw(
            st.lists(
                st.lists(st.sampled_from(pool), min_size=1, max_size=6), min_size=1, max_size=4
            )
        )
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return [(newline * 2).join(paras) + newline for paras in docs]


def _write(root: Path, docs: list[str]) -> Path:
    folder = root / "in"
    folder.mkdir()
    for number, text in enumerate(docs):
        (folder / f"d{number:02d}.txt").write_bytes(text.encode("utf-8"))
    return folder


def _read(folder: Path) -> list[str]:
    return [p.read_bytes().decode("utf-8") for p in sorted(folder.iterdir())]


@SETTINGS
@given(texts)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@SETTINGS
@given(texts)
def test_segments_round_trip_ordered_and_disjoint(text: str) -> None:
    doc = Document("d", text, Source("d"))
    for level in LEVELS:
        found = list(segment(doc, level))
        previous_end = 0
        for unit in found:
            assert text[unit.start : unit.end] == unit.text
            assert unit.text and unit.text == unit.text.strip()
            assert unit.start >= previous_end
            previous_end = unit.end
            assert unit.line == text.count("\n", 0, unit.start) + 1


@SETTINGS
@given(corpora())
# A near paragraph printed twice: its second copy went as its first, keeping twice the
# short sentence its survivor lacks.
@example(
    [
        "Bb bb bb bb bb bb bb bb. Bb bb bb bb bb bb bb bb.\n\n"
        + "Bb bb bb bb bb bb bb bb. Bb bb bb bb bb bb bb bc.\n\n" * 2
    ]
)
def test_cleaning_twice_changes_nothing_more(docs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = _write(root, docs)
        first = dedup.clean([folder], out=root / "once")
        second = dedup.clean([root / "once"], out=root / "twice")
        assert _read(root / "once") == _read(root / "twice")
        assert sum(d.chars_removed for d in second.documents) == 0
        # every removed character is accounted for
        removed = sum(len(a) - len(b) for a, b in zip(docs, _read(root / "once"), strict=True))
        assert removed == sum(d.chars_removed for d in first.documents)


def _within(part: str, whole: str) -> bool:
    """Every shingle of `part` is in `whole`, in a space both share."""
    a, b = shingle_sets(part), shingle_sets(whole)
    return any(set(a[s].tolist()) <= set(b[s].tolist()) for s in a.keys() & b.keys())


@SETTINGS
@given(corpora())
def test_every_repeated_paragraph_is_kept_once(docs: list[str]) -> None:
    # At threshold 1.0 a paragraph goes only if its shingles all occur in a kept one.
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dedup.clean([_write(root, docs)], out=root / "out", unit="paragraph", threshold=1.0)
        kept = [
            p
            for text in _read(root / "out")
            for p in text.replace("\r\n", "\n").split("\n\n")
            if p.strip()
        ]
        originals = {
            normalize(p) for text in docs for p in text.replace("\r\n", "\n").split("\n\n")
        }
        kept_norms = [normalize(p) for p in kept]
        assert len(set(kept_norms)) == len(kept_norms)
        for original in originals - {""} - set(kept_norms):
            assert any(_within(original, k) for k in kept_norms), original


@SETTINGS
@given(corpora(distinct=True))
def test_a_corpus_without_repeats_is_returned_unchanged(docs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result = dedup.clean([_write(root, docs)], out=root / "out")
        assert _read(root / "out") == docs
        assert not result.clusters or all(
            m.evidence.relation == "overlap" for c in result.clusters for m in c.members
        )


@SETTINGS
@given(paragraph, st.integers(2, 4))
def test_equal_documents_share_a_cluster(text: str, copies: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = dedup.scan([_write(Path(tmp), [text] * copies)], unit="document")
        if len(normalize(text)) >= 10:
            (cluster,) = result.clusters
            assert len(cluster.members) == copies - 1
            assert {m.evidence.relation for m in cluster.members} == {"exact"}


def _plain_heading(text: str, most: int) -> bool:
    """A plain line as a heading, as the rule reads (see `segment.is_heading`)."""
    words = text.split()
    return (
        0 < len(words) <= most
        and text.rstrip()[-1] not in ".,;:…"
        and any(c.isalpha() for c in text)
    )


@SETTINGS
@given(
    st.text(alphabet=st.sampled_from([*"ab é\u00a0\t.:…,;1", "\u2003"]), max_size=60),
    st.integers(min_value=1, max_value=6),
)
def test_a_heading_is_told_without_splitting_the_whole_line(text: str, most: int) -> None:
    from dedup.config import SegmentConfig
    from dedup.segment import is_heading

    line = text.replace("\n", " ")
    assert is_heading(line, SegmentConfig(heading_max_words=most)) == _plain_heading(line, most)


_FACT_TEXTS = st.lists(
    st.sampled_from(
        [
            *"aeimnorsuvjfdAEIJMSDÉéûôç 0123456789_-.:’\n",
            "ſ",
            "K",
            "İ",
            "١",
            "²",
            "Mai",
            "mars",
            "Août",
            "DÉCEMBRE",
            "janvier",
            "May",
            "2023",
            "Élise",
            "fevrier",
            "Avril",
            "ſeptembre",
            "ß",
            "März",
            "marca",
            "Января",
        ]
    ),
    max_size=40,
).map("".join)


@SETTINGS
@given(_FACT_TEXTS)
@example("Publié le 8 janvier 2023, le 3 octobre, le 1er Novembre et en AOÛT par Élise")
@example("ſeptembre a1 b22c _4_ x²y ١٢ DÉCEMBRE İ")
@example("İMai, Straße im März, İ mai")  # letters that fold to two: words end elsewhere
def test_facts_are_found_as_the_plain_patterns_find_them(text: str) -> None:
    import re
    import unicodedata
    from collections import Counter

    from dedup import facts as module

    # The definition: every pattern tried at every place, every letter counted.
    number = re.compile(r"\w*\d\w*")
    month = re.compile(
        r"\b(" + "|".join(sorted(module._MONTHS, key=len, reverse=True)) + r")\b", re.I
    )
    plain = unicodedata.normalize("NFKC", text) if not text.isascii() else text
    numbers = Counter(word.casefold() for word in number.findall(plain))
    months = Counter(module._MONTHS[m.casefold()] for m in month.findall(plain))
    names: Counter[str] = Counter()
    if len(module._UPPER.findall(plain)) <= len(module._LOWER.findall(plain)):
        for before, word in module._CAPITALIZED.findall(plain):
            if (
                before not in module._OPENERS
                and not word.isupper()
                and word.casefold() not in module._MONTHS
            ):
                names[word.casefold()] += 1
    expected = tuple(module._counted(found) for found in (numbers, months, names))
    assert module.facts(text) == expected


#: Text with the characters normalization treats apart next to sentence and paragraph
#: breaks: combining marks, compatibility forms, apostrophes, no-break spaces, U+3000.
_UNIT_TEXTS = st.lists(
    st.sampled_from(
        [
            *"ab cdé\u00a0\u3000’'.!?…,:-«»\n#É1",
            *("\n\n", ". ", "ﬁ", "ß", "İ", "\u0301", "\u0327"),
            *("\n<!-- dedup: ignore -->\n", "\ndedup: off\n", "\nDEDUP: on\n"),
        ]
    ),
    max_size=150,
).map("".join)


@SETTINGS
@given(st.lists(_UNIT_TEXTS, min_size=1, max_size=4))
@example(["Un. \u0301b\n\nﬁn’ ... «»\n\nC\u00a0!"])
def test_every_unit_is_keyed_by_its_own_normalized_text(docs: list[str]) -> None:
    # A coarser unit's normalized text is made of its sentences' (see prints._Pieces):
    # each unit's exact key is still that of `normalize` of its own text.
    from dedup.config import Config
    from dedup.engine.prints import fingerprint_batch
    from dedup.fingerprint import exact_key

    config = Config().with_overrides({"min_chars": 1})
    found = fingerprint_batch([(n, str(n), text) for n, text in enumerate(docs)], config)
    for level in found.levels:
        for row, digest, compared in zip(level.rows, level.digests, level.mask, strict=True):
            text = docs[row[0]][row[1] : row[2]]
            norm = normalize(text)
            if compared and norm:
                assert bytes(digest) == exact_key(norm), (text, norm)
            else:
                assert not norm or not compared


@SETTINGS
@given(st.lists(_UNIT_TEXTS, min_size=1, max_size=4), st.sampled_from([0, 5, 24]))
def test_a_sentence_is_weighed_alone_as_its_length_and_paragraph_say(
    docs: list[str], least: int
) -> None:
    # The rule written out: a sentence is compared alone unless it is shorter than
    # --min-sentence-chars once normalized, inside a paragraph that holds more, and
    # holds no character of a script written without spaces (U+2E80 on).
    from dedup.config import Config
    from dedup.engine.prints import fingerprint_batch
    from dedup.engine.table import COLUMNS
    from dedup.segment import spans

    config = Config().with_overrides({"min_chars": 1, "min_sentence_chars": least})
    found = fingerprint_batch([(n, str(n), text) for n, text in enumerate(docs)], config)
    sentences = found.levels[LEVELS.index("sentence")]
    paragraphs = [set(spans(text, ("paragraph",))["paragraph"]) for text in docs]
    hushed = COLUMNS.index("suppressed")
    for row, compared in zip(sentences.rows, sentences.mask, strict=True):
        doc, start, end = int(row[0]), int(row[1]), int(row[2])
        norm = normalize(docs[doc][start:end])
        inside = (start, end) not in paragraphs[doc]
        few = inside and len(norm) < least and (not norm or max(norm) < "\u2e80")
        if few:
            assert not compared, (docs[doc][start:end], norm)
        elif norm and not row[hushed]:
            assert compared, (docs[doc][start:end], norm)


def _plain_rows(number: int, text: str, level: Level) -> list[list[int]]:
    """The rows (see COLUMNS) of one level's units of a text, read one unit at a time."""
    from dedup.clean import gap
    from dedup.facts import number_marks
    from dedup.segment import LineIndex, spans, suppressed

    lines, quiet = LineIndex(text), suppressed(text)

    def marks(start: int, end: int, hushed: bool) -> int:
        # Of a unit compared by characters (under 20 words once normalized), as read.
        norm = normalize(text[start:end])
        return number_marks(text[start:end]) if norm and norm.count(" ") < 19 and not hushed else 0

    rows = []
    for start, end in spans(text, (level,))[level]:
        hushed = any(s <= start and end <= e for s, e in quiet)
        rows.append(
            [
                number,
                start,
                end,
                lines.line(start),
                lines.line(max(start, end - 1)),
                *gap(text, start, end),
                start - text.rfind("\n", 0, start),
                int(hushed),
                marks(start, end, hushed),
                -1,
            ]
        )
    return rows


@SETTINGS
@given(st.lists(_UNIT_TEXTS | texts, min_size=1, max_size=4))
@example(["\n\nUn. Deux !\r\n\r\n  <!-- dedup: ignore -->\nTrois.\n", "", " \n"])
@example(["Billet n° 12 : l’été ². Page ① de 3.\n\nLe 8 mai 2023, 12h <!-- dedup: ignore -->"])
@example(["x" * 600 + " a" * 30 + " 12", "x" * 600 + " a 12"])  # spaces past a long head
def test_every_units_row_is_the_one_it_has_alone(docs: list[str]) -> None:
    # A batch's rows are found all at once, from its finest units (see engine.layout).
    from dedup.config import Config
    from dedup.engine.layout import cut

    batch = [(7 + n, str(n), text) for n, text in enumerate(docs)]
    for level, units in zip(LEVELS, cut(batch, LEVELS, Config()).levels, strict=True):
        plain = [row for n, _, text in batch for row in _plain_rows(n, text, level)]
        assert units.rows.tolist() == plain, level


_WORDY = st.lists(
    st.sampled_from(["un", "deux", "trois", "été", "l’eau", "ﬁn", ". ", "! ", "\n\n", "\n", " "]),
    max_size=120,
).map(" ".join)


@SETTINGS
@given(st.lists(_WORDY, min_size=1, max_size=3), st.integers(1, 6))
def test_word_signatures_from_the_documents_words_are_each_units_own(
    docs: list[str], k: int
) -> None:
    # Every unit's word MinHash from its batch's words taken once (engine.windows) is the
    # MinHash of its own text's word shingles (a bag, as fingerprinting makes them).
    from dedup.config import Config
    from dedup.engine.layout import cut
    from dedup.engine.windows import Words
    from dedup.fingerprint import batch_shingle_sets, signatures

    config = Config().with_overrides({"shingle_size": k, "num_perm": 16})
    m = config.minhash
    layout = cut([(n, str(n), text) for n, text in enumerate(docs)], LEVELS, config)
    runs = np.concatenate([level.runs for level in layout.levels])
    norms = [norm for level in layout.levels for norm in level.norms(np.arange(len(level.rows)))]
    words = Words(layout.pieces, runs)
    wordy = np.flatnonzero((runs[:, 1] > runs[:, 0]) & (words.count(runs) >= k))
    assert (words.count(runs)[wordy] == [norms[i].count(" ") + 1 for i in wordy]).all()
    documents = wordy[wordy < len(layout.levels[0].runs)]  # runs one after another
    for asked in (wordy, documents):  # overlapping runs, and runs apart
        found = words.signatures(runs[asked], m)
        for row, i in zip(found, asked.tolist(), strict=True):
            own = batch_shingle_sets([norms[i]], dataclasses.replace(m, char_below=1), bags=True)
            assert (row == signatures(own["word"], m.num_perm, m.seed)[0]).all(), norms[i]


def _plain_sentences(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """`segment.sentences` as the plain rule reads: every match of the sentence end in the
    paragraph, but before a lower-case word or after an initial."""
    import re

    from dedup.segment import _SENTENCE_END

    initial = re.compile(r"(?:^\w|(?:^|\s)[^\W\d_])\.$")
    start, end = span
    body = text[start:end]
    out, first = [], 0
    for match in _SENTENCE_END.finditer(body):
        gap_start, gap_end = match.span(1)
        if gap_end >= len(body) or body[gap_end].islower():
            continue
        if initial.search(body, max(0, gap_start - 3), gap_start):
            continue
        out.append((start + first, start + gap_start))
        first = gap_end
    out.append((start + first, end))
    return out


_PROSE = st.lists(
    st.sampled_from(
        [*"aB1 .!?…\"'»”’)]\n\t\u00a0éÉ_", ". ", "J. ", "1. ", "... ", "\n\n", "x.) ", "M. "]
    ),
    max_size=80,
).map("".join)


@SETTINGS
@given(_PROSE)
@example("1. Ouvrir. J. Dupont dit. égal à 0. Afficher… «Oui.» Non!) Fin.")
def test_sentences_end_where_the_plain_rule_ends_them(text: str) -> None:
    # Sentence ends are looked for at the marks found once a document (segment._marks).
    from dedup.segment import paragraphs, sentences

    for paragraph in paragraphs(text):
        assert sentences(text, paragraph) == _plain_sentences(text, paragraph)


@SETTINGS
@given(
    st.sets(st.integers(0, 2**32 - 1), max_size=60),
    st.sets(st.integers(0, 2**32 - 1), max_size=60),
    st.sets(st.integers(0, 2**32 - 1), max_size=30),
)
def test_shared_counts_what_two_sets_have_in_common(a: set[int], b: set[int], c: set[int]) -> None:
    from dedup.index import shared

    x = np.array(sorted(a | c), dtype=np.uint32)
    y = np.array(sorted(b | c), dtype=np.uint32)
    assert shared(x, y) == shared(y, x) == len(np.intersect1d(x, y))


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sets(st.integers(0, 2**32 - 1), max_size=40),
            st.sets(st.integers(0, 2**32 - 1), max_size=40),
            st.sets(st.integers(0, 2**32 - 1), max_size=20),
        ),
        max_size=12,
    )
)
@example([({1, 2}, {3}, {4})] * 5)  # runs of a pair and more, at a run size of 7
def test_shared_many_counts_each_pair_as_shared_does(
    triples: list[tuple[set[int], set[int], set[int]]],
) -> None:
    import dedup.index
    from dedup.index import shared, shared_many

    pairs = [
        (np.array(sorted(a | c), dtype=np.uint32), np.array(sorted(b | c), dtype=np.uint32))
        for a, b, c in triples
    ]
    expected = [shared(x, y) for x, y in pairs]
    assert shared_many(pairs) == expected
    whole = dedup.index._SHARED_VALUES
    try:  # taken a few pairs at a time, or one pair larger than a run alone
        dedup.index._SHARED_VALUES = 7
        assert shared_many(pairs) == expected
    finally:
        dedup.index._SHARED_VALUES = whole


@SETTINGS
@given(st.lists(_WORDY, min_size=1, max_size=3))
def test_every_units_key_is_the_exact_key_of_its_normalized_text(docs: list[str]) -> None:
    # A unit's exact key, digested from its finest units' texts in UTF-8 (engine.layout),
    # is that of its own normalized text, whatever the empty units inside it.
    from dedup.config import Config
    from dedup.engine.layout import cut
    from dedup.fingerprint import exact_key

    layout = cut([(n, str(n), text) for n, text in enumerate(docs)], LEVELS, Config())
    for level in layout.levels:
        units = np.arange(len(level.rows))
        norms = level.norms(units)
        for unit, norm, key in zip(units.tolist(), norms, level.keys(units), strict=True):
            whole_run = level.runs[unit, 1] > level.runs[unit, 0]
            assert key == (exact_key(norm) if norm and whole_run else None), norm
            assert level.lengths[unit] == len(norm)
