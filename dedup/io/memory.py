"""Data in memory: records, (id, text) pairs, pandas DataFrames, Arrow tables and Hugging Face
datasets in, a JSONL spool the engine reads (and reads again) out; and back: the cleaned spool
in, the cleaned data in the kind it came in.

No library is imported here: each kind is recognized by what it offers (duck typing), so
pandas, pyarrow and datasets are needed only by whoever passes their objects.  Rows are
written to the spool one at a time (an Arrow table a record batch at a time), so memory
follows the units, as for files.  Every row's id is its id field when it has one, else its
row number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dedup.errors import InputError

#: How a spool names what it holds in messages: "<records>:ROW".
LABEL = "<records>"


@dataclass
class Spooled:
    """What was written to a spool, to give the cleaned data back in the same kind."""

    kind: str  # "records", "pairs", "pandas", "arrow", "datasets"
    data: Any  # the object given (a table or frame, kept for its other columns)
    positions: dict[str, int] = field(default_factory=dict)  # id -> row
    numbered: set[int] = field(default_factory=set)  # rows without an id: their number is


def is_data(value: object) -> bool:
    """Whether `value` is data in memory rather than paths (a str or a path is a path)."""
    if isinstance(value, str | Path):
        return False
    if _kind(value) != "iterable":
        return True
    if isinstance(value, list | tuple):
        return bool(value) and not isinstance(value[0], str | Path)
    return True  # a generator or other iterable: records or pairs


def _kind(value: object) -> str:
    if hasattr(value, "iloc") and hasattr(value, "columns"):
        return "pandas"
    if hasattr(value, "schema") and hasattr(value, "to_batches"):
        return "arrow"
    if hasattr(value, "schema") and hasattr(value, "read_next_batch"):
        return "arrow-reader"
    if hasattr(value, "column_names") and hasattr(value, "features"):
        return "datasets"
    return "iterable"


def spool(data: Any, path: Path, text_field: str, id_field: str) -> Spooled:
    """Write `data` as JSONL records to `path`; returns how to rebuild it."""
    kind = _kind(data)
    if kind == "arrow-reader":
        batches = _reader_batches(data)
    elif kind == "arrow":
        batches = iter(data.to_batches())
    if kind == "pandas":
        rows: Iterator[Mapping[str, Any]] = (
            dict(zip(data.columns, values, strict=True))
            for values in data.itertuples(index=False, name=None)
        )
    elif kind in ("arrow", "arrow-reader"):
        rows = (row for batch in batches for row in batch.to_pylist())
    else:
        rows = iter(data)
    spooled = Spooled("records" if kind == "iterable" else kind, data)
    with path.open("w", encoding="utf-8") as out:
        for number, row in enumerate(rows):
            if kind == "iterable" and number == 0 and not isinstance(row, Mapping):
                spooled.kind = "pairs"
            record = _record(row, number, spooled.kind, text_field, id_field)
            if record[id_field] is None:
                record[id_field] = str(number)
                spooled.numbered.add(number)
            key = str(record[id_field])
            if key in spooled.positions:
                raise InputError(LABEL, f"duplicate document id {key!r}", number + 1)
            spooled.positions[key] = number
            try:
                line = json.dumps(record, ensure_ascii=False, default=plain)
            except (TypeError, ValueError) as exc:
                raise InputError(LABEL, f"row {number}: {exc}", number + 1) from exc
            out.write(line + "\n")
    return spooled


def _reader_batches(reader: Any) -> Iterator[Any]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


def _record(row: Any, number: int, kind: str, text_field: str, id_field: str) -> dict[str, Any]:
    """One row as a JSONL record with its id; a row of the wrong shape is an error naming it."""
    if kind == "pairs":
        if not isinstance(row, tuple | list) or len(row) != 2:
            raise InputError(LABEL, "a row must be a mapping or an (id, text) pair", number + 1)
        return {id_field: row[0], text_field: row[1]}
    if not isinstance(row, Mapping):
        raise InputError(LABEL, "a row must be a mapping or an (id, text) pair", number + 1)
    record = dict(row)
    if text_field not in record:
        raise InputError(LABEL, f"no {text_field!r} field", number + 1)
    record.setdefault(id_field, None)
    return record


def plain(value: Any) -> Any:
    """A value JSON has no form for, as one it has: numpy scalars and arrays, timestamps."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"a value of type {type(value).__name__} cannot be written as JSON")


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def rebuilt(spooled: Spooled, cleaned: Path, text_field: str, id_field: str) -> Any:
    """The cleaned data, in the kind `spool` was given, from the cleaned spool at `cleaned`
    (its records in order, every field kept, less those cleaning left out)."""
    records = list(_records(cleaned))
    if spooled.kind == "records":
        for record in records:  # an id given here goes
            if spooled.positions[str(record[id_field])] in spooled.numbered:
                del record[id_field]
        return records
    if spooled.kind == "pairs":
        return [(record[id_field], record[text_field]) for record in records]
    if spooled.kind == "arrow-reader":  # read once: its rows come back from the spool
        import pyarrow  # only reached with an Arrow object given, so pyarrow is there

        return pyarrow.Table.from_pylist(records, schema=spooled.data.schema)
    kept = [spooled.positions[str(record[id_field])] for record in records]
    texts = [record[text_field] for record in records]
    data = spooled.data
    if spooled.kind == "pandas":
        frame = data.iloc[kept].copy()
        frame[text_field] = texts
        return frame
    if spooled.kind == "arrow":
        import pyarrow

        table = data.take(kept)
        at = table.schema.get_field_index(text_field)
        kind = table.schema.field(at).type
        return table.set_column(at, table.schema.field(at), pyarrow.array(texts, type=kind))
    rows = [data[i] for i in kept]  # a datasets.Dataset: its rows as dicts
    for row, text in zip(rows, texts, strict=True):
        row[text_field] = text
    return type(data).from_list(rows, features=data.features)
