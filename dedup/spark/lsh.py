"""The report's LSH figures on Spark, counted as the local run counts them.

Each level's distinct texts, its candidate pairs of texts and its related pairs verified.
The DataFrame stages verify every candidate; the local run verifies only the pairs of
texts taking part that its clustering reads, in two waves (`engine.verify.read_ones`),
and a pair of texts verified at a coarser level is known (`engine.verify.Known`), not
verified again.  Which pairs it reads is decided within a connected component of the
level's candidates: so each component's pairs go to one task (many a task), which runs
the local stage's own `read_ones` over them, the evidence of each pair it reads taken
from the pairs verified.  The related pairs it counts are those the calibration bins.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dedup.config import Config
from dedup.engine.verify import read_ones
from dedup.index import lsh_params
from dedup.model import Evidence
from dedup.spark.components import spread
from dedup.spark.fingerprint import Prints, spark_type
from dedup.spark.resolve import Resolved
from dedup.spark.verify import EVIDENCE, evidence_schema

#: A text's exact key, each end's of a pair: (hi, lo).
_KEYS = ("a_hi", "a_lo", "b_hi", "b_lo")


def lsh_figures(prints: Prints, done: Resolved, config: Config) -> tuple[dict[str, Any], Any]:
    """The report's "lsh", and the related pairs the local run verifies or knows, every
    level's: (li, a, b, *EVIDENCE), a and b texts of level li (with `--pairs`, the pairs
    the report lists)."""
    from pyspark.sql import functions as F

    m = config.minhash
    params = lsh_params(m.threshold, m.num_perm, m.recall)
    figures: dict[str, Any] = {"bands": params.bands, "rows": params.rows}
    known = None  # (x_hi, x_lo, y_hi, y_lo): pairs of texts by key, verified so far
    counted = None
    for li, name in enumerate(prints.levels):
        found = done.kept(_read(prints, done, li, known, config), cut=True)
        if li + 1 < len(prints.levels):
            read = found.where(F.col("read")).select(*_ordered())
            known = read if known is None else known.unionByName(read).distinct()
            known = done.kept(known, cut=True)
        mine = found.where(F.col("counted"))
        figures[name] = {
            "distinct_texts": prints.texts(li).count(),
            "candidate_pairs": done.pairs[li].count(),
            "verified_pairs": mine.count(),
        }
        evidence = mine.select(F.lit(li).alias("li"), "a", "b", *EVIDENCE)
        counted = evidence if counted is None else counted.unionByName(evidence)
    return figures, counted


def _ordered() -> list[Any]:
    """A pair's keys, the lesser first: (x_hi, x_lo, y_hi, y_lo)."""
    from pyspark.sql import functions as F

    lesser = F.struct("a_hi", "a_lo") < F.struct("b_hi", "b_lo")
    return [
        F.when(lesser, F.col(f"a_{c}")).otherwise(F.col(f"b_{c}")).alias(f"x_{c}")
        for c in ("hi", "lo")
    ] + [
        F.when(lesser, F.col(f"b_{c}")).otherwise(F.col(f"a_{c}")).alias(f"y_{c}")
        for c in ("hi", "lo")
    ]


