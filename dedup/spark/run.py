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
from typing import Any, TextIO

from dedup.config import Config
from dedup.errors import ConfigError, OutputError
from dedup.io.documents import InputFile
from dedup.io.writers import check_output_dir
from dedup.report import json_pieces
from dedup.spark.clean import (
    cleaned_frames,
    parquet_rows,
    write_files,
    write_jsonl,
    write_parquet,
    write_stream,
)
from dedup.spark.fingerprint import fingerprint_frames
from dedup.spark.report import PARTS, report_frames, write_parts
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
    stream: TextIO | None = None,
) -> dict[str, int]:
    """Find duplicates in the corpus at `paths` on Spark; with `out`, write it cleaned
    (a folder: a file for each input file, as the local run writes them; a URI such as
    `s3a://bucket/cleaned`: JSONL input as JSONL partitions, Parquet input as Parquet
    partitions), with `stream`, as JSONL records there; `emit` is given the JSON report's
    stats and its pieces, and with `report_parts` it is written there as partitions and a
    summary (`report.write_parts`).  Returns the report's stats."""
    config.validate()
    spark = spark_session(config.run.spark_master, config.run.jobs)
    if out is not None and "://" in out:
        _check_new(spark, "--out", [out])
    if report_parts is not None:
        _check_new(spark, "--report-parts", [f"{report_parts}/{name}" for name in PARTS])
    with fingerprint_frames(spark, paths, config) as prints:
        write = _writer(spark, paths, out, stream, prints.files, config)
        done = resolve_frames(prints, config)
        try:
            cleaned = cleaned_frames(prints, done.removals, config, records=stream is not None)
            cleaned = done.kept(cleaned, cut=True)
            if write is not None:
                write(cleaned)
            written = write is not None
            made = report_frames(prints, done, cleaned, config, written=written)
            stats: dict[str, int] = made.head["stats"]
            if emit is not None:
                emit(stats, json_pieces(made.report()))
            if report_parts is not None:
                write_parts(made, report_parts)
            return stats
        finally:
            done.close()


def _writer(
    spark: Any,
    paths: Sequence[str],
    out: str | None,
    stream: TextIO | None,
    files: Sequence[InputFile],
    config: Config,
) -> Callable[[Any], object] | None:
    """What writes the cleaned documents where they go (see `run_spark`), checked
    before the run: a folder that may be written, a URI for input of one kind (Parquet
    files whose columns can be united)."""
    if stream is not None:
        return lambda cleaned: write_stream(cleaned, stream)
    if out is None:
        return None
    text_field = config.input.text_field
    if "://" not in out:
        check_output_dir(Path(out), files, paths)
        return lambda cleaned: write_files(cleaned, Path(out), files, text_field)
    if all(f.jsonl and f.parquet is None for f in files):
        return lambda cleaned: write_jsonl(cleaned, out)
    if all(f.parquet is not None for f in files):
        rows = parquet_rows(spark, files)  # files whose columns cannot join: refused now
        return lambda cleaned: write_parquet(cleaned, rows, out, text_field)
    raise ConfigError(
        f"--out {out}: a URI takes the cleaned records of JSONL input, or of Parquet input"
        " (as partitions of the same kind), not of text files or of both kinds"
    )


def _check_new(spark: Any, option: str, paths: list[str]) -> None:
    """Refuse, before the run, a path Spark is to write partitions at that exists: Spark
    would stop at the end of the run, and is not to be told to overwrite it."""
    jvm, context = spark.sparkContext._jvm, spark.sparkContext._jsc
    for where in paths:
        path = jvm.org.apache.hadoop.fs.Path(where)
        if path.getFileSystem(context.hadoopConfiguration()).exists(path):
            raise OutputError(f"{option}: {where} exists already; give a path to create")
