"""A batch of documents cut into units, every level at once (`cut`): each unit's row (see
COLUMNS), its raw text and its normalized text.

Units are trimmed spans and what lies between two of them is white space (see
`dedup.segment`), so every unit of a coarser level is a run of the finest level's units.
That gives each unit's columns and normalized text from the finest level's, for all of a
batch's units at once, in numpy: the white space around a unit ends where the finest units
before and after it do, and its normalized text is theirs joined (no step of `normalize`
reaches across white space).  A unit that is no such run (none is, today) is read on its own.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.clean import gap
from dedup.config import Config
from dedup.engine.table import COLUMNS, I64, narrowed
from dedup.errors import InputError
from dedup.facts import marks_of
from dedup.fingerprint import digests
from dedup.model import Level
from dedup.native import native
from dedup.normalize import normalize, normalize_many
from dedup.segment import batch_spans

_NEWLINE = re.compile("\n")
_DIGIT = re.compile(r"\d")
_MARKS = COLUMNS.index("marks")


@dataclass
class LevelUnits:
    """One level's units of a batch, in order.

    A unit's normalized text is made only where it is asked for (`norms`): most are only
    keyed (`keys`), from the finest units' texts, and the level's are made once a batch
    for the few it bands.
    """

    rows: I64  # (units, len(COLUMNS)); the key column -1
    whole: npt.NDArray[np.bool_]  # a unit that is its whole document, but white space
    runs: I64  # the finest units [lo, hi) each unit is made of ([0, 0): none, or hushed)
    joined: str  # the batch's texts, joined
    starts: I64  # and each unit's place in them
    ends: I64
    hushed: npt.NDArray[np.bool_]
    inside: npt.NDArray[np.bool_]  # a sentence that is not the whole of its paragraph
    texts: _Runs  # the finest units' normalized texts
    lengths: I64  # of each unit's normalized text (0 where a marker hushes it)
    own: dict[int, str]  # the normalized texts of the units read on their own

    def raw(self, unit: int) -> str:
        """A unit's text, "" where a marker hushes it."""
        return "" if self.hushed[unit] else self.joined[self.starts[unit] : self.ends[unit]]

    def norms(self, units: I64) -> list[str]:
        """The normalized texts of these units, "" where a marker hushes one."""
        lo, hi = self.runs[units, 0], self.runs[units, 1]
        out = self.texts.joined(lo, hi, hi > lo)
        if self.own:
            for k, unit in enumerate(units.tolist()):
                if unit in self.own:
                    out[k] = self.own[unit]
        return out

    def keys(self, units: I64) -> list[bytes | None]:
        """The exact key of each of these units' normalized texts; None for one read on
        its own, or with nothing left normalized (see `prints._keys`)."""
        lo, hi = self.runs[units, 0], self.runs[units, 1]
        ranged = np.flatnonzero((hi > lo) & (self.lengths[units] > 0))
        keys = np.full(len(units), None, dtype=object)
        keys[ranged] = self.texts.keys(lo[ranged], hi[ranged])
        found: list[bytes | None] = keys.tolist()
        return found


@dataclass
class Layout:
    """A batch's units: every level's, and the normalized text of each finest unit."""

    levels: list[LevelUnits]
    pieces: list[str]


def cut(batch: Sequence[tuple[int, str, str]], levels: Sequence[Level], config: Config) -> Layout:
    """Every level's units of a batch of (document number, id, text)."""
    texts = [text for _, _, text in batch]
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    base = np.concatenate(([0], np.cumsum(lengths)))  # where each text starts in `joined`
    joined = "".join(texts)
    # A sentence's paragraph, whether paragraphs are asked for or not (see `inside`).
    wanted = (*levels, "paragraph") if "sentence" in levels else levels
    found, quiet = batch_spans(texts, wanted, config.segment)  # quiet: what a marker hushes
    breaks = newlines(joined)
    finest = _Spans(*found[levels[-1]])
    pieces = _pieces(texts, joined, base, finest)
    if config.segment.documents_alone:  # each page normalized (hashing every one to find
        numbers = list(range(len(pieces)))  # those a batch has twice cost more than that)
        normalized = normalize_many(pieces, config.normalize)
    else:  # a sentence, a byline repeated in a batch: normalized once
        distinct: dict[str, int] = {}
        numbers = [distinct.setdefault(piece, len(distinct)) for piece in pieces]
        normalized = normalize_many(list(distinct), config.normalize)
    each = [normalized[n] for n in numbers]  # of every unit of the finest level
    texts_of = _Runs(each, normalized, numbers)
    marks = _NumberMarks(normalized, numbers, joined, config.minhash.char_below)
    out: list[LevelUnits] = []
    for name, above in zip(levels, [None, *levels[:-1]], strict=True):
        if above is not None and all(map(np.array_equal, found[name], found[above])):
            out.append(out[-1])  # the level above's units (records of one line): the same
            continue
        level = _Spans(*found[name])
        cut_level = _level(
            name, level, finest, texts_of, batch, joined, base, lengths, breaks, quiet, config
        )
        if name == "sentence":
            cut_level.inside = _inside(level, _Spans(*found["paragraph"]))
        cut_level.rows[:, _MARKS] = marks.of(cut_level)
        cut_level.rows = narrowed(cut_level.rows)  # rows wait in the main process
        out.append(cut_level)
    return Layout(out, each)


