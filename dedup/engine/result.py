"""Stage 6, result: the decisions and quotes in, the run's Result out (clusters, every
document's figures, pairs, LSH figures); then the cleaned documents, for the writers.
"""

from __future__ import annotations

import array
import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dedup.clean import clean, inside, merge, pieces
from dedup.columns import KeyedSpans
from dedup.engine.quote import EarlyQuotes, Quoted, quote
from dedup.engine.resolve import Resolution
from dedup.engine.table import I64, Table, narrowed, uid
from dedup.engine.verify import Related
from dedup.io.documents import InputFile, Verbatim
from dedup.io.records import escaped
from dedup.io.writers import record_bytes
from dedup.model import (
    REMOVING,
    Cluster,
    DocFigures,
    Document,
    Evidence,
    KeptCopies,
    MemberRows,
    Members,
    Pair,
    Result,
    Segment,
)


def build_result(
    table: Table,
    done: Resolution,
    related: list[Related],
    early: EarlyQuotes,
) -> Result:
    """The Result of a run, from its table and what resolving decided.

    `done.removals` is consumed, a document's made as objects only while its cuts are.
    """
    cuts = KeyedSpans()  # by unit (uid)
    doc_cuts = KeyedSpans()  # by document, touching ones joined: the result's documents'
    for number, removals in done.removals.by_document():
        per_unit = pieces(removals, table.docs.chars[number])
        for unit, spans in per_unit.items():
            cuts.add(unit, spans)
        doc_cuts.add(number, merge([span for spans_ in per_unit.values() for span in spans_]))
    cuts.freeze()
    doc_cuts.freeze()
    spared = [done.spared_of(li, links) for li, links in enumerate(done.links)]
    quoted, doc_cuts.values, documents = quote(table, done.links, doc_cuts, early, spared)
    return Result(
        table.config.as_dict(),
        _doc_stats(table, done, spared, doc_cuts),
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
    quoted: Quoted,
    cuts: KeyedSpans,
    doc_cuts: KeyedSpans,
) -> list[Cluster]:
    found: dict[tuple[int, int], tuple[Members, KeptCopies]] = {}  # by (level, survivor)
    ids = table.docs.ids
    for li, links in enumerate(done.links):
        # The links to copies kept apart from the others, each by survivor, then member:
        # a cluster's removed (or overlapping) members are a run, its kept copies another,
        # and every run of members comes before every run of kept copies.
        quiet = spared[li]
        order = np.lexsort((links.members, links.survivors, quiet))
        quiet, survivors, linked = quiet[order], links.survivors[order], links.members[order]
        change = np.diff(survivors, prepend=-1) != 0
        change[1:] |= quiet[1:] != quiet[:-1]
        bounds = [*np.flatnonzero(change).tolist(), len(order)]
        loud = int(np.count_nonzero(~quiet))
        evidence = links.take(order).evidence  # in that order: members', then kept copies'
        rows = _member_rows(table, li, linked[:loud], evidence[:loud], quoted, cuts, doc_cuts)
        a = table.levels[li].arrays
        docs, begins, ends = (a[c][linked] for c in ("doc", "start", "end"))
        for start, end in itertools.pairwise(bounds):
            key = li, int(survivors[start])
            members, kept = found.get(key, (Members(None, 0, 0), KeptCopies.empty()))
            if quiet[start]:  # kept, not quoted: their places as columns (see KeptCopies)
                kept = KeptCopies(
                    ids,
                    docs[start:end],
                    begins[start:end],
                    ends[start:end],
                    evidence[start:end],
                    int(a["doc"][survivors[start]]),
                )
            else:
                members = Members(rows, start, end)
            found[key] = members, kept
    keys = sorted(found)
    survivor_of: dict[tuple[int, int], Segment] = {}
    for li in range(len(table.levels)):
        mine = np.array([survivor for level, survivor in keys if level == li], dtype=np.int64)
        segments = table.segments(li, mine.tolist(), quoted.of(li, mine))
        survivor_of.update(
            ((li, s), segment) for s, segment in zip(mine.tolist(), segments, strict=True)
        )
    out: list[Cluster] = []
    for number, key in enumerate(keys, start=1):
        li, survivor = key
        boilerplate = survivor in done.boilerplate[li]
        if boilerplate and table.config.cluster.boilerplate == "keep":
            continue  # kept without a word, as asked
        members, kept = found[key]
        level = table.levels[li].name
        out.append(Cluster(f"c{number:05d}", level, survivor_of[key], members, boilerplate, kept))
    return out


