"""A level's candidate pairs as DataFrame operations: band keys in, pairs of texts out.

The rule is `dedup.index.candidate_pairs`'s, for every key space at once: two texts are
candidates when they share a key in one band of one space (a *bucket*); a bucket of more
than `_BUCKET_CAP` texts pairs each with its `_BUCKET_CAP` earliest texts only, so that a
line templated a million times makes 64 million pairs, not half a million million; and a
pair whose number marks prove that its texts state other numbers (`facts.other_numbers`)
is none.  A text's row is a distinct text, so identical texts are one row before any bucket
is made, however many units hold them.
"""

from __future__ import annotations

from typing import Any

from dedup.index import _BUCKET_CAP

#: The columns `candidate_pairs` reads, one row per text and band: its key space (any
#: value that tells spaces apart), band, band key (a 64-bit key as a signed long), text
#: (ids ordered as the texts are kept: first met, first) and number marks.
BAND_COLUMNS = ("space", "band", "key", "text", "mark")


def candidate_pairs(bands: Any, cap: int = _BUCKET_CAP) -> Any:
    """The distinct candidate pairs (a, b), a < b, of the texts of `bands` (a DataFrame of
    `BAND_COLUMNS`): those of `dedup.index.candidate_pairs` over each key space, merged.

    Each bucket's texts are ranked in text order; a pair is an earlier text of rank at
    most `cap` and a later one, which is every pair of a bucket of `cap` texts or fewer.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    bucket = ("space", "band", "key")
    ranked = (
        bands.withColumn("size", F.count("*").over(Window.partitionBy(*bucket)))
        .where(F.col("size") >= 2)
        .withColumn("rank", F.row_number().over(Window.partitionBy(*bucket).orderBy("text")))
        .drop("size")
    )
    earlier, later = ranked.alias("x"), ranked.alias("y")
    paired = earlier.join(
        later,
        [F.col(f"x.{c}") == F.col(f"y.{c}") for c in bucket]
        + [F.col("x.rank") <= cap, F.col("x.rank") < F.col("y.rank")],
    )
    x_mark, y_mark = F.col("x.mark"), F.col("y.mark")
    differ = (x_mark.bitwiseAND(F.bitwise_not(y_mark)) != 0) & (
        y_mark.bitwiseAND(F.bitwise_not(x_mark)) != 0
    )
    return (
        paired.where(~differ & (F.col("x.text") != F.col("y.text")))
        .select(F.col("x.text").alias("a"), F.col("y.text").alias("b"))
        .distinct()
    )
