"""Stage 5, quote: the units the links name in, their texts (and the text of every cut) out.

Documents are read again only to quote them: by a thread of the main process while the
workers still check children (`EarlyQuotes`, document level alone), else at the end.
"""

from __future__ import annotations

import array
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.cluster import Links
from dedup.columns import KeyedSpans, python_ints
from dedup.engine.places import read_places
from dedup.engine.table import I64, Table
from dedup.io.texts import SHORT, TextSpool
from dedup.model import Quote
from dedup.order import distinct


class EarlyQuotes:
    """The texts of the documents a document-level run links, read by a thread of the
    main process while the workers check their children (the main process mostly
    waits on them then), so that the report needs few documents read again at its end.

    Each level's documents are read in order, in jobs taken one after another;
    `finish` waits for them and raises what a job raised.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.spool = TextSpool()  # where the run's long quotes are kept
        self.quotes: dict[tuple[int, int], str | Quote] = {}
        self.jobs: queue.SimpleQueue[tuple[int, Links] | None] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def wanted(self) -> bool:
        """Whether the run quotes early: only a run of the document level alone.

        With several levels, a document would be read once a level, while the main
        process is busy with the next level's links (20,000 documents, every level: 26.8
        -> 29.4 s).  A finer unit's cut takes the whitespace beside it, which its quote
        lacks, so its document is read again anyway, and the quotes held while the
        workers live only add to the peak (100,000 documents, paragraph level: 32.6 ->
        33.4 s, 851 -> 937 MiB).  With the documents' whole texts wanted, every document
        is read at the end."""
        config = self.table.config
        return config.segment.documents_alone and not config.run.document_texts

    def given(self, li: int, units: list[int], texts: list[str | bytes]) -> None:
        """The texts of units the workers read (a long one as UTF-8): their documents are
        not read again for them."""
        if not self.wanted():
            return
        # The short ones as they are, the long ones Quotes, written to the spool at once.
        long = iter(self.spool.keep_encoded([text for text in texts if isinstance(text, bytes)]))
        quotes = [text if isinstance(text, str) else next(long) for text in texts]
        self.quotes.update(((li, unit), quote) for unit, quote in zip(units, quotes, strict=True))

    def read(self, li: int, links: Links) -> None:
        """Quote the units these links name, those not `given`, from a thread."""
        if not self.wanted() or not links:
            return
        if self.thread is None:
            self.thread = threading.Thread(target=self._serve, name="dedup-quotes", daemon=True)
            self.thread.start()
        self.jobs.put((li, links))

    def finish(self) -> dict[tuple[int, int], str | Quote]:
        """The quotes read, once every job is done."""
        self.close(wait=True)
        if self.error is not None:
            raise self.error
        return self.quotes

    def close(self, wait: bool = False) -> None:
        if not wait:
            self.stop.set()
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None

    def _serve(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                self._read(*job)
        except BaseException as exc:  # handed to the main thread by finish()
            self.error = exc

    def _read(self, li: int, links: Links) -> None:
        units = _Wanted.of_links(self.table, [(li, links)], None)
        numbers = np.unique(units.docs)
        firsts, lasts = units.bounds(numbers)
        held = self.quotes
        unread = [
            i
            for i in range(len(numbers))
            if any(units.unit(k) not in held for k in range(firsts[i], lasts[i]))
        ]
        for i, text in zip(unread, _texts(self.table, numbers[unread]), strict=True):
            if self.stop.is_set():
                return
            for k in range(firsts[i], lasts[i]):
                self.quotes[units.unit(k)] = self.spool.keep(text[units.starts[k] : units.ends[k]])


def _texts(table: Table, numbers: Sequence[int] | I64) -> Iterator[str]:
    """The texts of these documents, in order, read again a thousand at a time: from the
    run's copies where it has them (12 us for a French page of 4.8 KB, against 22 us for
    its JSONL record parsed again), from the corpus at the document level alone, which
    makes none (see `SegmentConfig.documents_alone`)."""
    for lo in range(0, len(numbers), 1024):
        some = numbers[lo : lo + 1024]
        yield from read_places(table.places(some), table.config)


def from_quotes(
    quotes: dict[tuple[int, int], str | Quote],
    units: list[tuple[int, int]],
    spans: list[tuple[int, int]],
    cuts: Sequence[tuple[int, int]],
    keep: Callable[[str], str | Quote],
) -> list[str | Quote] | None:
    """A document's unit texts then cut texts, from the quotes of its units; None if
    a unit has none or a cut lies outside every unit.  A cut that is a whole unit is
    that unit's quote; a part of one is a part of that quote, or, of a text held as it
    is, kept (`keep`, a TextSpool's)."""
    if not all(unit in quotes for unit in units):
        return None
    quoted = [quotes[unit] for unit in units]
    out = list(quoted)
    for start, end in cuts:
        for text, (us, ue) in zip(quoted, spans, strict=True):
            if (us, ue) == (start, end):
                out.append(text)
                break
            if us <= start and end <= ue:
                if isinstance(text, Quote):
                    out.append(text.part(start - us, end - us))
                else:
                    out.append(keep(text[start - us : end - us]))
                break
        else:
            return None
    return out


def quote(
    table: Table,
    links_per_level: list[Links],
    doc_cuts: KeyedSpans,
    early: EarlyQuotes,
    spared: list[npt.NDArray[np.bool_]] | None = None,
) -> tuple[Quoted, list[str | Quote], list[tuple[str, str]]]:
    """The text of every unit named by a link and of every cut of the documents (frozen
    `doc_cuts`, in their order), each kind only if the run wants it (`RunConfig.unit_texts`,
    `removed_texts`: "" else), and the documents' whole texts if the run wants them (for
    the HTML report).

    The texts come from the quotes `EarlyQuotes` read while the workers worked,
    where they hold the document's units and cuts, else from the corpus, read
    again here: sending the texts back from workers took longer (100,000
    documents: 1.6 -> 1.1 s).  The units and cuts wanted are columns sorted by
    document, each document's taken as its text is read: a million records removed
    whole took 1.1 GB more, and 10 s, as a dictionary of units a document.
    """
    run = table.config.run
    read_early = early.finish()
    # The units' texts where a report or the caller reads them (the JSON report quotes
    # the removed text alone: 100,000 French documents, every level, 1.2 s of quoting
    # kept in vain), or where the early quotes hold them, which are the cuts' too.
    named = run.unit_texts or bool(read_early)
    units = _Wanted.of_links(table, enumerate(links_per_level) if named else (), spared)
    removed: list[str | Quote] = [""] * len(doc_cuts.starts)
    cuts = _Wanted.of_cuts(doc_cuts) if run.removed_texts else _Wanted.nothing()
    numbers = np.union1d(units.docs, cuts.docs)
    spans = (*units.bounds(numbers), *cuts.bounds(numbers))  # each document's, both kinds
    whole = run.document_texts  # every document is wanted whole, too
    keep = _once(early.spool.keep)
    unit_texts: list[str | Quote] = [""] * len(units.docs)
    again = np.arange(len(numbers))  # the documents read again: those the early quotes lack
    if read_early and not whole:
        again = again[
            [
                not _from_early(i, spans, units, cuts, read_early, keep, unit_texts, removed)
                for i in range(len(numbers))
            ]
        ]
    documents: list[tuple[str, str]] = []  # (id, text) of every document wanted whole
    for i, text in zip(again.tolist(), _texts(table, numbers[again]), strict=True):
        for k in range(spans[0][i], spans[1][i]):
            # An early quote, where there is one, is the same text.
            early_text = read_early.get(units.unit(k)) if read_early else None
            unit_texts[k] = early_text or keep(text[units.starts[k] : units.ends[k]])
        for k in range(spans[2][i], spans[3][i]):
            removed[k] = keep(text[cuts.starts[k] : cuts.ends[k]])
        if whole:
            documents.append((table.docs.ids[int(numbers[i])], text))
    quoted = Quoted([], [], named)
    # An array of objects, read by taking: a million texts looked up through a list of
    # Python ints took 40 MB more at the peak of a million records removed whole.
    every = np.fromiter(unit_texts, dtype=object, count=len(unit_texts))
    del unit_texts
    for li in range(len(table.levels)):
        mine = np.flatnonzero(units.levels == li)
        mine = mine[np.argsort(units.units[mine], kind="stable")]
        quoted.units.append(units.units[mine])
        quoted.texts.append(every[mine])
    return quoted, removed, documents


def _once(keep: Callable[[str], str | Quote]) -> Callable[[str], str | Quote]:
    """`keep`, but a short text kept once: its copies are the same string.  A million
    records of 5,000 texts, removed whole, quoted each as a unit and as a cut, held two
    million strings (180 MB at the peak of the run); those are most of what a run quotes.
    """
    held: dict[str, str | Quote] = {}

    def kept(text: str) -> str | Quote:
        if len(text) >= SHORT:
            return keep(text)
        return held.setdefault(text, text)

    return kept


@dataclass
class Quoted:
    """The texts of the units the links name: each level's units, sorted, and theirs."""

    units: list[I64]
    texts: list[npt.NDArray[np.object_]]  # str | Quote
    held: bool = True  # False: none quoted (see `RunConfig.unit_texts`), each text ""

    def of(self, li: int, units: I64) -> list[str | Quote]:
        """The texts of these units of level `li`."""
        if not self.held:
            return [""] * len(units)
        texts: list[str | Quote] = self.texts[li][np.searchsorted(self.units[li], units)].tolist()
        return texts


@dataclass
class _Wanted:
    """Spans to quote, as columns sorted by document: of units (their level and number),
    or of cuts (no level or number: empty columns)."""

    docs: I64
    levels: npt.NDArray[np.signedinteger[Any]]
    units: I64
    starts: array.array[int]
    ends: array.array[int]

    @classmethod
    def of_links(
        cls,
        table: Table,
        levels: Iterable[tuple[int, Links]],
        spared: list[npt.NDArray[np.bool_]] | None,
    ) -> _Wanted:
        """Every unit these links of these levels name, once (a boilerplate survivor is
        named by every link to it), but the boilerplate copies `spared` (kept, and not
        quoted: see model.Kept)."""
        parts = []
        for li, links in levels:
            members = links.members if spared is None else links.members[~spared[li]]
            named = distinct(np.concatenate((links.survivors, members)).astype(np.int64))
            a = table.levels[li].arrays
            parts.append(
                (
                    a["doc"][named],
                    np.full(len(named), li, dtype=np.int8),
                    named,
                    a["start"][named],
                    a["end"][named],
                )
            )
        return cls.sorted(
            *(
                np.concatenate([part[c] for part in parts]) if parts else np.empty(0, np.int64)
                for c in range(5)
            )
        )

    @classmethod
    def nothing(cls) -> _Wanted:
        """No span at all."""
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, none, array.array("q"), array.array("q"))

    @classmethod
    def of_cuts(cls, doc_cuts: KeyedSpans) -> _Wanted:
        """Every cut of every document, in their order: the frozen columns as they are
        (sorted by document already), no level or unit (a copy of each column took 38 MB
        at the peak of a million records removed whole)."""
        docs = np.frombuffer(doc_cuts.span_keys, dtype=np.int64)
        none = np.empty(0, dtype=np.int64)
        return cls(docs, none, none, doc_cuts.starts, doc_cuts.ends)

    @classmethod
    def sorted(
        cls,
        docs: I64,
        levels: npt.NDArray[np.signedinteger[Any]],
        units: I64,
        starts: I64,
        ends: I64,
    ) -> _Wanted:
        order = np.argsort(docs, kind="stable")
        return cls(
            docs[order].astype(np.int64),
            levels[order],
            units[order].astype(np.int64),
            python_ints(starts[order]),
            python_ints(ends[order]),
        )

    def bounds(self, numbers: I64) -> tuple[array.array[int], array.array[int]]:
        """Where the spans of each of these documents begin and end among the columns."""
        return (
            python_ints(np.searchsorted(self.docs, numbers, "left")),
            python_ints(np.searchsorted(self.docs, numbers, "right")),
        )

    def unit(self, k: int) -> tuple[int, int]:
        """The (level, unit) of the `k`th span."""
        return int(self.levels[k]), int(self.units[k])


def _from_early(
    i: int,
    spans: tuple[array.array[int], ...],
    units: _Wanted,
    cuts: _Wanted,
    read_early: dict[tuple[int, int], str | Quote],
    keep: Callable[[str], str | Quote],
    unit_texts: list[str | Quote],
    removed: list[str | Quote],
) -> bool:
    """Quote the `i`th document's units and cuts from the early quotes, if they hold them."""
    mine = range(spans[0][i], spans[1][i])
    cut = range(spans[2][i], spans[3][i])
    texts = from_quotes(
        read_early,
        [units.unit(k) for k in mine],
        [(units.starts[k], units.ends[k]) for k in mine],
        [(cuts.starts[k], cuts.ends[k]) for k in cut],
        keep,
    )
    if texts is None:
        return False
    for k, text in zip(mine, texts, strict=False):
        unit_texts[k] = text
    for k, text in zip(cut, texts[len(mine) :], strict=True):
        removed[k] = text
    return True
