"""Connected components of a graph of pairs as DataFrame operations.

Large-star and small-star rounds (Kiveris et al., "Connected Components in MapReduce and
Beyond", 2014) until every edge joins a node to the smallest node of its component: the
label of a component is its smallest id, as `dedup.engine.candidates.components` labels
it, so ids ordered as the units are kept make a component's label its first unit.  No
GraphFrames: its jar would have to be fetched at run time.  Each round's edges are
checkpointed locally, so that a long chain's plan does not grow with its rounds.
"""

from __future__ import annotations

from typing import Any


def components(pairs: Any) -> Any:
    """Each node of the graph `pairs` (a DataFrame of edges `a`, `b`; long ids, in any
    order; a pair of a node with itself is no edge) and its component's smallest node:
    a DataFrame of (`node`, `root`), a row per node that has an edge, roots included."""
    from pyspark.sql import functions as F

    edges = _oriented(pairs.select("a", "b")).localCheckpoint()
    while True:
        edges = _small_star(_large_star(edges)).localCheckpoint()
        if _stars(edges):
            break
    roots = edges.select(F.col("b").alias("node"), F.col("b").alias("root")).distinct()
    return edges.select(F.col("a").alias("node"), F.col("b").alias("root")).unionByName(roots)


def _oriented(edges: Any) -> Any:
    """Each edge once, as (a, b) with a > b; no edge of a node with itself."""
    from pyspark.sql import functions as F

    return (
        edges.where(F.col("a") != F.col("b"))
        .select(F.greatest("a", "b").alias("a"), F.least("a", "b").alias("b"))
        .distinct()
    )


def _large_star(edges: Any) -> Any:
    """Every neighbour larger than a node joined to the smallest of the node and its
    neighbours."""
    from pyspark.sql import functions as F

    both = edges.unionByName(edges.select(F.col("b").alias("a"), F.col("a").alias("b")))
    smallest = both.groupBy("a").agg(F.least(F.min("b"), F.col("a")).alias("m"))
    return _oriented(
        both.join(smallest, "a")
        .where(F.col("b") > F.col("a"))
        .select(F.col("b").alias("a"), F.col("m").alias("b"))
    )


def _small_star(edges: Any) -> Any:
    """A node and every neighbour smaller than it joined to the smallest of them."""
    from pyspark.sql import functions as F

    smallest = edges.groupBy("a").agg(F.min("b").alias("m"))
    joined = edges.join(smallest, "a")
    return _oriented(
        joined.select(F.col("b").alias("a"), F.col("m").alias("b")).unionByName(
            joined.select(F.col("a"), F.col("m").alias("b"))
        )
    )


def _stars(edges: Any) -> bool:
    """Whether every component is a star around its smallest node: no node has two
    smaller neighbours, and no node with a smaller neighbour has a larger one.  One job:
    each node's count of smaller neighbours and whether it has a larger one."""
    from pyspark.sql import functions as F

    ends = edges.select(F.col("a").alias("node"), F.lit(1).alias("lower"), F.lit(0).alias("upper"))
    ends = ends.unionByName(
        edges.select(F.col("b").alias("node"), F.lit(0).alias("lower"), F.lit(1).alias("upper"))
    )
    nodes = ends.groupBy("node").agg(F.sum("lower").alias("lower"), F.max("upper").alias("upper"))
    lower, upper = F.col("lower"), F.col("upper")
    return not nodes.where((lower > 1) | ((lower > 0) & (upper > 0))).limit(1).count()


def spread(rows: Any, *by: str) -> Any:
    """`rows` grouped into as many groups as Spark's shuffles make partitions, all the
    rows of one value of the columns `by` (a component's `root`, if none named) in one:
    a task a group, not a task a component (most components are two texts, and a task's
    own costs were most of verifying them: 344 pairs a second for 20,000 documents' 4,644
    candidates)."""
    from pyspark.sql import functions as F

    count = int(rows.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return rows.groupBy(F.pmod(F.xxhash64(*(by or ("root",))), F.lit(count)).alias("group"))
