"""The JSON report as DataFrame stages: what resolving decided and the cleaned rows in,
the report's documents and clusters out as lines, each written by the local report's
own functions (`report.cluster_entry`, `report.document_entry`, `report.as_row`), and
its other fields (stats, LSH figures, calibration) counted over the frames.

A cluster is a level's survivor and its links, made in one task (many clusters a task:
`components.spread`) and numbered as the local run numbers them: by level, then by its
survivor's place in corpus order.  A document is listed when it lost text, was left out,
or holds a survivor or a member of a cluster listed; its removed texts come from the
cleaning task that read it.  No process holds the report: `SparkReport.report` reads
it a partition at a time as it is written, `write_parts` writes it as partitions and a
summary.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from dedup.clean import inside
from dedup.config import Config
from dedup.io.writers import write_pieces
from dedup.model import REMOVING, Cluster, Evidence, KeptCopies, Member, Segment
from dedup.report import (
    Report,
    as_row,
    calibration_of,
    cluster_entry,
    document_entry,
    json_pieces,
    laid_out,
    pair_row,
)
from dedup.spark.clean import unit_id
from dedup.spark.components import spread
from dedup.spark.fingerprint import Prints
from dedup.spark.lsh import lsh_figures
from dedup.spark.resolve import Resolved
from dedup.spark.verify import EVIDENCE

#: A unit's place in the report: its document's id and number, span and first line.
_PLACE = ("id", "doc", "start", "end", "line")


@dataclass
class SparkReport:
    """A report: its fields but the long lists (`head`), and those as DataFrames of lines
    (JSON text): the documents listed (doc, value), the clusters (number, boilerplate,
    value), each in its order by the first column, and the pairs (li, a, b, value)."""

    head: Report
    documents: Any
    clusters: Any
    pairs: Any = None  # with `--pairs`: (li, a, b, value)

    def report(self) -> Report:
        """The whole report, its long lists read a partition at a time as it is written
        (see `report.json_pieces`)."""
        from pyspark.sql import functions as F

        def lines(frame: Any, order: str) -> Iterator[orjson.Fragment]:
            for row in frame.orderBy(order).select("value").toLocalIterator():
                yield orjson.Fragment(row["value"])

        clusters = self.clusters
        made = {
            **self.head,
            "documents": lines(self.documents, "doc"),
            "clusters": lines(clusters.where(~F.col("boilerplate")), "number"),
            "boilerplate": lines(clusters.where(F.col("boilerplate")), "number"),
        }
        if self.pairs is not None:
            made["pairs"] = lines(self.pairs.withColumn("order", F.struct("li", "a", "b")), "order")
        return made


def report_frames(
    prints: Prints, done: Resolved, cleaned: Any, config: Config, written: bool = True
) -> SparkReport:
    """The report of the run whose corpus `prints` holds, whose resolution is `done` and
    whose cleaned rows (`clean.cleaned_schema`) are `cleaned`; `written`, whether the
    cleaned documents were written (the records left out and escaped are then listed)."""
    from pyspark.sql import functions as F

    keep_quiet = config.cluster.boilerplate == "keep"  # its boilerplate goes unlisted
    docs = done.kept(cleaned.select("file", "offset", "id", "doc", "cuts", "unit_cuts"))
    members = done.kept(_members(prints, done, docs), cut=True)
    listed = members.where(~(F.col("flagged") & F.lit(keep_quiet)))
    clusters = _clusters(listed, members, prints.levels)
    named = listed.select(F.col("s_file").alias("file"), F.col("s_offset").alias("offset"))
    named = named.unionByName(
        listed.where(~F.col("flagged")).select(
            F.col("m_file").alias("file"), F.col("m_offset").alias("offset")
        )
    )
    documents, files = _documents(prints, cleaned, named.distinct(), config, written)
    figures, verified = lsh_figures(prints, done, config)
    suppressed = [
        {
            "unit": prints.levels[row["level"]],
            "doc": row["id"],
            "start": row["start"],
            "end": row["end"],
            "line": row["unit_line"],
        }
        for row in prints.suppressed()
        .join(docs.select("file", "offset", "id"), ["file", "offset"])
        .orderBy("level", "place")
        .collect()
    ]
    exact = listed.where(F.col("relation") == "exact").select(*EVIDENCE)
    histograms = _histograms(verified.select(*EVIDENCE).unionByName(exact))
    head = laid_out(
        config.as_dict(),
        _stats(prints, done, cleaned, members, listed),
        figures,
        prints.chunks_told.skipped(),
        suppressed,
        files,
        [],
        [],
        [],
        calibration_of(figures, config.as_dict(), *histograms),
    )
    pairs = _pairs(prints, verified, docs) if config.output.pairs else None
    return SparkReport(head, documents, clusters, pairs)


def write_parts(report: SparkReport, folder: str) -> None:
    """The report written under `folder` (any path Spark writes) as JSON lines partitions
    of its documents, clusters, boilerplate and pairs (in `documents/`, `clusters/`,
    `boilerplate/` and, with `--pairs`, `pairs/`, in order by their names) and the rest
    in `summary.json` (a local folder) or `summary/` (one partition)."""
    from pyspark.sql import functions as F

    parts = [("documents", report.documents, ["doc"])]
    for name, flag in (("clusters", False), ("boilerplate", True)):
        parts.append((name, report.clusters.where(F.col("boilerplate") == flag), ["number"]))
    if report.pairs is not None:
        parts.append(("pairs", report.pairs, ["li", "a", "b"]))
    for name, rows, order in parts:
        rows = rows.repartitionByRange(*order).sortWithinPartitions(*order)
        rows.select("value").write.text(f"{folder}/{name}")
    summary = json_pieces({k: v for k, v in report.head.items() if k not in _LONG})
    if "://" not in folder:
        write_pieces(Path(folder) / "summary.json", summary)
        return
    spark = report.documents.sparkSession
    text = b"".join(summary).decode("utf-8").rstrip("\n")
    spark.createDataFrame([(text,)], "value string").coalesce(1).write.text(f"{folder}/summary")


_LONG = ("documents", "clusters", "boilerplate", "pairs")
#: What `write_parts` may write under its folder: the long lists' partitions, the summary.
PARTS = (*_LONG, "summary", "summary.json")


def _pairs(prints: Prints, verified: Any, docs: Any) -> Any:
    """The verified pairs the report lists (`verified`: li, a, b, *EVIDENCE), as its
    lines (li, a, b, value): each text's first unit's place, and the pair's scores."""
    from pyspark.sql import functions as F

    ends = None
    for li in range(len(prints.levels)):
        units = prints.units(li, "file", "offset", "start", "end", "unit_line")
        units = units.withColumn("li", F.lit(li)).withColumnRenamed("place", "text")
        ends = units if ends is None else ends.unionByName(units)
    assert ends is not None  # a run has a level
    places = ends.join(docs.select("file", "offset", "id"), ["file", "offset"]).select(
        "li", "text", F.struct("id", "start", "end", "unit_line").alias("at")
    )
    rows = verified
    for side in "ab":
        rows = rows.join(
            places.select("li", F.col("text").alias(side), F.col("at").alias(f"{side}_at")),
            ["li", side],
        )
    levels = prints.levels

    def work(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            yield _pair_lines(batch, levels)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return rows.mapInArrow(work, "li int, a long, b long, value string")


def _pair_lines(batch: Any, levels: list[str]) -> Any:
    """A batch of pairs as the JSON report's lines (`report.pair_row`)."""
    import pyarrow as pa

    column = {name: batch.column(name).to_pylist() for name in batch.schema.names}
    values = []
    for i in range(batch.num_rows):
        evidence = Evidence(*(column[name][i] for name in EVIDENCE))
        a_at, b_at = column["a_at"][i], column["b_at"][i]
        row = pair_row(levels[column["li"][i]], _place_of(a_at), _place_of(b_at), evidence)
        values.append(orjson.dumps(row).decode("utf-8"))
    return pa.RecordBatch.from_pydict(
        {"li": column["li"], "a": column["a"], "b": column["b"], "value": values},
        schema=pa.schema(
            [("li", pa.int32()), ("a", pa.int64()), ("b", pa.int64()), ("value", pa.string())]
        ),
    )


def _place_of(at: dict[str, Any]) -> list[Any]:
    """A unit's place as the report gives it (`report._place`)."""
    return [at["id"], at["start"], at["end"], at["unit_line"]]


def _members(prints: Prints, done: Resolved, docs: Any) -> Any:
    """Every level's links with what the report says of both ends: (li, survivor,
    member, quiet: a boilerplate copy kept, flagged: its survivor's cluster boilerplate,
    *EVIDENCE, each end's `_PLACE` and file and offset (`s_`, `m_`), and what a listed
    member lost (`removed`: start, end, start...): a member removed, its own cuts; one
    that overlaps, its document's cuts inside it (`inside`)."""
    from pyspark.sql import functions as F

    # Each unit's cuts, as the cleaning task found them: by unit id.
    exploded = docs.where(F.size("unit_cuts") > 0).select(
        F.explode(
            F.expr(
                "transform(sequence(0, size(unit_cuts) div 3 - 1), "
                "i -> struct(unit_cuts[i * 3] as uid, unit_cuts[i * 3 + 1] as s, "
                "unit_cuts[i * 3 + 2] as e))"
            )
        ).alias("cut")
    )
    unit_cuts = exploded.groupBy(F.col("cut.uid").alias("uid")).agg(
        F.flatten(F.array_sort(F.collect_list(F.array(F.col("cut.s"), F.col("cut.e"))))).alias(
            "own"
        )
    )
    frames = None
    for li in range(len(prints.levels)):
        units = (
            done.units[li]
            .join(docs, ["file", "offset"])
            .select(
                "place",
                "file",
                "offset",
                "id",
                "doc",
                "cuts",
                "start",
                "end",
                F.col("unit_line").alias("line"),
            )
        )

        rows = (
            done.links[li]
            .join(done.spared[li].withColumn("quiet", F.lit(True)), "member", "left")
            .join(done.boilerplate[li].withColumn("flagged", F.lit(True)), "survivor", "left")
            .join(_end(units, "m"), "member")
            .join(_end(units, "s"), "survivor")
            .withColumn("uid", unit_id(F.col("member"), li))
            .join(unit_cuts, "uid", "left")
        )
        quiet = F.coalesce(F.col("quiet"), F.lit(False))
        removing = F.col("relation").isin(sorted(REMOVING))
        rows = rows.select(
            F.lit(li).alias("li"),
            "survivor",
            "member",
            quiet.alias("quiet"),
            F.coalesce(F.col("flagged"), F.lit(False)).alias("flagged"),
            *EVIDENCE,
            *(f"{side}_{c}" for side in "sm" for c in ("file", "offset", *_PLACE)),
            F.when(removing, F.coalesce(F.col("own"), F.array().cast("array<bigint>")))
            .otherwise(F.array().cast("array<bigint>"))
            .alias("removed"),
            F.when(~removing & ~quiet, F.col("m_cuts")).alias("inside"),
        )
        frames = rows if frames is None else frames.unionByName(rows)
    return frames


def _end(units: Any, side: str) -> Any:
    """`units` as one end of the links: their places, their columns named for the side
    (`m_`: the member, with its document's cuts; `s_`: the survivor)."""
    from pyspark.sql import functions as F

    key = "member" if side == "m" else "survivor"
    return units.select(
        F.col("place").alias(key),
        *(F.col(c).alias(f"{side}_{c}") for c in ("file", "offset", *_PLACE)),
        *([F.col("cuts").alias("m_cuts")] if side == "m" else []),
    )


def _clusters(listed: Any, members: Any, levels: list[str]) -> Any:
    """The clusters' lines (number, boilerplate, value), numbered over every level's
    survivors, those left unlisted too (`members`), and made from the links `listed`."""
    from pyspark.sql import functions as F

    keys = members.select("li", "survivor").distinct().orderBy("li", "survivor")
    numbered = (
        keys.rdd.zipWithIndex()
        .map(lambda pair: (pair[0]["li"], pair[0]["survivor"], pair[1] + 1))
        .toDF("li long, survivor long, number long")
    )
    rows = listed.join(numbered.withColumn("li", F.col("li").cast("int")), ["li", "survivor"])
    schema = "number long, boilerplate boolean, value string"

    def work(group: Any) -> Any:  # a function, not a partial: Spark reads its hints
        return _cluster_lines(group, levels)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return spread(rows, "li", "survivor").applyInArrow(work, schema)


def _cluster_lines(group: Any, levels: list[str]) -> Any:
    """A group's clusters as the JSON report's lines (see `report.cluster_entry`)."""
    import pyarrow as pa

    column = {name: group[name].to_pylist() for name in group.column_names}
    order = sorted(range(group.num_rows), key=lambda i: (column["number"][i], column["member"][i]))
    out: dict[str, list[Any]] = {"number": [], "boilerplate": [], "value": []}
    for number, grouped in itertools.groupby(order, key=lambda i: column["number"][i]):
        rows = list(grouped)
        first = rows[0]
        level = levels[column["li"][first]]

        def evidence(i: int) -> Evidence:
            return Evidence(*(column[name][i] for name in EVIDENCE))

        loud = [i for i in rows if not column["quiet"][i]]
        quiet = [i for i in rows if column["quiet"][i]]
        found = []
        for i in loud:
            removed = column["removed"][i]
            cuts = column["inside"][i]
            if cuts is not None:  # it overlaps: what was cut inside it
                pairs = zip(cuts[::2], cuts[1::2], strict=True)
                spans = tuple(inside(pairs, column["m_start"][i], column["m_end"][i]))
            else:
                spans = tuple(zip(removed[::2], removed[1::2], strict=True))
            found.append(Member(_segment(column, "m", i, level), evidence(i), spans))
        kept = KeptCopies(
            [column["m_id"][i] for i in quiet],
            list(range(len(quiet))),
            [column["m_start"][i] for i in quiet],
            [column["m_end"][i] for i in quiet],
            [evidence(i) for i in quiet],
        )
        boilerplate = bool(column["flagged"][first])
        cluster = Cluster(
            f"c{number:05d}", level, _segment(column, "s", first, level), found, boilerplate, kept
        )
        out["number"].append(number)
        out["boilerplate"].append(boilerplate)
        out["value"].append(orjson.dumps(as_row(cluster_entry(cluster, False), "cluster")))
    out["value"] = [value.decode("utf-8") for value in out["value"]]
    return pa.table(
        out,
        schema=pa.schema(
            [("number", pa.int64()), ("boilerplate", pa.bool_()), ("value", pa.string())]
        ),
    )


def _segment(column: dict[str, list[Any]], side: str, i: int, level: Any) -> Segment:
    """Row `i`'s survivor (`side` "s") or member ("m"), as much as the report says of it."""
    line = column[f"{side}_line"][i]
    start, end = column[f"{side}_start"][i], column[f"{side}_end"][i]
    return Segment(column[f"{side}_id"][i], level, 0, start, end, line, line, "")


def _documents(
    prints: Prints, cleaned: Any, named: Any, config: Config, written: bool
) -> tuple[Any, list[str]]:
    """The documents the report lists, as lines (doc, value), and the report's files;
    the records left out or escaped as such if the cleaned documents were `written`."""
    from pyspark.sql import functions as F

    named = named.withColumn("named", F.lit(True))
    firsts = cleaned.groupBy("file").agg(F.min("doc").alias("first"))
    rows = (
        cleaned.join(named, ["file", "offset"], "left")
        .where(
            (F.size("cuts") > 0) | (F.col("dropped") & F.lit(written)) | F.col("named").isNotNull()
        )
        .join(firsts, "file")
        .withColumn("record", F.col("doc") - F.col("first"))
    )
    numbers = sorted(row["file"] for row in rows.select("file").distinct().collect())
    files = [prints.files[number].name for number in numbers]
    # A file as the report names it: its number among those listed, by name.
    index = {number: files.index(prints.files[number].name) for number in numbers}
    quotes = config.output.quotes
    schema = "doc long, value string"
    names = ("doc", "id", "file", "record", "chars", "cuts", "removed_text", "dropped")

    def work(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            column = {name: batch.column(name).to_pylist() for name in (*names, "data", "escaped")}
            values = []
            for i in range(batch.num_rows):
                cuts = column["cuts"][i]
                texts = column["removed_text"][i]
                left_out = written and column["dropped"][i]
                dropped = column["data"][i].decode("utf-8") if left_out else None
                entry = document_entry(
                    column["id"][i],
                    index[column["file"][i]],
                    column["record"][i],
                    column["chars"][i],
                    list(zip(cuts[::2], cuts[1::2], strict=True)),
                    texts if quotes else None,
                    dropped,
                    written and column["escaped"][i],
                )
                values.append(orjson.dumps(as_row(entry, "document")).decode("utf-8"))
            yield pa.RecordBatch.from_pydict(
                {"doc": column["doc"], "value": values},
                schema=pa.schema([("doc", pa.int64()), ("value", pa.string())]),
            )

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return rows.select(*names, "data", "escaped").mapInArrow(work, schema), files


def _stats(
    prints: Prints, done: Resolved, cleaned: Any, members: Any, listed: Any
) -> dict[str, int]:
    """The report's "stats", counted over the frames (see `report.stats`)."""
    from pyspark.sql import functions as F

    removing = F.col("relation").isin(sorted(REMOVING))
    # A document's characters removed: its cuts' ends less their starts.
    removed = F.expr(
        "IF(size(cuts) = 0, 0L, aggregate(sequence(0, size(cuts) - 1), 0L, "
        "(total, i) -> total + IF(i % 2 = 1, cuts[i], -cuts[i])))"
    )
    totals = cleaned.select(
        F.count("*").alias("documents"),
        F.coalesce(F.sum("chars"), F.lit(0)).alias("chars_in"),
        F.coalesce(F.sum(removed), F.lit(0)).alias("chars_removed"),
    ).first()
    clusters = listed.where(~F.col("flagged") & removing).select("li", "survivor").distinct()
    boilerplate = listed.where(F.col("flagged"))
    return {
        "documents": int(totals["documents"]),
        "units": sum(prints.units(li).count() for li in range(len(prints.levels))),
        "duplicate_units": members.where(removing & ~F.col("quiet")).count(),
        "clusters": clusters.count(),
        "boilerplate_clusters": boilerplate.select("li", "survivor").distinct().count(),
        "boilerplate_units": boilerplate.count(),
        "chars_in": int(totals["chars_in"]),
        "chars_removed": int(totals["chars_removed"]),
        "skipped": len(prints.chunks_told.skipped()),
    }


def _histograms(evidence: Any) -> tuple[list[int], list[int]]:
    """The calibration's histograms of `evidence` (see `report.calibration`): Jaccard,
    and the greater containment, in bins of 0.05."""
    from pyspark.sql import functions as F

    out = []
    for value in (F.col("jaccard"), F.greatest("containment", "containment_survivor")):
        rows = (
            evidence.select(F.least(F.lit(19), (value * 20).cast("long")).alias("bin"))
            .groupBy("bin")
            .count()
            .collect()
        )
        histogram = [0] * 20
        for row in rows:
            histogram[row["bin"]] = int(row["count"])
        out.append(histogram)
    return out[0], out[1]
