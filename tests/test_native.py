"""The C loops (dedup/loops/) compute what their numpy twins compute, and dedup gives the
same output with either."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import xxhash
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup import coverage, edit_keys, fingerprint, index, order, tokens
from dedup.config import NormalizeConfig
from dedup.fingerprint import Sets, signatures
from dedup.native import native
from dedup.segment import paragraphs, sentences

_normalize = importlib.import_module("dedup.normalize")

ROOT = Path(__file__).resolve().parent.parent

needs_native = pytest.mark.skipif(native is None, reason="dedup._native was not built here")


def test_ci_builds_the_c_loops() -> None:
    """CI installs a compiler and Python's headers: there, the C loops must be what runs,
    or every other test here would pass on the numpy code alone."""
    if os.environ.get("CI") != "true":
        pytest.skip("checked in CI")
    assert native is not None
    built = os.environ.get("DEDUP_NATIVE_FROM")  # a build of the module asked for by path
    if built is not None:
        assert Path(str(native.__file__)).parent == Path(built)


def _minima_of(cuts: np.ndarray, parts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The minima of the parts cut at `starts` from finer parts (`cuts`, `parts`)."""
    at = np.searchsorted(cuts, starts)
    return np.minimum.reduceat(np.asarray(parts), at, axis=1)


@needs_native
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=1500),
    st.sets(st.integers(1, 1499), max_size=40),
    st.sampled_from([2, 7, 64, 128]),
    st.integers(0, 2**16),
)
def test_part_minima_is_the_numpy_one(
    values: list[int], cuts: set[int], num_perm: int, seed: int
) -> None:
    hashes = np.array(values, dtype=np.uint32)
    starts = np.array(sorted({0} | {c for c in cuts if c < len(values)}), dtype=np.int64)
    got_cuts, got = fingerprint.part_minima(hashes, starts, num_perm, seed)
    want_cuts, want = fingerprint._part_minima_numpy(hashes, starts, num_perm, seed)
    assert got.shape == (num_perm, len(got_cuts))
    assert np.array_equal(got_cuts, starts)
    assert np.array_equal(_minima_of(got_cuts, got, starts), _minima_of(want_cuts, want, starts))


@needs_native
def test_part_minima_takes_starts_as_the_numpy_one_does() -> None:
    """Unsorted starts, one twice: cut where they are, as the numpy way cuts."""
    hashes = np.arange(20, dtype=np.uint32) * np.uint32(2654435761)
    starts = np.array([5, 0, 12, 5, 3], dtype=np.int64)
    cuts, got = fingerprint.part_minima(hashes, starts, 16, 3)
    want_cuts, want = fingerprint._part_minima_numpy(hashes, starts, 16, 3)
    assert cuts.tolist() == [0, 3, 5, 12]
    assert np.array_equal(_minima_of(cuts, got, cuts), _minima_of(want_cuts, want, cuts))


@needs_native
def test_signatures_are_the_numpy_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    sizes = rng.integers(0, 1200, 300)  # some empty, some past a numpy block of 512
    sets = Sets(
        np.arange(len(sizes), dtype=np.int64),
        np.concatenate(([0], np.cumsum(sizes))),
        rng.integers(0, 2**32, int(sizes.sum()), dtype=np.uint64).astype(np.uint32),
    )
    got = signatures(sets, 128, 1)
    monkeypatch.setattr(fingerprint, "native", None)
    assert np.array_equal(got, signatures(sets, 128, 1))


@needs_native
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.tuples(st.integers(0, 300), st.integers(0, 80))))
def test_xxh32_spans_is_xxhash(data: bytes, spans: list[tuple[int, int]]) -> None:
    spans = [(min(s, len(data)), min(s + n, len(data))) for s, n in spans]
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    ends = np.array([e for _, e in spans], dtype=np.int64)
    got = tokens.xxh32_spans(data, starts, ends)
    assert got.tolist() == [xxhash.xxh32_intdigest(data[s:e]) for s, e in spans]
    assert got.tolist() == tokens._xxh32_spans_numpy(data, starts, ends).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(" \t\nab\u00e9\u4e2d\x01", max_size=40), min_size=1, max_size=8))
