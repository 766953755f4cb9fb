"""Stages as DataFrame operations (`dedup.spark.candidates`, `dedup.spark.components`):
on Spark in `local[2]`, exactly what the local stage gives, on random graphs and band keys
and on the band keys of a real corpus at every level."""

from __future__ import annotations

import collections
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
from dedup.engine.table import Table
from dedup.engine.verify import BothWays, verify_batch
from dedup.index import _BUCKET_CAP, candidate_pairs
from dedup.io.readers import Corpus
from dedup.io.spill import Columns
from dedup.model import Evidence
from dedup.parallel import Workers
from dedup.spark.candidates import candidate_pairs as spark_pairs
from dedup.spark.cluster import EVIDENCE, level_links
from dedup.spark.components import components as spark_components
from dedup.spark.fingerprint import Prints, fingerprint_frames
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
        with (
            fingerprint_frames(spark, [str(source)], CONFIG) as prints,
            Corpus([str(source)], CONFIG.input) as corpus,
            Workers(1) as workers,
        ):
            table = Table(corpus, CONFIG)
            fingerprint(table, workers, lambda stage, count: None)
            yield source, prints, table


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
