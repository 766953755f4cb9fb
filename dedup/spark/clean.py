"""The cleaned documents as a DataFrame stage: the removals in, every document's output out.

A chunk of the corpus is read again by the task given its removals (a unit's place names
its chunk: `fingerprint.CHUNK_SHIFT`), and each of its documents cleaned as the local run
cleans it: the spans each removal cuts (`clean.pieces`, with the white space around it),
joined (`clean.merge`), taken out (`result.cleaned_document`), and the document written
as its output file holds it (`writers.document_bytes`).  No process holds the corpus.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TextIO

from dedup.clean import Removal, merge, pieces
from dedup.config import Config
from dedup.engine.result import cleaned_document
from dedup.errors import InputError
from dedup.io import parquet
from dedup.io.documents import InputFile, Skipped
from dedup.io.readers import Chunk, Corpus
from dedup.io.writers import document_bytes, record_bytes, stream_records, write_each_file
from dedup.model import LEVELS
from dedup.spark.fingerprint import CHUNK_SHIFT, Prints, spark_type
from dedup.spark.resolve import REMOVAL
from dedup.spark.workers import gist


def cleaned_schema() -> Any:
    """The Arrow schema of a document's output: where it was read (its file, line, byte
    offset), what its output file holds of it (of a Parquet row, its cleaned text),
    whether it was left out (a JSONL record cleaning emptied: `data` is then its line as
    it would have been written) and whether its cleaned line wrote its strings escaped
    to ASCII; its number in the corpus, and the spans cleaning took out of it (start,
    end, start, end...: what the report's documents list); its id, length and the texts
    taken out; and what each unit removed from it cuts (unit, start, end, unit...: a
    unit's spans joined, `clean.merge`; the report's members list them)."""
    import pyarrow as pa

    long = pa.int64()
    return pa.schema(
        [
            ("file", pa.int32()),
            ("line", long),
            ("offset", long),
            ("data", pa.binary()),
            ("dropped", pa.bool_()),
            ("escaped", pa.bool_()),
            ("doc", long),
            ("cuts", pa.list_(long)),
            ("id", pa.string()),
            ("chars", long),
            ("removed_text", pa.list_(pa.string())),
            ("unit_cuts", pa.list_(long)),
        ]
    )


def cleaned_frames(
    prints: Prints, removals: Sequence[Any], config: Config, records: bool = False
) -> Any:
    """Every document of the corpus `prints` holds, cleaned of `removals` (DataFrames
    of `resolve.REMOVAL`, as `resolve.resolve_frames` gives them): rows of
    `cleaned_schema`; with `records`, each document's `data` its JSONL record's line,
    whatever its file (what `--out -` writes)."""
    from pyspark.sql import functions as F

    spark = prints.rows.sparkSession
    told = prints.chunks_told
    lines, docs = told.line_bases, told.doc_bases
    chunks = spark.createDataFrame(
        [(*chunk, lines[chunk[0]], docs[chunk[0]]) for chunk in prints.chunks],
        "chunk bigint, files array<int>, chunk_start bigint, chunk_end bigint, lines bigint, "
        "docs bigint",
    )
    cuts = None
    for li, frame in enumerate(removals):  # a unit as `unit_id` names it, across levels
        frame = frame.withColumn("chunk", F.shiftright("unit", CHUNK_SHIFT))
        frame = frame.withColumn("unit", unit_id(F.col("unit"), li))
        cuts = frame if cuts is None else cuts.unionByName(frame)
    rows = chunks if cuts is None else chunks.unionByName(cuts, allowMissingColumns=True)
    files = prints.files

    def work(group: Any) -> Any:  # a function, not a partial: Spark reads its hints
        return _clean_chunk(group, files, config, records)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return rows.groupBy("chunk").applyInArrow(work, spark_type(cleaned_schema()))


def unit_id(place: Any, li: int) -> Any:
    """One id for a unit of any level, from its place and level (places of two levels
    may be equal)."""
    return place * len(LEVELS) + li


def write_jsonl(cleaned: Any, path: str) -> None:
    """Cleaned records (rows of `cleaned_schema` of JSONL input), but those left out, written at
    `path` (any path Spark writes) as JSONL partitions: ranges of the corpus, in corpus
    order by their names, each record the line the local run writes (a last line given
    its line break)."""
    from pyspark.sql import functions as F

    line = F.regexp_replace(F.decode("data", "UTF-8"), "\n$", "").alias("value")
    _in_order(cleaned.where(~F.col("dropped")), "file", "offset").select(line).write.text(path)


#: The columns `parquet_rows` adds: each row's file (its number) and row (from 1).
PLACE = ("__dedup_file", "__dedup_row")


def parquet_rows(spark: Any, files: Sequence[InputFile]) -> Any:
    """The rows of the Parquet inputs `files` as Spark reads them, with their places
    (`PLACE`), the files' columns united by name (a column a file lacks is null there, a
    number widened to the wider type).  A column of two other types in two files (words in
    one, numbers in another), which Spark would cast value by value and fail on at the
    end of the run, is refused now: an InputError naming the later file, the column and
    the earlier file."""
    from pyspark.sql import functions as F

    rows = None
    types: dict[str, tuple[str, str]] = {}  # a column's type, and the file it was first in
    for number, file in enumerate(files):
        try:
            frame = spark.read.parquet(spark_path(file.origin))
        except Exception as exc:  # a name Hadoop's paths cannot hold (a colon), say
            raise InputError(file.label, f"Spark cannot read it: {gist(exc)}") from exc
        for name, kind in frame.dtypes:
            earlier, label = types.setdefault(name, (kind, file.label))
            if kind != earlier and not (_numeric(kind) and _numeric(earlier)):
                raise InputError(
                    file.label,
                    f"column {name!r} is {kind} here and {earlier} in {label}: "
                    "one set of Parquet partitions cannot hold both",
                )
        frame = frame.select(
            "*",
            F.lit(number).alias(PLACE[0]),
            (F.col("_metadata.row_index") + 1).alias(PLACE[1]),
        )
        rows = frame if rows is None else rows.unionByName(frame, allowMissingColumns=True)
    assert rows is not None  # a corpus has a file
    return rows


def spark_path(path: Path) -> str:
    """A local file's path as Spark reads it: absolute, as it is (a URI's percent-escapes
    would be taken as part of the name: `notées.parquet` was not found), but for the
    characters of Hadoop's globs, escaped (`page [1].parquet`)."""
    return "file://" + re.sub(r"([\\\[\]{}*?^!])", r"\\\1", str(path.resolve()))


