"""Parquet in the command line (#23): a .parquet file or a folder of them is read like
JSONL, gives the report the same records give as JSONL, and `clean --out` writes Parquet
with the same schema, row order and other columns, the text column cleaned."""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.report import unpacked

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _rows(count: int = 80, seed: int = 7) -> list[dict[str, Any]]:
    """Posts with paragraphs repeated (exactly and with a typo), whole posts repeated, and
    columns of several types beside the text."""
    rng = random.Random(seed)
    pool = ["".join(rng.choices("bcdfglmnprstvéèàaeiou", k=rng.randint(3, 9))) for _ in range(700)]
    paragraphs = [" ".join(rng.choices(pool, k=28)).capitalize() + "." for _ in range(30)]
    rows: list[dict[str, Any]] = []
    for n in range(count):
        body = [
            rng.choice(paragraphs) if rng.random() < 0.3 else " ".join(rng.choices(pool, k=24))
            for _ in range(3)
        ]
        text = f"Billet n° {n} : l’été à Orléans\n\n" + "\n\n".join(body)
        if n % 11 == 5:
            text = rows[-1]["text"]  # a whole post again: its row is emptied
        rows.append(
            {
                "id": f"p{n:03d}",
                "text": text,
                "views": n * 3,
                "score": n / 7,
                "tags": ["blog", f"t{n % 4}"],
                "seen": datetime.datetime(2026, 1, 1 + n % 28, 12, 0),
            }
        )
    return rows


def _write(rows: list[dict[str, Any]], folder: Path, row_group_size: int = 16) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows).replace_schema_metadata({"source": "crawl 7"})
    parquet = folder / "posts.parquet"
    pq.write_table(table, parquet, row_group_size=row_group_size)
    jsonl = folder / "posts.jsonl"
    with jsonl.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({k: row[k] for k in ("id", "text")}, ensure_ascii=False) + "\n")
    return parquet, jsonl


def _report(path: Path, *options: str) -> dict[str, Any]:
    result = invoke("scan", str(path), "--format", "json", *options)
    assert result.exit_code in (0, 1), result.output
    report = unpacked(json.loads(result.stdout))
    report["options"].pop("include")
    return report


def test_parquet_gives_the_report_of_the_same_records_as_jsonl(tmp_path: Path) -> None:
    parquet, jsonl = _write(_rows(), tmp_path / "in")
    from_parquet = _report(parquet)
    from_jsonl = _report(jsonl)
    assert from_parquet["stats"]["chars_removed"] > 0
    text = json.dumps(from_jsonl, ensure_ascii=False).replace("posts.jsonl", "posts.parquet")
    assert json.dumps(from_parquet, ensure_ascii=False) == text


def test_clean_writes_parquet_with_every_other_column_and_the_row_order(tmp_path: Path) -> None:
    rows = _rows()
    parquet, jsonl = _write(rows, tmp_path / "in")
    assert invoke("clean", str(jsonl), "--out", str(tmp_path / "j")).exit_code in (0, 1)
    assert invoke("clean", str(parquet), "--out", str(tmp_path / "p")).exit_code in (0, 1)
    cleaned = (tmp_path / "j" / "posts.jsonl").read_text(encoding="utf-8")
    expected = [json.loads(line) for line in cleaned.splitlines()]
    written = pq.ParquetFile(tmp_path / "p" / "posts.parquet")
    original = pq.read_table(parquet)
    assert written.schema_arrow == original.schema  # metadata included
    table = written.read()
    assert table.column("id").to_pylist() == [r["id"] for r in expected]
    assert table.column("text").to_pylist() == [r["text"] for r in expected]
    assert len(expected) < len(rows)  # whole posts repeated: their rows emptied, left out
    by_id = {row["id"]: row for row in original.to_pylist()}
    for row in table.to_pylist():
        assert {k: v for k, v in row.items() if k != "text"} == {
            k: v for k, v in by_id[row["id"]].items() if k != "text"
        }
    assert (tmp_path / "in" / "posts.parquet").read_bytes() == parquet.read_bytes()


def test_keep_empty_keeps_every_row(tmp_path: Path) -> None:
    rows = _rows()
    parquet, _ = _write(rows, tmp_path / "in")
    invoke("clean", str(parquet), "--out", str(tmp_path / "p"), "--keep-empty")
    table = pq.read_table(tmp_path / "p" / "posts.parquet")
    assert table.column("id").to_pylist() == [row["id"] for row in rows]
    assert "" in table.column("text").to_pylist()


