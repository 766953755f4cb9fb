"""Every level for the price of about one (#27): a text that is a unit of several levels (a
one-line record, a one-sentence paragraph, a one-paragraph section) is banded once and each
pair of texts verified once, and every level still sees exactly what it would see alone."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import blog_sentences, said

import dedup
from dedup.config import Config
from dedup.engine.banded import Banded
from dedup.engine.fingerprint import fingerprint
from dedup.engine.prints import fingerprint_batch
from dedup.engine.resolve import resolve
from dedup.engine.table import Table
from dedup.engine.verify import Verified, Verifier
from dedup.io.readers import Corpus
from dedup.model import LEVELS
from dedup.parallel import Workers
from dedup.report import build_report, render_json

BLOG = Path(__file__).resolve().parent.parent / "fixtures" / "blog" / "pages"


def _records(path: Path) -> Path:
    """One-line records: templated lines in buckets larger than LSH's cap, exact and
    near repeats, and a few records of several paragraphs."""
    rng = random.Random(5)
    months = ["janvier", "février", "mars", "avril", "mai", "juin"]
    lines = [f"Publié le {d} {rng.choice(months)} 2023 par Élise" for d in range(1, 29)] * 3
    lines += [f"Épisode {n} : l’été à Noirmoutier" for n in range(150)]
    lines += ["Désactiver les sons système", "Désactiver les sons sytème", "Dossier : été"]
    lines += ["Un billet d’humeur.\n\nUne deuxième partie, plus longue que la première."] * 2
    lines *= 2  # repeats in other batches than the first copy's (256 documents a batch)
    rng.shuffle(lines)
    with path.open("w", encoding="utf-8") as out:
        for n, text in enumerate(lines):
            out.write(json.dumps({"id": str(n), "text": text}, ensure_ascii=False) + "\n")
    return path


def _lsh(result: dedup.Result) -> dict[str, object]:
    lsh: dict[str, object] = json.loads(render_json(build_report(result)))["lsh"]
    return lsh


@pytest.mark.parametrize("corpus", ["blog", "records", "one-line records"])
def test_each_level_sees_what_it_would_see_alone(tmp_path: Path, corpus: str) -> None:
    # LSH finds the same candidates; of them, a level verifies only those of units that
    # take part (not inside a unit removed above), which alone is every one.  A level whose
    # texts are the level above's (one-line records) takes its candidates.
    path = BLOG if corpus == "blog" else _records(tmp_path / "records.jsonl")
    if corpus == "one-line records":
        lines = [
            line for line in path.read_text(encoding="utf-8").splitlines() if "\\n" not in line
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    every = _lsh(dedup.scan(path, jobs=1))
    for level in LEVELS:
        alone = _lsh(dedup.scan(path, jobs=1, unit=level))
        mine, theirs = every[level], alone[level]
        for name in ("distinct_texts", "candidate_pairs"):
            assert mine[name] == theirs[name], (level, name)  # type: ignore[index]
        assert mine["verified_pairs"] <= theirs["verified_pairs"], level  # type: ignore[index]
    assert any(every[level]["candidate_pairs"] for level in LEVELS)  # type: ignore[index]


class _EveryPair(Verifier):
    """Verifies every candidate pair of a level, as if each of its units took part."""

    def level(self, li: int, units: list[int]) -> Verified:
        keys = self.table.levels[li].arrays["key"]
        return super().level(li, np.flatnonzero(keys >= 0).tolist())


@pytest.mark.parametrize("corpus", ["blog", "records", "copies"])
def test_leaving_out_pairs_inside_removed_units_changes_no_decision(
    tmp_path: Path, corpus: str
) -> None:
    if corpus == "blog":
        path = BLOG
    elif corpus == "records":
        path = _records(tmp_path / "records.jsonl")
    else:
        path = _near_copies(tmp_path / "copies.jsonl")
    config = Config().with_overrides({"jobs": 1})
    decided = []
    asked = []
    for kind in (Verifier, _EveryPair):
        with Corpus([str(path)], config.input) as corpus_, Workers(1) as workers:
            table = Table(corpus_, config)
            fingerprint(table, workers, lambda stage, count: None)
            verifier = kind(table, workers, lambda stage, count: None)
            done = resolve(table, workers, verifier)
        decided.append(
            (
                [
                    (links.survivors.tolist(), links.members.tolist(), links.evidence)
                    for links in done.links
                ],
                dict(done.removals.by_document()),
                done.boilerplate,
                [spared.tolist() for spared in done.spared],
            )
        )
        asked.append(verifier.verified)
    assert decided[0] == decided[1]
    assert any(links for links, _, _ in decided[0][0])
    if corpus == "copies":
        assert asked[0] < asked[1]  # pairs inside removed documents are left out


def _near_copies(path: Path) -> Path:
    """Documents of sentences from the blog pages, a third of them near copies of an
    earlier one (a word changed): their paragraphs and sentences are candidates of the
    original's, inside a document removed whole."""
    rng = random.Random(11)
    sentences = blog_sentences()
    texts: list[str] = []
    for n in range(300):
        if n % 3 == 2:
            text = texts[rng.randrange(len(texts))].replace(" la ", " une ", 1)
        else:
            paragraphs = [" ".join(rng.sample(sentences, 3)) for _ in range(3)]
            text = "\n\n".join(paragraphs)
        texts.append(text)
    with path.open("w", encoding="utf-8") as out:
        for n, text in enumerate(texts):
            out.write(json.dumps({"id": str(n), "text": text}, ensure_ascii=False) + "\n")
    return path


