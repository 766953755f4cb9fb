"""A record's text value found in its JSONL line, to be replaced in place: where
`json.loads` finds it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.io.records import _value_span, record_line

_SPACE = st.sampled_from(["", " ", "  ", "\t", " \r\n "])
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_SCALAR = st.one_of(
    _TEXT,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_VALUE = st.one_of(
    _SCALAR,
    _SCALAR,
    _SCALAR,
    _SCALAR,
    st.lists(_SCALAR, max_size=3),
    st.dictionaries(_TEXT, _SCALAR, max_size=2),
)
_KEY = st.one_of(st.sampled_from(["text", "id", "t\u00e9xt", "tex"]), _TEXT)


@st.composite
def _lines(draw: Any) -> str:
    """A JSON object line, its members (keys repeated at times) spaced and escaped as
    writers do, or otherwise."""
    members = draw(st.lists(st.tuples(_KEY, _VALUE), max_size=5))
    ascii_only = draw(st.booleans())

    def dumped(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=ascii_only)
        if isinstance(value, str) and "\\" not in text and draw(st.booleans()):
            text = text.replace("e", "\\u0065")  # a key or string escaped needlessly
        return text

    out = [draw(_SPACE), "{", draw(_SPACE)]
    for n, (key, value) in enumerate(members):
        if n:
            out += [",", draw(_SPACE)]
        out += [dumped(key), draw(_SPACE), ":", draw(_SPACE), dumped(value), draw(_SPACE)]
    out += ["}", draw(st.sampled_from(["\n", "\r\n", ""]))]
    return "".join(out)


@settings(max_examples=400)
@given(_lines(), _KEY)
def test_the_value_is_where_json_finds_it(line: str, field: str) -> None:
    record = json.loads(line)
    for name in (field, "text"):
        span = _value_span(line, name)
        if name not in record:
            assert span is None
        else:
            assert span is not None
            assert json.loads(line[span[0] : span[1]]) == record[name]
            # the last of repeated keys, as json.loads keeps it
            rest = line[: span[0]] + '"__"' + line[span[1] :]
            assert json.loads(rest)[name] == "__"


@settings(max_examples=1000)
@given(_lines(), _KEY)
@example('{"x": NaN, "text": -Infinity, "y": [Infinity, {"text": "]}"}]}\n', "text")
@example('{"a": "\\"}", "text": 1.5e-07}', "text")
def test_the_value_span_in_c_is_the_pythons(line: str, field: str) -> None:
    """Where C finds the value (a key with an escape left to the Python), the Python
    finds it too, on any line a JSON parser reads."""
    from dedup.io import records

    if records.native is None:
        pytest.skip("dedup._native was not built here")
    got = _value_span(line, field)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records, "native", None)
        assert got == _value_span(line, field)


def test_a_nested_value_or_a_line_of_no_object() -> None:
    line = '{"id": 1, "meta": {"a": [1, {"text": "no"}]}, "text": "yes"}\n'
    assert line[slice(*_value_span(line, "text"))] == '"yes"'  # type: ignore[misc]
    assert _value_span('["text", 1]\n', "text") is None
    assert _value_span("{}\n", "text") is None
    line = ' { "text" : "a" , "text" : "b" } \n'
    assert line[slice(*_value_span(line, "text"))] == '"b"'  # type: ignore[misc]


def test_a_record_line_keeps_every_other_byte() -> None:
    line = b'{"id":"7",  "text": "Caf\\u00e9 \\"cr\\u00e8me\\"", "n": 1.50}\r\n'
    record = json.loads(line)
    out = record_line(line, record, "text", "Caf\u00e9", True)
    assert out == b'{"id":"7",  "text": "Caf\\u00e9", "n": 1.50}\r\n'
