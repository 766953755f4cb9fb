"""Segmentation: a document's raw text in, nested unit spans out.

document > section (a heading and the paragraphs under it) > paragraph > sentence.
Every span is half-open into the raw text and trimmed of surrounding whitespace,
so `text[start:end]` is the unit and everything between units is whitespace.

Paragraphs are blocks separated by blank lines.  In a document written one
paragraph per line (scraped web text) every line is a paragraph too; in one
whose lines are hard-wrapped at a common width, line breaks are wraps.  Markdown
headings, list items, quotes and fences always start a paragraph.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from dedup.config import SegmentConfig
from dedup.model import Document, Level, Segment
from dedup.native import native

Span = tuple[int, int]

_DEFAULT = SegmentConfig()
_MARKDOWN_BLOCK = re.compile(r"\s{0,3}(?:#{1,6}\s|[-*+]\s|\d{1,9}[.)]\s|>|```|~~~|\|)")
_MARKDOWN_HEADING = re.compile(r"\s{0,3}#{1,6}\s")
_NOT_HEADING_END = ".,;:…"
# A sentence ends at . ! ? or … (or Arabic's ؟, Urdu's ۔, Devanagari's । and ॥), with
# closing quotes or brackets, before white space, unless the next word starts in lower
# case or the dot closes an initial ("M. Musk").
_MARKS = ".!?…؟۔।॥"
_CLOSERS = "\"'»”’)]"
_SENTENCE_END = re.compile(rf"[{re.escape(_MARKS)}]+[{re.escape(_CLOSERS)}]*(\s+)")
#: Chinese and Japanese end a sentence at 。！？ (or ｡), and their closing brackets or
#: quotes, whether white space follows or not: no space is written between sentences.
_CJK_MARKS = "。！？｡"
_CJK_CLOSERS = "」』）】〕〉》〗〙〛｣"
_CJK_END = re.compile(
    rf"[{_CJK_MARKS}][{_CJK_MARKS}{re.escape(_MARKS)}]*"
    rf"[{re.escape(_CLOSERS)}{_CJK_CLOSERS}]*(\s*)"
)
#: Every mark a sentence may end at.
_ALL_MARKS = _MARKS + _CJK_MARKS
#: A dot after one letter (an initial, "J. Dupont") ends no sentence; nor one after a digit
#: that opens a paragraph (a numbered item, "1. Ouvrir"), while "égal à 0. Afficher" is two.
_INITIAL = re.compile(r"\s[^\W\d_]\.")
_OPENING = re.compile(r"\w\.")
#: Nor does the dot of a day before its month, as German writes a date ("am 20. August
#: 2018"): a month is a capitalized noun, so the dot would cut every byline in three.
_DAY = re.compile(r"(?<!\d)\d{1,2}\.")
_MONTH = re.compile(
    r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November"
    r"|Dezember|Jan|Feb|Mär|Apr|Jun|Jul|Aug|Sep|Sept|Okt|Nov|Dez)\b"
)


_MARKER = re.compile(
    r"^[ \t]*(?:<!--)?[ \t]*dedup:[ \t]*(ignore|off|on)[ \t]*(?:-->)?[ \t]*\r?$", re.I | re.M
)


class LineIndex:
    """Map character offsets to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def _lines(text: str) -> list[Span]:
    """(start, end) of every line, without its line break."""
    out: list[Span] = []
    pos = 0
    for raw in text.split("\n"):
        end = pos + len(raw)
        out.append((pos, end - 1 if raw.endswith("\r") else end))
        pos = end + 1
    return out


def _wrapped(text: str, breaks: list[tuple[Span, Span]]) -> bool:
    """Whether the line breaks inside blocks are wraps rather than paragraph ends.

    Wrapped text continues sentences across lines (the next line often starts in
    lower case) or has its lines at a common width; text written one paragraph
    per line does neither.
    """
    if not breaks:
        return False
    continued = sum(1 for _, (s, e) in breaks if text[s:e].lstrip()[:1].islower())
    if continued and continued >= 0.2 * len(breaks):
        return True
    if len(breaks) < 3:
        return False
    widths = sorted(e - s for (s, e), _ in breaks)
    width = widths[min(len(widths) - 1, int(len(widths) * 0.9))]
    return sum(1 for w in widths if w >= 0.7 * width) >= 0.7 * len(widths)


def _forced(text: str, line: Span, following: Span) -> bool:
    """A break Markdown makes (after a heading, before a heading, item, quote or fence),
    or one around a `dedup:` suppression marker."""
    return bool(
        _MARKDOWN_BLOCK.match(text, following[0], following[1])
        or _MARKDOWN_HEADING.match(text, line[0], line[1])
        or _MARKER.match(text, line[0], line[1])
        or _MARKER.match(text, following[0], following[1])
    )


