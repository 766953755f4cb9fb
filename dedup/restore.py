"""Restoring: a cleaned text and the report's removed spans in, the original text out.

The report records, per document, every span `clean` cut and its exact text,
so the original is the cleaned text with each piece put back where it was;
`restore_corpus` does so for a whole cleaned folder.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dedup.errors import DedupError, InputError, OutputError
from dedup.io.documents import decode
from dedup.io.memory import plain
from dedup.io.packed import compressed, decompressed
from dedup.io.parquet import is_parquet
from dedup.io.readers import is_jsonl
from dedup.io.records import record_line
from dedup.io.writers import Files, inside
from dedup.jsonfiles import read_json
from dedup.report import REPORT_VERSION, unpacked


def restore(
    cleaned: str, removed: Sequence[tuple[int, int]], texts: Sequence[str], doc_id: str = ""
) -> str:
    """The original of `cleaned`, given the spans removed from it and their texts.

    >>> restore("A\\n\\nC\\n", [(1, 4)], ["\\n\\nB"])
    'A\\n\\nB\\n\\nC\\n'
    """
    if len(removed) != len(texts):
        raise DedupError(f"{doc_id}: the report lists {len(removed)} spans but {len(texts)} texts")
    out: list[str] = []
    position = 0  # in the cleaned text
    shift = 0  # characters put back so far
    for (start, end), text in sorted(zip(removed, texts, strict=True)):
        if end - start != len(text) or not position <= start - shift <= len(cleaned):
            raise DedupError(f"{doc_id}: removed span [{start}, {end}) does not fit the report")
        out.append(cleaned[position : start - shift])
        out.append(text)
        position = start - shift
        shift += end - start
    out.append(cleaned[position:])
    return "".join(out)


def restore_corpus(cleaned: Path, report_path: Path, out: Path) -> int:
    """Rebuild the original documents under `out` from a `clean --out` folder and its report.

    The report lists the documents with findings; every other file of the folder, and
    every other record of a JSONL file, is as it was and is copied.  Returns the number
    of files written.
    """
    # Version 1 reports quote the removed text as version 2 ones do; version 5 documents
    # are arrays.
    report = unpacked(read_json(report_path, "dedup_report", tuple(range(1, REPORT_VERSION + 1))))
    options = report.get("options", {})
    if not options.get("quotes", True):
        raise InputError(
            str(report_path), "written with --no-quotes: it holds no removed text to put back"
        )
    encoding, text_field = options.get("encoding", "utf-8"), options.get("text_field", "text")
    if out.resolve() == cleaned.resolve():
        raise OutputError(f"{out}: restore would overwrite the cleaned documents")
    documents = report.get("documents", [])
    written: set[Path] = set()
    with Files() as files:  # synced together
        for name, group in itertools.groupby(documents, key=lambda d: str(d.get("file", ""))):
            docs = list(group)
            source, target = inside(cleaned, name), inside(out, name)
            if is_parquet(source):  # read by pyarrow
                files.write(target, restored_parquet(source, docs, text_field))
                written.add(target)
                continue
            try:
                data = decompressed(source.read_bytes(), str(source))  # a .gz: its content
            except OSError as exc:
                raise InputError(str(source), f"cannot read: {exc.strerror}") from exc
            if is_jsonl(source):  # as the reader tells them
                lines = _lines(data)
                data = _restored_records(lines, docs, text_field, str(source))
            else:
                (doc,) = docs
                text, bom = decode(data, str(source), None, encoding)
                data = (("\ufeff" if bom else "") + _restored(text, doc)).encode(encoding)
            files.write(target, compressed(data, str(source)))
            written.add(target)
        for source in sorted(cleaned.rglob("*")):  # the files without findings, as they are
            target = inside(out, str(source.relative_to(cleaned)))
            if source.is_file() and target not in written:
                files.write(target, source.read_bytes())
                written.add(target)
    return len(written)


def _lines(data: bytes) -> list[bytes]:
    """A JSONL file's lines, each with its line break, cut at line feeds only, as the
    reader cuts them (a string may hold U+2028, say)."""
    return io.BytesIO(data).readlines()


def _restored_records(
    lines: list[bytes], docs: list[dict[str, Any]], text_field: str, source: str
) -> bytes:
    """A JSONL file's records restored: those the report lists (each at its place among
    the file's records, the ones `clean` left out put back), the others as they are."""
    at = {int(doc.get("record", n)): doc for n, doc in enumerate(docs)}
    total = len(lines) + sum("dropped" in doc for doc in docs)
    if at and max(at) >= total:
        raise InputError(source, f"{len(lines)} records, the report names record {max(at) + 1}")
    kept = iter(lines)
    rebuilt = []
    for number in range(total):
        doc = at.get(number)
        if doc is None:
            rebuilt.append(next(kept))
            continue
        if "dropped" not in doc:
            line = next(kept)
        elif isinstance(doc["dropped"], str):  # the line it would have been written as
            line = doc["dropped"].encode("utf-8")
        else:  # a version 2 report holds its record
            line = (json.dumps(doc["dropped"], ensure_ascii=False) + "\n").encode("utf-8")
        record = json.loads(line)
        if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
            raise InputError(source, f"no {text_field!r} text", number + 1)
        text = _restored(record[text_field], doc)
        rebuilt.append(record_line(line, record, text_field, text, bool(doc.get("escaped"))))
    return b"".join(rebuilt)


def restored_parquet(source: Path, docs: list[dict[str, Any]], text_field: str) -> bytes:
    """A cleaned Parquet file's rows restored, as `_restored_records` restores JSONL lines
    (a row left out comes back from its record in the report, cast to the file's schema)."""
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(source)
    except OSError as exc:
        raise InputError(str(source), f"cannot read: {exc}") from exc
    rows = [
        (json.dumps(row, ensure_ascii=False, default=plain) + "\n").encode("utf-8")
        for row in table.to_pylist()
    ]
    records = [
        json.loads(line) for line in _lines(_restored_records(rows, docs, text_field, str(source)))
    ]
    columns = {}
    for field in table.schema:
        values = [record[field.name] for record in records]
        if pyarrow.types.is_temporal(field.type):  # written in the report as ISO text
            columns[field.name] = pyarrow.array(values, type=pyarrow.string()).cast(field.type)
        else:
            columns[field.name] = pyarrow.array(values, type=field.type)
    sink = pyarrow.BufferOutputStream()
    pyarrow.parquet.write_table(pyarrow.table(columns, schema=table.schema), sink)
    return bytes(sink.getvalue())


def _restored(text: str, doc: dict[str, object]) -> str:
    removed = [(int(s), int(e)) for s, e in doc.get("removed", [])]  # type: ignore[attr-defined]
    original = restore(text, removed, list(doc.get("removed_text", [])), str(doc.get("doc")))  # type: ignore[call-overload]
    if len(original) != doc.get("chars_in"):
        raise InputError(str(doc.get("doc")), "restored length differs from the report's chars_in")
    return original