def _read(prints: Prints, done: Resolved, li: int, known: Any, config: Config) -> Any:
    """Level `li`'s candidate pairs of texts taking part, each with whether the local run
    reads it (verifies it, or knows it) and counts it related: (a, b, `_KEYS`, read,
    counted, *EVIDENCE)."""
    from pyspark.sql import functions as F

    order = F.struct("visit", "place")
    ranks = (
        done.units[li]
        .groupBy("hi", "lo")
        .agg(F.min(order).alias("rank"), F.max(order).alias("last"))
        .join(prints.texts(li).select("hi", "lo", "text"), ["hi", "lo"])
    )
    pairs = done.pairs[li]
    for side in "ab":
        pairs = pairs.join(
            ranks.select(
                F.col("text").alias(side),
                F.col("hi").alias(f"{side}_hi"),
                F.col("lo").alias(f"{side}_lo"),
                *(
                    F.col(f"{c}.{part}").alias(f"{c}_{part}_{side}")
                    for c in ("rank", "last")
                    for part in ("visit", "place")
                ),
            ),
            side,
        )
    keyed = pairs.select("*", *_ordered())
    if known is None:
        keyed = keyed.withColumn("known", F.lit(False))
    else:
        flag = known.withColumn("known", F.lit(True))
        keyed = keyed.join(flag, ["x_hi", "x_lo", "y_hi", "y_lo"], "left").fillna(False, ["known"])
    rows = keyed.join(done.related[li], ["a", "b"], "left").join(
        done.groups[li].select(F.col("node").alias("a"), "root"), "a"
    )
    threshold, every = config.minhash.threshold, config.output.pairs

    def work(group: Any) -> Any:  # a function, not a partial: Spark reads its hints
        return _read_group(group, threshold, every)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return spread(rows).applyInArrow(work, spark_type(_read_schema()))


def _read_schema() -> Any:
    """The Arrow schema of `_read`'s rows."""
    import pyarrow as pa

    base = evidence_schema("a", "b")
    keys = [pa.field(name, pa.int64()) for name in _KEYS]
    flags = [pa.field("read", pa.bool_()), pa.field("counted", pa.bool_())]
    ends = [base.field("a"), base.field("b")]
    return pa.schema([*ends, *keys, *flags, *(base.field(name) for name in EVIDENCE)])


def _read_group(group: Any, threshold: float, every: bool) -> Any:
    """Components of a level's candidates: which pairs the local run reads (`read_ones`,
    or every pair with `--pairs`), and which it counts related."""
    import pyarrow as pa

    column = {name: group[name].to_pylist() for name in group.column_names}
    n = group.num_rows
    texts = np.unique(np.array(column["a"] + column["b"], dtype=np.int64))
    local = np.stack(
        [np.searchsorted(texts, np.array(column[s], dtype=np.int64)) for s in "ab"], axis=1
    ).reshape(-1, 2)
    # Each text's first and last unit in keep order, as places among them all.
    places: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {}
    for i in range(n):
        for side, k in zip("ab", local[i].tolist(), strict=True):
            places[k] = tuple(  # type: ignore[assignment]
                (column[f"{c}_visit_{side}"][i], column[f"{c}_place_{side}"][i])
                for c in ("rank", "last")
            )
    seen = sorted({place for both in places.values() for place in both})
    at = {place: k for k, place in enumerate(seen)}
    rank = np.array([at[places[k][0]] for k in range(len(texts))], dtype=np.int64)
    last = np.array([at[places[k][1]] for k in range(len(texts))], dtype=np.int64)
    evidence: dict[tuple[int, int], Evidence] = {}
    for i in range(n):
        if column["jaccard"][i] is not None:  # related: verified, with its evidence
            pair = (int(local[i, 0]), int(local[i, 1]))
            evidence[pair] = Evidence(*(column[name][i] for name in EVIDENCE))
    is_known = np.array(column["known"], dtype=bool)
    related = {
        (int(a), int(b)): evidence[int(a), int(b)]
        for a, b in local[is_known].tolist()
        if (int(a), int(b)) in evidence
    }
    read = set(map(tuple, local[is_known].tolist()))

    def verify(these: Any) -> None:
        for a, b in these.tolist():
            read.add((a, b))
            if (a, b) in evidence:
                related[a, b] = evidence[a, b]

    fresh = local[~is_known]
    if every:
        verify(fresh)
    else:
        read_ones(local, fresh, rank, last, related, verify, threshold)
    pairs = list(map(tuple, local.tolist()))
    out = {name: column[name] for name in ("a", "b", *_KEYS, *EVIDENCE)}
    out["read"] = [pair in read for pair in pairs]
    out["counted"] = [pair in related for pair in pairs]
    return pa.table(out, schema=_read_schema())
