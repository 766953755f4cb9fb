"""Reports: a Result in, the JSON report (schema version 5) out, and the report for
people that `markdown` renders.

The JSON report is the machine contract: stable field names, lists in corpus
order, no timestamps, so two runs give identical bytes.  Its documents, clusters
and their places are arrays whose fields the report names once (`FIELDS`;
`unpacked` reads them back as objects).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from types import GeneratorType
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from dedup import model
from dedup.columns import Coded, Column, Numbers
from dedup.index import LshParams
from dedup.io.texts import texts_of
from dedup.markdown import render_markdown
from dedup.model import (
    REMOVING,
    Cluster,
    DocFigures,
    Evidence,
    Placed,
    Result,
    Segment,
)
from dedup.version import __version__

REPORT_VERSION = 5
#: What each position of the JSON report's arrays holds.  An array ends at its last field
#: present (a null stands for one absent before it): a document's removed text only when
#: the report quotes text, `dropped` and `escaped` when they apply; a cluster's `kept` and
#: `documents` for boilerplate; scores not for an exact copy (all 1).
FIELDS: dict[str, list[str]] = {
    "document": [
        "doc",
        "file",
        "record",
        "chars_in",
        "removed",
        "removed_text",
        "dropped",
        "escaped",
    ],
    "cluster": ["id", "unit", "survivor", "duplicates", "kept", "documents"],
    "survivor": ["doc", "start", "end", "line"],
    "duplicate": [
        "doc",
        "start",
        "end",
        "line",
        "removed",
        "relation",
        "jaccard",
        "containment",
        "containment_survivor",
    ],
    "pair": ["unit", "a", "b", "relation", "jaccard", "containment", "containment_survivor"],
}

Report = dict[str, Any]


def _unit(segment: Segment, quote: str) -> dict[str, Any]:
    """A unit's place, whole (the Markdown and HTML reports'); with `quote` "text" its
    text, with "" nothing of it."""
    entry = {
        "doc": segment.doc_id,
        "unit": segment.level,
        "index": segment.index,
        "start": segment.start,
        "end": segment.end,
        "line": segment.line,
        "end_line": segment.end_line,
        "column": segment.column,
    }
    if quote == "text":
        entry["text"] = segment.text
    return entry


def _place(segment: Segment) -> list[Any]:
    """A unit's document, offsets and first line (the JSON report's; the rest, its level,
    number in the document, last line and column, follow from its text and the
    cluster's level)."""
    return [segment.doc_id, segment.start, segment.end, segment.line]


def pair_row(level: str, a: list[Any], b: list[Any], evidence: Evidence) -> list[Any]:
    """A verified pair as the JSON report lists it: its level, its texts' places (their
    first units', see `_place`), and b's relation to a with every score."""
    return [level, a, b, *_packed(evidence, scored=True)]


def _packed(evidence: Evidence, scored: bool = False) -> list[Any]:
    """A pair's relation and scores, as the JSON report's duplicates end: the relation
    alone for an exact copy, whose scores are all 1 (unless `scored`)."""
    if evidence.relation == "exact" and not scored:
        return ["exact"]
    return [
        evidence.relation,
        round(evidence.jaccard, 6),
        round(evidence.containment, 6),
        round(evidence.containment_survivor, 6),
    ]


def _scores(evidence: Evidence) -> dict[str, Any]:
    """A pair's scores and relation."""
    return {
        "jaccard": round(evidence.jaccard, 6),
        "containment": round(evidence.containment, 6),
        "containment_survivor": round(evidence.containment_survivor, 6),
        "relation": evidence.relation,
    }


def suppressed_entry(segment: Segment) -> dict[str, Any]:
    return {
        "unit": segment.level,
        "doc": segment.doc_id,
        "start": segment.start,
        "end": segment.end,
        "line": segment.line,
    }


def stats(result: Result) -> dict[str, int]:
    """The totals of a run, as in the report's "stats"."""
    totals = result.documents.totals()
    return {
        "documents": totals["documents"],
        "units": totals["units"],
        "duplicate_units": totals["duplicate_units"],
        "clusters": sum(
            1
            for c in result.clusters
            if not c.boilerplate
            and any(e.relation in REMOVING for e in model.evidence_of(c.members))
        ),
        "boilerplate_clusters": sum(1 for c in result.clusters if c.boilerplate),
        "boilerplate_units": sum(
            len(c.members) + len(c.kept) for c in result.clusters if c.boilerplate
        ),
        "chars_in": totals["chars_in"],
        "chars_removed": totals["chars_removed"],
        "skipped": len(result.skipped),
    }