def _numeric(kind: str) -> bool:
    """Whether a Spark SQL type (as `DataFrame.dtypes` names it) is a number."""
    return kind in ("tinyint", "smallint", "int", "bigint", "float", "double") or (
        kind.startswith("decimal")
    )


def write_parquet(cleaned: Any, rows: Any, path: str, text_field: str) -> None:
    """Cleaned rows of Parquet input (rows of `cleaned_schema`), but those left out, written at
    `path` (any path Spark writes) as Parquet partitions, in corpus order by their names:
    each input row (of `rows`, see `parquet_rows`), every column kept, its text the
    cleaned one."""
    from pyspark.sql import functions as F

    texts = cleaned.where(~F.col("dropped")).select(
        F.col("file").alias(PLACE[0]),
        F.col("line").alias(PLACE[1]),  # a Parquet row's number, from 1
        F.decode("data", "UTF-8").alias("__dedup_text"),
    )
    columns = [name for name in rows.columns if name not in PLACE]
    joined = rows.join(texts, list(PLACE)).withColumn(text_field, F.col("__dedup_text"))
    _in_order(joined, *PLACE).select(*columns).write.parquet(path)


def _in_order(frame: Any, *columns: str) -> Any:
    """`frame` in ranges of `columns`, each partition sorted: partitions in corpus order."""
    return frame.repartitionByRange(*columns).sortWithinPartitions(*columns)


def write_stream(cleaned: Any, out: TextIO) -> None:
    """Cleaned documents (rows of `cleaned_schema`, made with `records`), but those left
    out, written to `out` as JSONL records in corpus order, a partition at a time to
    the driver."""
    stream_records((row["data"] for row in _to_driver(cleaned, "data")), out)