def _pieces(texts: list[str], joined: str, base: I64, spans: _Spans) -> list[str]:
    """The text of each span of `joined`: a text itself where the span is the whole of it
    (a document of the document level), so that no page is copied again.  In C where it
    was built, the sentences of a batch at once (8,000 French documents: 0.17 -> 0.05 s)."""
    starts, ends, docs = spans.starts, spans.ends, spans.docs
    whole = (starts == base[docs]) & (ends == base[docs + 1])
    if whole.all():
        return [texts[d] for d in docs.tolist()]
    pieces = slices(joined, starts, ends)
    for i in np.flatnonzero(whole).tolist():
        pieces[i] = texts[docs[i]]
    return pieces


def slices(text: str, starts: I64, ends: I64) -> list[str]:
    """text[start:end] of each span (start <= end); in C where it was built, one call for
    them all (through map, a slice object each)."""
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    if native is not None:
        found: list[str] = native.slices(text, starts, ends)
        return found
    return list(map(text.__getitem__, map(slice, starts.tolist(), ends.tolist())))


def newlines(text: str) -> I64:
    """Where each newline of a text is: in C where it was built (a regex's matches, one
    object each, took a tenth of cutting a batch of French pages)."""
    if native is not None:
        return np.frombuffer(native.newlines(text), dtype=np.int64)
    return np.array([m.start() for m in _NEWLINE.finditer(text)], dtype=np.int64)


def space_counts(texts: list[str], enough: int) -> I64:
    """Each text's spaces, exact below `enough`: a text with that many in its head (512
    characters, or eight a space asked for) is not counted further, through map, no Python
    frame a text (counting every space of 100,000 French pages took 0.7 s); in C where it
    was built."""
    if native is not None:
        return spaces_and_digits(texts, enough)[0]
    return _space_counts(texts, enough, _head(enough))


def spaces_and_digits(texts: list[str], enough: int) -> tuple[I64, npt.NDArray[np.bool_]]:
    """`space_counts` of the texts, and whether each with fewer than `enough` spaces holds
    a digit (False for the others).  In C where it was built, one pass over them."""
    if native is not None:
        spaces, digits = native.spaces_and_digits(texts, enough, _head(enough))
        counts = np.frombuffer(spaces, dtype=np.int64)
        return counts, np.frombuffer(digits, dtype=np.bool_) & (counts < enough)
    counts = _space_counts(texts, enough, _head(enough))
    short = np.flatnonzero(counts < enough)
    found = np.zeros(len(texts), dtype=bool)
    searched = map(_DIGIT.search, [texts[i] for i in short.tolist()])
    found[short] = np.fromiter(map(bool, searched), dtype=bool, count=len(short))
    return counts, found


def _head(enough: int) -> int:
    """The characters of a text whose spaces are all counted (see `space_counts`)."""
    return max(512, 8 * enough)


def _space_counts(texts: list[str], enough: int, head: int) -> I64:
    heads = map(str.count, texts, *(itertools.repeat(x) for x in (" ", 0, head)))
    counts = np.fromiter(heads, np.int64, len(texts))
    sizes = np.fromiter(map(len, texts), np.int64, len(texts))
    longer = np.flatnonzero((counts < enough) & (sizes > head)).tolist()
    counts[longer] = [texts[i].count(" ") for i in longer]
    return counts


