"""Stages as DataFrame operations (`dedup.spark.candidates`, `dedup.spark.components`):
on Spark in `local[2]`, exactly what the local stage gives, on random graphs and band keys
and on the band keys of a real corpus at every level."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conftest import PAGES

from dedup.cluster import clusters
from dedup.config import Config
from dedup.engine.candidates import candidates, components, neighbours_of, pair_batches
from dedup.engine.fingerprint import fingerprint
from dedup.engine.resolve import resolve
from dedup.engine.run import run
from dedup.engine.table import BATCH_CHARS, Table
from dedup.engine.verify import BothWays, Verifier, verify_batch
from dedup.errors import InputError
from dedup.index import _BUCKET_CAP, candidate_pairs
from dedup.io.readers import Corpus
from dedup.io.spill import Columns
from dedup.model import LEVELS, Evidence
from dedup.parallel import Workers
from dedup.spark.candidates import candidate_pairs as spark_pairs
from dedup.spark.clean import cleaned_frames, write_files, write_jsonl
from dedup.spark.cluster import EVIDENCE, level_links
from dedup.spark.components import components as spark_components
from dedup.spark.fingerprint import Prints, _bagged, fingerprint_frames
from dedup.spark.resolve import REMOVAL, resolve_frames
from dedup.spark.verify import related_pairs
from dedup.titles import Counted

if shutil.which("java") is None and not os.environ.get("CI"):  # CI installs it: never skipped there
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)


def _frame(spark: Any, **columns: Any) -> Any:
    return spark.createDataFrame(pa.table({k: np.asarray(v) for k, v in columns.items()}))


def _sorted(table: Any, *names: str) -> np.ndarray:
    rows = np.stack([table[name].to_numpy() for name in names], axis=1).reshape(-1, len(names))
    return rows[np.lexsort(rows.T[::-1])]


def test_components_label_each_node_with_the_smallest_of_its_component(spark: Any) -> None:
    rng = np.random.default_rng(7)
    graphs = []
    base = 0
    for nodes, edges in ((40, 30), (900, 700), (200, 0)):
        pairs = rng.integers(0, nodes, size=(edges, 2))
        # A long chain, numbered against its order (the rounds' worst case), and a star.
        chain = np.stack([np.arange(nodes - 1, 0, -1), np.arange(nodes - 2, -1, -1)], axis=1)
        star = np.stack([np.full(nodes // 10, nodes - 1), np.arange(nodes // 10)], axis=1)
        graphs.append((base, nodes, np.concatenate([pairs, chain[: nodes // 3], star])))
        base += nodes + 5
    edges = np.concatenate([pairs + at for at, _, pairs in graphs])
    edges = np.concatenate([edges, [[3, 3]]])  # a pair of a node with itself: no edge
    got = spark_components(_frame(spark, a=edges[:, 0], b=edges[:, 1])).toArrow()
    want = {}
    for at, nodes, pairs in graphs:
        root = components(pairs, nodes)
        linked = np.unique(pairs[pairs[:, 0] != pairs[:, 1]])
        want.update({int(node) + at: int(root[node]) + at for node in linked})
    assert dict(zip(got["node"].to_pylist(), got["root"].to_pylist(), strict=True)) == want


def test_candidate_pairs_are_the_local_buckets_pairs(spark: Any) -> None:
    rng = np.random.default_rng(11)
    texts, bands = 3000, 6
    spaces = []
    for space in range(2):
        keys = rng.integers(0, 900, size=(texts, bands)).astype(np.uint64)
        keys[: 3 * _BUCKET_CAP, 2] = 7  # a bucket past the cap
        keys[5:9] = np.uint64(2**64 - 3)  # keys past a signed long's range
        marks = rng.integers(0, 8, size=texts).astype(np.int64)
        spaces.append((space, keys, marks))
    rows = []
    local = []
    for space, keys, marks in spaces:
        # Rows in text order, as `Texts.of_level` gives them, one text twice (a title's
        # own title, see prints.add_title_prints): a pair of a text with itself is none.
        ids = np.sort(np.concatenate([np.arange(texts), [10]]))
        matrix = keys[ids]
        pairs = candidate_pairs(matrix, marks=marks[ids])
        found = ids[pairs]
        local.append(found[found[:, 0] != found[:, 1]])
        for band in range(bands):
            rows.append(
                dict(
                    space=np.full(len(ids), space),
                    band=np.full(len(ids), band),
                    key=matrix[:, band].view(np.int64),
                    text=ids,
                    mark=marks[ids],
                )
            )
    frame = _frame(spark, **{k: np.concatenate([r[k] for r in rows]) for k in rows[0]})
    want = np.unique(np.sort(np.concatenate(local), axis=1), axis=0)
    assert len(want) > 30_000
    assert np.array_equal(_sorted(spark_pairs(frame).toArrow(), "a", "b"), want)


def _records(tmp_path: Path) -> Path:
    """Templated records in buckets past the cap, exact and near repeats, labelled titles."""
    records = tmp_path / "records.jsonl"
    rng = random.Random(3)
    lines = [f"Publié le {d} mai 2023 par Élise" for d in range(1, 29)] * 4
    lines += [f"Épisode {n} : l’été à Noirmoutier" for n in range(150)]
    # A site's name beside many titles is their label: its reading as a title does not
    # hold, so its keys do not pair the name standing alone with those titles.
    topics = ["Gestion des signaux", "Les tubes nommés", "Désactiver les sons système"]
    lines += [f"{topic} | Le Blog de Sophie" for topic in topics]
    lines += ["Le Blog de Sophie", "Désactiver les sons sytème", "Dossier : les tubes nommés"]
    rng.shuffle(lines)
    records.write_text("".join(f'{{"text": "{line}"}}\n' for line in lines), encoding="utf-8")
    return records


def _parquet(tmp_path: Path) -> Path:
    """`_records` as a Parquet file: read through a spool the corpus keeps open."""
    import pyarrow.parquet as pq

    records = _records(tmp_path)
    texts = [json.loads(line)["text"] for line in records.read_text(encoding="utf-8").splitlines()]
    path = tmp_path / "records.parquet"
    pq.write_table(pa.table({"text": texts}), path)
    return path


def _fingerprinted(spark: Any, tmp_path: Path) -> Iterator[tuple[Path, Prints, Table]]:
    """The blog pages and `_records`, each fingerprinted on Spark and by the local stage."""
    for source in (PAGES, _records(tmp_path), _parquet(tmp_path)):
        with _both(spark, source, CONFIG) as (prints, table, _):
            yield source, prints, table


@contextlib.contextmanager
def _both(spark: Any, source: Path, config: Config) -> Iterator[tuple[Prints, Table, Workers]]:
    """`source` fingerprinted on Spark and by the local stage (its table, its worker)."""
    with (
        fingerprint_frames(spark, [str(source)], config) as prints,
        Corpus([str(source)], config.input) as corpus,
        Workers(1) as workers,
    ):
        table = Table(corpus, config)
        fingerprint(table, workers, lambda stage, count: None)
        yield prints, table, workers


CONFIG = Config().with_overrides({"jobs": 1})


def _level_bands(table: Table, li: int) -> dict[str, np.ndarray]:
    """A level's band keys as `BAND_COLUMNS`: a row per text of the level and band."""
    level = table.levels[li]
    rows: list[dict[str, np.ndarray]] = []
    for space, (_, keys, _, at) in enumerate(table.texts.of_level(li, level.texts)):
        matrix = table.texts.bands(list(table.texts.spaces)[space])
        for band in range(matrix.shape[1]):
            column = matrix.column(band) if isinstance(matrix, Columns) else matrix[:, band]
            rows.append(
                dict(
                    space=np.full(len(keys), space),
                    band=np.full(len(keys), band),
                    key=column[at].view(np.int64),
                    text=keys.astype(np.int64),
                    mark=level.marks[keys].astype(np.int64),
                )
            )
    return {name: np.concatenate([r[name] for r in rows]) for name in rows[0]}


