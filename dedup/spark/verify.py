"""The verification stage as a DataFrame: a level's candidate pairs in, related pairs out.

The pairs are grouped by the connected component of the graph they make
(`components.components`), so that each text is read and shingled in one task, many
components a task (`components.spread`), and verified by the local stage's own
functions: `candidates.pair_batches` cuts them into batches of connected pairs, and
`verify.verify_batch` reads each batch's texts (their first units, where
`Prints.text_places` says they are) and scores every pair exactly.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from dedup.config import Config
from dedup.engine.candidates import pair_batches
from dedup.engine.places import KeyPlace
from dedup.engine.verify import verify_batch
from dedup.io.documents import InputFile
from dedup.model import Evidence
from dedup.spark.components import components, spread
from dedup.spark.fingerprint import Prints, spark_type
from dedup.titles import Counted

#: The columns of a pair's evidence, in `model.Evidence`'s order.
EVIDENCE = tuple(field.name for field in dataclasses.fields(Evidence))
_PLACE = ("file", "line", "offset", "start", "end")


def related_pairs(prints: Prints, li: int, pairs: Any, config: Config, groups: Any = None) -> Any:
    """The pairs of texts of level `li` among `pairs` (a DataFrame of candidate pairs a,
    b, as `candidates.candidate_pairs` gives them) that verification relates, with their
    evidence (`evidence_schema("a", "b")`: a the earlier text, and b's relation to it),
    every candidate verified; `groups`, the components of `pairs` if they were found."""
    from pyspark.sql import functions as F

    pairs = pairs.persist()
    if groups is None:
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
    files, labels = prints.files, prints.labels

    def work(group: Any) -> Any:  # a function, not a partial: Spark reads its hints
        return _verify_group(group, files, config, labels)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return spread(rows).applyInArrow(work, spark_type(evidence_schema("a", "b")))


def _verify_group(
    group: Any, files: list[InputFile], config: Config, labels: dict[int, int]
) -> Any:
    """Connected groups of candidate pairs verified: their related pairs, as a table."""

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
    out: dict[str, Any] = {
        "a": [int(texts[a]) for a, _, _ in found],
        "b": [int(texts[b]) for _, b, _ in found],
    }
    return with_evidence(out, [evidence for _, _, evidence in found], "a", "b")


def evidence_schema(*pair: str) -> Any:
    """The Arrow schema of pairs of long ids (the columns `pair`, in order) and their
    evidence (`EVIDENCE`)."""
    import pyarrow as pa

    types = [pa.float64()] * 3 + [pa.string(), pa.bool_(), pa.bool_()]
    return pa.schema(
        [(name, pa.int64()) for name in pair] + list(zip(EVIDENCE, types, strict=True))
    )


def with_evidence(columns: dict[str, Any], evidence: list[Evidence], *pair: str) -> Any:
    """An Arrow table of these columns of long ids (`pair`, in order), and the evidence."""
    import pyarrow as pa

    for name in EVIDENCE:
        columns[name] = [getattr(found, name) for found in evidence]
    return pa.table(columns, schema=evidence_schema(*pair))
