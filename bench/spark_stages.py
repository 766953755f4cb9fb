"""The DataFrame stages on Spark (`dedup.spark.fingerprint`, `.candidates`, `.components`,
`.verify`, `.cluster`) against the local ones, level by level, on a real corpus: what a
cluster's costs can be estimated from.

    python bench/spark_stages.py --corpus /tmp/sp20k.jsonl --master 'local[2]'

1. Fingerprints the corpus with the local engine (every level) and runs its candidates
   stage, level by level.
2. Spark's tasks fingerprint the corpus themselves (`fingerprint_frames`, a chunk a task,
   the rows persisted), then per level: the band keys each text keeps
   (`Prints.level_bands`), `candidate_pairs` written as Parquet, the `components` of
   those pairs, every pair verified (`related_pairs`) and the level clustered as the top
   level is (`level_links`, every unit taking part).  Prints rows, pairs, seconds and the
   shuffle bytes of Spark's event log, and checks that Spark's candidate pairs are the
   local stage's (texts numbered by their first units, as the local engine numbers a
   level's keys).
3. With `--resolve`, the whole resolution on Spark, top down (`resolve_frames`), and the
   cleaned documents written by the tasks that read them again (`cleaned_frames`, as
   Parquet), beside the local engine's `dedup clean` of the same corpus (a JSONL file):
   seconds and MB/s of each, the removals a level, and whether the cleaned output is
   byte for byte the local one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spark import moved

from dedup.config import Config
from dedup.engine.candidates import candidates
from dedup.engine.fingerprint import fingerprint
from dedup.engine.table import Table
from dedup.io.readers import Corpus
from dedup.parallel import Workers


def local_candidates(corpus_path: Path, config: Config, jobs: int) -> list[np.ndarray]:
    """The local engine's candidate pairs of every level, timed."""
    found: list[np.ndarray] = []
    started = time.perf_counter()
    with Corpus([str(corpus_path)], config.input) as corpus, Workers(jobs) as workers:
        table = Table(corpus, config)
        fingerprint(table, workers, lambda stage, count: None)
        print(f"local fingerprint: {time.perf_counter() - started:.1f} s")
        for li, level in enumerate(table.levels):
            started = time.perf_counter()
            found.append(candidates(table, li, {}))
            print(
                f"{level.name}: {len(level.texts):,} texts, {len(found[li]):,} candidate "
                f"pairs; local stage {time.perf_counter() - started:.2f} s"
            )
    return found