def test_a_texts_typo_keys_are_one_row_a_reading() -> None:
    # One key a row in the local table; on Spark a text's keys (a title's, of one reading)
    # are one row, in the order given, and no keys no rows.
    rows, keys = np.array([3, 1, 3, 1, 2]), np.array([30, 10, 31, 11, 20])
    texts, offsets, bagged, meta = _bagged(rows, keys, None)
    assert (texts.tolist(), offsets.tolist(), bagged.tolist()) == (
        [1, 2, 3],
        [0, 2, 3, 5],
        [10, 11, 20, 30, 31],
    )
    assert meta is None
    readings = np.array([[7, 8, 0], [1, 2, 1], [1, 2, 1]])
    texts, offsets, bagged, meta = _bagged(np.array([5, 5, 5]), np.array([40, 41, 42]), readings)
    assert (texts.tolist(), offsets.tolist(), bagged.tolist()) == ([5, 5], [0, 2, 3], [41, 42, 40])
    assert meta.tolist() == [[1, 2, 1], [7, 8, 0]]
    texts, offsets, bagged, meta = _bagged(np.empty(0, np.int64), np.empty(0, np.int64), None)
    assert (texts.tolist(), offsets.tolist(), bagged.tolist()) == ([], [0], [])


def test_candidate_pairs_from_the_local_tables_band_keys_are_the_local_stages(
    spark: Any, tmp_path: Path
) -> None:
    # Blog pages (titles with labels, typos, templated bylines) and short records in
    # buckets past the cap: every key space and the marks take part.
    for source in (PAGES, _records(tmp_path)):
        with Corpus([str(source)], CONFIG.input) as corpus, Workers(1) as workers:
            table = Table(corpus, CONFIG)
            fingerprint(table, workers, lambda stage, count: None)
            for li in range(len(table.levels)):
                want = candidates(table, li, {})
                got = _sorted(
                    spark_pairs(_frame(spark, **_level_bands(table, li))).toArrow(), "a", "b"
                )
                assert np.array_equal(got, want), (source, li)
                assert len(want) or li == 0


