"""The fingerprint stage as a DataFrame: the corpus in, a row per unit and per text's band keys out.

Spark's tasks read and fingerprint the chunks of the corpus with the local stage's own
function (`engine.fingerprint._fingerprint_chunk`), each into one Arrow batch of three
kinds of rows: a document (where it is, its length), a unit of a level (its place in
corpus order, exact key, number marks, span and the white space around it) and a distinct
text's keys in a key space (a band each, or a bag: `BAGS`; for a title inside a labelled
line the reading's parts).  No process holds the table of units.

`level_bands` then makes what `candidates.candidate_pairs` reads for a level, as the local
table's `Texts.freeze` and `of_level` make it: each text's band keys once, the titles
inside labelled lines kept where their reading holds (`titles.holding`, with the parts
counted over the whole corpus as `titles.part_counts` counts them), and each text
numbered by the place of its first unit in the level, so that texts are ordered as the
local engine numbers a level's keys.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.config import Config
from dedup.engine.fingerprint import _fingerprint_chunk
from dedup.engine.table import COLUMNS, BatchPrints
from dedup.errors import InputError
from dedup.io.documents import InputFile
from dedup.io.readers import Chunk, Corpus
from dedup.spark.chunks import CHUNK, ERROR, SKIPPED, TOLD, Chunks
from dedup.titles import META, TITLE_SPACES

#: A unit's place in corpus order: its chunk, batch and row within the batch's level,
#: as bits of one long (rows of a batch under 2**24, batches of a chunk under 2**16).
_BATCH_BITS, _ROW_BITS = 16, 24
#: A unit's place shifted right by this many bits: its chunk's number.
CHUNK_SHIFT = _BATCH_BITS + _ROW_BITS
#: The key spaces of one key a row, band 0 (`prints.add_typo_keys`): a bag a text (`_bagged`).
BAGS = ("typo",)
_UNIT, _BAND, _DOCUMENT = range(3)  # the kinds of rows, and those of `chunks`
_SUPPRESSED = 6  # a unit inside `dedup: ignore` / `off` markers (not fingerprinted)
_DOC, _START, _END, _LINE, _MARKS, _SUPPRESSED_COLUMN = (
    COLUMNS.index(c) for c in ("doc", "start", "end", "line", "marks", "suppressed")
)
#: A unit's white space around it, as `clean.Removal` holds it.
AROUND = ("ws_before", "ws_after", "nl_before", "nl_after")


def _schema() -> Any:
    import pyarrow as pa

    long, small = pa.int64(), pa.int32()
    return pa.schema(
        [
            ("kind", pa.int8()),
            ("level", small),  # a unit's
            ("place", long),  # a unit's, in corpus order; a text's band keys' batch
            ("hi", long),  # exact key, first and last 8 bytes
            ("lo", long),
            ("mark", long),  # a unit's number marks
            ("file", small),  # a unit's document: its file (among the corpus's), line, offset
            ("line", long),
            ("offset", long),
            ("start", long),  # a unit's span in its document (a document's: 0, its length)
            ("end", long),
            ("unit_line", long),  # a unit's first line in its document
            *((name, long) for name in AROUND),  # a unit's white space around it
            ("space", pa.string()),  # a text's key space (a title's: the one it joins)
            ("titled", pa.bool_()),  # the keys of a title inside a labelled line
            ("keys", pa.list_(long)),  # its band keys, a band each (or a bag: `BAGS`)
            ("title_part", long),  # a title's reading: its title, label, usual order
            ("label_part", long),
            ("usual", pa.int8()),
            ("label", pa.string()),  # a document's id; what a chunk skipped, or could not
            ("message", pa.string()),  # read: the file's label, and why
        ]
    )


def chunk_rows(number: int, chunk: Chunk, files: list[int], config: Config) -> Any:
    """Chunk `chunk`, number `number`, read and fingerprinted: its rows (see `_schema`), a
    document's each, a unit's each, and a text's band keys in one key space each; `files`
    are the numbers of the chunk's files among the corpus's."""
    import pyarrow as pa

    read = _fingerprint_chunk(chunk, config)
    docs = read.docs
    # The chunk (its lines, numbered within it, and documents: see `chunks.Chunks`)
    # and what it skipped.
    told = [
        _table(
            1,
            kind=np.int8(CHUNK),
            place=np.int64(number),
            offset=chunk.start,
            line=read.lines,
            end=len(docs),
        )
    ]
    for entry in read.skipped:
        told.append(
            _table(
                1,
                kind=np.int8(SKIPPED),
                place=np.int64(number),
                line=entry["line"],
                label=entry["path"],
                message=entry["reason"],
            )
        )
    places = np.array(
        [
            np.asarray(files, dtype=np.int64)[np.asarray(docs.files, dtype=np.int64)],
            np.asarray(docs.lines, dtype=np.int64),
            np.asarray(docs.offsets, dtype=np.int64),
        ]
    ).reshape(3, -1)
    parts: list[Any] = [
        *told,
        _table(
            len(docs),
            kind=np.int8(_DOCUMENT),
            place=(number << CHUNK_SHIFT) + np.arange(len(docs), dtype=np.int64),
            file=places[0].astype(np.int32),
            line=places[1],
            offset=places[2],
            start=np.int64(0),
            end=np.asarray(docs.chars, dtype=np.int64),
            label=pa.array(docs.ids, pa.string()),
        ),
    ]
    for b, batch in enumerate(read.prints):
        base = (number << CHUNK_SHIFT) | (b << _ROW_BITS)
        parts += _units(batch, base, places)
        parts += _bands(batch, base)
    return pa.concat_tables(parts).combine_chunks().to_batches()[0]


def _table(count: int, **given: Any) -> Any:
    """A table of `_schema` of `count` rows: the columns `given`, the others empty."""
    import pyarrow as pa

    schema = _schema()
    columns = []
    for column in schema:
        value = given.get(column.name)
        if value is None:
            columns.append(pa.nulls(count, column.type))
        elif isinstance(value, str):
            columns.append(pa.array([value] * count, column.type))
        elif isinstance(value, pa.Array):
            columns.append(value)
        else:
            columns.append(pa.array(np.broadcast_to(value, count), column.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _units(batch: BatchPrints, base: int, places: npt.NDArray[np.int64]) -> list[Any]:
    found = []
    for li, prints in enumerate(batch.levels):
        quiet = np.flatnonzero(prints.rows[:, _SUPPRESSED_COLUMN] == 1)
        for kind, at in ((_UNIT, np.flatnonzero(prints.mask)), (_SUPPRESSED, quiet)):
            if not len(at):
                continue
            rows = prints.rows[at].astype(np.int64)
            file, line, offset = places[:, rows[:, _DOC]]
            keys: dict[str, Any] = {}
            if kind == _UNIT:
                digests = np.ascontiguousarray(prints.digests[at]).view(np.int64).reshape(-1, 2)
                keys = {"hi": digests[:, 0], "lo": digests[:, 1], "mark": rows[:, _MARKS]}
            found.append(
                _table(
                    len(at),
                    kind=np.int8(kind),
                    level=np.int32(li),
                    place=base + at.astype(np.int64),
                    **keys,
                    file=file.astype(np.int32),
                    line=line,
                    offset=offset,
                    start=rows[:, _START],
                    end=rows[:, _END],
                    unit_line=rows[:, _LINE],
                    **{name: rows[:, COLUMNS.index(name)] for name in AROUND},
                )
            )
    return found


def _bands(batch: BatchPrints, base: int) -> list[Any]:
    import pyarrow as pa

    found = []
    digests = np.ascontiguousarray(batch.texts.digests).view(np.int64).reshape(-1, 2)
    for given, (rows, keys) in batch.texts.bands.items():
        titled = given in TITLE_SPACES
        first = META if titled else 0
        width = keys.shape[1] - first
        flat = np.ascontiguousarray(keys[:, first:]).view(np.int64).ravel()
        offsets = np.arange(0, len(flat) + 1, max(width, 1), dtype=np.int32)[: len(rows) + 1]
        meta = keys[:, :META].view(np.int64) if titled else None
        space = TITLE_SPACES.get(given, given)
        if space in BAGS:  # a key a row: a text's in one row
            rows, offsets, flat, meta = _bagged(rows, flat, meta)
        found.append(
            _table(
                len(rows),
                kind=np.int8(_BAND),
                place=np.int64(base),  # the batch's
                hi=digests[rows, 0],
                lo=digests[rows, 1],
                space=pa.array([space] * len(rows), pa.string()),
                titled=np.bool_(titled),
                keys=pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat)),
                title_part=None if meta is None else meta[:, 0],
                label_part=None if meta is None else meta[:, 1],
                usual=None if meta is None else meta[:, 2].astype(np.int8),
            )
        )
    return found


def _bagged(rows: Any, keys: Any, meta: Any) -> tuple[Any, Any, Any, Any]:
    """Keys of a space of one key a row (`BAGS`), a text's (a title's: of one reading) in
    one row: (rows, offsets of their keys, keys, meta).  A row a key was most of the rows
    (5,000 French documents: 1,331,208 rows, 616,718 so), each as wide as a unit's."""
    ident = rows[:, None] if meta is None else np.column_stack((rows, meta))
    order = np.lexsort(ident.T[::-1])  # by text, then reading; a text's keys in order
    ident, keys = ident[order], keys[order]
    change = np.ones(len(ident), dtype=bool)  # where a text's (a reading's) keys start
    change[1:] = (ident[1:] != ident[:-1]).any(axis=1)
    starts = np.flatnonzero(change)
    offsets = np.append(starts, len(keys)).astype(np.int32)
    return ident[starts, 0], offsets, keys, None if meta is None else ident[starts, 1:]


