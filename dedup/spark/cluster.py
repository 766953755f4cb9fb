"""A level's clustering as a DataFrame stage: its units and related pairs in, links out.

Clustering decides a unit by the units before it in keep order that its text is related
to, and those by theirs: a chain of related texts, never more.  So the units are grouped
by the connected component of their texts in the graph of related pairs (a text related
to none is a component of its own, whose later copies are its exact duplicates), and each
group is clustered in one task, many groups a task (`components.spread`), by the local
stage's own function (`cluster.clusters`), its units in keep order: groups apart are
clustered apart all the same.  A group of one unit links nothing and is left out.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dedup.cluster import clusters
from dedup.config import Config
from dedup.engine.candidates import neighbours_of
from dedup.engine.verify import BothWays
from dedup.model import Evidence
from dedup.spark.components import components, spread
from dedup.spark.fingerprint import Prints, spark_type
from dedup.spark.verify import EVIDENCE, evidence_schema, with_evidence


def level_links(prints: Prints, li: int, related: Any, config: Config, units: Any = None) -> Any:
    """The links of level `li` (`evidence_schema("survivor", "member")`: units, by their
    places, see `Prints.units`) among `units` (a DataFrame of its units with their spans,
    as `Prints.units(li, "start", "end")` gives them: all of them if None), its texts'
    related pairs `related` (as `verify.related_pairs` gives them)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    related = related.persist()
    groups = components(related.select("a", "b"))
    texts = prints.texts(li).select("hi", "lo", "text")
    if units is None:
        units = prints.units(li, "start", "end")
    units = units.select("place", "hi", "lo", "start", "end").join(texts, ["hi", "lo"])
    units = units.join(groups, units.text == groups.node, "left").select(
        F.coalesce("root", "text").alias("root"),
        F.col("place").alias("unit"),
        "text",
        (F.col("end") - F.col("start")).alias("chars"),
    )
    units = units.withColumn("size", F.count("*").over(Window.partitionBy("root"))).where(
        F.col("size") >= 2
    )
    # A row of the union below: a unit's, or a related pair's, the other's columns null.
    none = {name: F.lit(None).cast("bigint").alias(name) for name in ("unit", "text", "chars")}
    for column in spark_type(evidence_schema("a", "b")).fields:
        none[column.name] = F.lit(None).cast(column.dataType).alias(column.name)
    pairs = related.join(groups, related.a == groups.node).select(
        "root", *(none[c] for c in ("unit", "text", "chars")), "a", "b", *EVIDENCE
    )
    rows = units.select(
        "root", "unit", "text", "chars", *(none[c] for c in ("a", "b", *EVIDENCE))
    ).unionByName(pairs)
    threshold, longest = config.minhash.threshold, config.cluster.keep == "longest"

    def work(group: Any) -> Any:  # a function, not a partial: Spark reads its hints
        return _cluster_group(group, threshold, longest)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        links = spark_type(evidence_schema("survivor", "member"))
        return spread(rows).applyInArrow(work, links)


def _cluster_group(group: Any, threshold: float, longest: bool) -> Any:
    """Groups of units clustered in keep order: their links, as a table."""
    is_unit = group["unit"].is_valid().to_numpy(zero_copy_only=False)
    column = {name: group[name].to_numpy(zero_copy_only=False) for name in group.column_names}
    units = column["unit"][is_unit].astype(np.int64)
    order = np.argsort(units)
    units = units[order]  # in corpus order: unit i is the group's i-th
    texts = column["text"][is_unit].astype(np.int64)[order]
    distinct = np.unique(texts)  # the group's texts numbered in order, as a level's keys
    keys = np.searchsorted(distinct, texts)
    visit = np.arange(len(units))
    if longest:  # longest first, then in corpus order
        chars = column["chars"][is_unit].astype(np.int64)[order]
        visit = np.lexsort((visit, -chars))
    # The pairs of texts both of which have units taking part: a text whose units are
    # all inside units removed above links nothing.
    ends = [column[name][~is_unit].astype(np.int64) for name in ("a", "b")]
    kept = np.isin(ends[0], distinct) & np.isin(ends[1], distinct)
    a, b = (np.searchsorted(distinct, end[kept]) for end in ends)
    evidence = [
        Evidence(*values)
        for values in zip(
            *(column[name][~is_unit][kept].tolist() for name in EVIDENCE), strict=True
        )
    ]
    found = dict(zip(zip(a.tolist(), b.tolist(), strict=True), evidence, strict=True))
    pairs = np.stack([a, b], axis=1).reshape(-1, 2)
    links = clusters(visit, keys, neighbours_of(pairs), BothWays(found, threshold))
    out = {"survivor": units[links.survivors], "member": units[links.members]}
    return with_evidence(out, list(links.evidence), "survivor", "member")