class _NumberMarks:
    """The `number_marks` of the units verification compares by characters (fewer than
    2 * `char_below` words once normalized, see `fingerprint.batch_shingle_sets`), of
    their raw text as verification reads it; 0 for the others, and for a unit whose
    normalized text holds no digit (it states no number: normalizing keeps every digit
    NFKC gives).  Which units those are comes from their finest units' normalized texts
    (a unit's is theirs joined by spaces), each looked at once a batch (see
    `facts.marks_of`)."""

    def __init__(self, distinct: list[str], numbers: list[int], joined: str, char_below: int):
        count = len(distinct)
        self.spaces = 2 * char_below - 1  # fewer, in a normalized text: compared by characters
        # Digits looked for in the texts short enough alone (a longer one makes every
        # unit it is in too long): a search over every text took a fifth of `cut`.  A
        # text's spaces are exact only below the count that makes it long: a run holding
        # it is long then, too.
        spaces, found = spaces_and_digits(distinct, self.spaces)
        filled = np.fromiter(map(bool, distinct), np.int64, count)
        digits = found.astype(np.int64)
        at = np.asarray(numbers, dtype=np.int64)
        # Running sums over the finest units: a run's is a difference of two.
        self.sums = [np.concatenate(([0], np.cumsum(c[at]))) for c in (digits, spaces, filled)]
        self.joined = joined

    def of(self, units: LevelUnits) -> I64:
        lo, hi = units.runs[:, 0], units.runs[:, 1]  # [0, 0) but for a whole run
        digits, spaces, filled = (sums[hi] - sums[lo] for sums in self.sums)
        marked = (digits > 0) & (filled > 0) & (spaces + filled - 1 < self.spaces)
        alone = (lo == hi) & ~units.hushed  # a unit read on its own (none is, today)
        for i in np.flatnonzero(alone).tolist():
            norm = units.norms(np.array([i]))[0]
            marked[i] = bool(norm) and norm.count(" ") < self.spaces and bool(_DIGIT.search(norm))
        marks = np.zeros(len(lo), dtype=np.int64)
        starts, ends = units.starts, units.ends
        at = np.flatnonzero(marked)
        raws = slices(self.joined, starts[at], ends[at])
        marks[at] = marks_of(raws)
        return marks


class _Spans:
    """One level's units of a batch: their documents (by place in the batch), and their
    starts and ends in the batch's texts joined (see `segment.batch_spans`)."""

    def __init__(self, spans: I64, counts: I64) -> None:
        self.docs = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        self.starts = np.ascontiguousarray(spans[:, 0])
        self.ends = np.ascontiguousarray(spans[:, 1])


