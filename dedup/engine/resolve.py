"""Stage 4, resolve: the verified pairs in, the links and removals of every level out.

Top down (document, section, paragraph, sentence): a level's units in keep order, but
those inside a unit already removed, are clustered (`cluster.clusters`: a unit goes when
verified against a unit that stays); boilerplate (a part repeated across many documents)
is flagged and, unless it is to be removed, kept once a page; a near duplicate loses the
children its survivor repeats (see `children`).
"""

from __future__ import annotations

import array
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dedup.clean import Removal
from dedup.cluster import Link, Links, clusters
from dedup.columns import first_places
from dedup.engine.children import Child, LinkPlace, repeated_batch
from dedup.engine.table import BATCH_DOCS, I64, REMOVAL_COLUMNS, LevelTable, Table, uid
from dedup.engine.verify import Verifier
from dedup.model import REMOVING
from dedup.order import distinct
from dedup.parallel import Workers


@dataclass
class Resolution:
    """What resolving decided, per level and per document."""

    links: list[Links]  # per level, in visiting order
    removals: Removals  # per document, with their whitespace context
    boilerplate: list[set[int]]  # per level, the survivors of boilerplate clusters
    # Per level, the members of boilerplate clusters kept (one a page), sorted.
    spared: list[npt.NDArray[np.int64]] = field(default_factory=list)

    def spared_of(self, li: int, links: Links) -> npt.NDArray[np.bool_]:
        """Which of a level's links are to boilerplate copies kept."""
        return np.isin(links.members, self.spared[li])


def resolve(
    table: Table,
    workers: Workers,
    verifier: Verifier,
    on_links: Callable[[int, Links], None] = lambda li, links: None,
) -> Resolution:
    """Links per level, and the removals (with whitespace context) per document;
    `verifier` verifies the pairs a level's clustering reads, once the levels above are
    resolved; `on_links` is told each level's links as soon as they are made."""
    done = Resolution(
        [],
        Removals(),
        [set() for _ in table.levels],
        [np.empty(0, dtype=np.int64) for _ in table.levels],
    )
    gone = Gone()  # spans taken out so far
    weighed: Weighed = {}
    for li, level in enumerate(table.levels):
        a = level.arrays
        if level.name == "sentence" and li:  # the levels above are done: fresh workers for
            workers.restart()  # the last (100,000 documents: 2 x 150 -> 2 x 120 MiB)
        keyed = np.flatnonzero(a["key"] >= 0)
        # An array, not a list: 2.9 million sentences of 100,000 documents took 111 MB so.
        units = keyed[~gone.covers(*(a[c][keyed] for c in ("doc", "start", "end")))]
        del keyed
        if table.config.cluster.keep == "longest":  # longest first, then in corpus order
            units = units[np.lexsort((units, a["start"][units] - a["end"][units]))]
        verified = verifier.level(li, units)
        if level.name == "sentence":  # the last level, and no children: nothing more for
            workers.close()  # the workers; their memory goes back before its clustering
        links = clusters(units, a["key"], *verified)
        del verified
        done.links.append(links)
        on_links(li, links)
        removing = _spare_boilerplate(table, li, links.take(links.relations(REMOVING)), gone, done)
        parts = _repeated_parts(
            table,
            workers,
            li,
            list(removing.take(~removing.relations(["exact"]))),
            weighed,
            verifier.guessed,
        )
        rows = _removal_rows(level, li, removing.members, parts)
        done.removals.extend(rows)
        if li + 1 < len(table.levels):  # only finer levels look at what is gone
            gone.add(rows[0], rows[2], rows[3])  # (document, start, end) of every cut
    return done


def _removal_rows(
    level: LevelTable, li: int, members: I64, parts: dict[int, list[Child]]
) -> list[I64]:
    """The removals of a level's members, in their order, as the columns of `Removals`:
    each member goes whole but those `parts` names, which lose the children it gives (an
    empty list: the survivor repeats none of its parts).  Columns, not a row a member:
    the lists of Python ints and tuples took 400 MB for a million records removed whole."""
    doc, *whole = level.take(("doc", *REMOVAL_COLUMNS), members)
    cut = np.isin(members, np.fromiter(parts, dtype=np.int64, count=len(parts)))
    at = np.flatnonzero(cut)
    cuts = [parts[u] for u in members[at].tolist()]
    counts = np.ones(len(members), dtype=np.int64)
    counts[at] = [len(children) for children in cuts]
    first = np.cumsum(counts) - counts  # each member's first row
    rows = np.empty((8, int(counts.sum())), dtype=np.int64)
    alone = np.flatnonzero(~cut)
    rows[0, first[alone]] = doc[alone]
    rows[1, first[alone]] = uid(li, members[alone])
    for row, column in enumerate(whole, start=2):
        rows[row, first[alone]] = column[alone]
    sizes = counts[at]
    if sizes.sum():
        given = np.array([child for children in cuts for child in children], dtype=np.int64)
        places = np.repeat(first[at] - (np.cumsum(sizes) - sizes), sizes) + np.arange(len(given))
        rows[0, places] = np.repeat(doc[at], sizes)
        rows[1, places] = np.repeat(uid(li, members[at]), sizes)
        rows[2:, places] = given.T
    return list(rows)


