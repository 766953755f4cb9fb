from __future__ import annotations

import pytest

from dedup.clean import Removal, clean, gap, merge, pieces
from dedup.engine.table import REMOVAL_COLUMNS


def _cut(text: str, *units: str) -> str:
    removals = []
    for number, unit in enumerate(units):
        start = text.index(unit)
        removals.append(
            Removal(number, start, start + len(unit), *gap(text, start, start + len(unit)))
        )
    spans = [span for found in pieces(removals, len(text)).values() for span in found]
    return clean(text, spans)


@pytest.mark.parametrize(
    ("text", "units", "expected"),
    [
        ("A\n\nB\n\nC\n", ["B"], "A\n\nC\n"),
        ("A\n\nB\n\nC\n", ["A"], "B\n\nC\n"),
        ("A\n\nB\n\nC\n", ["C"], "A\n\nB\n"),
        ("A\n\nB\n\nC\n", ["A", "B"], "C\n"),
        ("A\n\nB\n\nC\n\nD", ["B", "C"], "A\n\nD"),
        ("22\n23\n\n25\n", ["23"], "22\n\n25\n"),  # keeps the paragraph break, not the line break
        ("A\n\n\nB\nC", ["B"], "A\n\n\nC"),
        ("One. Two. Three.", ["Two."], "One. Three."),
        ("One. Two. Three.", ["Three."], "One. Two."),
        ("P end.\n\nOne. Two.", ["One."], "P end.\n\nTwo."),
        ("A\r\n\r\nB\r\n\r\nC\r\n", ["B"], "A\r\n\r\nC\r\n"),
        ("  A  ", ["A"], ""),
    ],
)
def test_removal_neither_glues_nor_leaves_blank_runs(
    text: str, units: list[str], expected: str
) -> None:
    assert _cut(text, *units) == expected


def _removal(unit: int, text: str, part: str) -> Removal:
    start = text.index(part)
    return Removal(unit, start, start + len(part), *gap(text, start, start + len(part)))


@pytest.mark.parametrize("order", ["coarse first", "fine first"])
def test_cuts_of_two_levels_that_nest_are_their_union_each_span_cut_once(order: str) -> None:
    """A near document loses a paragraph; the section that is the whole document loses that
    paragraph's sentences, or the paragraph again: what either cuts goes, whatever the order,
    and a span inside one already cut is no cut of its own."""
    text = "Alpha one. Beta two. Gamma three.\n\nDelta four.\n\nEpsilon five."
    coarse = [
        _removal(0, text, "Alpha one. Beta two. Gamma three."),
        _removal(0, text, "Delta four."),
    ]
    fine = [
        _removal(1, text, "Alpha one."),
        _removal(1, text, "Gamma three."),
        _removal(1, text, "Delta four."),
    ]
    removals = coarse + fine if order == "coarse first" else fine + coarse
    cut = pieces(removals, len(text))
    spans = [span for found in cut.values() for span in found]
    assert clean(text, spans) == "Epsilon five."
    assert all(start < end for start, end in spans)
    inner = [(s, e) for s, e in spans if s >= text.index("Alpha") and e <= text.index("Delta")]
    assert merge(inner) == [(0, text.index("Delta"))]
    if order == "coarse first":  # the fine cuts lie inside the coarse ones: none of their own
        assert 1 not in cut
    assert sum(e - s for s, e in spans) == len(text) - len("Epsilon five.")


def test_a_removals_fields_are_in_the_order_of_the_removal_columns() -> None:
    removal = Removal(unit=1, start=2, end=3, ws_before=4, ws_after=5, nl_before=6, nl_after=7)
    assert removal == (1, 2, 3, 4, 5, 6, 7)
    assert Removal._fields[1:] == REMOVAL_COLUMNS  # as resolve's columns hold them