def test_token_hashes_are_every_token_xxh32_and_each_text_count(texts: list[str]) -> None:
    """Tokens cut at every byte <= 32 (so empty ones too, between two such bytes), texts
    at newlines: as `token_spans` and `xxh32_spans` make them."""
    data = "\n".join(texts).encode("utf-8")
    hashes, counts = tokens.joined_hashes(data)
    starts, ends, owner = tokens.token_spans(data)
    expected = [xxhash.xxh32_intdigest(data[s:e]) for s, e in zip(starts, ends, strict=True)]
    assert hashes.tolist() == expected
    assert counts.tolist() == np.bincount(owner, minlength=len(texts)).tolist()
    assert len(counts) == data.count(b"\n") + 1


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(" \tab\u00e9\u0153\u4e2d\U0001f600\x01\x7f\x80\xff", max_size=40),
        min_size=1,
        max_size=8,
    )
)
def test_tokens_hashed_from_the_texts_are_those_of_the_texts_joined(texts: list[str]) -> None:
    """Each str of any width (Latin-1, two bytes, past the plane) cut and hashed on its
    own gives the hashes and counts of the texts joined by newlines and encoded."""
    hashes, counts = tokens.texts_hashes(texts)
    joined, each = tokens.joined_hashes("\n".join(texts).encode("utf-8"))
    assert hashes.tolist() == joined.tolist()
    assert counts.tolist() == each.tolist()
    hashes[:1] = 0  # arrays of their own, as numpy makes them


@needs_native
@given(st.text("\nab\u00e9\u0153\U0001f600\r"))
@example("ab\n" * 11 + "a" * 8 + "\n\n")  # eight bytes a word: eight characters
@example("é" * 15 + "\n" + "é" * 7)
@example("œ\n" * 9 + "œ" * 4 + "\n")  # four a word
@example("\n" + "œ" * 7 + "\n" + "œ" * 3)
@example("😀\n" * 9)
def test_newlines_are_where_the_regex_finds_them(text: str) -> None:
    from dedup.engine import layout

    assert layout.newlines(text).tolist() == [m.start() for m in re.finditer("\n", text)]


@needs_native
@given(st.lists(st.text("ab\u00e9\u0153\U0001f600\n ")))
@example(["Réseau’ été", "", "😀 x"])
def test_code_points_are_the_texts_joined_as_utf32(texts: list[str]) -> None:
    atoms, bounds = fingerprint.code_points(texts)
    assert atoms.tolist() == [ord(c) for c in "".join(texts)]
    assert bounds.tolist() == np.cumsum([0] + [len(t) for t in texts]).tolist()


def _without_native(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (fingerprint, tokens, index):
        monkeypatch.setattr(module, "native", None)


segments = st.lists(st.lists(st.integers(0, 40), max_size=30), min_size=1, max_size=12)


@needs_native
@settings(max_examples=300, deadline=None)
@given(segments, st.integers(1, 6), st.booleans(), st.booleans(), st.integers(0, 16))
def test_gram_keys_and_sets_are_the_numpy_ones(
    parts: list[list[int]], k: int, bags: bool, tagged: bool, shift: int
) -> None:
    """Segments of any size (empty, under k, long; few distinct atoms, so that grams
    repeat), as sets and as bags, with tags and shifts as the children check uses them."""
    atoms = np.array([a for part in parts for a in part], dtype=np.uint32)
    bounds = np.cumsum([0] + [len(part) for part in parts]).astype(np.int64)
    tags = (np.arange(len(parts), dtype=np.uint64) << np.uint64(48)) if tagged else None
    got = (
        fingerprint.gram_keys(atoms, bounds, k, 7, tags, shift),
        fingerprint.segment_kgrams(atoms, bounds, k, 7, bags),
    )
    with pytest.MonkeyPatch.context() as patch:
        _without_native(patch)
        want = (
            fingerprint.gram_keys(atoms, bounds, k, 7, tags, shift),
            fingerprint.segment_kgrams(atoms, bounds, k, 7, bags),
        )
    assert got[0].tolist() == want[0].tolist()
    assert [a.tolist() for a in got[1]] == [a.tolist() for a in want[1]]


@needs_native
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sets(st.integers(0, 60)), st.sets(st.integers(0, 60)))))
def test_shared_is_the_numpy_one(pairs: list[tuple[set[int], set[int]]]) -> None:
    arrays = [
        (np.array(sorted(a), dtype=np.uint32), np.array(sorted(b), dtype=np.uint32))
        for a, b in pairs
    ]
    got = index.shared_many(arrays)
    assert got == [len(a & b) for a, b in pairs]
    with pytest.MonkeyPatch.context() as patch:
        _without_native(patch)
        assert index.shared_many(arrays) == got


