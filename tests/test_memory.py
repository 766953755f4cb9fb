"""Data where users keep it (#23): records, pairs, DataFrames, Arrow tables and datasets in
memory give the findings the same corpus gives as JSONL, and come back cleaned in their kind."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import dedup
from dedup.errors import InputError
from dedup.report import build_report, render_json, unpacked

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")


def _texts(count: int = 60, seed: int = 4) -> list[str]:
    """Posts with paragraphs repeated exactly, with a typo, and whole posts repeated."""
    rng = random.Random(seed)
    pool = ["".join(rng.choices("bcdfglmnprstvéèàaeiou", k=rng.randint(3, 9))) for _ in range(800)]
    paragraphs = [" ".join(rng.choices(pool, k=30)).capitalize() + "." for _ in range(40)]
    texts = []
    for n in range(count):
        body = [
            rng.choice(paragraphs)
            if rng.random() < 0.3
            else " ".join(rng.choices(pool, k=25)) + "."
            for _ in range(3)
        ]
        texts.append(f"Billet n° {n} : l’été\n\n" + "\n\n".join(body))
        if n % 9 == 0:
            texts.append(texts[-1])  # a whole post again
    return texts


def _frame() -> Any:
    texts = _texts()
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(len(texts))],
            "text": texts,
            "views": list(range(len(texts))),
        }
    )


def _as_jsonl(frame: Any, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for row in frame.to_dict(orient="records"):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _findings(result: dedup.Result) -> list[Any]:
    report = unpacked(json.loads(render_json(build_report(result))))
    return [report[k] for k in ("stats", "clusters", "boilerplate", "lsh")] + [
        [{k: v for k, v in d.items() if k not in ("file", "record")} for d in report["documents"]]
    ]


@pytest.mark.parametrize("kind", ["records", "pairs", "pandas", "arrow", "batches", "datasets"])
def test_data_in_memory_gives_the_findings_of_the_same_jsonl(tmp_path: Path, kind: str) -> None:
    frame = _frame()
    expected = _findings(dedup.scan([_as_jsonl(frame, tmp_path / "posts.jsonl")]))
    if kind == "records":
        data: Any = (row for row in frame.to_dict(orient="records"))
    elif kind == "pairs":
        data = list(zip(frame["id"], frame["text"], strict=True))
    elif kind == "pandas":
        data = frame
    elif kind == "arrow":
        data = pa.Table.from_pandas(frame, preserve_index=False)
    elif kind == "batches":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        data = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=7))
    else:
        datasets = pytest.importorskip("datasets")
        data = datasets.Dataset.from_pandas(frame, preserve_index=False)
    assert _findings(dedup.scan(data)) == expected


def test_a_dataframe_comes_back_cleaned_with_its_other_columns(tmp_path: Path) -> None:
    frame = _frame()
    cleaned, result = dedup.clean(frame)
    jsonl = _as_jsonl(frame, tmp_path / "posts.jsonl")
    dedup.clean([jsonl], out=tmp_path / "out")
    lines = (tmp_path / "out" / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    expected = [json.loads(line) for line in lines]
    assert isinstance(cleaned, pd.DataFrame)
    assert list(cleaned.columns) == ["id", "text", "views"]
    assert cleaned.to_dict(orient="records") == expected  # row order kept, emptied rows left out
    assert len(cleaned) < len(frame) and result.clusters
    # a whole post repeated is gone; kept with keep_empty, its text empty
    kept, _ = dedup.clean(frame, keep_empty=True)
    assert len(kept) == len(frame) and (kept["text"].str.strip() == "").sum() == len(frame) - len(
        cleaned
    )


def test_an_arrow_table_and_records_come_back_in_their_kind() -> None:
    frame = _frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    cleaned, _ = dedup.clean(table)
    assert isinstance(cleaned, pa.Table) and cleaned.schema == table.schema
    by_frame, _ = dedup.clean(frame)
    assert cleaned.to_pylist() == by_frame.to_dict(orient="records")
    records, _ = dedup.clean(iter(frame.to_dict(orient="records")))
    assert records == by_frame.to_dict(orient="records")
    no_ids, _ = dedup.clean([{"text": t} for t in frame["text"]])
    assert no_ids == [{"text": r["text"]} for r in records]  # no id invented in the output


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            [{"id": "a", "text": "Un texte assez long pour compter."}, {"id": "b"}],
            "<records>:2: no 'text' field",
        ),
        ([{"id": "a", "text": None}], "<records>:1: field 'text' is NoneType, not a string"),
        (
            [{"id": "a", "text": "x" * 30}, {"id": "a", "text": "y" * 30}],
            "<records>:2: duplicate document id 'a'",
        ),
    ],
)
def test_bad_rows_are_named(data: list[Any], message: str) -> None:
    with pytest.raises(InputError) as raised:
        dedup.scan(data)
    assert str(raised.value) == message