class Removals:
    """The units removed, each with the white space around it (see `clean.Removal`), as
    columns until `by_document` makes them a document's at a time: a million records
    removed whole took about 250 bytes each as a list of objects a document."""

    def __init__(self) -> None:
        # document, unit (uid), start, end, ws_before, ws_after, nl_before, nl_after
        self.columns = [array.array("q") for _ in range(8)]

    def extend(self, rows: list[I64]) -> None:
        """Removals, as columns: their documents, then the fields of their `Removal`s (the
        white space around them last: ws_before, ws_after, nl_before, nl_after)."""
        for column, values in zip(self.columns, rows, strict=True):
            column.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())

    def by_document(self) -> Iterator[tuple[int, list[Removal]]]:
        """Each document's removals, in the order they were added, document by document;
        the columns are given up as they are read."""
        docs = np.frombuffer(self.columns[0], dtype=np.int64)
        order = np.argsort(docs, kind="stable")
        docs = docs[order]
        fields = [np.frombuffer(column, dtype=np.int64)[order] for column in self.columns[1:]]
        self.columns = [array.array("q") for _ in range(8)]
        current, removals = -1, list[Removal]()
        for lo in range(0, len(docs), 1 << 16):  # as Python ints, 65,536 rows at a time
            rows = zip(*(field[lo : lo + (1 << 16)].tolist() for field in fields), strict=True)
            for doc, row in zip(docs[lo : lo + (1 << 16)].tolist(), rows, strict=True):
                if doc != current:
                    if removals:
                        yield current, removals
                    current, removals = doc, []
                removals.append(Removal._make(row))
        if removals:
            yield current, removals


class Gone:
    """The spans taken out of the documents so far (removed, or kept as boilerplate), in
    the order they were added, for asking which units lie inside one, all at once.

    A unit lies inside a span when a span of its document starting at or before it ends
    at or after it: the greatest end of the spans so far, by start.  Spans of one level
    are disjoint, but a level's may start where an earlier level's does: a paragraph
    kept as boilerplate whose first sentence a near duplicate lost above it.  Columns,
    not a list of spans a document: asking a unit at a time took 0.8 s of the default
    run on 20,000 French documents.
    """

    def __init__(self) -> None:
        self.parts: list[tuple[I64, I64, I64]] = []  # (documents, starts, ends), as added

    def add(self, docs: I64, starts: I64, ends: I64) -> None:
        if len(docs):
            self.parts.append(_wide(docs, starts, ends))

    def covers(self, docs: I64, starts: I64, ends: I64) -> npt.NDArray[np.bool_]:
        """Whether each unit (document, start, end) lies inside a span; the units asked a
        block at a time (the sentences of 200,000 documents made 400 MB of arrays at once)."""
        covered = np.zeros(len(docs), dtype=bool)
        if not self.parts or not len(docs):
            return covered
        span_docs, span_starts, span_ends = (
            np.concatenate([part[i] for part in self.parts]) for i in range(3)
        )
        self.parts = [(span_docs, span_starts, span_ends)]
        width = int(max(span_ends.max(), ends.max())) + 1
        order = np.lexsort((span_starts, span_docs))  # by document and start
        keys = span_docs[order] * width + span_starts[order]
        # The greatest end so far, a document's after every earlier document's: as
        # document * width + end, its running maximum is its own document's.
        reach = np.maximum.accumulate(span_docs[order] * width + span_ends[order])
        for lo in range(0, len(docs), _ASKED):
            block = slice(lo, lo + _ASKED)
            wide_docs, wide_starts, wide_ends = _wide(docs[block], starts[block], ends[block])
            at = np.searchsorted(keys, wide_docs * width + wide_starts, "right") - 1
            found = reach[np.maximum(at, 0)]
            covered[block] = (at >= 0) & (found >= wide_docs * width + wide_ends)
        return covered