@needs_native
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 9), max_size=30), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=30),
)
def test_shared_between_counts_bags_as_the_numpy_one(
    bags: list[list[int]], pairs: list[tuple[int, int]]
) -> None:
    """Sorted bags of one array, repeats and all: a value held twice by each side counts
    twice, in C as in numpy."""
    pairs = [(x % len(bags), y % len(bags)) for x, y in pairs]
    sizes = [len(bag) for bag in bags]
    sets = Sets(
        np.arange(len(bags), dtype=np.int64),
        np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        np.array([v for bag in bags for v in sorted(bag)], dtype=np.uint32),
    )
    firsts = np.array([x for x, _ in pairs], dtype=np.int64)
    seconds = np.array([y for _, y in pairs], dtype=np.int64)
    got = index.shared_between(sets, firsts, seconds, bags=True)
    want = [sum((Counter(bags[x]) & Counter(bags[y])).values()) for x, y in pairs]
    assert got.tolist() == want
    with pytest.MonkeyPatch.context() as patch:
        _without_native(patch)
        assert index.shared_between(sets, firsts, seconds, bags=True).tolist() == want
        if all(len(set(bag)) == len(bag) for bag in bags):  # sets: the merge of shared_many
            assert index.shared_between(sets, firsts, seconds).tolist() == want


@needs_native
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text("abcé ", min_size=1, max_size=30), min_size=1, max_size=5),
    st.lists(st.tuples(st.text("abcé", min_size=1, max_size=12), st.integers(0, 4)), max_size=20),
    st.integers(1, 6),
)
def test_coverage_is_the_numpy_one(
    survivors: list[str], children: list[tuple[str, int]], k: int
) -> None:
    """Children of any length (under k: one gram) against their survivors' k-grams."""
    texts = [text for text, _ in children]
    owners = [owner % len(survivors) for _, owner in children]
    compact = [text.replace(" ", "") for text in survivors]
    got = coverage.coverage_many(texts, owners, compact, k)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(coverage, "native", None)
        assert coverage.coverage_many(texts, owners, compact, k) == got


@needs_native
@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("ab é1 ", max_size=14)), st.lists(st.text("abcé 1", max_size=60)))
def test_edit_keys_are_the_numpy_ones(short: list[str], medium: list[str]) -> None:
    """Deletion keys of any text (empty, spaces only, words with digits); segment keys of
    texts of a word or more (as the engine gives them only texts of 15 words or more)."""
    medium = [" ".join(text.split()) for text in medium if text.split()]
    got = (edit_keys.deletion_keys(short), edit_keys.segment_keys(medium))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(edit_keys, "native", None)
        want = (edit_keys.deletion_keys(short), edit_keys.segment_keys(medium))
    for (got_rows, got_keys), (want_rows, want_keys) in zip(got, want, strict=True):
        assert got_rows.tolist() == want_rows.tolist()
        assert got_keys.tolist() == want_keys.tolist()