def resolve_and_clean(prints: Any, config: Config, corpus: Path, work: Path) -> None:
    """The whole resolution and the cleaned documents on Spark, and the local run's."""
    from dedup.engine.run import run
    from dedup.spark.clean import cleaned_frames
    from dedup.spark.resolve import resolve_frames

    size = corpus.stat().st_size
    started = time.perf_counter()
    done = resolve_frames(prints, config)
    removals = [frame.count() for frame in done.removals]
    resolved = time.perf_counter() - started
    started = time.perf_counter()
    cleaned_frames(prints, done.removals, config).write.parquet(str(work / "cleaned"))
    cleaning = time.perf_counter() - started
    done.close()
    print(
        f"spark resolve_frames: {resolved:.1f} s, removals by level "
        f"{', '.join(f'{name} {n:,}' for name, n in zip(prints.levels, removals, strict=True))}; "
        f"cleaned_frames written: {cleaning:.1f} s"
    )
    started = time.perf_counter()
    run([str(corpus)], config, out=work / "local")
    took = time.perf_counter() - started
    print(f"local dedup clean (every level): {took:.1f} s ({size / took / 1e6:.1f} MB/s)")
    rows = pq.read_table(work / "cleaned").sort_by([("file", "ascending"), ("offset", "ascending")])
    kept = rows.filter(pc.invert(rows["dropped"]))
    same = b"".join(kept["data"].to_pylist()) == (work / "local" / corpus.name).read_bytes()
    print(f"spark's cleaned output is the local one, byte for byte: {same}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--resolve", action="store_true", help="and the whole resolution")
    parser.add_argument("--only-resolve", action="store_true", help="the whole resolution alone")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dedup-stages-"))
    events = work / "events"
    events.mkdir()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    from dedup.spark.candidates import candidate_pairs
    from dedup.spark.cluster import level_links
    from dedup.spark.components import components
    from dedup.spark.fingerprint import fingerprint_frames
    from dedup.spark.verify import related_pairs

    config = Config().with_overrides({"jobs": args.jobs})
    size = args.corpus.stat().st_size
    print(f"corpus: {args.corpus} ({size / 1e6:.1f} MB), Spark master {args.master}")
    local = [] if args.only_resolve else local_candidates(args.corpus, config, args.jobs)
    spark = (
        SparkSession.builder.master(args.master)
        .appName("dedup-stages")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.compress", "false")
        .config("spark.eventLog.dir", events.as_uri())
        .config("spark.sql.shuffle.partitions", str(4 * args.jobs))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter()
    prints = fingerprint_frames(spark, [str(args.corpus)], config)
    rows = prints.rows.count()
    took = time.perf_counter() - started
    print(f"spark fingerprint_frames: {took:.1f} s ({size / took / 1e6:.1f} MB/s), {rows:,} rows")
    for li, name in enumerate([] if args.only_resolve else prints.levels):
        started = time.perf_counter()
        bands = prints.level_bands(li).persist()
        count = bands.count()
        banded = time.perf_counter() - started
        started = time.perf_counter()
        candidate_pairs(bands).write.parquet(str(work / f"pairs-{li}"))
        paired = time.perf_counter() - started
        bands.unpersist()
        started = time.perf_counter()
        components(spark.read.parquet(str(work / f"pairs-{li}"))).write.parquet(
            str(work / f"labels-{li}")
        )
        grouped = time.perf_counter() - started
        started = time.perf_counter()
        candidates_read = spark.read.parquet(str(work / f"pairs-{li}"))
        related_pairs(prints, li, candidates_read, config).write.parquet(
            str(work / f"related-{li}")
        )
        verified = time.perf_counter() - started
        started = time.perf_counter()
        related = spark.read.parquet(str(work / f"related-{li}"))
        level_links(prints, li, related, config).write.parquet(str(work / f"links-{li}"))
        clustered = time.perf_counter() - started
        texts = np.sort(prints.texts(li).select("text").toArrow()["text"].to_numpy())
        got = pq.read_table(work / f"pairs-{li}")
        found = np.stack(
            [np.searchsorted(texts, got[c].to_numpy()) for c in ("a", "b")], axis=1
        ).reshape(-1, 2)
        found = found[np.lexsort(found.T[::-1])]
        nodes = pq.read_table(work / f"labels-{li}").num_rows
        print(
            f"{name}: spark level_bands {banded:.1f} s ({count:,} band rows), "
            f"candidate_pairs {paired:.1f} s ({count / paired / 1e3:.0f}k band rows/s), "
            f"components {grouped:.1f} s ({nodes:,} nodes); same pairs as local: "
            f"{np.array_equal(found, local[li])}"
        )
        related_count = pq.read_table(work / f"related-{li}").num_rows
        links = pq.read_table(work / f"links-{li}").num_rows
        print(
            f"{name}: spark related_pairs {verified:.1f} s ({len(found):,} pairs verified, "
            f"{len(found) / verified:.0f} a second; {related_count:,} related), "
            f"level_links {clustered:.1f} s ({links:,} links, every unit taking part)"
        )
    if args.resolve or args.only_resolve:
        resolve_and_clean(prints, config, args.corpus, work)
    prints.close()
    spark.stop()
    totals = moved(events)
    print(
        f"spark in all: {totals['tasks']} tasks, shuffle written "
        f"{totals['shuffle written'] / 1e6:.1f} MB, "
        f"shuffle read {totals['shuffle read'] / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
