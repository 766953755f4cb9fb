"""The DataFrame stages on Spark (`dedup.spark.candidates`, `dedup.spark.components`) against
the local ones, level by level, on a real corpus: what a cluster's costs can be estimated from.

    python bench/spark_stages.py --corpus /tmp/sp20k.jsonl --master 'local[2]'

1. Fingerprints the corpus with the local engine (every level) and writes each level's band
   keys as Parquet (`BAND_COLUMNS`, a row per text and band), which Spark reads as a job
   would read them from its storage.
2. Per level: the local candidates stage (`engine.candidates.candidates`) and Spark's
   `candidate_pairs` over the Parquet, written back as Parquet; then `components` of those
   pairs.  Prints rows, pairs, seconds and the shuffle bytes Spark's event log records, and
   checks that Spark's pairs are the local stage's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spark import moved

from dedup.config import Config
from dedup.engine.candidates import candidates
from dedup.engine.fingerprint import fingerprint
from dedup.engine.table import Table
from dedup.io.readers import Corpus
from dedup.io.spill import Columns
from dedup.parallel import Workers


def level_bands(table: Table, li: int, path: Path) -> int:
    """Write level `li`'s band keys to `path` as Parquet; returns the rows written."""
    level = table.levels[li]
    names = list(table.texts.spaces)
    rows = 0
    with pq.ParquetWriter(path, _SCHEMA) as writer:
        for space, (_, keys, _, at) in enumerate(table.texts.of_level(li, level.texts)):
            matrix = table.texts.bands(names[space])
            marks = level.marks[keys].astype(np.int64)
            for band in range(matrix.shape[1]):
                column = matrix.column(band) if isinstance(matrix, Columns) else matrix[:, band]
                batch = {
                    "space": np.full(len(keys), space, dtype=np.int32),
                    "band": np.full(len(keys), band, dtype=np.int32),
                    "key": column[at].view(np.int64),
                    "text": keys.astype(np.int64),
                    "mark": marks,
                }
                writer.write_table(pa.table(batch, schema=_SCHEMA))
                rows += len(keys)
    return rows


_SCHEMA = pa.schema(
    [
        ("space", pa.int32()),
        ("band", pa.int32()),
        ("key", pa.int64()),
        ("text", pa.int64()),
        ("mark", pa.int64()),
    ]
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dedup-stages-"))
    events = work / "events"
    events.mkdir()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    from dedup.spark.candidates import candidate_pairs
    from dedup.spark.components import components

    config = Config().with_overrides({"jobs": args.jobs})
    size = args.corpus.stat().st_size
    print(f"corpus: {args.corpus} ({size / 1e6:.1f} MB), Spark master {args.master}")
    local: dict[int, np.ndarray] = {}
    rows: dict[int, int] = {}
    with Corpus([str(args.corpus)], config.input) as corpus, Workers(args.jobs) as workers:
        table = Table(corpus, config)
        fingerprint(table, workers, lambda stage, count: None)
        names = [level.name for level in table.levels]
        for li in range(len(table.levels)):
            rows[li] = level_bands(table, li, work / f"bands-{li}.parquet")
            started = time.perf_counter()
            local[li] = candidates(table, li, {})
            print(
                f"{names[li]}: {rows[li]:,} band rows, {len(local[li]):,} candidate pairs; "
                f"local stage {time.perf_counter() - started:.2f} s"
            )
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
    for li, name in enumerate(names):
        started = time.perf_counter()
        pairs = candidate_pairs(spark.read.parquet(str(work / f"bands-{li}.parquet")))
        pairs.write.parquet(str(work / f"pairs-{li}"))
        paired = time.perf_counter() - started
        started = time.perf_counter()
        labels = components(spark.read.parquet(str(work / f"pairs-{li}")))
        labels.write.parquet(str(work / f"labels-{li}"))
        grouped = time.perf_counter() - started
        got = pq.read_table(work / f"pairs-{li}")
        found = np.stack([got["a"].to_numpy(), got["b"].to_numpy()], axis=1).reshape(-1, 2)
        found = found[np.lexsort(found.T[::-1])]
        same = np.array_equal(found, local[li])
        nodes = pq.read_table(work / f"labels-{li}").num_rows
        print(
            f"{name}: spark candidate_pairs {paired:.1f} s ({rows[li] / paired / 1e3:.0f}k band "
            f"rows/s), components {grouped:.1f} s ({nodes:,} nodes); "
            f"same pairs as local: {same}"
        )
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