#: Where sentence rules meet: marks and closers (Chinese and Japanese ones too), white
#: space of several kinds, letters of either case and of no case, digits of other scripts
#: ("٣" is a decimal digit, "²" a digit and no decimal one), and the German months (with
#: words that start like one).
_SENTENCE_PIECES = (
    *".!?…»”’)]\"' \t\n\u00a0\u2028aAéÉß120٣²_",
    *"。！？｡」』）】〕〉》〗〙〛｣؟۔।॥东京",
    *("Januar", "Jänner", "Februar", "März", "April", "Mai", "Juni", "Juli", "August"),
    *("September", "Oktober", "November", "Dezember", "Jan", "Feb", "Mär", "Apr", "Jun"),
    *("Jul", "Aug", "Sep", "Sept", "Okt", "Nov", "Dez", "Augusta", "Maier"),
)


def _python_sentences(text: str, paras: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [span for para in paras for span in sentences(text, para)]


@needs_native
@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_SENTENCE_PIECES), max_size=30).map("".join) | st.text())
def test_sentences_are_the_python_ones(text: str) -> None:
    assert native is not None
    for paras in (paragraphs(text), [(0, len(text))], [(1, len(text))] if text else []):
        assert native.sentences(text, np.array(paras, dtype=np.int64)) == _python_sentences(
            text, paras
        )


#: Where paragraph rules meet: line breaks of both kinds, blank lines of white space of
#: several kinds, Markdown's block starts (and near misses: seven #, ten digits, "--"
#: alone), letters of either case and of none, and lines long and short (wrapped or not).
_PARAGRAPH_PIECES = (
    *("\n", "\r\n", "\n\n", " \n", "\t", " ", "\u00a0", "\u2028", "\u3000"),
    *("# ", "###### ", "####### ", "#", "- ", "* ", "+ ", "-", "1. ", "12) ", "1234567890. "),
    *("٣. ", "> ", "```", "~~~", "``", "| ", "a", "A", "é", "É", "1", "东", "."),
    *("word " * 12, "Word " * 9, "mot " * 3),
    *("dedup: off", "<!-- DeDuP: ignore -->", "dedup: on", "dedu", "p:", "P:", "DEDUP:"),
)


def _python_paragraphs(text: str) -> list[tuple[int, int]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules["dedup.segment"], "native", None)
        return paragraphs(text)


@needs_native
@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PARAGRAPH_PIECES), max_size=40).map("".join) | st.text())
def test_paragraphs_are_the_python_ones(text: str) -> None:
    """Paragraphs, and whether a marker is there (the C reads none: Python does)."""
    segment_module = sys.modules["dedup.segment"]
    assert native is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segment_module, "native", None)
        marked = segment_module._has_marker(text)
    assert native.has_marker(text) == marked
    assert (native.paragraphs(text) is None) == marked
    assert paragraphs(text) == _python_paragraphs(text)


@needs_native
@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *_PARAGRAPH_PIECES,
                *("\n\n", "\n\n", "Titre court", "Fin.", "Fin…", "Fin:", "fin,", "x;", "12"),
                *(" ".join(["mot"] * 15), " ".join(["mot"] * 16), "٣٣", "東京"),
            ]
        ),
        max_size=30,
    ).map("".join)
    | st.text()
)
def test_sections_are_the_python_ones(text: str) -> None:
    """Headings (Markdown's, or short lines: up to 15 words, no final stop, a letter)."""
    segment_module = sys.modules["dedup.segment"]
    paras = _python_paragraphs(text)
    got = segment_module.sections(text, paras)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segment_module, "native", None)
        assert got == segment_module.sections(text, paras)


_BATCH_TEXTS = st.lists(
    st.lists(st.sampled_from([*_PARAGRAPH_PIECES, *_SENTENCE_PIECES]), max_size=30).map("".join)
    | st.text(),
    max_size=6,
)