def test_a_folder_of_parquet_files_and_streamed_jsonl(tmp_path: Path) -> None:
    rows = _rows()
    folder = tmp_path / "in"
    for part in range(2):
        sub = folder / f"part-{part}"
        sub.mkdir(parents=True)
        table = pa.Table.from_pylist(rows[part * 40 : part * 40 + 40])
        pq.write_table(table, sub / "posts.parquet")
    report = _report(folder)
    assert report["stats"]["documents"] == len(rows)
    assert {d["file"] for d in report["documents"]} == {
        "part-0/posts.parquet",
        "part-1/posts.parquet",
    }
    streamed = invoke("clean", str(folder), "--out", "-")
    records = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert records[0] == {**rows[0], "seen": rows[0]["seen"].isoformat()}
    assert invoke("clean", str(folder), "--out", str(tmp_path / "out")).exit_code in (0, 1)
    assert (tmp_path / "out" / "part-1" / "posts.parquet").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no text column", "posts.parquet: no 'text' column"),
        ("null text", "posts.parquet:4: field 'text' is NoneType, not a string"),
        ("number text", "posts.parquet:1: field 'text' is int, not a string"),
        ("duplicate id", "posts.parquet:4: duplicate document id 'p000'"),
        ("binary column", "posts.parquet:1: a value of type bytes cannot be written as JSON"),
        ("not parquet", "posts.parquet: not a Parquet file"),
    ],
)
def test_bad_parquet_names_the_file_and_row(tmp_path: Path, change: str, message: str) -> None:
    rows = _rows(10)
    if change == "no text column":
        rows = [{k: v for k, v in row.items() if k != "text"} for row in rows]
    elif change == "null text":
        rows[3]["text"] = None
    elif change == "number text":
        rows = [{**row, "text": i} for i, row in enumerate(rows)]
    elif change == "binary column":
        rows = [{**row, "image": b"\x89PNG"} for row in rows]
    elif change == "duplicate id":
        rows[3]["id"] = "p000"
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), folder / "posts.parquet")
    if change == "not parquet":
        (folder / "posts.parquet").write_text("id,text\n1,Bonjour\n")
    result = CliRunner().invoke(main, ["scan", str(folder / "posts.parquet")])
    assert result.exit_code == 2
    assert message in result.output


def test_restore_gives_back_every_row(tmp_path: Path) -> None:
    rows = _rows()
    parquet, _ = _write(rows, tmp_path / "in")
    report = tmp_path / "report.json"
    invoke("clean", str(parquet), "--out", str(tmp_path / "p"), "--report", str(report))
    restored = invoke(
        "restore", str(tmp_path / "p"), "--report", str(report), "--out", str(tmp_path / "r")
    )
    assert restored.exit_code == 0, restored.output
    table = pq.read_table(tmp_path / "r" / "posts.parquet")
    assert table.to_pylist() == pq.read_table(parquet).to_pylist()
    assert table.schema == pq.read_table(parquet).schema


def test_check_names_the_parquet_file_and_row(tmp_path: Path) -> None:
    rows = _rows(12)
    rows[9]["text"] = rows[2]["text"]  # a whole post again, at row 10
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), folder / "posts.parquet")
    result = CliRunner().invoke(main, ["check", str(folder), "--no-baseline", "--no-index"])
    assert result.exit_code == 1
    assert f"{folder / 'posts.parquet'}:10:1: DUP006 document repeats" in result.output


def test_an_empty_parquet_file_gives_an_empty_one_with_its_schema(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    schema = pa.schema([("id", pa.string()), ("text", pa.large_string()), ("n", pa.int32())])
    pq.write_table(schema.empty_table(), folder / "none.parquet")
    rows = _rows(6)
    pq.write_table(pa.Table.from_pylist(rows), folder / "some.parquet")
    again = [{**row, "id": f"again-{row['id']}"} for row in rows[:2]]  # their texts repeat
    pq.write_table(pa.Table.from_pylist(again), folder / "twice.parquet")
    assert invoke("clean", str(folder), "--out", str(tmp_path / "out")).exit_code in (0, 1)
    empty = pq.read_table(tmp_path / "out" / "none.parquet")
    assert empty.num_rows == 0 and empty.schema == schema
    assert pq.read_table(tmp_path / "out" / "twice.parquet").num_rows == 0


@pytest.mark.parametrize("kind", ["large_string", "string_view", "dictionary"])
def test_text_columns_of_every_string_type_are_cleaned(tmp_path: Path, kind: str) -> None:
    rows = _rows(30)
    table = pa.Table.from_pylist(rows)
    text = table.column("text")
    if kind == "large_string":
        text = text.cast(pa.large_string())
    elif kind == "string_view":
        text = text.cast(pa.string_view())
    else:
        text = text.dictionary_encode()
    at = table.schema.get_field_index("text")
    table = table.set_column(at, pa.field("text", text.type), text)
    table = table.set_column(
        0, pa.field("id", pa.string_view()), table.column("id").cast(pa.string_view())
    )
    pq.write_table(table, tmp_path / "posts.parquet")
    assert invoke(
        "clean", str(tmp_path / "posts.parquet"), "--out", str(tmp_path / "p")
    ).exit_code in (0, 1)
    _, jsonl = _write(rows, tmp_path / "j")
    invoke("clean", str(jsonl), "--out", str(tmp_path / "jo"))
    expected = [
        json.loads(line)
        for line in (tmp_path / "jo" / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    cleaned = pq.read_table(tmp_path / "p" / "posts.parquet")
    assert cleaned.schema == pq.read_schema(tmp_path / "posts.parquet")
    assert cleaned.column("text").to_pylist() == [r["text"] for r in expected]


def test_a_damaged_parquet_file_is_an_error_naming_it(tmp_path: Path) -> None:
    texts = [
        f"Bonjour à tous, texte numéro {i} assez long pour être comparé." for i in range(20000)
    ]
    table = pa.table({"id": [str(i) for i in range(20000)], "text": texts})
    path = tmp_path / "posts.parquet"
    pq.write_table(table, path, row_group_size=2000, compression="none")
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 8000] = b"\xab" * 8000  # pages in the middle, not the footer
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["scan", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "cannot read Parquet" in result.output