def calibration(result: Result) -> dict[str, Any]:
    """How the threshold sits: the LSH curve it implies, and where the verified pairs fall.

    `candidate_probability` gives, for Jaccard similarities around the threshold, the
    probability that a pair becomes an LSH candidate with the bands and rows used;
    `false_negative_rate` is 1 minus it at the threshold.  The histograms count the
    verified pairs of distinct texts, and the exact copies (Jaccard 1), in bins of 0.05.
    """
    jaccard = [0] * 20
    containment = [0] * 20
    # Counted by object, then binned once each: the exact copies of a run share one.
    copies = [model.evidence_of(c.members) for c in result.clusters]
    copies += [c.kept.evidence for c in result.clusters]
    # Those held as codes (see `Coded`) are counted a table at a time.
    tables: dict[int, tuple[Sequence[model.Evidence], list[npt.NDArray[np.int32]]]] = {}
    loose: Counter[model.Evidence] = Counter()
    for held in copies:
        if isinstance(held, Coded):
            tables.setdefault(id(held.table), (held.table, []))[1].append(held.codes)
        else:
            loose.update(held)
    found = [Coded(np.concatenate(codes), table).counts() for table, codes in tables.values()]
    by_object: dict[int, model.Evidence] = {}
    counts: Counter[int] = Counter()
    for evidence, n in chain(loose.items(), *found):
        if evidence.relation == "exact":
            by_object[id(evidence)] = evidence
            counts[id(evidence)] += n
    verified = list(result.verified)
    counts.update(map(id, verified))
    by_object.update(zip(map(id, verified), verified, strict=True))
    # Binned at once: one evidence a time took 0.15 s of 100,000 French documents' report.
    weighed = [by_object[key] for key in counts]
    times = np.fromiter(counts.values(), dtype=np.int64, count=len(weighed))
    for histogram, values in (
        (jaccard, [evidence.jaccard for evidence in weighed]),
        (
            containment,
            [max(found.containment, found.containment_survivor) for found in weighed],
        ),
    ):
        bins = np.minimum(19, (np.array(values, dtype=np.float64) * 20).astype(np.int64))
        histogram[:] = np.bincount(bins, weights=times, minlength=20).astype(np.int64).tolist()
    return calibration_of(result.lsh, result.options, jaccard, containment)


def calibration_of(
    lsh: dict[str, Any], options: dict[str, Any], jaccard: list[int], containment: list[int]
) -> dict[str, Any]:
    """The report's "calibration" (see `calibration`), its histograms counted."""
    bands, rows = int(lsh.get("bands", 1)), int(lsh.get("rows", 1))
    threshold = float(options.get("threshold", 0.8))
    params = LshParams(bands, rows)
    grid = sorted({round(x / 20, 2) for x in range(4, 21)} | {threshold})
    return {
        "bands": bands,
        "rows": rows,
        "threshold": threshold,
        "candidate_probability": [[s, round(params.probability(s), 6)] for s in grid],
        "false_negative_rate": round(1 - params.probability(threshold), 6),
        "bins": [[round(i / 20, 2), round((i + 1) / 20, 2)] for i in range(20)],
        "jaccard_histogram": jaccard,
        "containment_histogram": containment,
    }


def _placed(cluster: Cluster) -> list[Placed]:
    """The members the JSON report lists: all of them, or of a boilerplate cluster those
    removed only (the copies kept, one a page, are counted), made from the level's columns
    where they are held so."""
    members = cluster.members
    if isinstance(members, model.Members):
        placed = list(members.placed())
    else:
        placed = [(*_place(m.segment), m.removed, m.evidence) for m in members]
    return [p for p in placed if p[4]] if cluster.boilerplate else placed


def as_row(entry: dict[str, Any], kind: str) -> list[Any]:
    """An entry as the JSON report's array of `FIELDS[kind]`, ending at its last field."""
    values = [entry.get(name) for name in FIELDS[kind]]
    while values[-1] is None:
        values.pop()
    return values


def cluster_entry(cluster: Cluster, texts: bool) -> dict[str, Any]:
    """A cluster for the report; see `build_report` for `texts` (with it, every member is
    listed, those a boilerplate cluster does not remove too)."""
    duplicates: list[Any] = []
    if texts:
        for member in cluster.members:
            entry = _unit(member.segment, "text")
            entry.update(_scores(member.evidence))
            entry["removed"] = [[s, e] for s, e in member.removed]
            entry["removed_chars"] = sum(e - s for s, e in member.removed)
            duplicates.append(entry)
    else:
        for doc_id, start, end, line, removed, found in _placed(cluster):
            spans = [[s, e] for s, e in removed]
            duplicates.append([doc_id, start, end, line, spans, *_packed(found)])
    survivor: Any = _unit(cluster.survivor, "text") if texts else _place(cluster.survivor)
    entry = {"id": cluster.cluster_id, "unit": cluster.level, "survivor": survivor}
    entry["duplicates"] = duplicates
    if cluster.boilerplate:
        entry["kept"] = len(cluster.kept) + len(cluster.members) - len(duplicates)
        entry["documents"] = cluster.documents()
    return entry