def _to_driver(cleaned: Any, *columns: str) -> Iterator[Any]:
    """The columns `columns` of the cleaned documents but those left out, in corpus order,
    a partition at a time to the driver."""
    from pyspark.sql import functions as F

    rows = cleaned.where(~F.col("dropped")).orderBy("file", "offset")
    return rows.select(*columns).toLocalIterator()  # type: ignore[no-any-return]


def write_files(
    cleaned: Any, out: Path, files: Sequence[InputFile], text_field: str = "text"
) -> list[Path]:
    """Cleaned documents (rows of `cleaned_schema`) written under `out` as the local run writes
    them (`writers.write_documents`): a file for each input file of `files`, a JSONL or
    Parquet file's records but those left out (a file left with none written empty; a
    Parquet row's other fields read from its input, `text_field` replaced), a text file
    whole (one left out, binary say, not written), each atomically.  The rows come to
    the driver a partition at a time, in corpus order."""
    groups = itertools.groupby(
        _to_driver(cleaned, "file", "line", "data"), key=lambda row: row["file"]
    )

    def write(handle: IO[bytes], file: InputFile, rows: Iterable[Any]) -> None:
        if file.parquet is not None:
            texts = ((row["line"], row["data"].decode("utf-8")) for row in rows)
            parquet.write(handle, file, texts, text_field)
            return
        for row in rows:
            handle.write(row["data"])

    out.mkdir(parents=True, exist_ok=True)
    return write_each_file(out, files, groups, lambda number, file: number, write)


def _clean_chunk(group: Any, files: list[InputFile], config: Config, records: bool) -> Any:
    """A chunk read again and its documents cleaned of the removals in `group` (with
    `records`, each written as a JSONL record)."""
    import pyarrow as pa

    column = {name: group[name].to_pylist() for name in group.column_names}
    given: dict[tuple[int, int], list[Removal]] = {}
    chunk = None
    for i, mine in enumerate(column["files"]):
        if mine is not None:
            start, end = column["chunk_start"][i], column["chunk_end"][i]
            chunk = Chunk(tuple(files[k] for k in mine), start, end)
            before = column["lines"][i]  # its file's lines before it
            number_of = column["docs"][i]  # the corpus's documents before it
            numbers = {str(files[k].path): k for k in mine}
            continue
        removal = Removal(*(column[name][i] for name in ("unit", *REMOVAL[3:])))
        given.setdefault((column["file"][i], column["offset"][i]), []).append(removal)
    assert chunk is not None  # every removal's chunk is one of the corpus's
    fields = config.input.text_field, config.input.id_field
    schema = cleaned_schema()
    out: dict[str, list[Any]] = {name: [] for name in schema.names}
    _, docs = Corpus.of(chunk.files, config.input).read_chunk(chunk)
    for doc in docs:
        if isinstance(doc, Skipped):
            continue
        number_of += 1
        number = numbers[doc.source.path]
        file = files[number]
        removals = given.get((number, doc.source.offset))
        if removals:  # as the local run lists them: level by level, top down
            removals.sort(key=lambda r: (r.unit % len(LEVELS), r.unit, r.start))
        removed = None
        unit_cuts: list[int] = []
        if removals:
            per_unit = pieces(removals, len(doc.text))
            removed = merge([span for spans in per_unit.values() for span in spans])
            for unit, spans in sorted(per_unit.items()):
                unit_cuts += [n for s, e in merge(spans) for n in (unit, s, e)]
        text, escapes, dropped = cleaned_document(
            file, doc, removed, config.output.keep_empty, fields
        )
        if not removed and file.jsonl and file.parquet is None and doc.line is not None:
            data = doc.line  # a record left whole: its line as read
        elif dropped is not None:
            data = dropped.encode("utf-8")
        elif records:
            data = record_bytes(doc, text, *fields)
        elif file.parquet is not None:  # its row's other fields are the input's own
            data = text.encode("utf-8")
        else:
            data = document_bytes(file, doc, text, fields, config.input.encoding)
        for name, value in zip(
            schema.names,
            (
                number,
                doc.source.line + before,
                doc.source.offset,
                data,
                dropped is not None,
                escapes,
                number_of - 1,
                [end for span in removed or () for end in span],
                doc.doc_id,
                len(doc.text),
                [doc.text[s:e] for s, e in removed or ()],
                unit_cuts,
            ),
            strict=True,
        ):
            out[name].append(value)
    return pa.table(out, schema=schema)
