"""The verification stage as a DataFrame: a level's candidate pairs in, related pairs out.

The pairs are grouped by the connected component of the graph they make
(`components.components`), so that each text is read and shingled in one task, and each
group is verified by the local stage's own functions: `candidates.pair_batches` cuts it
into batches of connected pairs, and `verify.verify_batch` reads each batch's texts (its
first units, where `Prints.text_places` says they are) and scores every pair exactly.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np

from dedup.config import Config
from dedup.engine.candidates import pair_batches
from dedup.engine.places import KeyPlace
from dedup.engine.verify import verify_batch
from dedup.io.documents import InputFile
from dedup.spark.components import components
from dedup.spark.fingerprint import Prints
from dedup.titles import Counted

#: A related pair: its texts (a the earlier), and b's relation to a (see `model.Evidence`).
_RELATED = (
    "a bigint, b bigint, jaccard double, containment double, containment_survivor double, "
    "relation string, few boolean, differ boolean"
)
_PLACE = ("file", "line", "offset", "start", "end")


def related_pairs(prints: Prints, li: int, pairs: Any, config: Config) -> Any:
    """The pairs of texts of level `li` among `pairs` (a DataFrame of candidate pairs a,
    b, as `candidates.candidate_pairs` gives them) that verification relates, with their
    evidence (`_RELATED`), every candidate verified."""
    from pyspark.sql import functions as F

    pairs = pairs.persist()
    groups = components(pairs)
    rows = pairs.join(groups, pairs.a == groups.node).select(
        "root", "a", "b", *(F.lit(None).cast("bigint").alias(c) for c in ("text", *_PLACE))
    )
    texts = prints.text_places(li)
    rows = rows.unionByName(
        texts.join(groups, texts.text == groups.node).select(
            "root",
            F.lit(None).cast("bigint").alias("a"),
            F.lit(None).cast("bigint").alias("b"),
            "text",
            *(F.col(c).cast("bigint").alias(c) for c in _PLACE),
        )
    )
    files, labels = prints.files, prints.label_counts()

    def work(group: Any) -> Any:  # a function, not a partial: Spark reads its hints
        return _verify_group(group, files, config, labels)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return rows.groupBy("root").applyInArrow(work, _RELATED)


def _verify_group(
    group: Any, files: list[InputFile], config: Config, labels: dict[int, int]
) -> Any:
    """One connected group of candidate pairs verified: its related pairs, as a table."""
    import pyarrow as pa

    is_pair = group["a"].is_valid().to_numpy(zero_copy_only=False)
    columns = {name: group[name].to_numpy(zero_copy_only=False) for name in group.column_names}
    texts = columns["text"][~is_pair].astype(np.int64)
    order = np.argsort(texts)
    texts = texts[order]
    place = {c: columns[c][~is_pair].astype(np.int64)[order] for c in _PLACE}
    # The group's texts numbered from 0, in order, as the local stage numbers a level's.
    local = np.stack(
        [np.searchsorted(texts, columns[c][is_pair].astype(np.int64)) for c in ("a", "b")],
        axis=1,
    )
    local = local[np.lexsort((local[:, 1], local[:, 0]))]
    chars = place["end"] - place["start"]
    found: list[tuple[int, int, Any]] = []
    counted = Counted(labels)
    for keys, batch in pair_batches(local, chars):
        units: list[KeyPlace] = [
            (
                key,
                (
                    files[int(place["file"][key])],
                    int(place["line"][key]),
                    int(place["offset"][key]),
                    None,
                ),
                int(place["start"][key]),
                int(place["end"][key]),
            )
            for key in keys
        ]
        related, _, _ = verify_batch((units, batch, None), config, counted)
        found += related
    out = {
        "a": [int(texts[a]) for a, _, _ in found],
        "b": [int(texts[b]) for _, b, _ in found],
        "jaccard": [e.jaccard for _, _, e in found],
        "containment": [e.containment for _, _, e in found],
        "containment_survivor": [e.containment_survivor for _, _, e in found],
        "relation": [e.relation for _, _, e in found],
        "few": [e.few for _, _, e in found],
        "differ": [e.differ for _, _, e in found],
    }
    return pa.table(out, schema=_schema())


@functools.cache
def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("a", pa.int64()),
            ("b", pa.int64()),
            ("jaccard", pa.float64()),
            ("containment", pa.float64()),
            ("containment_survivor", pa.float64()),
            ("relation", pa.string()),
            ("few", pa.bool_()),
            ("differ", pa.bool_()),
        ]
    )