@needs_native
@settings(max_examples=500, deadline=None)
@given(_BATCH_TEXTS, st.sets(st.sampled_from(["document", "section", "paragraph", "sentence"])))
def test_a_batch_is_cut_as_each_text_in_python(texts: list[str], levels: set[str]) -> None:
    """`batch_spans` in one C call: every level's spans of each text, in the texts joined,
    as the Python rules find them text by text; a batch with a marker goes to Python."""
    segment_module = sys.modules["dedup.segment"]
    asked = [level for level in ("document", "section", "paragraph", "sentence") if level in levels]
    got, quiet = segment_module.batch_spans(texts, asked)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segment_module, "native", None)
        want, want_quiet = segment_module.batch_spans(texts, asked)
    assert list(got) == list(want) == asked
    for level in asked:
        assert np.array_equal(got[level][0], want[level][0])
        assert np.array_equal(got[level][1], want[level][1])
        assert got[level][1].sum() == len(got[level][0])
    assert quiet == want_quiet


@needs_native
@pytest.mark.parametrize(
    "text",
    [
        "Un.\nDeux.\n\nTrois\nquatre",  # a break the next line continues in lower case
        "ligne une assez longue\nligne deux assez longue\nligne trois longue\nfin",  # widths
        "Titre\n# Chapitre\ntexte\n- point\n1. un\n12) deux\n> cité\n```\n~~~\n| a |",
        "####### sept\nsuite\n1234567890. dix\nsuite\n٣. trois\nsuite",  # no block starts
        "a\r\nb\r\n\r\nc \u00a0\n\u2028\nd",  # CR LF, and blank lines of other spaces
    ],
)
def test_paragraph_rules_in_c(text: str) -> None:
    assert native is not None
    assert native.paragraphs(text) == _python_paragraphs(text)


@needs_native
@pytest.mark.parametrize(
    "text",
    [
        "Er sah ². Aber",  # an "initial" that is a digit but no decimal one
        "Am 120. August kam er. Am 20. August ging er.",  # a day is one or two digits
        "Am 3. Apr. kam er. Am 3. Aprikosen.",  # every month, and only a whole word
        "J. Dupont. _. Non. 1. Oui.",
        "«Oui.» Non!” Si?’ Ja…) Nein.] Doch.\" Gut.' Ende.\u00a0Fin.\u2028Neu",  # closers, spaces
        "东京。」京！』东？ 京｡）.东。!」 东",  # Chinese and Japanese marks, with or without space
        "东。〕京。】东。〉京。》东。〗京。〙东。〛京。｣东。”京。’东。»京。)东。]京。\"东。'京",  # closers
        "Oui.。Non!。京",  # a Latin mark before theirs
        "هل؟ نعم۔ हाँ। ठीक॥ Ok",  # marks that need white space after them
    ],
)
def test_sentence_rules_in_c(text: str) -> None:
    assert native is not None
    paras = [(0, len(text))]
    got = native.sentences(text, np.array(paras, dtype=np.int64))
    assert got == _python_sentences(text, paras)


@needs_native
def test_bad_buffers_are_refused_not_read() -> None:
    assert native is not None
    out = np.empty(1, dtype=np.uint32)
    span = np.array([0], dtype=np.int64)
    with pytest.raises(ValueError, match="outside"):
        native.xxh32_spans(b"abc", span, np.array([4], dtype=np.int64), out)
    with pytest.raises(ValueError, match="out"):
        native.xxh32_spans(b"abc", span, span, np.empty(2, dtype=np.uint32))
    a = b = np.ones(4, dtype=np.uint32)
    with pytest.raises(ValueError, match="cuts"):
        native.part_minima(
            np.ones(3, np.uint32), np.array([0, 5], np.int64), a, b, np.empty(8, np.uint32)
        )
    with pytest.raises(ValueError, match="out"):
        native.part_minima(np.ones(3, np.uint32), span, a, b, np.empty(3, np.uint32))
    atoms, bounds = np.ones(3, np.uint32), np.array([0, 2], np.int64)
    with pytest.raises(ValueError, match="bounds"):
        native.gram_keys(atoms, bounds, 2, 0, None, 0, np.empty(2, np.uint64))
    with pytest.raises(ValueError, match="room"):
        native.kgram_sets(atoms, np.array([0, 3], np.int64), 2, 0, False, span.repeat(2), a[:1])
    with pytest.raises(ValueError, match="tags"):
        native.gram_keys(
            atoms, np.array([0, 3], np.int64), 2, 0, span.repeat(2), 0, np.empty(2, np.uint64)
        )
    empty = np.empty(0, np.int64)
    with pytest.raises(ValueError, match="bounds"):
        native.covered(atoms, empty, atoms, empty, empty, 2, 0, empty, empty)
    with pytest.raises(TypeError, match="uint32"):
        native.shared([(np.ones(2, np.uint32), np.ones(2, np.int64))])
    values, offsets = np.ones(3, np.uint32), np.array([0, 3], np.int64)
    with pytest.raises(ValueError, match="no set"):
        native.shared_at(values, offsets, span, np.array([1], np.int64), np.empty(1, np.int64))
    with pytest.raises(ValueError, match="bounds"):
        native.shared_at(values, np.array([0, 4], np.int64), span, span, np.empty(1, np.int64))


