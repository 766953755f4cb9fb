"""Cleaning: removed units in, the exact character spans to cut (and the cleaned text) out.

A removed unit takes one of the whitespace gaps around it with it, so that its
neighbours are neither glued together nor left with a run of blank lines:
consecutive removed units (only whitespace between them) form a run; a run at
the start of the text takes the gap after it, one at the end the gap before it,
and any other run the gap with fewer line breaks (the gap before on a tie).
Every other character is kept exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

Span = tuple[int, int]


class Removal(NamedTuple):
    """A removed unit and the whitespace around it in its document.  A named tuple: a
    run makes one a removal (116,013 of 100,000 French pages), and a frozen dataclass
    took five times as long to make (0.90 against 0.18 us)."""

    unit: int  # the caller's id for the unit
    start: int
    end: int
    ws_before: int  # start of the whitespace run that ends at `start`
    ws_after: int  # end of the whitespace run that starts at `end`
    nl_before: int  # line breaks in text[ws_before:start]
    nl_after: int  # line breaks in text[end:ws_after]


def gap(text: str, start: int, end: int) -> tuple[int, int, int, int]:
    """(ws_before, ws_after, nl_before, nl_after) of the unit text[start:end]."""
    before = start
    while before > 0 and text[before - 1].isspace():
        before -= 1
    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    return before, after, text.count("\n", before, start), text.count("\n", end, after)


def pieces(removals: Sequence[Removal], length: int) -> dict[int, list[Span]]:
    """The spans each removed unit cuts from a text of `length` characters.

    Units of two levels nest: a near document loses a paragraph, and the section that is
    the whole document that paragraph's sentences, or the paragraph again.  What either
    cuts goes; a removal inside one listed before it, or inside a longer one, cuts
    nothing of its own.
    """
    out: dict[int, list[Span]] = {}
    # By start, the longest first, of equal spans the first listed (a stable sort on one
    # integer: a tuple key took twice as long over the 300,000 cuts of a 40 MB page).
    ordered = sorted(removals, key=lambda r: (r.start << 40) - r.end)
    run: list[Removal] = []
    reach = -1  # where the removals taken so far end
    for removal in ordered:
        if removal.end <= reach:
            continue
        reach = removal.end
        if run and run[-1].ws_after < removal.start:
            _cut_run(run, length, out)
            run = []
        run.append(removal)
    if run:
        _cut_run(run, length, out)
    return out


def _cut_run(run: Sequence[Removal], length: int, out: dict[int, list[Span]]) -> None:
    first, last = run[0], run[-1]
    at_start, at_end = first.ws_before == 0, last.ws_after == length
    if at_start and at_end:
        take_before, take_after = True, True
    elif at_start:
        take_before, take_after = False, True
    elif at_end:
        take_before, take_after = True, False
    else:
        take_before = first.nl_before <= last.nl_after
        take_after = not take_before
    for i, removal in enumerate(run):
        if take_before:
            start = removal.ws_before if i == 0 else run[i - 1].end
            end = last.ws_after if take_after and i == len(run) - 1 else removal.end
        else:
            start = removal.start
            end = run[i + 1].start if i + 1 < len(run) else removal.ws_after
        out.setdefault(removal.unit, []).append((start, end))


def inside(spans: Iterable[Span], start: int, end: int) -> list[Span]:
    """The spans of `spans` that lie within [start, end): what was cut inside a unit."""
    return [(s, e) for s, e in spans if s >= start and e <= end]


def merge(spans: Sequence[Span]) -> list[Span]:
    """Sorted, non-overlapping union of spans (touching spans are joined)."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif start < end:
            out.append((start, end))
    return out


def clean(text: str, cut: Sequence[Span]) -> str:
    """`text` without the spans in `cut`.

    >>> clean("A\\n\\nB\\n\\nC\\n", [(1, 4)])
    'A\\n\\nC\\n'
    """
    kept: list[str] = []
    position = 0
    for start, end in merge(cut):
        kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    return "".join(kept)
