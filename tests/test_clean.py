from __future__ import annotations

import pytest

from dedup.clean import Removal, clean, gap, pieces


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