def test_a_text_of_several_levels_is_banded_once(tmp_path: Path) -> None:
    path = _records(tmp_path / "records.jsonl")
    config = Config().with_overrides({"jobs": 1})
    with Corpus([str(path)], config.input) as corpus, Workers(1) as workers:
        table = Table(corpus, config)
        fingerprint(table, workers, lambda stage, count: None)
    texts = {json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()}
    char = table.texts.spaces["char"].keys[0]
    # Every one-line record is a unit of all four levels, and banded once: the records of
    # two paragraphs add their paragraphs (and the sentences of each), banded once too.
    assert len(np.unique(char)) == len(texts) + 2
    # A text is banded twice only as a labelled title: `Épisode 12 : l’été à Noirmoutier`
    # holds the title `Épisode 12` too, beside the label every episode has (its title
    # banded where it has 10 characters or more).
    assert len(char) - len(np.unique(char)) == 140
    for level in table.levels:
        assert len(level.texts) == len(np.unique(level.texts))  # a level key is one text


def _batches(path: Path) -> list[list[tuple[int, str, str]]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    docs = [(n, record["id"], record["text"]) for n, record in enumerate(records)]
    return [docs[i : i + 100] for i in range(0, len(docs), 100)]


def test_a_text_banded_in_an_earlier_batch_is_not_banded_again(tmp_path: Path) -> None:
    config = Config()
    batches = _batches(_records(tmp_path / "records.jsonl"))
    known = Banded("a run", 0)  # every batch of one chunk
    alone = [fingerprint_batch(batch, config) for batch in batches]
    along = [fingerprint_batch(batch, config, known) for batch in batches]
    first: dict[bytes, tuple[int, int]] = {}  # text -> (batch, row) where it is banded
    for b, prints in enumerate(alone):
        for row, digest in enumerate(prints.texts.digests):
            first.setdefault(digest.tobytes(), (b, row))
    banded = [
        (b, digest.tobytes()) for b, prints in enumerate(along) for digest in prints.texts.digests
    ]
    assert sorted(text for _, text in banded) == sorted(first)  # each text once, in all
    assert sorted(banded) == sorted((b, text) for text, (b, _) in first.items())
    assert known.mine == set(first)
    for b, (one, other) in enumerate(zip(alone, along, strict=True)):
        rows = [first[d.tobytes()][1] for d in other.texts.digests]  # their rows alone
        for space, (units, bands) in other.texts.bands.items():
            mine = {}
            for unit, band in zip(units.tolist(), bands.tolist(), strict=True):
                mine.setdefault(rows[unit], []).append(band)
            theirs = {}
            units_alone, bands_alone = one.texts.bands[space]
            for unit, band in zip(units_alone.tolist(), bands_alone.tolist(), strict=True):
                if unit in mine:
                    theirs.setdefault(unit, []).append(band)
            assert mine == theirs, (b, space)
        # The units are the same whatever was banded before.
        for level_one, level_other in zip(one.levels, other.levels, strict=True):
            assert np.array_equal(level_one.rows, level_other.rows)
            assert np.array_equal(level_one.digests, level_other.digests)


def test_runs_in_one_process_band_their_own_texts(tmp_path: Path) -> None:
    """The texts a run banded are its own: a second run in the same process (no workers)
    bands them again, and finds what the first found."""
    path = _records(tmp_path / "records.jsonl")
    first = render_json(build_report(dedup.scan(path, jobs=1)))
    second = render_json(build_report(dedup.scan(path, jobs=1)))
    assert first == second
    assert ',"near",' in first  # a near duplicate's relation


class _SparkLikeWorkers(Workers):
    """One process taking a map's batches as Spark's executors may: in another order (a
    task rescheduled), and one of them twice, its first answer dropped (an attempt
    retried, or a speculative copy that lost); the answers come in input order."""

    def map(self, function, items):  # type: ignore[no-untyped-def]
        batches = list(items)
        order = list(range(len(batches)))
        random.Random(3).shuffle(order)
        function(batches[order[-1]])  # an attempt whose answer nobody takes
        answers = {i: function(batches[i]) for i in order}
        return iter([answers[i] for i in range(len(batches))])


def test_chunks_met_out_of_order_or_twice_leave_no_text_unbanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many chunks, texts in several: the table gets every text's band keys however a
    # process met the chunks, and whatever answers of its were dropped.
    monkeypatch.setattr("dedup.engine.fingerprint.BATCH_CHARS", 2_000)
    path = _records(tmp_path / "records.jsonl")
    config = Config().with_overrides({"jobs": 1})
    spaces = []
    for workers in (Workers(1), _SparkLikeWorkers(1)):
        with Corpus([str(path)], config.input) as corpus, workers:
            table = Table(corpus, config)
            fingerprint(table, workers, lambda stage, count: None)
        found = {}
        for name, space in table.texts.spaces.items():
            if space.keys:
                order = np.argsort(space.keys[0], kind="stable")
                found[name] = (space.keys[0][order], space.blocks[0].array()[order])
        spaces.append(found)
    in_order, met_otherwise = spaces
    assert in_order.keys() == met_otherwise.keys() and in_order
    for name, (texts, bands) in in_order.items():
        assert np.array_equal(texts, met_otherwise[name][0]), name
        assert np.array_equal(bands, met_otherwise[name][1]), name


def _variants(path: Path, copies: int = 30) -> Path:
    """One long paragraph of the blog's sentences, then `copies` records each with another
    of its words replaced: every copy is near the first, and two copies differ by two words."""
    sentences = blog_sentences()
    text = " ".join(sentences[10:18])
    words = text.split(" ")
    records = [text]
    for n in range(copies):
        changed = list(words)
        changed[3 * n + 2] = "zzz"
        records.append(" ".join(changed))
    with path.open("w", encoding="utf-8") as out:
        for n, record in enumerate(records):
            out.write(json.dumps({"id": str(n), "text": record}, ensure_ascii=False) + "\n")
    return path


def _grown(path: Path) -> Path:
    """Texts, each then grown by two sentences (a candidate of it, and not near it: it
    survives), then the grown text with a word changed (near the grown text alone): a
    pair the second wave verifies decides that copy."""
    rng = random.Random(3)
    sentences = blog_sentences()
    records = []
    for _ in range(40):
        text = " ".join(rng.sample(sentences, 5))
        grown = text + " " + " ".join(rng.sample(sentences, 2))
        records += [text, grown, grown.replace(" le ", " un ", 1).replace(" la ", " une ", 1)]
    with path.open("w", encoding="utf-8") as out:
        for n, record in enumerate(records):
            out.write(json.dumps({"id": str(n), "text": record}, ensure_ascii=False) + "\n")
    return path


def _copied_again(path: Path) -> Path:
    """Texts; two of their sentences (contained in the text, removed); the two with a
    third sentence after them (a survivor holding them too); the two again: the pair
    of the two and the third, read at the second copy only, links it."""
    rng = random.Random(4)
    sentences = blog_sentences()
    records = []
    for _ in range(40):
        text = rng.sample(sentences, 6)
        two = " ".join(text[:2])
        records += [" ".join(text[:5]), two, two + " " + text[5], two]
    with path.open("w", encoding="utf-8") as out:
        for n, record in enumerate(records):
            out.write(json.dumps({"id": str(n), "text": record}, ensure_ascii=False) + "\n")
    return path


@pytest.mark.parametrize(
    "corpus", ["blog", "records", "copies", "variants", "grown", "copied again"]
)
def test_pairs_no_decision_reads_are_left_out_and_change_nothing(
    tmp_path: Path, corpus: str
) -> None:
    # Clustering reads a pair only when its earlier text survives: the others are not
    # verified unless every pair is to be listed (--pairs), and the findings are the same.
    path = {
        "blog": lambda: BLOG,
        "records": lambda: _records(tmp_path / "records.jsonl"),
        "copies": lambda: _near_copies(tmp_path / "copies.jsonl"),
        "variants": lambda: _variants(tmp_path / "variants.jsonl"),
        "grown": lambda: _grown(tmp_path / "grown.jsonl"),
        "copied again": lambda: _copied_again(tmp_path / "again.jsonl"),
    }[corpus]()
    read = json.loads(render_json(build_report(dedup.scan(path, jobs=1))))
    every = json.loads(render_json(build_report(dedup.scan(path, jobs=1, pairs=True))))
    for report in (read, every):
        for name in ("pairs", "calibration", "lsh", "options"):
            report.pop(name, None)
    assert read == every
    assert read["clusters"]


def test_near_copies_of_one_text_are_verified_against_it_alone(tmp_path: Path) -> None:
    path = _variants(tmp_path / "variants.jsonl", copies=30)
    with said("dedup.engine.verify") as messages:
        read = _lsh(dedup.scan(path, jobs=1))["document"]
    line = next(message for message in messages if message.startswith("document:"))
    found = re.findall(r"(\d+) candidate pairs taking part, \d+ verified or known, (\d+)", line)
    taking_part, unread = (int(n) for n in found[0])
    assert unread == taking_part - 30 > 0  # --verbose says how many no decision reads
    every = _lsh(dedup.scan(path, jobs=1, pairs=True))["document"]
    assert read["candidate_pairs"] == every["candidate_pairs"] > 300  # type: ignore[index]
    assert read["verified_pairs"] == 30  # type: ignore[index]  # each copy against the first
    assert every["verified_pairs"] > 300  # type: ignore[index]


def test_a_level_equal_to_the_level_above_shares_its_arrays(tmp_path: Path) -> None:
    # A one-line record is its sentence, paragraph, section and document: its row is
    # sent and held once (pickling sends an object once), not once a level.
    batch = _batches(_records(tmp_path / "records.jsonl"))[0]
    one_line = [(n, doc_id, text) for n, doc_id, text in batch if "\n" not in text]
    levels = fingerprint_batch(one_line, Config()).levels
    assert len(levels) == 4
    for above, level in itertools.pairwise(levels):
        assert level.rows is above.rows and level.digests is above.digests
    mixed = fingerprint_batch(batch, Config()).levels  # records of two paragraphs too
    assert mixed[0].rows is not mixed[2].rows
    assert not np.array_equal(mixed[0].rows, mixed[2].rows)


def test_what_is_gone_is_found_past_two_billion_from_narrow_columns() -> None:
    """The table's columns are int32 where their values fit; a document number times the
    widest offset passes 2**31 in a large corpus (100,000 documents of 50,000 characters)."""
    from dedup.engine.resolve import Gone

    gone = Gone()
    docs, starts, ends = (np.array([v], dtype=np.int32) for v in (99_999, 0, 60_000))
    gone.add(docs, starts, ends)
    asked = (
        np.array([99_999, 99_999, 5], np.int32),
        np.array([50_000, 59_000, 0], np.int32),
        np.array([50_010, 61_000, 10], np.int32),
    )
    assert gone.covers(*asked).tolist() == [True, False, False]


@pytest.mark.parametrize("asked", [1, 3, 1 << 20])
def test_what_is_gone_is_what_a_span_holds_whatever_the_block_asked(
    monkeypatch: pytest.MonkeyPatch, asked: int
) -> None:
    """Units are asked about a block at a time: every block gives what one scan of the
    spans says (a unit is inside a span of its document that starts at or before it and
    ends at or after it, whichever was added first)."""
    import dedup.engine.resolve as resolve

    monkeypatch.setattr(resolve, "_ASKED", asked)
    rng = np.random.default_rng(5)
    gone = resolve.Gone()
    spans = []
    for _ in range(3):  # spans added in parts, some starting at the same place
        docs, starts = rng.integers(0, 4, 6), rng.integers(0, 40, 6)
        ends = starts + rng.integers(0, 15, 6)
        gone.add(docs.astype(np.int32), starts.astype(np.int32), ends.astype(np.int32))
        spans += list(zip(docs.tolist(), starts.tolist(), ends.tolist(), strict=True))
    docs, starts = rng.integers(0, 5, 50), rng.integers(0, 50, 50)
    ends = starts + rng.integers(1, 8, 50)
    expected = []
    for d, s, e in zip(docs.tolist(), starts.tolist(), ends.tolist(), strict=True):
        expected.append(any(sd == d and ss <= s and se >= e for sd, ss, se in spans))
    assert gone.covers(docs, starts, ends).tolist() == expected


def test_a_unit_inside_a_span_is_gone_whatever_span_starts_where_it_starts() -> None:
    """A near duplicate lost its paragraph's first sentence, then the paragraph was kept
    as boilerplate: the paragraph's last sentence is inside the paragraph, gone, though
    the sentence removed first starts where the paragraph does."""
    from dedup.engine.resolve import Gone

    gone = Gone()
    one = np.array([7], np.int32)
    gone.add(one, np.array([4311], np.int32), np.array([4410], np.int32))  # a sentence cut
    gone.add(one, np.array([4311], np.int32), np.array([4497], np.int32))  # the paragraph kept
    asked = (np.array([7, 7], np.int32), np.array([4411, 4411], np.int32))
    assert gone.covers(*asked, np.array([4497, 4498], np.int32)).tolist() == [True, False]