#: Units `Gone.covers` asks about at once.
_ASKED = 1 << 20


def _wide(docs: I64, starts: I64, ends: I64) -> tuple[I64, I64, I64]:
    """Units' columns as int64 (the table's are narrower), for arithmetic past two
    billion."""
    wide = np.int64
    return (
        docs.astype(wide, copy=False),
        starts.astype(wide, copy=False),
        ends.astype(wide, copy=False),
    )


def _spare_boilerplate(
    table: Table, li: int, removing: Links, gone: Gone, done: Resolution
) -> Links:
    """Flag the boilerplate clusters of a level; unless it is to be removed, keep
    their units (and shield them from finer levels).  Returns the links to remove.

    Boilerplate is a part of documents repeated across them (a byline, a footer): a
    member that is a whole document (a record posted again) is a duplicate however
    many copies there are, and neither counts towards the spread nor is spared (#27).
    """
    a = table.levels[li].arrays
    members = removing.members
    whole = (a["ws_before"][members] == 0) & (
        a["ws_after"][members] == table.doc_chars[a["doc"][members]]
    )
    survivors = removing.survivors[~whole]
    members = members[~whole]
    del whole
    # The documents each survivor's cluster spreads over: distinct survivor * D + document
    # (np.unique of (survivor, document) rows took 0.6 s for 960,000 of them, this 0.05 s),
    # made in place, and the survivors' own documents added to the distinct pairs: the 2.8
    # million sentence links of 100,000 documents peaked at 290 MB.
    width = len(table.docs)
    spread = survivors * width
    spread += a["doc"][members]
    spread = distinct(spread)
    own = distinct(spread // width)
    spread = distinct(np.concatenate((spread, own * width + a["doc"][own])))
    spread //= width  # the survivor of each (survivor, document), sorted
    starts = np.flatnonzero(np.diff(spread, prepend=-1))
    docs = np.diff(starts, append=len(spread))
    rule = table.config.cluster
    flagged_units = spread[starts[docs >= rule.boilerplate_line(table.corpus_docs or width)]]
    del spread, starts, docs, own
    flagged = set(flagged_units.tolist())
    done.boilerplate[li] = flagged
    if rule.boilerplate == "remove" or not flagged:
        return removing
    # Boilerplate is kept once a page: a second copy in a page that has one already
    # (a byline printed twice, a title printed twice on a tag page) is a duplicate.
    # Of each boilerplate survivor's links, the first to each page but its own.
    doc = a["doc"]
    is_flagged = np.zeros(len(doc), dtype=bool)
    is_flagged[flagged_units] = True
    boiler = is_flagged[survivors]  # the links of boilerplate clusters, the others let go
    survivors, members = survivors[boiler], members[boiler]
    del boiler, is_flagged
    pages = doc[members]
    page_of = survivors * width  # (survivor, page), made in place
    page_of += pages
    chosen = first_places(page_of)
    del page_of
    chosen = chosen[pages[chosen] != doc[survivors[chosen]]]
    spare = members[chosen]
    del survivors, members, pages, chosen
    done.spared[li] = np.sort(spare)
    if li + 1 < len(table.levels):  # only finer levels look at what is gone
        kept = np.concatenate((flagged_units, spare))
        gone.add(*(a[c][kept] for c in ("doc", "start", "end")))
    is_spared = np.zeros(len(doc), dtype=bool)
    is_spared[spare] = True
    return removing.take(~is_spared[removing.members])


#: The children near duplicates lose (None: the unit goes whole), by (survivor's document,
#: start, end, member's document, start, end): a section that is its whole document,
#: near the same survivor, loses what the document lost, weighed once.
Weighed = dict[tuple[int, int, int, int, int, int], list[Child] | None]


def _repeated_parts(
    table: Table,
    workers: Workers,
    li: int,
    links: list[Link],
    weighed: Weighed,
    guessed: Mapping[tuple[int, int], list[Child] | None],
) -> dict[int, list[Child]]:
    """For near and contained duplicates, the children the survivor really repeats.

    A section or document loses the paragraphs its survivor repeats (and the sentences of
    those it nearly repeats), a paragraph the sentences; what the survivor lacks stays in
    the output.  Links are read and sent to the workers a batch at a time, but those the
    level above weighed already (`weighed`: the document and section levels weigh alike)
    and those verification checked already (`guessed`, by member and survivor key: the
    member the first copy of its text, whose place verification read).
    """
    level = table.levels[li]
    if level.name == "sentence" or not links:
        return {}
    a = level.arrays
    # A later copy of a member's text goes whole: what its first copy keeps, and what the
    # survivor repeats, hold all of it.  Cut as its first copy, it kept twice a part the
    # finer levels do not weigh (a short sentence), and cleaning again removed one.
    firsts = first_places(a["key"][np.array([link.member for link in links])])
    links = [links[i] for i in firsts.tolist()]
    sides = [np.array([link.survivor for link in links]), np.array([k.member for k in links])]
    places = np.stack([a[c][side] for side in sides for c in ("doc", "start", "end")], 1).tolist()
    keys = {link.member: tuple(place) for link, place in zip(links, places, strict=True)}
    alike = level.name != "paragraph"
    out: dict[int, list[Child]] = {}

    def found(u: int, kept: list[Child] | None) -> None:
        if alike:
            weighed[keys[u]] = kept
        if kept is not None:
            out[u] = kept

    # Each link's texts (keys), and whether its member is its text's first unit.
    texts, survivors = (a["key"][side] for side in sides[::-1])
    first_copy = (level.key_unit[texts] == sides[1]).tolist()
    fresh = []
    for link, text, survivor, first in zip(
        links, texts.tolist(), survivors.tolist(), first_copy, strict=True
    ):
        key = keys[link.member]
        if alike and key in weighed:
            found(link.member, weighed[key])
        elif first and (text, survivor) in guessed:
            found(link.member, guessed[text, survivor])
        else:
            fresh.append(link)
    work = functools.partial(repeated_batch, level=level.name, config=table.config)
    # By member's document, then survivor: a document's links share a batch, which
    # reads it and finds its paragraphs once (a page of a thousand near repeats is
    # not segmented a thousand times), and a survivor is shingled once a batch.
    fresh.sort(key=lambda link: (int(a["doc"][link.member]), link.survivor))
    for answers in workers.map(work, _link_batches(table, li, fresh)):
        for u, kept in answers:
            found(u, kept)
    return out


def _link_batches(table: Table, li: int, links: list[Link]) -> Iterator[list[LinkPlace]]:
    """The links (sorted by member's document) in batches of about BATCH_DOCS, a
    document's links never split between two batches."""
    a = table.levels[li].arrays
    docs = a["doc"][[k.member for k in links]].tolist()
    start = 0
    for i in range(1, len(links) + 1):
        if i == len(links) or (i - start >= BATCH_DOCS and docs[i] != docs[i - 1]):
            yield _link_places(table, li, links[start:i])
            start = i


def _link_places(table: Table, li: int, links: list[Link]) -> list[LinkPlace]:
    """(member, survivor's document and span, member's document and span, the
    member's paragraphs from the paragraph level if the run has one) of each link."""
    a = table.levels[li].arrays
    below = [level.arrays for level in table.levels[li + 1 :] if level.name == "paragraph"]
    members = np.array([k.member for k in links], dtype=np.int64)
    survivors = np.array([k.survivor for k in links], dtype=np.int64)
    docs, starts, ends = (a[c][members] for c in ("doc", "start", "end"))
    kids: list[list[tuple[int, int]] | None] = [None] * len(links)
    if below:
        p = below[0]
        # Each member's document's paragraphs, looked up at once and in the column's own
        # type: a list of Python ints had numpy copy the whole column each call.
        wanted = docs.astype(p["doc"].dtype)
        bounds = zip(
            np.searchsorted(p["doc"], wanted, "left").tolist(),
            np.searchsorted(p["doc"], wanted, "right").tolist(),
            starts.tolist(),
            ends.tolist(),
            strict=True,
        )
        for n, (lo, hi, start, end) in enumerate(bounds):
            paragraphs = p["start"][lo:hi]
            # Sought in the column's own type: a list of Python ints had numpy copy the
            # document's paragraphs each time (a page of 40 MB: 8 s of its children check).
            sought = np.array([start, end], dtype=paragraphs.dtype)
            first, last = (lo + np.searchsorted(paragraphs, sought)).tolist()
            inside = p["end"][first:last] <= end
            kids[n] = list(
                zip(
                    p["start"][first:last][inside].tolist(),
                    p["end"][first:last][inside].tolist(),
                    strict=True,
                )
            )
    return list(
        zip(
            members.tolist(),
            table.places(a["doc"][survivors]),
            zip(a["start"][survivors].tolist(), a["end"][survivors].tolist(), strict=True),
            table.places(docs),
            zip(starts.tolist(), ends.tolist(), strict=True),
            kids,
            strict=True,
        )
    )
