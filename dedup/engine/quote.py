"""Stage 5, quote: the units the links name in, their texts (and the text of every cut) out.

Documents are read again only to quote them: by a thread of the main process while the
workers still check children (`EarlyQuotes`, document level alone), else at the end.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from dedup.cluster import Links
from dedup.engine.table import I64, Table, read_places, uid
from dedup.fingerprint import first_places
from dedup.io.texts import TextSpool
from dedup.model import Quote, Segment, text_of


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

    def read(self, li: int, links: Links) -> None:
        # Only for a run of the document level alone.  With several levels, a document
        # would be read once a level, while the main process is busy with the next
        # level's links (20,000 documents, every level: 26.8 -> 29.4 s).  A finer unit's
        # cut takes the whitespace beside it, which its quote lacks, so its document is
        # read again anyway, and the quotes held while the workers live only add to the
        # peak (100,000 documents, paragraph level: 32.6 -> 33.4 s, 851 -> 937 MiB).
        # With the documents' whole texts wanted, every document is read at the end.
        only_documents = [level.name for level in self.table.levels] == ["document"]
        if not only_documents or self.table.config.run.document_texts or not links:
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
        wanted: dict[int, dict[tuple[int, int], None]] = {}
        _add_units(wanted, li, self.table.levels[li].arrays["doc"], links)
        numbers = sorted(wanted)
        spans = _spans_of(self.table, wanted, numbers)
        for number, text, found in zip(numbers, _texts(self.table, numbers), spans, strict=True):
            if self.stop.is_set():
                return
            for unit, (start, end) in zip(wanted[number], found, strict=True):
                self.quotes[unit] = self.spool.keep(text[start:end])


def _texts(table: Table, numbers: list[int]) -> Iterator[str]:
    """The texts of these documents, in order, read again (from the run's copies where it
    has them: 12 us for a French page of 4.8 KB, against 22 us for its JSONL record parsed
    again) a thousand at a time."""
    for lo in range(0, len(numbers), 1024):
        yield from read_places([table.place(n) for n in numbers[lo : lo + 1024]], table.config)


def _add_units(
    wanted: dict[int, dict[tuple[int, int], None]],
    li: int,
    docs: I64,
    links: Links,
    spared: npt.NDArray[np.bool_] | None = None,
) -> None:
    """Add the (level, unit)s these links name to `wanted`, under their documents; not
    the boilerplate copies `spared` (kept, and not quoted: see model.Kept)."""
    members = links.members if spared is None else links.members[~spared]
    units = np.concatenate((links.survivors, members))
    # Each unit once, where it first comes: a boilerplate survivor is named by every link.
    units = units[first_places(units)]
    for number, u in zip(docs[units].tolist(), units.tolist(), strict=True):
        wanted.setdefault(number, {})[li, u] = None


def _spans_of(
    table: Table, wanted: dict[int, dict[tuple[int, int], None]], numbers: list[int]
) -> list[list[tuple[int, int]]]:
    """The spans of the units wanted, a list a document (of `numbers`, in that order),
    gathered at once: a document at a time cost a numpy call each."""
    every = table.spans([unit for number in numbers for unit in wanted[number]])
    out = []
    at = 0
    for number in numbers:
        out.append(every[at : at + len(wanted[number])])
        at += len(wanted[number])
    return out


def from_quotes(
    quotes: dict[tuple[int, int], str | Quote],
    units: list[tuple[int, int]],
    spans: list[tuple[int, int]],
    cuts: Sequence[tuple[int, int]],
    spool: TextSpool,
) -> list[str | Quote] | None:
    """A document's unit texts then cut texts, from the quotes of its units; None if
    a unit has none or a cut lies outside every unit.  A cut that is a whole unit is
    that unit's quote; a part of one is kept in `spool` anew."""
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
                out.append(spool.keep(text_of(text)[start - us : end - us]))
                break
        else:
            return None
    return out


def quote(
    table: Table,
    links_per_level: list[Links],
    doc_cuts: Mapping[int, Sequence[tuple[int, int]]],
    early: EarlyQuotes,
    spared: list[npt.NDArray[np.bool_]] | None = None,
) -> tuple[dict[int, Segment], dict[int, tuple[str | Quote, ...]], list[tuple[str, str]]]:
    """Segments (with text) of every unit named by a link, the text of every cut, and
    the documents' whole texts if the run wants them (for the HTML report).

    The texts come from the quotes `EarlyQuotes` read while the workers worked,
    where they hold the document's units and cuts, else from the corpus, read
    again here: sending the texts back from workers took longer (100,000
    documents: 1.6 -> 1.1 s).
    """
    documents: list[tuple[str, str]] = []  # (id, text) of every document wanted whole
    # Each unit once: a boilerplate survivor is named by every link to it.
    wanted: dict[int, dict[tuple[int, int], None]] = {n: {} for n in doc_cuts}
    for li, links in enumerate(links_per_level):
        quiet = None if spared is None else spared[li]
        _add_units(wanted, li, table.levels[li].arrays["doc"], links, quiet)
    numbers = sorted(wanted)
    read_early = early.finish()
    whole = table.config.run.document_texts  # every document is wanted whole, too
    spans_of = dict(zip(numbers, _spans_of(table, wanted, numbers), strict=True))
    held = {
        number: None
        if whole or not read_early
        else from_quotes(
            read_early,
            list(wanted[number]),
            spans_of[number],
            doc_cuts.get(number, ()),
            early.spool,
        )
        for number in numbers
    }
    again = _texts(table, [number for number in numbers if held[number] is None])
    quotes: dict[tuple[int, int], str | Quote] = {}
    texts: dict[int, tuple[str | Quote, ...]] = {}
    keep = early.spool.keep
    for number in numbers:
        units = list(wanted[number])
        cut = held[number]
        if cut is None:  # an early quote, where there is one, is the same text
            text = next(again)
            spans = spans_of[number]
            cut = [
                read_early.get(u) or keep(text[s:e]) for u, (s, e) in zip(units, spans, strict=True)
            ]
            cut += [keep(text[s:e]) for s, e in doc_cuts.get(number, ())]
            if table.config.run.document_texts:
                documents.append((table.docs.ids[number], text))
        quotes.update(zip(units, cut, strict=False))
        texts[number] = tuple(cut[len(units) :])
    out: dict[int, Segment] = {}
    for li in range(len(table.levels)):
        mine = [u for (level, u) in quotes if level == li]
        found = table.segments(li, mine, [quotes[li, u] for u in mine])
        out.update((uid(li, u), segment) for u, segment in zip(mine, found, strict=True))
    return out, texts, documents