@needs_native
def test_a_run_is_the_same_without_the_c_loops(tmp_path: Path) -> None:
    """The default run over the blog fixture, its report and cleaned pages, byte for byte."""
    outputs = []
    for flag in ("1", "0"):
        out, report = tmp_path / f"out{flag}", tmp_path / f"report{flag}.json"
        env = {**os.environ, "DEDUP_NATIVE": flag}
        pages = str(ROOT / "fixtures/blog/pages")
        command = ["clean", pages, "--out", str(out), "--report", str(report), "--jobs", "1"]
        subprocess.run(
            [sys.executable, "-m", "dedup", *command],
            check=True,
            env=env,
            cwd=tmp_path,
        )
        version = subprocess.run(
            [sys.executable, "-m", "dedup", "--version"],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        assert ("C loops" if flag == "1" else "numpy loops") in version
        cleaned = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        outputs.append((report.read_bytes(), cleaned))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].count(b'"cluster"') > 0  # the fixture has duplicates to agree on


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(st.characters(blacklist_categories=()), max_size=700)
        | st.sampled_from(["", "a" * 256, "é" * 256, "é" * 257, "\ud800\udc00", "😀" * 300]),
        max_size=6,
    )
)
def test_copies_are_the_python_ones(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    """The copies of texts of any characters (lone surrogates, past the plane, runs of
    marks ending at a text's end) are the bytes and places the Python makes."""
    from dedup.io import copies

    folder = tmp_path_factory.mktemp("copies")
    got = copies._write(str(folder / "c"), texts) + copies._write(str(folder / "c"), texts[::-1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copies, "native", None)
        want = copies._write(str(folder / "p"), texts)
        want += copies._write(str(folder / "p"), texts[::-1])
    assert got == want
    assert (folder / "c").read_bytes() == (folder / "p").read_bytes()


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(st.characters(blacklist_categories=()), max_size=300)
        | st.sampled_from(["", " \x1e ", "\ud800é", "l\u2019été\u00a0!", "ﬁ…’\u0301", "😀 A"]),
        max_size=8,
    ),
    st.booleans(),
    st.booleans(),
)
def test_texts_fold_one_by_one_as_they_fold_joined(
    texts: list[str], fold_accents: bool, spaces: bool
) -> None:
    """normalize_many over each str on its own (any characters: lone surrogates, marks,
    the separator the Python joins with) gives what the Python gives joined."""
    normalize = importlib.import_module("dedup.normalize")

    config = NormalizeConfig(fold_accents=fold_accents)
    got = normalize.normalize_many(texts, config, spaces=spaces)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalize, "native", None)
        assert got == normalize.normalize_many(texts, config, spaces=spaces)


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 2**11, 2**63, 2**64 - 1]), max_size=300
    ),
    st.integers(0, 64),
    st.integers(0, 40),
    st.booleans(),
)
def test_key_order_is_numpys_stable_argsort_or_its_repeated_keys(
    values: list[int], shift: int, copies: int, shared: bool
) -> None:
    """Keys of any bits (shifted, their highest bits alike: one bucket sorted on its own),
    repeats, and long runs of one key; every row, or those whose key another has too."""
    assert native is not None
    keys = np.array(values + values[:1] * copies, dtype=np.uint64) >> np.uint64(min(shift, 63))
    order = np.empty(len(keys), dtype=np.int64)
    count = native.key_order(keys, order, shared)
    stable = np.argsort(keys, kind="stable").tolist()
    if shared:
        counts = dict(zip(*np.unique(keys, return_counts=True), strict=True))
        stable = [i for i in stable if counts[keys[i]] > 1]
    assert order[:count].tolist() == stable