def test_every_stage_on_spark_gives_what_the_local_stage_gives(spark: Any, tmp_path: Path) -> None:
    # Nothing through the local table: Spark's tasks fingerprint the corpus, and every
    # later stage is DataFrame operations calling the local stages' functions.  Level by
    # level, each as the top level is (every unit taking part, every candidate verified):
    # the same band rows, candidate pairs, related pairs and evidence, and links.
    for source, prints, table in _fingerprinted(spark, tmp_path):
        assert prints.levels == [level.name for level in table.levels]
        assert prints.labels == table.texts.labels
        for li, level in enumerate(table.levels):
            where = (source, level.name)
            texts = np.sort(prints.texts(li).select("text").toArrow()["text"].to_numpy())
            assert len(texts) == len(level.texts)
            assert _spark_rows(prints, li, texts) == _local_rows(table, li), where
            pairs = spark_pairs(prints.level_bands(li)).persist()
            got = np.searchsorted(texts, _sorted(pairs.toArrow(), "a", "b"))
            want = candidates(table, li, {})
            assert np.array_equal(got.reshape(-1, 2), want), where
            related = related_pairs(prints, li, pairs, CONFIG).persist()
            found = _local_related(table, li, want)
            assert _spark_related(related, texts) == found, where
            assert found or li == 0
            links = level_links(prints, li, related, CONFIG).toArrow().to_pylist()
            assert _spark_links(links) == _local_links(prints, table, li, found), where
            assert len(links) == len(_spark_links(links))


def _spark_rows(prints: Prints, li: int, texts: np.ndarray) -> collections.Counter[Any]:
    """A level's band rows on Spark, as many of each (a text's typo key made twice too)."""
    bands = prints.level_bands(li).toArrow()
    return collections.Counter(
        zip(
            bands["space"].to_pylist(),
            bands["band"].to_pylist(),
            np.searchsorted(texts, bands["text"].to_numpy()).tolist(),
            bands["key"].to_pylist(),
            strict=True,
        )
    )


def _local_rows(table: Table, li: int) -> collections.Counter[Any]:
    local = _level_bands(table, li)
    names = list(table.texts.spaces)
    return collections.Counter(
        zip(
            [names[s] for s in local["space"].tolist()],
            local["band"].tolist(),
            local["text"].tolist(),
            local["key"].tolist(),
            strict=True,
        )
    )


def _local_related(table: Table, li: int, pairs: np.ndarray) -> dict[tuple[int, int], Evidence]:
    """The local verification of these candidate pairs of level `li`."""
    level = table.levels[li]
    a = level.arrays
    chars = a["end"][level.key_unit] - a["start"][level.key_unit]
    labels = Counted(table.texts.labels)
    found = {}
    for keys, batch in pair_batches(pairs, chars):
        at = level.key_unit[keys]
        units = list(
            zip(
                keys,
                table.places(a["doc"][at]),
                a["start"][at].tolist(),
                a["end"][at].tolist(),
                strict=True,
            )
        )
        for x, y, evidence in verify_batch((units, batch, None), CONFIG, labels)[0]:
            found[x, y] = evidence
    return found


