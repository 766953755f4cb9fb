"""Stage 6, result: the decisions and quotes in, the run's Result out (clusters, every
document's figures, pairs, LSH figures); then the cleaned documents, for the writers.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dedup.clean import clean, merge, pieces
from dedup.cluster import Link
from dedup.engine.quote import EarlyQuotes, quote
from dedup.engine.resolve import Resolution
from dedup.engine.table import Table, narrowed, uid
from dedup.engine.verify import Related
from dedup.io.documents import InputFile
from dedup.io.records import escaped
from dedup.io.writers import record_bytes
from dedup.model import (
    REMOVING,
    Cluster,
    DocFigures,
    Document,
    KeptCopies,
    Member,
    Pair,
    Quote,
    Result,
    Segment,
)

#: A document's removed spans, in order, touching ones joined.
Cut = tuple[tuple[int, int], ...]


def build_result(
    table: Table,
    done: Resolution,
    related: list[Related],
    early: EarlyQuotes,
) -> Result:
    """The Result of a run, from its table and what resolving decided.

    `done.removals` is consumed: each document's are freed as its cuts are made, before
    the quotes and clusters are (a million records removed whole: 200 MB of them).
    """
    cuts: dict[int, list[tuple[int, int]]] = {}
    doc_cuts: dict[int, Cut] = {}  # the same tuples as the result's documents hold
    removals, done.removals = done.removals, {}
    for number in list(removals):
        per_unit = pieces(removals.pop(number), table.docs.chars[number])
        cuts.update(per_unit)
        doc_cuts[number] = tuple(merge([span for spans_ in per_unit.values() for span in spans_]))
    spared = [done.spared_of(li, links) for li, links in enumerate(done.links)]
    quoted, removed_text, documents = quote(table, done.links, doc_cuts, early, spared)
    return Result(
        table.config.as_dict(),
        _doc_stats(table, done, spared, doc_cuts, removed_text),
        tuple(_clusters(table, done, spared, quoted, cuts, doc_cuts)),
        _lsh(table, related),
        # The pairs' places only when they are to be listed: the calibration needs their
        # scores alone, and a place is a Segment each side.
        tuple(_pairs(table, related)) if table.config.output.pairs else (),
        tuple(table.corpus.skipped),
        tuple(
            segment
            for li, level in enumerate(table.levels)
            for segment in table.segments(li, np.flatnonzero(level.arrays["suppressed"]).tolist())
        ),
        tuple(documents),
        tuple(evidence for found in related for _, _, evidence in found),
    )


def _clusters(
    table: Table,
    done: Resolution,
    spared: list[npt.NDArray[np.bool_]],
    quoted: dict[int, Segment],
    cuts: dict[int, list[tuple[int, int]]],
    doc_cuts: dict[int, Cut],
) -> list[Cluster]:
    grouped: dict[tuple[int, int], list[Link]] = {}  # the links of each cluster, by member
    kept_of: dict[tuple[int, int], KeptCopies] = {}
    ids = table.docs.ids
    for li, links in enumerate(done.links):
        # The links to copies kept apart from the others, each by survivor, then member:
        # a cluster's removed (or overlapping) members are a run, its kept copies another.
        quiet = spared[li]
        order = np.lexsort((links.members, links.survivors, quiet))
        quiet, survivors, linked = quiet[order], links.survivors[order], links.members[order]
        change = np.diff(survivors, prepend=-1) != 0
        change[1:] |= quiet[1:] != quiet[:-1]
        bounds = [*np.flatnonzero(change).tolist(), len(order)]
        a = table.levels[li].arrays
        docs, begins, ends = (a[c][linked] for c in ("doc", "start", "end"))
        for start, end in itertools.pairwise(bounds):
            key = li, int(survivors[start])
            if quiet[start]:  # kept, not quoted: their places as columns (see KeptCopies)
                kept_of[key] = KeptCopies(
                    ids,
                    docs[start:end],
                    begins[start:end],
                    ends[start:end],
                    [links.evidence[i] for i in order[start:end].tolist()],
                )
                grouped.setdefault(key, [])
            else:
                grouped[key] = [
                    Link(key[1], member, links.evidence[i])
                    for member, i in zip(
                        linked[start:end].tolist(), order[start:end].tolist(), strict=True
                    )
                ]
    out: list[Cluster] = []
    for number, (li, survivor) in enumerate(sorted(grouped), start=1):
        members = []
        kept = kept_of.get((li, survivor)) or KeptCopies.empty()
        a = table.levels[li].arrays
        for link in grouped[li, survivor]:
            segment = quoted[uid(li, link.member)]
            if link.evidence.relation in REMOVING:  # its children's cuts, touching ones joined
                removed = tuple(merge(cuts.get(uid(li, link.member), ())))
            else:  # overlap: what lower levels cut inside it
                doc = int(a["doc"][link.member])
                removed = tuple(
                    (s, e)
                    for s, e in doc_cuts.get(doc, ())
                    if s >= segment.start and e <= segment.end
                )
            members.append(Member(segment, link.evidence, removed))
        boilerplate = survivor in done.boilerplate[li]
        if boilerplate and table.config.cluster.boilerplate == "keep":
            continue  # kept without a word, as asked
        out.append(
            Cluster(
                f"c{number:05d}",
                table.levels[li].name,
                quoted[uid(li, survivor)],
                tuple(members),
                boilerplate,
                kept,
            )
        )
    return out


def _pairs(table: Table, related: list[Related]) -> Iterator[Pair]:
    for li, found in enumerate(related):
        firsts = table.segments(li, [a for a, _, _ in found])
        seconds = table.segments(li, [b for _, b, _ in found])
        for first, second, (_, _, evidence) in zip(firsts, seconds, found, strict=True):
            yield Pair(first, second, evidence)


def _doc_stats(
    table: Table,
    done: Resolution,
    spared: list[npt.NDArray[np.bool_]],
    doc_cuts: dict[int, Cut],
    removed_text: dict[int, tuple[str | Quote, ...]],
) -> DocFigures:
    units = np.zeros(len(table.docs), dtype=np.int64)
    dups = np.zeros(len(table.docs), dtype=np.int64)
    for li, level in enumerate(table.levels):
        a = level.arrays
        units += np.bincount(a["doc"][a["key"] >= 0], minlength=len(table.docs))
        links = done.links[li]
        removed = links.members[links.relations(REMOVING) & ~spared[li]]
        dups += np.bincount(a["doc"][removed], minlength=len(table.docs))
    docs = table.docs
    # A document's place among its file's documents: its number less its file's first's.
    files = np.frombuffer(docs.file, dtype=np.int32)
    firsts = np.flatnonzero(np.diff(files, prepend=-1))
    records = np.arange(len(files)) - np.repeat(firsts, np.diff(np.append(firsts, len(files))))
    return DocFigures(
        docs.ids,
        docs.file,
        docs.line,
        docs.offset,
        docs.chars,
        narrowed(units),
        narrowed(dups),
        narrowed(records),
        [file.name for file in table.corpus.files],
        docs.paths,
        [file.label for file in table.corpus.files],
        {number: cut for number, cut in doc_cuts.items() if cut},
        {number: text for number, text in removed_text.items() if text},
    )


def _lsh(table: Table, related: list[Related]) -> dict[str, object]:
    out: dict[str, object] = {"bands": table.params.bands, "rows": table.params.rows}
    for li, level in enumerate(table.levels):
        out[level.name] = {
            "distinct_texts": len(level.key_unit),
            "candidate_pairs": sum(level.candidates.values()),
            "verified_pairs": len(related[li]),
        }
    return out


@dataclass
class Written:
    """What writing the cleaned documents tells their figures: the JSONL records left out
    (their lines as they would have been written), and the cleaned records whose lines
    write their strings escaped to ASCII (`restore` writes them back so)."""

    dropped: dict[int, str] = field(default_factory=dict)
    escaped: set[int] = field(default_factory=set)


def cleaned(
    table: Table, result: Result, written: Written
) -> Iterator[tuple[InputFile, Document, str]]:
    """Every document cleaned, in corpus order, but the JSONL records that cleaning
    emptied: those are left out (unless asked to keep them) and kept in `written`."""
    cuts = result.documents.cuts
    keep_empty = table.config.output.keep_empty
    fields = table.config.input.text_field, table.config.input.id_field
    for number, doc in table.reread(range(len(table.docs))):
        file = table.corpus.files[table.docs.file[number]]
        removed = cuts.get(number, ())
        text = clean(doc.text, removed)
        if removed and doc.line is not None and escaped(doc.line, doc.text):
            written.escaped.add(number)
        if file.jsonl and not keep_empty and removed and not text.strip():
            written.dropped[number] = record_bytes(doc, text, *fields).decode("utf-8")
            continue
        yield file, doc, text


def with_written(result: Result, written: Written) -> Result:
    """`result` with what writing the cleaned documents told (see `Written`) in their
    documents' figures."""
    if not written.dropped and not written.escaped:
        return result
    documents = result.documents.with_written(written.dropped, written.escaped)
    return dataclasses.replace(result, documents=documents)