@dataclass
class Prints:
    """A corpus fingerprinted on Spark: its units and band keys (see `chunk_rows`).  The
    corpus stays open until `close` (a Parquet file's or standard input's spool is read
    by the tasks, whenever Spark runs them)."""

    rows: Any  # DataFrame, persisted
    levels: list[str]
    files: list[InputFile]  # the corpus's, as the units' `file` numbers them
    corpus: Corpus | None = None
    # The chunks the tasks read: (number, its files' numbers, start, end), see `Chunk`.
    chunks: list[tuple[int, list[int], int, int]] = field(default_factory=list)
    _levels: dict[int, Any] = field(default_factory=dict)  # see `_texts`

    def __enter__(self) -> Prints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the persisted rows and close the corpus."""
        self.rows.unpersist()
        for made in self._levels.values():
            made.unpersist()
        for name in ("_bands", "parts"):  # persisted once asked for
            if name in self.__dict__:
                self.__dict__[name].unpersist()
        if self.corpus is not None:
            self.corpus.__exit__(None, None, None)
            self.corpus = None

    def units(self, li: int, *more: str) -> Any:
        """The units of level `li`: (place, hi, lo, mark, and the columns `more`)."""
        from pyspark.sql import functions as F

        return self.rows.where((F.col("kind") == _UNIT) & (F.col("level") == li)).select(
            "place", "hi", "lo", "mark", *more
        )

    def suppressed(self) -> Any:
        """The units inside `dedup: ignore` / `off` markers: (level, place, file, offset,
        start, end, unit_line)."""
        from pyspark.sql import functions as F

        return self.rows.where(F.col("kind") == _SUPPRESSED).select(
            "level", "place", "file", "offset", "start", "end", "unit_line"
        )

    def documents(self) -> Any:
        """The corpus's documents: (place, file, line, offset, chars), `place` their
        order in the corpus and `line` numbered within its chunk (see `chunks_told`)."""
        from pyspark.sql import functions as F

        return self.rows.where(F.col("kind") == _DOCUMENT).select(
            "place", "file", "line", "offset", F.col("end").alias("chars")
        )

    @functools.cached_property
    def chunks_told(self) -> Chunks:
        """What the chunks told besides their units (see `chunks.Chunks`), collected once."""
        from pyspark.sql import functions as F

        told = self.rows.where(F.col("kind").isin(CHUNK, SKIPPED, ERROR)).select(*TOLD)
        return Chunks(told.toArrow().to_pylist())

    def texts(self, li: int) -> Any:
        """The distinct texts of level `li`: (hi, lo, text, mark), `text` the place of its
        first unit and `mark` that unit's number marks."""
        return self._texts(li).select("hi", "lo", "text", "mark")

    def _texts(self, li: int) -> Any:
        """Each distinct text of level `li` and its first unit (`texts`, `text_places`):
        made once a level and persisted, not grouped from the units again by each stage."""
        from pyspark.sql import functions as F

        made = self._levels.get(li)
        if made is None:
            place = ("file", "line", "offset", "start", "end")
            first = F.min(F.struct("place", "mark", *place)).alias("first")
            made = self._levels[li] = (
                self.units(li, *place)
                .groupBy("hi", "lo")
                .agg(first)
                .select(
                    "hi",
                    "lo",
                    F.col("first.place").alias("text"),
                    *(F.col(f"first.{c}").alias(c) for c in ("mark", *place)),
                )
                .persist()
            )
        return made

    @functools.cached_property
    def _bands(self) -> Any:
        """Every distinct text's band keys (`held_bands`), made once and persisted for
        every level."""
        return held_bands(self._first(), self.parts).persist()

    def _first(self) -> Any:
        """Every text's rows of band keys, from the first batch that has the text, as many
        as it gave (deleting either of two letters alike makes one typo key twice, which
        takes two of a bucket's places)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        rows = self.rows.where(F.col("kind") == _BAND).select(
            "place", "hi", "lo", "space", "titled", "keys", "title_part", "label_part", "usual"
        )
        first = F.min("place").over(Window.partitionBy("hi", "lo"))
        return rows.withColumn("first", first).where(F.col("place") == F.col("first"))

    @functools.cached_property
    def parts(self) -> Any:
        """In how many labelled texts each part of their readings is, of those in two or
        more (`titles.part_counts`): (part, count), made once and persisted (a few rows,
        grouped from every text's band keys)."""
        from pyspark.sql import functions as F

        readings = self._first().where(F.col("titled") & (F.col("space") == TITLE_SPACES["title"]))
        return (
            readings.select(
                "hi", "lo", F.explode(F.array("title_part", "label_part")).alias("part")
            )
            .where(F.col("part") != 0)
            .distinct()
            .groupBy("part")
            .count()
            .where(F.col("count") >= 2)
            .persist()
        )

    @functools.cached_property
    def labels(self) -> dict[int, int]:
        """`parts` as the local table's `Texts.labels` holds them, collected once."""
        parts = self.parts.toArrow()
        keys = parts["part"].to_numpy().view(np.uint64).tolist()
        return dict(zip(keys, parts["count"].to_pylist(), strict=True))

    def text_places(self, li: int) -> Any:
        """Where each text of level `li` is read: its first unit's document (file, line,
        offset) and span (start, end), with its number (`texts`): (text, file, line,
        offset, start, end)."""
        return self._texts(li).select("text", "file", "line", "offset", "start", "end")

    def level_bands(self, li: int) -> Any:
        """What `candidates.candidate_pairs` reads for level `li` (`BAND_COLUMNS`)."""
        return self._bands.join(self.texts(li), ["hi", "lo"]).select(
            "space", "band", "key", "text", "mark"
        )


def held_bands(first: Any, parts: Any) -> Any:
    """Every distinct text's band keys once (the rows `first`: see `Prints._first`), a
    title's where its reading holds (`titles.holding`, the parts counted in `parts`):
    (hi, lo, space, band, key)."""
    from pyspark.sql import functions as F

    plain = first.where(~F.col("titled"))
    title = parts.select(F.col("part").alias("title_part"), F.col("count").alias("of_title"))
    label = parts.select(F.col("part").alias("label_part"), F.col("count").alias("of_label"))
    counted = (
        first.where(F.col("titled"))
        .join(title, "title_part", "left")
        .join(label, "label_part", "left")
    )
    of_title = F.coalesce(F.col("of_title"), F.lit(1))
    of_label = F.coalesce(F.col("of_label"), F.lit(1))
    held = (
        (F.col("label_part") == 0)
        | (of_label > of_title)
        | ((of_label == of_title) & (F.col("usual") == 1))
    )
    kept = plain.unionByName(counted.where(held).select(*plain.columns))
    rows = kept.select("hi", "lo", "space", F.posexplode("keys").alias("band", "key"))
    bagged = F.col("space").isin(*BAGS)  # its keys are all of band 0 (see `_bagged`)
    return rows.withColumn("band", F.when(bagged, F.lit(0)).otherwise(F.col("band")))


def fingerprint_frames(spark: Any, paths: Sequence[str], config: Config) -> Prints:
    """The corpus at `paths` read and fingerprinted by Spark's tasks, a chunk a task.  A
    chunk goes to its task as values (its number, its files' numbers, its byte range),
    the corpus's files with the task's function."""
    from dedup.engine.table import BATCH_CHARS, BATCH_DOCS

    corpus = Corpus(paths, config.input).__enter__()  # open until Prints.close
    try:
        files = list(corpus.files)
        number = {str(file.path): k for k, file in enumerate(files)}
        chunks = [
            (k, [number[str(file.path)] for file in chunk.files], chunk.start, chunk.end)
            for k, chunk in enumerate(corpus.chunks(BATCH_CHARS, BATCH_DOCS))
        ]
    except BaseException:
        corpus.__exit__(None, None, None)
        raise
    source = spark.createDataFrame(
        chunks, "number bigint, files array<int>, start bigint, end bigint"
    ).repartition(max(1, len(chunks)))
    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        work = functools.partial(_answer, files=files, config=config)
        rows = source.mapInArrow(work, spark_type(_schema()))
    prints = Prints(rows.persist(), list(config.segment.levels), files, corpus, chunks)
    try:
        prints.chunks_told.check()  # the corpus read now: an error is the run's first word
        check_ids(prints)
    except BaseException:
        prints.close()
        raise
    return prints


def check_ids(prints: Prints) -> None:
    """A document id may occur once in a corpus (as the local table checks them): the
    first document, in corpus order, whose id an earlier one has is an error naming its
    file and line."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    docs = prints.rows.where(F.col("kind") == _DOCUMENT).select("place", "file", "line", "label")
    docs = docs.withColumn("first", F.min("place").over(Window.partitionBy("label")))
    again = docs.where(F.col("place") > F.col("first")).orderBy("place").limit(1).collect()
    if again:
        row = again[0]
        line = row["line"] + prints.chunks_told.line_bases[row["place"] >> CHUNK_SHIFT]
        label = prints.files[row["file"]].label
        raise InputError(label, f"duplicate document id {row['label']!r}", line or None)


def spark_type(schema: Any) -> Any:
    """An Arrow schema as the type of a DataFrame's rows: what an Arrow map gives."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _answer(batches: Iterator[Any], files: list[InputFile], config: Config) -> Iterator[Any]:
    """A task's chunks, each read, fingerprinted and answered as rows."""
    for batch in batches:
        for number, mine, start, end in zip(
            *(batch.column(c).to_pylist() for c in ("number", "files", "start", "end")),
            strict=True,
        ):
            chunk = Chunk(tuple(files[k] for k in mine), start, end)
            try:
                yield chunk_rows(number, chunk, mine, config)
            except InputError as exc:  # told the driver, which raises the first in order
                yield _table(
                    1,
                    kind=np.int8(ERROR),
                    place=np.int64(number),
                    offset=start,
                    line=exc.line,
                    label=exc.path,
                    message=exc.message,
                ).to_batches()[0]