def _spark_related(related: Any, texts: np.ndarray) -> dict[tuple[int, int], Evidence]:
    return {
        (int(np.searchsorted(texts, row["a"])), int(np.searchsorted(texts, row["b"]))): Evidence(
            *(row[name] for name in EVIDENCE)
        )
        for row in related.toArrow().to_pylist()
    }


def _local_links(
    prints: Prints, table: Table, li: int, found: dict[tuple[int, int], Evidence]
) -> set[tuple[int, int, Evidence]]:
    """The local clustering of every unit of level `li`, its units named by their places
    on Spark (the level's units in corpus order)."""
    level = table.levels[li]
    places = np.sort(prints.units(li).select("place").toArrow()["place"].to_numpy())
    keyed = np.flatnonzero(level.arrays["key"] >= 0)
    assert len(keyed) == len(places)
    place_of = dict(zip(keyed.tolist(), places.tolist(), strict=True))
    pairs = np.array(sorted(found), dtype=np.int64).reshape(-1, 2)
    evidence = BothWays(found, CONFIG.minhash.threshold)
    links = clusters(keyed, level.arrays["key"], neighbours_of(pairs), evidence)
    return {(place_of[link.survivor], place_of[link.member], link.evidence) for link in links}


def _spark_links(rows: list[dict[str, Any]]) -> set[tuple[int, int, Evidence]]:
    return {
        (row["survivor"], row["member"], Evidence(*(row[name] for name in EVIDENCE)))
        for row in rows
    }


def test_resolution_on_spark_decides_what_the_local_resolution_decides(
    spark: Any, tmp_path: Path
) -> None:
    # Top down, each level's units outside what the levels above took out: the same
    # links, boilerplate flagged and kept once a page, children near duplicates lose,
    # and removals (as many of each), with the rules either way.
    seen: collections.Counter[Any] = collections.Counter()
    other = CONFIG.with_overrides({"keep": "longest", "boilerplate": "remove"})
    pages, records = _boilerplate_pages(tmp_path), _boilerplate_pages(tmp_path, records=True)
    runs = ((CONFIG, pages), (other, records))  # and end to end: `test_spark_engine`
    for n, (config, source) in enumerate(runs):
        with _both(spark, source, config) as (prints, table, workers):
            local = resolve(table, workers, Verifier(table, workers, lambda s, c: None))
            done = resolve_frames(prints, config)
            try:
                seen += _same_resolution(prints, table, local, done, (source, config.cluster))
                frame = cleaned_frames(prints, done.removals, config)
                cleaned = frame.toArrow().to_pylist()
                write_files(frame, tmp_path / f"files{n}", prints.files)
                if source.suffix == ".jsonl":  # and as partitions, in corpus order
                    write_jsonl(frame, str(tmp_path / f"parts{n}"))
                    parts = sorted((tmp_path / f"parts{n}").glob("part-*"))
                    partitioned = b"".join(part.read_bytes() for part in parts)
            finally:
                done.close()
            docs = table.docs  # each numbered as the local run numbers it
            places = list(enumerate(zip(docs.file, docs.line, docs.offset, strict=True)))
            got = sorted((row["doc"], (row["file"], row["line"], row["offset"])) for row in cleaned)
            assert got == places
        # The cleaned documents, as the tasks wrote them: the local run's output files.
        out = tmp_path / f"out{n}"
        result = run([str(source)], config, out=out)
        written = {path.name: path.read_bytes() for path in out.iterdir()}
        cuts = result.documents.cuts  # what the report lists each document lost
        assert {
            row["doc"]: list(zip(row["cuts"][::2], row["cuts"][1::2], strict=True))
            for row in cleaned
            if row["cuts"]
        } == {doc: list(cuts.get(doc)) for doc in cuts}
        files = {path.name: path.read_bytes() for path in (tmp_path / f"files{n}").iterdir()}
        assert files == written, source
        if source.suffix == ".jsonl":
            assert partitioned == written[source.name]
            seen["partitioned"] += 1
        dropped = sorted(row["data"].decode("utf-8") for row in cleaned if row["dropped"])
        assert dropped == sorted(result.documents.dropped.values()), source
        assert sum(row["escaped"] for row in cleaned) == len(result.documents.escaped)
        seen["dropped"] += len(dropped)
    # What each rule decides took place: boilerplate flagged and kept once a page,
    # children cut from near duplicates, and removals at every level below the top.
    assert all(seen[w] for w in ("flagged", "spared", "children", "dropped", "partitioned")), seen
    assert all(seen[level] for level in (1, 2, 3)), seen