@needs_native
def test_shared_order_is_the_same_without_the_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    """`order.shared_order` in C and from `key_order`, on band keys with repeats."""
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 2**63, 5_000, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    keys[rng.integers(0, 5_000, 400)] = keys[rng.integers(0, 5_000, 400)]
    keys[:300] = keys[4_000]  # one key in a bucket of hundreds
    built = order.shared_order(keys)
    monkeypatch.setattr(order, "native", None)
    assert built.tolist() == order.shared_order(keys).tolist()
    assert len(built) > 700


@needs_native
@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab é\u0663²\U0001f600\n", max_size=80), st.data())
def test_slices_are_the_spans_of_the_text(text: str, data: st.DataObject) -> None:
    assert native is not None
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    starts = np.array(cuts[0::2][: len(cuts) // 2], dtype=np.int64)
    ends = np.array(cuts[1::2][: len(cuts) // 2], dtype=np.int64)
    assert native.slices(text, starts, ends) == [
        text[a:b] for a, b in zip(starts, ends, strict=True)
    ]


@needs_native
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="a  1\u0663²é\U0001d7d8", max_size=40), max_size=20),
    st.integers(1, 8),
)
def test_spaces_and_digits_are_the_same_without_the_loops(texts: list[str], enough: int) -> None:
    """Spaces past the head counted on only below `enough`; a digit as re's \\d finds one
    (Arabic-Indic and mathematical digits yes, a superscript two no)."""
    from dedup.engine import layout

    counts, digits = layout.spaces_and_digits(texts, enough)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layout, "native", None)
        expected = layout.spaces_and_digits(texts, enough)
    assert counts.tolist() == expected[0].tolist() and digits.tolist() == expected[1].tolist()
    spaces, _ = native.spaces_and_digits(texts, enough, 3)  # a head shorter than the texts
    assert (
        np.frombuffer(spaces, np.int64).tolist() == layout._space_counts(texts, enough, 3).tolist()
    )


@needs_native
@settings(max_examples=100, deadline=None)
@given(st.integers(0, 40), st.sampled_from([(21, 6), (16, 8), (1, 128), (128, 1), (3, 5)]))
def test_band_keys_are_the_same_without_the_loops(count: int, banding: tuple[int, int]) -> None:
    """Band keys of signatures of any count, any banding, in C and in numpy (a banding
    that leaves permutations out: 3 bands of 5 rows of 128)."""
    bands, rows = banding
    sigs = np.random.default_rng(count).integers(0, 2**32, (count, 128), dtype=np.uint32)
    params = index.LshParams(bands, rows)
    built = index.band_keys(sigs, params)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "native", None)
        assert built.tolist() == index.band_keys(sigs, params).tolist()
    assert built.shape == (count, bands) and built.dtype == np.uint64


@needs_native
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(1, 4)), max_size=30))
def test_run_minima_are_the_same_without_the_loops(runs: list[tuple[int, int]]) -> None:
    """Runs of one part or more, overlapping, in any order."""
    rows = np.random.default_rng(len(runs)).integers(0, 2**32, (13, 16), dtype=np.uint32)
    heads = np.array([head for head, _ in runs], dtype=np.int64)
    counts = np.array([count for _, count in runs], dtype=np.int64)
    built = fingerprint.run_minima(rows, heads, counts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fingerprint, "native", None)
        assert built.tolist() == fingerprint.run_minima(rows, heads, counts).tolist()
    expected = [rows[h : h + c].min(axis=0).tolist() for h, c in runs]
    assert built.tolist() == expected