def paragraphs(text: str) -> list[Span]:
    """Spans of the paragraphs of `text`, in order."""
    if "\n" not in text:  # one line (a record of a million short ones): not read line by line
        trimmed = _trim(text, 0, len(text))
        return [trimmed] if trimmed[0] < trimmed[1] else []
    if native is not None:  # the same rules, in C, but around a marker
        found: list[Span] | None = native.paragraphs(text)
        if found is not None:
            return found
    blocks: list[list[Span]] = [[]]
    for start, end in _lines(text):
        if text[start:end].strip():
            blocks[-1].append((start, end))
        elif blocks[-1]:
            blocks.append([])
    breaks = [
        (line, following, _forced(text, line, following))
        for block in blocks
        for line, following in itertools.pairwise(block)
    ]
    wrapped = _wrapped(
        text, [(line, following) for line, following, forced in breaks if not forced]
    )
    hard = {following[0] for _, following, forced in breaks if forced or not wrapped}
    out: list[Span] = []
    for block in blocks:
        if not block:
            continue
        first = block[0][0]
        for (_, end), (next_start, _) in itertools.pairwise(block):
            if next_start in hard:
                out.append(_trim(text, first, end))
                first = next_start
        out.append(_trim(text, first, block[-1][1]))
    return out


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def is_heading(text: str, config: SegmentConfig = _DEFAULT) -> bool:
    """True for a Markdown heading, or a short single line without final punctuation."""
    if "\n" in text:
        return False
    if _MARKDOWN_HEADING.match(text):
        return True
    end = text.rstrip()
    if not end or end[-1] in _NOT_HEADING_END:
        return False
    # Words counted no further than one past the longest heading: a paragraph of a
    # hundred words is not split whole to learn that it is no heading.
    most = config.heading_max_words
    return len(text.split(None, most)) <= most and any(c.isalpha() for c in text)


def sections(text: str, paras: Sequence[Span], config: SegmentConfig = _DEFAULT) -> list[Span]:
    """Spans of the sections: a run of headings and the paragraphs up to the next heading."""
    if len(paras) < 2:  # one paragraph is one section, a heading or not
        return list(paras)
    if native is not None:  # the same rules, in C
        found: list[Span] = native.sections(text, list(paras), config.heading_max_words)
        return found
    out: list[Span] = []
    start: int | None = None
    end = 0
    previous_heading = False
    for s, e in paras:
        heading = is_heading(text[s:e], config)
        if start is None:
            start = s
        elif heading and not previous_heading:
            out.append((start, end))
            start = s
        end = e
        previous_heading = heading
    if start is not None:
        out.append((start, end))
    return out


def sentences(text: str, span: Span, marks: list[int] | None = None) -> list[Span]:
    """Spans of the sentences inside one paragraph span; `marks`, if given, holds the place
    of every mark a sentence may end at in the text (see `_marks`), in order."""
    start, end = span
    if marks is None:
        marks = _marks(text, start, end)
    out: list[Span] = []
    first = done = start
    # Where a sentence may end: a mark, then the match runs on as the pattern's; the next
    # one is looked for after it, as `finditer` would (each found with str.find, not by
    # the regex trying every character: 2.3 times as fast on French text).
    for k in range(bisect.bisect_left(marks, start), len(marks)):
        at = marks[k]
        if at >= end:
            break
        if at < done:
            continue
        if text[at] in _CJK_MARKS:
            cjk = _CJK_END.match(text, at, end)
            assert cjk is not None  # it starts with the mark at `at`
            gap_start, done = cjk.span(1)
            if done < end:
                out.append((first, gap_start))
                first = done
            continue
        match = _SENTENCE_END.match(text, at, end)
        if match is None:
            continue
        gap_start, gap_end = match.span(1)
        done = gap_end
        if gap_end >= end or text[gap_end].islower():
            continue
        # A dot after an initial ("J. Dupont"), or after one letter or digit that opens
        # the paragraph ("1. Ouvrir"), ends no sentence: the few characters before it.
        if gap_start - 2 == start:
            if _OPENING.match(text, start, gap_start):
                continue
        elif gap_start - 3 >= start and _INITIAL.match(text, gap_start - 3, gap_start):
            continue
        if text[gap_start - 2].isdigit() and _MONTH.match(text, gap_end, end):
            day = max(start, gap_start - 3)
            if _DAY.search(text, day, gap_start) is not None:
                continue
        out.append((first, gap_start))
        first = gap_end
    out.append((first, end))
    return out