def _same_resolution(
    prints: Prints, table: Table, local: Any, done: Any, where: Any
) -> collections.Counter[Any]:
    """Asserts Spark's resolution is the local one; counts what took place."""
    seen: collections.Counter[Any] = collections.Counter()
    places = []  # per level, the place on Spark of each unit of the local table
    for li, level in enumerate(table.levels):
        found = np.sort(prints.units(li).select("place").toArrow()["place"].to_numpy())
        place = np.full(len(level.arrays["key"]), -1, dtype=np.int64)
        place[np.flatnonzero(level.arrays["key"] >= 0)] = found
        places.append(place)
    for li, level in enumerate(table.levels):
        links = local.links[li]
        want = {
            (int(places[li][s]), int(places[li][m]), e)
            for s, m, e in zip(links.survivors, links.members, links.evidence, strict=True)
        }
        assert _spark_links(done.links[li].toArrow().to_pylist()) == want, (where, level.name)
        flagged = set(done.boilerplate[li].toArrow()["survivor"].to_pylist())
        assert flagged == {int(places[li][u]) for u in local.boilerplate[li]}, where
        spared = sorted(done.spared[li].toArrow()["member"].to_pylist())
        assert spared == sorted(places[li][local.spared[li]].tolist()), where
        seen["flagged"] += len(flagged)
        seen["spared"] += len(spared)
    docs = table.docs
    got = collections.Counter()
    for li, removals in enumerate(done.removals):
        for row in removals.toArrow().to_pylist():
            got[li, *(row[name] for name in REMOVAL)] += 1
    want = collections.Counter()
    columns = [np.frombuffer(column, dtype=np.int64) for column in local.removals.columns]
    for doc, unit, *rest in zip(*(c.tolist() for c in columns), strict=True):
        li, u = unit % len(LEVELS), unit // len(LEVELS)
        want[li, docs.file[doc], docs.offset[doc], int(places[li][u]), *rest] += 1
        a = table.levels[li].arrays
        seen["children"] += (rest[0], rest[1]) != (a["start"][u], a["end"][u])
        seen[li] += 1
    assert got == want, where
    return seen