def _documents(
    docs: DocFigures, numbers: list[int], files: dict[str, Any], quotes: bool, whole: bool
) -> Iterator[dict[str, Any]]:
    """The documents a report lists, each made from the figures' columns, 65,536 at a time
    (a DocStats each took 4.9 s of the report of a million records), its file as `files`
    names it; not `whole`, without the counts its entries in the clusters give (units,
    duplicate units, characters removed: the JSON report's)."""
    for lo in range(0, len(numbers), 1 << 16):
        block = numbers[lo : lo + (1 << 16)]
        at = np.asarray(block, dtype=np.int64)
        columns = (docs.files, docs.records, docs.chars, docs.units, docs.duplicates)
        values = (np.asarray(column)[at].tolist() for column in columns)
        for n, file, record, chars, units, duplicates in zip(block, *values, strict=True):
            yield document_entry(
                docs.ids[n],
                files[docs.names[file]],
                record,
                chars,
                docs.cuts.get(n),
                texts_of(docs.cuts.values_of(n)) if quotes else None,
                docs.dropped.get(n),
                n in docs.escaped,
                (units, duplicates) if whole else None,
            )


def document_entry(
    doc_id: str,
    file: Any,
    record: int,
    chars: int,
    cut: Sequence[tuple[int, int]],
    texts: list[str] | None,
    dropped: str | None,
    escaped: bool,
    counts: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A document as the report lists it: its id, file (as the report names it), place
    in its file, length and the spans removed; with `texts`, the texts removed, and
    whether it was left out (its line) or written escaped; with `counts`,
    its units and duplicate units and the characters removed (the Markdown and HTML
    reports')."""
    entry: dict[str, Any] = {"doc": doc_id}
    if counts is not None:
        entry.update(units=counts[0], duplicate_units=counts[1])
    entry["chars_in"] = chars
    if counts is not None:
        entry["chars_removed"] = sum(e - s for s, e in cut)
    entry.update(file=file, removed=[[s, e] for s, e in cut])
    if texts is not None:
        entry["removed_text"] = texts
    entry["record"] = record
    if texts is not None and dropped is not None:
        entry["dropped"] = dropped
    if texts is not None and escaped:
        entry["escaped"] = True
    return entry


def _with_findings(result: Result, every: bool) -> Numbers:
    """The numbers of the documents a report lists: those with text removed, or with a
    unit its clusters list (a survivor, a member kept as an overlap).  The others are
    counted in the stats only: a corpus of a million distinct records has a report of a
    few lines."""
    named: set[str] = set()
    numbered: list[Column] = []  # the documents of members held as columns
    for cluster in result.clusters:
        named.add(cluster.survivor.doc_id)
        if isinstance(cluster.members, model.Members) and (every or not cluster.boilerplate):
            numbered.append(cluster.members.docs)  # every member listed
        elif every:
            named.update(m.segment.doc_id for m in cluster.members)
        else:  # those the JSON report lists
            named.update(place[0] for place in _placed(cluster))
    return result.documents.listed(named, numbered)


def build_report(result: Result, lazy: bool = False, texts: bool = False) -> Report:
    """The JSON-ready report of a run.

    Sized for a pipeline: the only text it quotes is the removed text (under each
    document, what `restore` puts back; the text kept is the cleaned output's), so that a
    report is about the size of what the run removes.  Without the "quotes" option, it
    quotes nothing: ids, offsets and scores only.  A boilerplate cluster lists the copies
    it removed, and counts those it kept (one a page: `kept`, over `documents`).  The
    verified pairs are listed with the "pairs" option only (near copies of one text make
    pairs by the square of their number).  Documents, clusters and pairs are arrays of
    `FIELDS`, a document's file its number in `files`.  With `texts`, they are objects and
    every unit's text is quoted whole (for the Markdown and HTML reports, which are for
    people).  With `lazy`, the long lists (documents, clusters, boilerplate, pairs) are
    generators, made one item at a time as `json_pieces` writes them.
    """

    def listed(items: Iterator[Any], kind: str = "") -> Iterable[Any]:
        if kind and not texts:
            items = (as_row(item, kind) for item in items)
        return items if lazy else list(items)

    quotes = bool(result.options.get("quotes", True))
    # Numbers, not DocStats: a million records removed whole took 400 MB as a list of them.
    listed_numbers = _with_findings(result, texts)
    files = result.documents.files_of(listed_numbers)
    number = {name: name for name in files} if texts else {name: n for n, name in enumerate(files)}
    report = laid_out(
        result.options,
        stats(result),
        result.lsh,
        list(result.skipped),
        [suppressed_entry(s) for s in result.suppressed],
        files,
        listed(
            _documents(result.documents, listed_numbers.tolist(), number, quotes or texts, texts),
            "document",
        ),
        listed((cluster_entry(c, texts) for c in result.clusters if not c.boilerplate), "cluster"),
        listed((cluster_entry(c, texts) for c in result.clusters if c.boilerplate), "cluster"),
        calibration(result),
    )
    if result.options.get("pairs"):
        report["pairs"] = listed(
            pair_row(p.a.level, _place(p.a), _place(p.b), p.evidence) for p in result.pairs
        )
    return report


def laid_out(
    options: dict[str, Any],
    totals: dict[str, int],
    lsh: dict[str, Any],
    skipped: list[dict[str, Any]],
    suppressed: list[dict[str, Any]],
    files: list[str],
    documents: Iterable[Any],
    clusters: Iterable[Any],
    boilerplate: Iterable[Any],
    calibrated: dict[str, Any],
) -> Report:
    """The report's fields, in the order it gives them (from either engine)."""
    return {
        "dedup_report": REPORT_VERSION,
        "tool": {"name": "dedup", "version": __version__},
        "options": options,
        "fields": FIELDS,
        "stats": totals,
        "lsh": lsh,
        "skipped": skipped,
        "suppressed": suppressed,
        "files": files,
        "documents": documents,
        "clusters": clusters,
        "boilerplate": boilerplate,
        "calibration": calibrated,
    }


def unpacked(report: Report) -> Report:
    """A JSON report (as read) with its documents, clusters, their places and its pairs as
    objects, named by its `fields`: `{"doc", "start", "end", "line", ...}` for `[doc,
    start, end, line, ...]` (a null: a field absent), and no `fields` left.  What is an
    object already (every entry of version 3, documents and clusters of version 4, a
    report unpacked) stays as it is."""
    fields = report.get("fields")
    if not fields:
        return report

    def named(kind: str, values: Any) -> Any:
        if not isinstance(values, list):
            return values
        return {
            name: value
            for name, value in zip(fields[kind], values, strict=False)
            if value is not None
        }

    def cluster(entry: Any) -> dict[str, Any]:
        entry = named("cluster", entry)
        return {
            **entry,
            "survivor": named("survivor", entry["survivor"]),
            "duplicates": [named("duplicate", d) for d in entry["duplicates"]],
        }

    out = {name: value for name, value in report.items() if name != "fields"}
    files = report.get("files", [])
    out["documents"] = [named("document", doc) for doc in report.get("documents", [])]
    for doc in out["documents"]:
        if isinstance(doc.get("file"), int):
            doc["file"] = files[doc["file"]]
    for section in ("clusters", "boilerplate"):
        out[section] = [cluster(entry) for entry in report.get(section, [])]
    if "pairs" in report:
        pairs = [named("pair", pair) for pair in report["pairs"]]
        for pair in pairs:
            pair["a"], pair["b"] = (named("survivor", pair[side]) for side in "ab")
        out["pairs"] = pairs
    return out


def json_pieces(report: Report) -> Iterator[bytes]:
    """The report as UTF-8 JSON, a piece at a time, byte-identical for identical runs.

    One top-level field per line and one document, cluster or pair per line:
    readable in a diff.  Items are encoded by orjson, straight to UTF-8 (the
    standard json module and an encode took ten times as long on a 280 MB
    report).  Written piece by piece, a large report never exists whole.
    """
    yield b"{\n"
    for number, (name, value) in enumerate(report.items()):
        yield (b",\n" if number else b"") + orjson.dumps(name) + b": "
        if isinstance(value, list | GeneratorType):
            empty = True
            for index, item in enumerate(value):
                yield (b",\n  " if index else b"[\n  ") + orjson.dumps(item)
                empty = False
            yield b"[]" if empty else b"\n]"
        else:
            yield orjson.dumps(value)
    yield b"\n}\n"


def render_json(report: Report) -> str:
    """The report as JSON text (see json_pieces)."""
    return b"".join(json_pieces(report)).decode("utf-8")


RENDERERS: dict[str, Callable[[Report], str]] = {"json": render_json, "markdown": render_markdown}