def _member_rows(
    table: Table,
    li: int,
    units: I64,
    evidence: Sequence[Evidence],
    quoted: Quoted,
    cuts: KeyedSpans,
    doc_cuts: KeyedSpans,
) -> MemberRows:
    """The members of level `li`'s clusters (`units`, with their `evidence`) as columns:
    where they are, their texts, and what was removed of each (its children's cuts,
    touching ones joined; of one that overlaps, what lower levels cut inside it)."""
    level = table.levels[li]
    names = ("doc", "start", "end", "line", "end_line", "column")
    docs, starts, ends, lines, end_lines, columns = level.take(names, units)
    # A unit's index in its document: its number less its document's first unit's.
    index = units - np.searchsorted(level.arrays["doc"], docs, side="left")
    removing = np.fromiter(
        (found.relation in REMOVING for found in evidence), dtype=bool, count=len(units)
    )
    # Each member's removed spans, a chunk of members at a time: arrays of every member's
    # at once held 40 MB more at the peak of a million records removed whole.
    cut_at, cut_starts, cut_ends = array.array("q", [0]), array.array("q"), array.array("q")
    starts_of_cuts, ends_of_cuts = (np.frombuffer(c, np.int64) for c in (cuts.starts, cuts.ends))
    for lo in range(0, len(units), _MEMBERS_AT_ONCE):
        at = np.arange(lo, min(lo + _MEMBERS_AT_ONCE, len(units)))
        firsts, lasts = cuts.bounds(uid(li, units[at]))  # each member's spans
        # A removed member of one span at most (a record removed whole): that span, in
        # numpy (a member at a time took 2.7 s of a million records removed whole).
        alone = removing[at] & (lasts - firsts <= 1)
        one = np.flatnonzero(alone & (lasts > firsts))
        span_starts, span_ends = starts_of_cuts[firsts[one]], ends_of_cuts[firsts[one]]
        filled = span_starts < span_ends  # an empty span is none (see `merge`)
        others: tuple[list[int], list[int], list[int]] = ([], [], [])  # found one by one
        for k in np.flatnonzero(~alone).tolist():
            if removing[lo + k]:
                removed = merge(cuts.spans(int(firsts[k]), int(lasts[k])))
            else:
                start, end = starts[lo + k], ends[lo + k]
                doc = int(docs[lo + k])
                removed = inside(doc_cuts.get(doc), start, end)
            for s, e in removed:
                others[0].append(k)
                others[1].append(s)
                others[2].append(e)
        # The chunk's spans by member, each member's in the order found.
        owner, found_starts, found_ends = (
            np.concatenate((first[filled], np.array(other, dtype=np.int64)))
            for first, other in zip((one, span_starts, span_ends), others, strict=True)
        )
        order = np.argsort(owner, kind="stable")
        cut_starts.frombytes(found_starts[order].tobytes())
        cut_ends.frombytes(found_ends[order].tobytes())
        counts = np.bincount(owner, minlength=len(at))
        cut_at.frombytes((cut_at[-1] + np.cumsum(counts)).tobytes())
    places = (docs, narrowed(index), starts, ends, lines, end_lines, columns)
    return MemberRows(
        table.docs.ids,
        level.name,
        places,
        quoted.of(li, units),
        evidence,
        (cut_at, cut_starts, cut_ends),
    )


#: Members whose removed spans are found at once (Python lists of their places, a few MB).
_MEMBERS_AT_ONCE = 1 << 16


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
    doc_cuts: KeyedSpans,
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
        doc_cuts,
    )


def _lsh(table: Table, related: list[Related]) -> dict[str, object]:
    out: dict[str, object] = {"bands": table.params.bands, "rows": table.params.rows}
    for li, level in enumerate(table.levels):
        out[level.name] = {
            "distinct_texts": len(level.key_unit),
            "candidate_pairs": level.candidate_pairs,
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
) -> Iterator[tuple[InputFile, Document | Verbatim, str]]:
    """Every document cleaned, in corpus order, but the JSONL records that cleaning
    emptied: those are left out (unless asked to keep them) and kept in `written`.  A
    JSONL record cleaning leaves whole, whose line says what it is, comes as that line
    (`Verbatim`, its text ""), not parsed again."""
    cuts = result.documents.cuts
    keep_empty = table.config.output.keep_empty
    fields = table.config.input.text_field, table.config.input.id_field
    docs, files = table.docs, table.corpus.files
    file_of = np.frombuffer(docs.file, dtype=np.int32)
    as_lines = np.array([f.jsonl and f.parquet is None for f in files], dtype=bool)[file_of]
    as_lines &= np.frombuffer(docs.verbatim, dtype=np.int8) == 1
    as_lines[np.frombuffer(cuts.keys, dtype=np.int64)] = False
    for number, doc in enumerate(table.reread(as_lines)):
        file = files[file_of[number]]
        if isinstance(doc, Verbatim):
            yield file, doc, ""
            continue
        text, escapes, dropped = cleaned_document(file, doc, cuts.get(number), keep_empty, fields)
        if escapes:
            written.escaped.add(number)
        if dropped is not None:
            written.dropped[number] = dropped
            continue
        yield file, doc, text


def cleaned_document(
    file: InputFile,
    doc: Document,
    removed: Sequence[tuple[int, int]] | None,
    keep_empty: bool,
    fields: tuple[str, str],
) -> tuple[str, bool, str | None]:
    """A document without the spans `removed`: its text, whether its record's line
    wrote its strings escaped to ASCII (so will its cleaned line), and the record's line
    if cleaning emptied a JSONL record that is not to be kept (None: it is written)."""
    text = clean(doc.text, removed or ())
    escapes = bool(removed) and doc.line is not None and escaped(doc.line, doc.text)
    if file.jsonl and not keep_empty and removed and not text.strip():
        return text, escapes, record_bytes(doc, text, *fields).decode("utf-8")
    return text, escapes, None


def with_written(result: Result, written: Written) -> Result:
    """`result` with what writing the cleaned documents told (see `Written`) in their
    documents' figures."""
    if not written.dropped and not written.escaped:
        return result
    documents = result.documents.with_written(written.dropped, written.escaped)
    return dataclasses.replace(result, documents=documents)