def _level(
    name: Level,
    units: _Spans,
    finest: _Spans,
    texts_of: _Runs,
    batch: Sequence[tuple[int, str, str]],
    joined: str,
    base: I64,
    lengths: I64,
    breaks: I64,
    quiet: list[tuple[int, int]],
    config: Config,
) -> LevelUnits:
    docs, starts, ends = units.docs, units.starts, units.ends
    first, last = base[docs], base[docs] + lengths[docs]  # of each unit's document
    # The run of finest units [lo, hi) each unit is made of.
    lo = np.searchsorted(finest.starts, starts, "left")
    hi = np.searchsorted(finest.ends, ends, "right")
    count = len(finest.starts)
    made = (lo < hi) & (finest.starts[np.minimum(lo, count - 1)] == starts)
    made &= finest.ends[np.maximum(hi - 1, 0)] == ends
    # The white space before a unit runs back to the end of the finest unit before it in
    # its document (or to the document's start), and on after it likewise.
    earlier = lo - 1
    has = (earlier >= 0) & (finest.docs[np.maximum(earlier, 0)] == docs)
    before = np.where(has, finest.ends[np.maximum(earlier, 0)], first)
    has = (hi < count) & (finest.docs[np.minimum(hi, count - 1)] == docs)
    after = np.where(has, finest.starts[np.minimum(hi, count - 1)], last)
    for i in np.flatnonzero(~made).tolist():  # read on its own
        text = batch[int(docs[i])][2]
        at = int(first[i])
        b, a, _, _ = gap(text, int(starts[i]) - at, int(ends[i]) - at)
        before[i], after[i] = b + at, a + at

    def breaks_before(places: I64) -> I64:
        return np.searchsorted(breaks, places, "left")

    above = breaks_before(first)  # the line breaks before each unit's document
    at_start = breaks_before(starts)
    lines = 1 + at_start - above
    # A unit longer than --max-unit-chars is an error naming its document and line.
    most = config.minhash.max_unit_chars
    too_long = np.flatnonzero(ends - starts > most)
    if len(too_long):
        i = int(too_long[0])
        raise InputError(
            batch[int(docs[i])][1],
            f"a {name} of {int(ends[i] - starts[i])} characters at line {int(lines[i])} is "
            f"longer than --max-unit-chars {most}",
        )
    # The column: from the line break before the unit, or from its document's start.
    previous = breaks[np.maximum(at_start - 1, 0)] if len(breaks) else first
    column = np.where((at_start > 0) & (previous >= first), starts - previous, starts - first + 1)
    hushed = np.zeros(len(starts), dtype=bool)
    for s, e in quiet:
        hushed |= (starts >= s) & (ends <= e)
    numbers = np.array([number for number, _, _ in batch], dtype=np.int64)
    columns = {
        "doc": numbers[docs],
        "start": starts - first,
        "end": ends - first,
        "line": lines,
        "end_line": 1 + breaks_before(np.maximum(starts, ends - 1)) - above,
        "ws_before": before - first,
        "ws_after": after - first,
        "nl_before": at_start - breaks_before(before),
        "nl_after": breaks_before(after) - breaks_before(ends),
        "column": column,
        "suppressed": hushed.astype(np.int64),
        "marks": np.zeros(len(starts), dtype=np.int64),  # filled below (see _NumberMarks)
        "key": np.full(len(starts), -1, dtype=np.int64),
    }
    rows = (
        np.column_stack([columns[name] for name in COLUMNS])
        if len(starts)
        else np.empty((0, len(COLUMNS)), np.int64)
    )
    whole_run = made & ~hushed
    norm_lengths = texts_of.lengths(lo, hi, whole_run)
    own = {}
    for i in np.flatnonzero(~made & ~hushed).tolist():  # read on its own
        own[i] = normalize(joined[starts[i] : ends[i]], config.normalize)
        norm_lengths[i] = len(own[i])
    runs = np.stack((lo, hi), axis=1) * whole_run[:, None]
    whole = (before == first) & (after == last)
    inside = np.zeros(len(starts), dtype=bool)  # set by `cut` for sentences
    return LevelUnits(
        rows, whole, runs, joined, starts, ends, hushed, inside, texts_of, norm_lengths, own
    )


def _joined_starts(sizes: I64, filled: npt.NDArray[np.bool_]) -> I64:
    """Where each of texts of these sizes starts once the `filled` ones are joined by one
    separator (an empty one: where the next filled one does)."""
    starts: I64 = np.concatenate(([0], np.cumsum(np.where(filled, sizes + 1, 0))))[:-1]
    return starts


def _inside(units: _Spans, above: _Spans) -> npt.NDArray[np.bool_]:
    """Which units are not the whole of the unit of `above` that holds them."""
    if not len(above.starts):
        return np.zeros(len(units.starts), dtype=bool)
    at = np.maximum(np.searchsorted(above.starts, units.starts, "right") - 1, 0)
    inside: npt.NDArray[np.bool_] = (above.starts[at] != units.starts) | (
        above.ends[at] != units.ends
    )
    return inside