def _marks(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """The places of the marks a sentence may end at (`_ALL_MARKS`) in text[start:end], in
    order."""
    out: list[int] = []
    for mark in _ALL_MARKS:
        at = text.find(mark, start, end)
        while at != -1:
            out.append(at)
            at = text.find(mark, at + 1, end)
    out.sort()
    return out


def _has_marker(text: str) -> bool:
    """Whether `dedup:` is in `text`, in any case: where "p:" or "P:" is, without a
    lower-cased copy of the whole text (3 % of fingerprinting French documents).  In C
    where it was built: the two searches took 10 us a French page of 4.8 KB."""
    if native is not None:
        found: bool = native.has_marker(text)
        return found
    for tail in ("p:", "P:"):
        at = text.find(tail, 3)
        while at != -1:
            if text[at - 4 : at + 2].lower() == "dedup:":
                return True
            at = text.find(tail, at + 1)
    return False


def suppressed(text: str) -> list[Span]:
    """Spans a writer marked as intentional repeats, markers included.

    `<!-- dedup: ignore -->` (or a bare `dedup: ignore` line) covers the paragraph
    after it; `dedup: off` ... `dedup: on` covers everything between them (to the
    end of the text without an `on`).
    """
    out: list[Span] = []
    if not _has_marker(text):  # the usual case
        return out
    off: int | None = None
    paras: list[Span] | None = None
    for match in _MARKER.finditer(text):
        kind = match.group(1).lower()
        if kind == "off" and off is None:
            off = match.start()
        elif kind == "on" and off is not None:
            out.append((off, match.end()))
            off = None
        elif kind == "ignore" and off is None:
            paras = paras if paras is not None else paragraphs(text)
            following = [p for p in paras if p[0] >= match.end()]
            out.append((match.start(), following[0][1] if following else match.end()))
    if off is not None:
        out.append((off, len(text)))
    return out


def spans(
    text: str, levels: Sequence[Level], config: SegmentConfig = _DEFAULT
) -> dict[Level, list[Span]]:
    """Spans of every requested level for one document text."""
    out: dict[Level, list[Span]] = {}
    trimmed = _trim(text, 0, len(text))
    if "document" in levels:
        out["document"] = [trimmed] if trimmed[0] < trimmed[1] else []
    if any(level in levels for level in ("section", "paragraph", "sentence")):
        paras = paragraphs(text)
        if "section" in levels:
            out["section"] = sections(text, paras, config)
        if "paragraph" in levels:
            out["paragraph"] = paras
        if "sentence" in levels:
            if native is not None:  # the same rules, in C
                found: list[Span] = native.sentences(text, np.array(paras, dtype=np.int64))
                out["sentence"] = found
            else:
                marks = _marks(text)
                out["sentence"] = [s for p in paras for s in sentences(text, p, marks)]
    return out


#: A level's units in a batch of texts: their spans in the texts joined ((n, 2) int64), and
#: how many each text has.
BatchSpans = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]

#: Each level's bit, for the C loop's `levels`.
_LEVEL_BITS: dict[Level, int] = {"document": 1, "section": 2, "paragraph": 4, "sentence": 8}


def batch_spans(
    texts: Sequence[str], levels: Sequence[Level], config: SegmentConfig = _DEFAULT
) -> tuple[dict[Level, BatchSpans], list[Span]]:
    """`spans` of every text of a batch, each level's as arrays, and the spans `suppressed`
    covers, in the texts joined.  In C where it was built, for a batch without a `dedup:`
    marker: one call, not one a text and a list of tuples a level (a third of cutting a
    batch of French documents into units)."""
    wanted = [level for level in _LEVEL_BITS if level in levels]
    if native is not None:
        bits = sum(_LEVEL_BITS[level] for level in wanted)
        found = native.segment_batch(list(texts), bits, config.heading_max_words)
        if found is not None:
            out: dict[Level, BatchSpans] = {}
            for level in wanted:
                data, counts = found[list(_LEVEL_BITS).index(level)]
                out[level] = (
                    np.frombuffer(data, dtype=np.int64).reshape(-1, 2),
                    np.frombuffer(counts, dtype=np.int64),
                )
            return out, []
    each: dict[Level, list[list[Span]]] = {level: [] for level in wanted}
    quiet: list[Span] = []
    base = 0
    for text in texts:
        for level, units in spans(text, wanted, config).items():
            each[level].append([(base + s, base + e) for s, e in units])
        quiet += [(base + s, base + e) for s, e in suppressed(text)]
        base += len(text)
    return {
        level: (
            np.array([span for units in per_text for span in units], dtype=np.int64).reshape(-1, 2),
            np.array([len(units) for units in per_text], dtype=np.int64),
        )
        for level, per_text in each.items()
    }, quiet


def segment(doc: Document, unit: Level, config: SegmentConfig = _DEFAULT) -> Iterator[Segment]:
    """Yield the units of one level of `doc`, in order.

    >>> doc = Document("a.txt", "Title\\n\\nOne. Two.\\n", Source("a.txt"))
    >>> [s.text for s in segment(doc, "sentence")]
    ['Title', 'One.', 'Two.']
    """
    lines = LineIndex(doc.text)
    for index, (start, end) in enumerate(spans(doc.text, (unit,), config)[unit]):
        yield Segment(
            doc.doc_id,
            unit,
            index,
            start,
            end,
            lines.line(start),
            lines.line(max(start, end - 1)),
            doc.text[start:end],
        )