#: Characters of the classes the label and number scans tell apart: word characters
#: (letters, "_", decimal digits, digits and numbers that are not decimal: ², ½, Ⅻ, ٣),
#: white space (no-break, ideographic, line separator), every separator of a label, the
#: quotes that change them, and characters casefold lengthens (ß, ﬁ) or NFKC changes.
_LINE_CHARACTERS = "aZé_09²½Ⅻ٣ßﬁİ \t\u00a0\u3000\u2028|•·»«:-–—/[]x.,"
_LINES = st.text(_LINE_CHARACTERS, max_size=40) | st.text(
    st.characters(blacklist_categories=()), max_size=40
)


@needs_native
@settings(max_examples=3000, deadline=None)
@given(_LINES)
@example("Commandes utilisateur — page 12 — publié le 8 mai 2023")
@example("Créer des fichiers «\u00a0.changes\u00a0» | Le Blog")
@example("Accueil » Blog de Marc")
@example("a - b | c : d")
@example("Titre long du billet :Blog")
@example("abc | abc")
def test_separated_readings_are_the_python_ones(text: str) -> None:
    """Each reading of a line as a title and a label around a separator, in C, is the
    regular expressions' (any characters, the text stripped or not)."""
    from dedup import titles

    got = titles._separated(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(titles, "native", None)
        assert got == titles._separated(text)


@needs_native
@settings(max_examples=3000, deadline=None)
@given(st.lists(_LINES, max_size=6))
@example(["page 12 — publié le 8 mai 2023", "Page 12 page 12 PAGE 12", "x²1 ½3 Ⅻ4 ٣"])
@example(["ﬁ1 FI1 İ1 i̇1 ß1 SS1", "\ud800 1\udfff", "a_1 _1_ 1" * 30])
def test_number_marks_are_the_python_ones(texts: list[str]) -> None:
    """The number marks of texts of any characters, in C, are the regular expression's:
    every word holding a decimal digit, casefolded, NFKC first, repeats counted."""
    from dedup import facts

    got = facts.marks_of(texts)
    assert got.dtype == np.int64
    assert got.tolist() == [facts.number_marks.__wrapped__(text) for text in texts]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(facts, "native", None)
        assert facts.marks_of(texts).tolist() == got.tolist()


@needs_native
@settings(max_examples=3000, deadline=None)
@given(_LINES)
@example("page 12 — publié le 8 mai 2023 à 10h30, x²1 ½3 Ⅻ4 ٣ a_1 _1_")
def test_number_words_are_the_regular_expressions(text: str) -> None:
    """The words of a text that hold a digit, in C, are those the regular expression finds
    (any characters), and so are the facts made of them."""
    from dedup import facts

    assert native is not None
    assert native.number_words(text) == facts._NUMBER.findall(text)
    got = facts.facts(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(facts, "native", None)
        assert facts.facts(text) == got


_TEXTS_WITH_A_NUMBER = ["un texte", 5, "deux"]
_LOOPS_OVER_TEXTS = {
    "segment_batch": lambda texts: native.segment_batch(texts, 15, 1000),
    "text_token_hashes": lambda texts: native.text_token_hashes(texts),
    "fold_texts": lambda texts: native.fold_texts(
        texts, _normalize._ASCII, *_normalize._IMAGES[False].arrays, True
    ),
    "copies": lambda texts: native.copies(texts, 256),
    "code_points": lambda texts: native.code_points(texts),
    "spaces_and_digits": lambda texts: native.spaces_and_digits(texts, 8, 512),
    "number_marks": lambda texts: native.number_marks(texts, str),
}


@needs_native
@pytest.mark.parametrize("loop", sorted(_LOOPS_OVER_TEXTS))
def test_every_loop_over_a_list_of_texts_names_the_item_that_is_no_str(loop: str) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is not a str"):
        _LOOPS_OVER_TEXTS[loop](_TEXTS_WITH_A_NUMBER)
