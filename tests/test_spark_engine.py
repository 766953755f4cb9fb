"""`--engine spark` end to end: the command line on Spark in `local[2]` against the local
run, the JSON report and every cleaned file byte for byte, on the fixtures, generated
blog pages and records with duplicates at every level, and bad input."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, PAGES, blog_sentences
from test_spark_stages import _boilerplate_pages, _parquet

from dedup.cli import main

if shutil.which("java") is None and not os.environ.get("CI"):  # CI installs it: never skipped there
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

#: The golden fixtures' inputs.
GOLDEN = [
    PAGES,
    *(FIXTURES / "golden" / case / "input" for case in ("crlf", "markdown", "norepeat")),
    FIXTURES / "golden" / "jsonl" / "input" / "news.jsonl",
]


def _generated(path: Path, docs: int = 3_000) -> Path:
    """`docs` blog posts as JSONL records, of words of the blog pages: a byline and a
    comment form on each, and copies at every level: whole posts (exact, and with a word
    changed), sections reposted, paragraphs copied (one with a sentence added), titles
    printed twice, and sentences of the blog pages quoted."""
    rng = random.Random(11)
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(PAGES.iterdir()))
    words = sorted({w for w in re.findall(r"[^\W\d_]{4,}", text.lower())})
    quoted = blog_sentences()

    def sentence() -> str:
        picked = [rng.choice(words) for _ in range(rng.randint(8, 16))]
        return " ".join(picked).capitalize() + "."

    def paragraph() -> str:
        return " ".join(sentence() for _ in range(rng.randint(2, 4)))

    form = "Laisser un commentaire : votre adresse e-mail ne sera pas publiée."
    posts: list[str] = []
    sections: list[str] = []
    paragraphs: list[str] = []
    for n in range(docs):
        roll = rng.random()
        if posts and roll < 0.04:
            posts.append(rng.choice(posts))  # posted again whole
            continue
        if posts and roll < 0.08:  # again, a word changed
            words_of = rng.choice(posts).split(" ")
            words_of[rng.randrange(len(words_of))] = rng.choice(words)
            posts.append(" ".join(words_of))
            continue
        title = " ".join(rng.choice(words) for _ in range(4)).capitalize()
        parts = [f"# {title}", f"Publié le {n % 28 + 1} mai 2024 par Élise Martin"]
        if rng.random() < 0.1:
            parts.insert(1, f"# {title}")  # the title printed twice
        for _ in range(rng.randint(1, 3)):
            if sections and rng.random() < 0.1:
                parts.append(rng.choice(sections))  # a section reposted
                continue
            body = [paragraph() for _ in range(rng.randint(1, 3))]
            if paragraphs and rng.random() < 0.15:
                copied = rng.choice(paragraphs)
                body.append(copied + (f" {sentence()}" if rng.random() < 0.3 else ""))
            if rng.random() < 0.15:
                body[0] += f" {rng.choice(quoted)}"
            paragraphs += body
            section = "\n\n".join([f"## {sentence()[:-1]}", *body])
            sections.append(section)
            parts.append(section)
        parts.append(form)
        posts.append("\n\n".join(parts) + "\n")
    lines = [json.dumps({"id": f"post-{n}", "text": post}) for n, post in enumerate(posts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _both(
    tmp_path: Path, name: str, args: list[str], spark_only: tuple[str, ...] = ()
) -> tuple[Any, Any]:
    """The command `args` run locally and on Spark (with `spark_only` too): each result
    and the folder its outputs are in (`{}` in an argument)."""
    runs = []
    for engine in ("local", "spark"):
        where = tmp_path / f"{name}-{engine}"
        where.mkdir()
        given = [*args, "--engine", engine, *(spark_only if engine == "spark" else ())]
        given = [a.replace("{}", str(where)) for a in given]
        result = CliRunner().invoke(main, given, catch_exceptions=False)
        runs.append((result, where))
    return runs[0], runs[1]


def test_the_spark_engine_writes_the_local_runs_report_and_cleaned_files(
    spark: Any, tmp_path: Path
) -> None:
    # The fixtures, pages sharing a byline, a comment form and a newsletter, Parquet
    # records and generated posts with copies at every level, in one run: the same
    # report and cleaned files, and the report's partitions its lines.
    quiet = tmp_path / "quiet.txt"  # a repeat exempted: listed as suppressed
    repeat = "Ce paragraphe revient deux fois, mais la seconde est exemptée."
    quiet.write_text(f"{repeat}\n\n<!-- dedup: ignore -->\n{repeat}\n", encoding="utf-8")
    paths = [
        *map(str, GOLDEN),
        str(quiet),
        str(_boilerplate_pages(tmp_path)),
        str(_parquet(tmp_path)),
        str(_generated(tmp_path / "posts.jsonl")),
    ]
    args = ["clean", *paths, "--out", "{}/out", "--report", "{}/report.json"]
    (local, here), (remote, there) = _both(tmp_path, "all", args, ("--report-parts", "{}/parts"))
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    assert remote.output == local.output  # the summary line
    report = (here / "report.json").read_bytes()
    assert (there / "report.json").read_bytes() == report
    assert _files(there / "out") == _files(here / "out")
    found = json.loads(report)
    units = {entry[1] for entry in found["clusters"]}
    assert units == {"document", "section", "paragraph", "sentence"}, units
    assert found["boilerplate"] and found["suppressed"], found["stats"]
    assert any(len(doc) > 6 for doc in found["documents"])  # a record left out
    # And as partitions and a summary.
    parts = there / "parts"
    summary = json.loads((parts / "summary.json").read_bytes())
    for name in ("documents", "clusters", "boilerplate"):
        lines = [
            json.loads(line)
            for part in sorted((parts / name).glob("part-*"))
            for line in part.read_text(encoding="utf-8").splitlines()
        ]
        assert lines == found.pop(name), name
    assert summary == found


def test_the_spark_engine_keeps_the_local_runs_rules_either_way(spark: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    # Parquet rows with other columns cleaned to a URI, the longest copy kept,
    # boilerplate removed, no quotes: Parquet partitions that hold, in order by name, the
    # rows the local run writes (those cleaning empties left out), every column kept.
    records = _boilerplate_pages(tmp_path, records=True)
    sources = [str(_as_parquet(records)), str(_posts_parquet(tmp_path))]
    rules = ["--keep", "longest", "--boilerplate", "remove", "--no-quotes"]
    args = ["clean", *sources, "--out", "{}/out", "--report", "{}/r.json", *rules]
    (local, here), (remote, there) = _both(tmp_path, "longest", args, ("--out", "file://{}/out"))
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert remote.output == local.output
    assert (there / "r.json").read_bytes() == (here / "r.json").read_bytes()
    wanted = [pq.read_table(here / "out" / Path(source).name) for source in sources]
    assert sum(t.num_rows for t in wanted) < sum(pq.read_metadata(s).num_rows for s in sources)
    parts = sorted((there / "out").glob("part-*.parquet"))
    assert parts and (there / "out" / "_SUCCESS").exists()
    rows = [row for part in parts for row in pq.read_table(part).to_pylist()]
    # The files' columns united, as Spark unites them: a column another file lacks is null.
    names = [n for n in wanted[1].schema.names] + [
        n for n in wanted[0].schema.names if n not in wanted[1].schema.names
    ]
    assert sorted(pq.read_schema(parts[0]).names) == sorted(names)
    assert rows == [
        {name: row.get(name) for name in rows[0]} for t in wanted for row in t.to_pylist()
    ]
    # A text file, JSONL records and Parquet rows cleaned to standard output with
    # boilerplate kept unlisted and every verified pair of distinct texts listed: the
    # local run's records, in corpus order, and its report.
    posts = str(_generated(tmp_path / "posts.jsonl", docs=300))
    page = str(PAGES / sorted(os.listdir(PAGES))[0])
    args = ["clean", page, str(records), posts, sources[1], "--out", "-", "--report", "{}/r.json"]
    (local, here), (remote, there) = _both(
        tmp_path, "keep", [*args, "--boilerplate", "keep", "--pairs"]
    )
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert remote.stdout == local.stdout
    assert (there / "r.json").read_bytes() == (here / "r.json").read_bytes()
    cleaned = [json.loads(line) for line in local.stdout.splitlines()]
    assert cleaned[0]["id"].endswith(".txt") and len(cleaned) > 250
    found = json.loads((here / "r.json").read_bytes())
    assert found["stats"]["clusters"] > 0
    assert {pair[0] for pair in found["pairs"]} >= {"document", "paragraph", "sentence"}
    assert {pair[3] for pair in found["pairs"]} >= {"near", "contained"}


def test_bad_input_stops_the_spark_engine_as_it_stops_the_local_run(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "notes.jsonl"
    lines = [
        json.dumps({"id": n, "text": f"Note n° {n} : l’été à Noirmoutier."}) for n in range(50)
    ]
    lines[31] = '{"id": 31, "text": "coupé'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (local, _), (remote, _) = _both(tmp_path, "bad", ["scan", str(path)])
    assert local.exit_code == remote.exit_code == 2
    assert f"{path}:32" in local.output
    assert remote.output == local.output
    # Two documents of one id: the later named, as locally.
    lines[31] = json.dumps({"id": 7, "text": "Une autre note, du même numéro."})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (local, _), (remote, _) = _both(tmp_path, "same-id", ["scan", str(path)])
    assert local.exit_code == remote.exit_code == 2
    assert f"{path}:32: duplicate document id '7'" in local.output
    assert remote.output == local.output
    # Partitions are not written over a path that exists: refused before the run.
    for option in ("--out", "--report-parts"):
        there = tmp_path / "there"
        (there / "clusters").mkdir(parents=True, exist_ok=True)
        where = there.as_uri() if option == "--out" else str(there)
        command = "clean" if option == "--out" else "scan"
        args = [command, str(path), "--engine", "spark", option, where]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "exists already" in result.output, result.output
    # Parquet files whose columns no set of partitions can hold both ways (a score that is
    # a number in one, words in the other): refused before the run, the file and column named.
    _columns_apart(spark, tmp_path)
    # Options the Spark engine does not take are refused, not ignored.
    result = CliRunner().invoke(main, ["scan", str(path), "--engine", "spark", "--format", "html"])
    assert result.exit_code == 2, result.output
    result = CliRunner().invoke(main, ["scan", str(path), "--report-parts", str(tmp_path)])
    assert result.exit_code == 2 and "--engine spark" in result.output


def _columns_apart(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sources = []
    for name, scores in (("notées", [0.5, 2.0]), ("mots [2]", ["haute", "basse"])):
        path = tmp_path / f"{name}.parquet"
        texts = [f"Billet {n} de « {name} », publié l’été dernier." for n in range(2)]
        ids = [f"{name}-{n}" for n in range(2)]
        pq.write_table(pa.table({"id": ids, "text": texts, "score": scores}), path)
        sources.append(str(path))
    out = tmp_path / "apart"
    args = ["clean", *sources, "--engine", "spark", "--out", out.as_uri()]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"{sources[1]}: column 'score'" in result.output and "notées.parquet" in result.output
    assert "documents" not in result.output and not out.exists()  # no run, nothing written
    # Columns one type holds (whole numbers, one of 32 bits) are united, as Spark widens them.
    from dedup.io.documents import InputFile
    from dedup.spark.clean import parquet_rows

    narrow = pa.table({"id": ["m-0"], "text": ["Un autre."], "score": pa.array([1], pa.int32())})
    pq.write_table(narrow, sources[1])
    pq.write_table(pa.table({"id": ["n-0"], "text": ["Encore un."], "score": [3]}), sources[0])
    files = [InputFile(Path(s), Path(s).name, True, s, Path(s)) for s in sources]
    rows = parquet_rows(spark, files)
    assert dict(rows.dtypes)["score"] == "bigint"
    assert sorted(row["score"] for row in rows.collect()) == [1, 3]


def _as_parquet(records: Path) -> Path:
    """JSONL records as a Parquet file beside them, a column for each field."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    path = records.with_suffix(".parquet")
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _posts_parquet(tmp_path: Path) -> Path:
    """120 generated posts as Parquet rows with columns besides the text and id: a number,
    a language, a list of tags (none on some), a score."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    posts = _generated(tmp_path / "posts-for-parquet.jsonl", docs=120)
    texts = [json.loads(line)["text"] for line in posts.read_text(encoding="utf-8").splitlines()]
    path = tmp_path / "posts.parquet"
    table = pa.table(
        {
            "id": [f"row-{n}" for n in range(len(texts))],
            "text": texts,
            "number": pa.array(range(len(texts)), pa.int64()),
            "lang": ["fr" if n % 3 else "fr-CA" for n in range(len(texts))],
            "tags": [None if n % 7 == 0 else ["blog", f"n° {n}"] for n in range(len(texts))],
            "score": [n / 4 for n in range(len(texts))],
        }
    )
    pq.write_table(table, path, row_group_size=64)
    return path
