"""`--engine spark`: the stages as DataFrame operations, in order, on a Spark session.

1. `fingerprint`: Spark's tasks read and fingerprint the corpus, a chunk a task;
2. `resolve`: top down, each level's candidate pairs (`candidates`), verified
   (`verify`), clustered by connected component (`components`, `cluster`), its
   boilerplate and the children near duplicates lose, and its removals;
3. `clean`: each chunk read again by the task given its removals, its documents cleaned;
4. `report`: the clusters and documents listed as the report's lines, its figures counted.

Each stage's tasks call the local stages' own functions: the cleaned documents and the
report are the local run's, byte for byte.  The driver holds no unit: it lists the
corpus's files, and writes the cleaned files and the report a partition at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from dedup.config import Config
from dedup.errors import ConfigError
from dedup.io.writers import check_output_dir
from dedup.report import json_pieces
from dedup.spark.clean import cleaned_frames, write_files, write_jsonl
from dedup.spark.fingerprint import fingerprint_frames
from dedup.spark.report import report_frames, write_parts
from dedup.spark.resolve import resolve_frames
from dedup.spark.workers import spark_session

#: What is told the report's stats and writes its JSON pieces (to a file, or stdout).
Emit = Callable[[dict[str, int], Iterator[bytes]], None]


def run_spark(
    paths: Sequence[str],
    config: Config,
    out: str | None = None,
    emit: Emit | None = None,
    report_parts: str | None = None,
) -> dict[str, int]:
    """Find duplicates in the corpus at `paths` on Spark; with `out`, write it cleaned
    (a folder: a file for each input file, as the local run writes them; a URI such as
    `s3a://bucket/cleaned`, JSONL input as JSONL partitions); `emit` is given the JSON
    report's stats and its pieces, and with `report_parts` it is written there as partitions and a
    summary (`report.write_parts`).  Returns the report's stats."""
    config.validate()
    spark = spark_session(config.run.spark_master, config.run.jobs)
    with fingerprint_frames(spark, paths, config) as prints:
        local_out = Path(out) if out is not None and "://" not in out else None
        if local_out is not None:
            check_output_dir(local_out, prints.files, paths)
        elif out is not None and not all(f.jsonl and f.parquet is None for f in prints.files):
            raise ConfigError(f"--out {out}: a URI takes the cleaned records of JSONL input only")
        done = resolve_frames(prints, config)
        try:
            cleaned = done.kept(cleaned_frames(prints, done.removals, config), cut=True)
            if local_out is not None:
                write_files(cleaned, local_out, prints.files, config.input.text_field)
            elif out is not None:
                write_jsonl(cleaned, out)
            made = report_frames(prints, done, cleaned, config, written=out is not None)
            stats: dict[str, int] = made.head["stats"]
            if emit is not None:
                emit(stats, json_pieces(made.report()))
            if report_parts is not None:
                write_parts(made, report_parts)
            return stats
        finally:
            done.close()