def _boilerplate_pages(tmp_path: Path, records: bool = False) -> Path:
    """Pages of their own text that share a byline and a comment form, some the byline
    twice, a newsletter in five, and one reposting another's section with a sentence
    added: boilerplate kept once a page, and the children of a near duplicate cut; with
    `records`, as JSONL records, one posted twice, and a comment posted six times (whole
    records: duplicates however many copies)."""
    folder = tmp_path / "pages"
    folder.mkdir(exist_ok=True)
    byline = "Publié le 3 mars 2024 par Élise Martin, dans « Jardinage »."
    form = "Laisser un commentaire : votre adresse e-mail ne sera pas publiée."
    letter = "Abonnez-vous à la lettre du jardin pour recevoir chaque nouvel article."
    own = [
        "Les semis de tomates se font en février, à l’abri et au chaud.",
        "Le basilic n’aime ni le froid ni les courants d’air du printemps.",
        "Une haie de charmes abrite le potager des vents d’ouest en hiver.",
        "Les fraisiers se divisent en août, quand les stolons ont raciné.",
        "Le compost mûrit un an avant d’enrichir les planches de légumes.",
        "Les limaces fuient la cendre de bois répandue autour des salades.",
        "Un paillage de paille garde la terre fraîche pendant la canicule.",
        "La rhubarbe se récolte d’avril à juin, tige après tige, sans couteau.",
        "Les poireaux se repiquent en juillet, racines et feuilles taillées.",
        "Le purin d’ortie nourrit les courges et éloigne les pucerons noirs.",
        "Les groseilliers donnent mieux quand on aère le centre de la touffe.",
        "Semer les radis tous les quinze jours évite d’en avoir trop à la fois.",
        "Les pommes de terre se buttent deux fois avant que les fanes ne fleurissent.",
        "Le thym et la sauge aiment les sols pauvres, secs et bien drainés.",
        "Les courgettes se cueillent petites, avant que les graines ne durcissent.",
        "Une serre froide avance les semis d’un mois au sortir de l’hiver.",
    ]
    section = [
        "## Arroser",
        "Arroser au pied, jamais sur les feuilles, et de préférence le matin très tôt. "
        "Un arrosage copieux chaque semaine vaut mieux qu’un peu tous les jours.",
        "Récupérer l’eau de pluie dans des cuves épargne le réseau en été.",
    ]
    pages = []
    for n in range(8):
        paragraphs = [own[2 * n], byline, own[2 * n + 1], form]
        if n % 3 == 0:
            paragraphs.insert(2, byline)  # a byline printed twice on the page
        if n < 5:  # in just enough pages to be boilerplate
            paragraphs.append(letter)
        if n == 2:
            paragraphs += section
        if n in (6, 7):  # the section reposted twice, a sentence added
            paragraphs += [*section[:2], section[2] + " Et pailler ensuite."]
        pages.append("\n\n".join(paragraphs) + "\n")
    if records:  # a page posted again whole, a comment six times: cleaning empties them
        path = tmp_path / "pages.jsonl"
        lines = [json.dumps({"id": f"p{n}", "text": page}) for n, page in enumerate(pages)]
        lines.append(lines[3].replace("p3", "again"))
        lines += [json.dumps({"id": f"c{n}", "text": "Merci, très utile !"}) for n in range(6)]
        path.write_text("\n".join(lines) + "\n")
        return path
    for n, page in enumerate(pages):
        (folder / f"page{n}.txt").write_text(page, encoding="utf-8")
    return folder


def test_bad_input_on_spark_is_named_by_file_and_line_as_the_local_run_names_it(
    spark: Any, tmp_path: Path
) -> None:
    # A JSONL file of several chunks (a chunk's lines are numbered within it): a record
    # that is not JSON in a later chunk, then one whose text is no string.
    lines = [
        json.dumps({"id": n, "text": f"Note n° {n} : l’été à Noirmoutier, où il fait bon."})
        for n in range(40_000)
    ]
    path = tmp_path / "notes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    more = tmp_path / "more.jsonl"  # its lines numbered from 1 again
    more.write_text(  # three records of ids of their own
        "\n".join(line.replace('"id": ', '"id": -') for line in lines[1:4]) + "\n",
        encoding="utf-8",
    )
    with fingerprint_frames(spark, [str(path), str(more)], CONFIG) as prints:
        rows = cleaned_frames(prints, [], CONFIG).toArrow()
    rows = rows.sort_by([("file", "ascending"), ("offset", "ascending")])
    assert rows["line"].to_pylist() == [*range(1, len(lines) + 1), 1, 2, 3]
    assert rows["doc"].to_pylist() == list(range(len(lines) + 3))
    assert b"".join(rows["data"].to_pylist()) == path.read_bytes() + more.read_bytes()
    for bad, record in ((31_207, '{"id": 1, "text": "coupé'), (2_500, '{"text": 12}')):
        lines[bad] = record
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert path.stat().st_size > 2 * BATCH_CHARS
        with pytest.raises(InputError) as local:
            run([str(path)], CONFIG)
        with pytest.raises(InputError) as remote:
            fingerprint_frames(spark, [str(path)], CONFIG)
        assert local.value.line == bad + 1
        assert (remote.value.path, remote.value.line, remote.value.message) == (
            local.value.path,
            local.value.line,
            local.value.message,
        )
    # And what a chunk skips is reported where the local run reports it.
    binary = tmp_path / "mixed"
    binary.mkdir()
    (binary / "a.txt").write_text("Un texte à garder, entier.\n", encoding="utf-8")
    (binary / "b.txt").write_bytes(b"\x00\x01\x02 pas du texte")
    with fingerprint_frames(spark, [str(binary)], CONFIG) as prints:
        skipped = prints.chunks_told.skipped()
    assert skipped == list(run([str(binary)], CONFIG).skipped)
    assert len(skipped) == 1