class _Runs:
    """The normalized texts of runs of the finest units: theirs, the empty ones left out,
    joined by spaces (no step of `normalize` reaches across white space).  Every non-empty
    one joined so once a batch, a run's is a slice of that, taken through map: a Python
    join a unit took 7 % of fingerprinting French documents.  A run's exact key is the
    digest of a slice of the same, in UTF-8: its text is made only if asked for (making
    every unit's text, then hashing each distinct one, took a quarter of fingerprinting
    French documents at every level)."""

    def __init__(self, each: list[str], distinct: list[str], numbers: list[int]) -> None:
        """`each`: the normalized text of every finest unit, distinct[numbers[i]]."""
        self.distinct = distinct
        self.numbers = np.asarray(numbers, dtype=np.int64)
        self.each = np.fromiter(each, dtype=object, count=len(each))
        sizes = np.fromiter(map(len, each), dtype=np.int64, count=len(each))
        filled = sizes > 0
        # Where each finest unit's text starts in `text` (an empty one: where the next
        # non-empty one does), and the first and last non-empty unit from each place on.
        self.starts = _joined_starts(sizes, filled)
        self.sizes = sizes
        places = np.arange(len(each), dtype=np.int64)
        after = np.where(filled, places, len(each))
        self.next = np.minimum.accumulate(after[::-1])[::-1]  # first non-empty at or after
        self.last = np.maximum.accumulate(np.where(filled, places, -1))  # at or before

    @functools.cached_property
    def text(self) -> str:
        """Every non-empty text joined by spaces: made where a run of more than one unit
        asks for it (never at the document level alone)."""
        return " ".join([norm for norm in self.each.tolist() if norm])

    def _bounds(self, lo: I64, hi: I64) -> tuple[I64, I64, I64, I64]:
        """Of each run [lo, hi) (lo < hi), its first and last non-empty unit (first > last:
        none), and where its text starts and ends in `text`."""
        first = self.next[np.minimum(lo, len(self.next) - 1)]
        last = self.last[hi - 1]
        starts = self.starts[np.minimum(first, len(self.starts) - 1)]
        ends = self.starts[np.maximum(last, 0)] + self.sizes[np.maximum(last, 0)]
        return first, last, starts, ends

    def lengths(self, lo: I64, hi: I64, whole: npt.NDArray[np.bool_]) -> I64:
        """The length of the text of each run marked `whole`, 0 for the others."""
        out = np.zeros(len(lo), dtype=np.int64)
        at = np.flatnonzero(whole)
        if len(at):
            first, last, starts, ends = self._bounds(lo[at], hi[at])
            out[at] = np.where(first <= last, ends - starts, 0)
        return out

    @functools.cached_property
    def _utf8(self) -> tuple[list[bytes], I64]:
        """Each distinct text in UTF-8, as `exact_key` encodes it, and the size of every
        finest unit's."""
        data = list(map(str.encode, self.distinct))
        sizes = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
        return data, sizes[self.numbers]

    @functools.cached_property
    def _keys(self) -> npt.NDArray[np.object_]:
        """The exact key of each distinct text."""
        data, _ = self._utf8
        return np.fromiter(digests(data), dtype=object, count=len(data))

    @functools.cached_property
    def _bytes(self) -> tuple[memoryview, I64]:
        """`text` in UTF-8, and where each unit's text starts in it."""
        data, sizes = self._utf8
        filled = self.sizes > 0
        joined = b" ".join([data[n] for n in self.numbers[filled].tolist()])
        return memoryview(joined), _joined_starts(sizes, filled)

    def keys(self, lo: I64, hi: I64) -> list[bytes]:
        """The exact key of the text of each run [lo, hi) that holds one: a distinct
        text's (digested once a batch) where one unit holds all of it, else that of its
        bytes in `text`."""
        first, last, _, _ = self._bounds(lo, hi)
        out = np.empty(len(lo), dtype=object)
        one = first == last
        out[one] = self._keys[self.numbers[first[one]]]
        more = np.flatnonzero(~one)
        if len(more):
            data, starts = self._bytes
            _, sizes = self._utf8
            ends = starts[last[more]] + sizes[last[more]]
            spans = map(slice, starts[first[more]].tolist(), ends.tolist())
            keyed = digests(map(data.__getitem__, spans))
            out[more] = np.fromiter(keyed, dtype=object, count=len(more))
        keys: list[bytes] = out.tolist()
        return keys

    def joined(self, lo: I64, hi: I64, whole: npt.NDArray[np.bool_]) -> list[str]:
        """The text of each run [lo, hi) marked `whole`, "" for the others: a run of one
        unit its text itself, a longer one a slice."""
        out = np.full(len(lo), "", dtype=object)
        one = np.flatnonzero(whole & (hi - lo == 1))
        out[one] = self.each[lo[one]]
        more = np.flatnonzero(whole & (hi - lo > 1))
        if len(more):
            first, last, starts, ends = self._bounds(lo[more], hi[more])
            some = np.flatnonzero(first <= last)  # a non-empty unit in the run
            taken = np.full(len(more), "", dtype=object)
            texts = slices(self.text, starts[some], ends[some])
            taken[some] = np.fromiter(texts, dtype=object, count=len(some))
            out[more] = taken
        norms: list[str] = out.tolist()
        return norms
