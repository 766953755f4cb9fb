"""Resolution as DataFrame stages: top down, what the local `engine.resolve` decides.

Level by level (document, section, paragraph, sentence): the level's candidate pairs
verified (`verify.related_pairs`), its units outside the spans the levels above took out
(`_outside`) clustered (`cluster.level_links`), its boilerplate flagged and, unless it is
to be removed, kept once a page (`_boilerplate`), the children its near duplicates'
survivors repeat found by the local stage's own function (`children.repeated_batch`, in
tasks: `_children`), and its removals made (`_removals`), whose spans, with those of the
boilerplate kept, the finer levels stay out of.  No process holds a level's units.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from dedup.config import Config
from dedup.engine.children import repeated_batch
from dedup.io.documents import InputFile
from dedup.model import REMOVING
from dedup.spark.candidates import candidate_pairs
from dedup.spark.cluster import level_links
from dedup.spark.components import components, spread
from dedup.spark.fingerprint import AROUND, Prints, spark_type
from dedup.spark.verify import related_pairs

#: A unit's document (file and byte offset: one document each) and span.
_SPAN = ("file", "offset", "start", "end")
#: A removal's columns: its document, the unit removed (its place), and what
#: `clean.Removal` holds of the span taken out (the unit's, or a child's).
REMOVAL = ("file", "offset", "unit", "start", "end", *AROUND)


@dataclass
class Resolved:
    """What resolving decided, a DataFrame per level, each persisted until `close`."""

    pairs: list[Any] = field(default_factory=list)  # (a, b): the level's candidates
    groups: list[Any] = field(default_factory=list)  # (node, root): their components
    related: list[Any] = field(default_factory=list)  # (a, b, *EVIDENCE): those related
    units: list[Any] = field(default_factory=list)  # those taking part, with `visit`
    links: list[Any] = field(default_factory=list)  # (survivor, member, *EVIDENCE)
    boilerplate: list[Any] = field(default_factory=list)  # (survivor): flagged clusters'
    spared: list[Any] = field(default_factory=list)  # (member): boilerplate copies kept
    removals: list[Any] = field(default_factory=list)  # REMOVAL
    _made: list[Any] = field(default_factory=list)  # every DataFrame persisted

    def close(self) -> None:
        for frame in self._made:
            frame.unpersist()
        self._made.clear()

    def kept(self, frame: Any, cut: bool = False) -> Any:
        """`frame` persisted until `close`; with `cut`, made now and its plan cut (what
        several later frames read: their plans would hold its plan as many times, and
        every level's above it, and Spark ran out of memory writing such a plan out)."""
        frame = frame.localCheckpoint() if cut else frame.persist()
        self._made.append(frame)
        return frame


def resolve_frames(prints: Prints, config: Config) -> Resolved:
    """The links, boilerplate and removals of every level of the corpus `prints` holds."""
    from pyspark.sql import functions as F

    done = Resolved()
    docs = done.kept(prints.documents().select("file", "offset", "chars"))
    line = config.cluster.boilerplate_line(docs.count())
    gone = None  # (file, offset, start, end) of the spans taken out so far
    for li, name in enumerate(prints.levels):
        pairs = done.kept(candidate_pairs(prints.level_bands(li)))
        groups = done.kept(components(pairs), cut=True)
        related = done.kept(related_pairs(prints, li, pairs, config, groups), cut=True)
        units = prints.units(li, "file", "line", "offset", "start", "end", "unit_line", *AROUND)
        if gone is not None:
            units = _outside(units, gone)
        units = done.kept(_with_visit(units, config.cluster.keep == "longest"), cut=True)
        done.pairs.append(pairs)
        done.groups.append(groups)
        done.related.append(related)
        done.units.append(units)
        links = done.kept(level_links(prints, li, related, config, units), cut=True)
        removing = links.where(F.col("relation").isin(sorted(REMOVING)))
        sides = _sides(removing, units)  # what boilerplate and the children read of them
        removing, flagged, spared, kept = _boilerplate(removing, sides, units, docs, line, config)
        done.links.append(links)
        done.boilerplate.append(done.kept(flagged))
        done.spared.append(done.kept(spared))
        parts = None
        if name != "sentence":
            near = sides.join(spared, "member", "left_anti")  # the links still removing
            parts = _children(near, prints.files, name, config)
        removals = done.kept(_removals(removing, units, parts), cut=True)
        done.removals.append(removals)
        if li + 1 < len(prints.levels):  # only finer levels look at what is gone
            taken = removals.select(*_SPAN).unionByName(kept)
            gone = done.kept(taken if gone is None else gone.unionByName(taken), cut=True)
    return done


def _outside(units: Any, gone: Any) -> Any:
    """The units that lie inside no span of `gone` (of their documents): with the spans,
    a document's rows by start (a span before a unit starting where it starts), the
    greatest end of the spans so far short of the unit's end."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spans = gone.select(*_SPAN, F.lit(0).alias("kind"), F.col("end").alias("span_end"))
    rows = units.withColumn("kind", F.lit(1)).withColumn("span_end", F.lit(None).cast("bigint"))
    rows = rows.unionByName(spans, allowMissingColumns=True)
    so_far = Window.partitionBy("file", "offset").orderBy("start", "kind")
    reach = F.max("span_end").over(so_far.rowsBetween(Window.unboundedPreceding, 0))
    covered = F.coalesce(F.col("reach") >= F.col("end"), F.lit(False))
    rows = rows.withColumn("reach", reach)
    return rows.where((F.col("kind") == 1) & ~covered).select(*units.columns)


def _with_visit(units: Any, longest: bool) -> Any:
    """The units with their place in keep order (`visit`, then `place`): the longest
    first with `--keep longest`, else in corpus order."""
    from pyspark.sql import functions as F

    visit = F.col("start") - F.col("end") if longest else F.lit(0).cast("bigint")
    return units.withColumn("visit", visit)


def _sides(links: Any, units: Any) -> Any:
    """`links` with their members' and survivors' documents (mfile, moffset; sfile,
    soffset, sline) and spans, and the member's text, white space and keep order."""
    from pyspark.sql import functions as F

    member = units.select(
        F.col("place").alias("member"),
        *(F.col(c).alias(f"m{c}") for c in ("hi", "lo", "file", "line", "offset", "start", "end")),
        *AROUND,
        "visit",
    )
    survivor = units.select(
        F.col("place").alias("survivor"),
        *(F.col(c).alias(f"s{c}") for c in ("file", "line", "offset", "start", "end")),
    )
    return links.join(member, "member").join(survivor, "survivor")


def _boilerplate(
    removing: Any, sides: Any, units: Any, docs: Any, line: int, config: Config
) -> tuple[Any, Any, Any, Any]:
    """A level's boilerplate (`engine.resolve._spare_boilerplate`) among the links
    `removing` (`sides`: the same with their units, see `_sides`): the clusters whose
    parts (members that are not whole documents) and survivor spread over `line`
    documents or more.  Returns the links to remove, the survivors flagged, the members
    kept (the first copy in each page but the survivor's own) and the spans kept."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    chars = docs.select(F.col("file").alias("mfile"), F.col("offset").alias("moffset"), "chars")
    sides = sides.join(chars, ["mfile", "moffset"])
    whole = (F.col("ws_before") == 0) & (F.col("ws_after") == F.col("chars"))
    parts = sides.where(~whole)
    pages = parts.select("survivor", F.col("mfile").alias("file"), F.col("moffset").alias("offset"))
    pages = pages.unionByName(
        parts.select("survivor", F.col("sfile").alias("file"), F.col("soffset").alias("offset"))
    )
    counted = pages.distinct().groupBy("survivor").count()
    flagged = counted.where(F.col("count") >= line).select("survivor")
    none = removing.select(F.col("member")).limit(0)
    if config.cluster.boilerplate == "remove":
        return removing, flagged, none, units.select(*_SPAN).limit(0)
    elsewhere = (F.col("mfile") != F.col("sfile")) | (F.col("moffset") != F.col("soffset"))
    copies = parts.join(flagged, "survivor").where(elsewhere)
    first = Window.partitionBy("survivor", "mfile", "moffset").orderBy("visit", "member")
    spared = (
        copies.withColumn("n", F.row_number().over(first)).where(F.col("n") == 1).select("member")
    )
    kept = units.join(flagged.select(F.col("survivor").alias("place")), "place").select(*_SPAN)
    kept = kept.unionByName(
        units.join(spared.select(F.col("member").alias("place")), "place").select(*_SPAN)
    )
    return removing.join(spared, "member", "left_anti"), flagged, spared, kept


def _children(sides: Any, files: list[InputFile], level: str, config: Config) -> Any:
    """The children near duplicates lose (`engine.resolve._repeated_parts`): among the
    removing links `sides` (with their units, see `_sides`), of each member text's first
    near or contained link, the children its survivor repeats, found by
    `children.repeated_batch`, a member's document's links in one task.  Rows of (unit,
    start, end, *AROUND), a row with no span for a member whose survivor repeats none of
    its children; a member not named goes whole (a later copy of a text too)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    near = sides.where(F.col("relation") != "exact")
    first = Window.partitionBy("mhi", "mlo").orderBy("visit", "member")
    near = near.withColumn("n", F.row_number().over(first)).where(F.col("n") == 1)

    def work(group: Any) -> Any:  # a function, not a partial: Spark reads its hints
        return _children_group(group, files, level, config)

    with warnings.catch_warnings():
        # PySpark warns of pandas 3 when it plans an Arrow map; dedup does not use pandas.
        warnings.simplefilter("ignore", FutureWarning)
        return spread(near, "mfile", "moffset").applyInArrow(work, spark_type(_parts_schema()))


def _children_group(group: Any, files: list[InputFile], level: str, config: Config) -> Any:
    """Links of some documents' members: the children their survivors repeat, as rows."""
    import pyarrow as pa

    column = {name: group[name].to_pylist() for name in group.column_names}
    order = sorted(
        range(group.num_rows),
        key=lambda i: (column["mfile"][i], column["moffset"][i], column["survivor"][i]),
    )

    def place(side: str, i: int) -> Any:
        return (
            (
                files[column[f"{side}file"][i]],
                column[f"{side}line"][i],
                column[f"{side}offset"][i],
                None,
            ),
            (column[f"{side}start"][i], column[f"{side}end"][i]),
        )

    items = [(column["member"][i], *place("s", i), *place("m", i), None) for i in order]
    rows: list[tuple[Any, ...]] = []
    for member, kept in repeated_batch(items, level, config):  # type: ignore[arg-type]
        if kept is None:
            continue  # it goes whole
        rows += [(member, *child) for child in kept] or [(member, *[None] * 6)]
    schema = _parts_schema()
    return pa.table(
        {n: [row[k] for row in rows] for k, n in enumerate(schema.names)}, schema=schema
    )


def _parts_schema() -> Any:
    """The Arrow schema of the children a member loses (see `_children`)."""
    import pyarrow as pa

    return pa.schema([(name, pa.int64()) for name in ("unit", "start", "end", *AROUND)])


def _removals(removing: Any, units: Any, parts: Any) -> Any:
    """A level's removals (`REMOVAL`): each member whole, but those `parts` names, which
    lose the children it gives."""
    from pyspark.sql import functions as F

    members = removing.select(F.col("member").alias("place")).join(units, "place")
    whole = members.select(F.col("place").alias("unit"), *_SPAN[:2], *REMOVAL[3:])
    if parts is None:
        return whole.select(*REMOVAL)
    cut = parts.select("unit").distinct()
    whole = whole.join(cut, "unit", "left_anti")
    docs = members.select(F.col("place").alias("unit"), "file", "offset")
    given = parts.where(F.col("start").isNotNull()).join(docs, "unit")
    return whole.select(*REMOVAL).unionByName(given.select(*REMOVAL))
