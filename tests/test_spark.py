"""`--engine spark`: the same report and cleaned output as the local engine, byte for byte.

Spark runs in `local[2]` here, one session for every test module (`conftest.spark`); the
runs reuse it, as they would one that `spark-submit` made.  Every stage a worker process
runs locally runs in Spark's executors: these tests fail if a batch is answered
differently there, in another order, or not by Spark at all.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import PAGES, blog_sentences
from test_bad_input import _long_jsonl

from dedup.cli import main
from dedup.errors import WorkerError

if shutil.which("java") is None and not os.environ.get("CI"):  # CI installs it: never skipped there
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # pandas 3 (not used by dedup's engine)
    from pyspark import cloudpickle

from dedup.report import unpacked
from dedup.spark import SparkWorkers

# The executors cannot import this module: its functions travel whole.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _pid(_: int) -> int:
    return os.getpid()


def _square(x: int) -> int:
    return x * x


def _fail_on(x: int) -> int:
    if x in (7, 9):
        raise ValueError(f"failed on {x}")
    return x


def _die(x: int) -> int:
    if x == 3:
        os._exit(9)
    return x


def test_batches_run_in_sparks_executors_and_come_back_in_order(spark: Any) -> None:
    workers = SparkWorkers()
    assert list(workers.map(_square, range(100))) == [x * x for x in range(100)]
    assert os.getpid() not in set(workers.map(_pid, range(8)))
    assert list(workers.map(_square, [])) == []


def test_the_first_failure_in_input_order_is_raised_as_it_was(spark: Any) -> None:
    results = SparkWorkers().map(_fail_on, range(40))
    assert [next(results) for _ in range(7)] == list(range(7))
    with pytest.raises(ValueError, match="failed on 7"):
        next(results)


def _slow(x: int) -> int:
    if x:
        time.sleep(60)
    return x


def test_a_map_left_part_way_cancels_its_job_and_the_next_map_runs(spark: Any) -> None:
    # Ctrl-C, an error or a consumer that had enough: the job under way stops at once.
    started = time.monotonic()
    results = SparkWorkers().map(_slow, [0] * 8 + [1] * 8)
    assert [next(results) for _ in range(8)] == [0] * 8
    results.close()
    assert list(SparkWorkers().map(_square, range(5))) == [0, 1, 4, 9, 16]
    assert time.monotonic() - started < 40


def test_a_task_that_dies_stops_the_run_with_a_worker_error(spark: Any) -> None:
    with pytest.raises(WorkerError, match=r"Spark task failed.*Python worker exited unexpectedly"):
        list(SparkWorkers().map(_die, range(8)))


def _both(tmp_path: Path, command: str, source: Path, *args: str) -> list[dict[str, bytes]]:
    """Run `command` on `source` with each engine; per engine, every file it wrote."""
    outputs = []
    for engine in ("local", "spark"):
        root = tmp_path / engine
        root.mkdir()
        report = root / "report.json"
        extra = ["--out", str(root / "out")] if command == "clean" else []
        result = run(
            command, str(source), "--report", str(report), "--engine", engine, *extra, *args
        )
        assert result.exit_code == 0, result.output
        outputs.append(
            {
                str(p.relative_to(root)): p.read_bytes()
                for p in sorted(root.rglob("*"))
                if p.is_file()
            }
        )
    return outputs


def test_the_blog_pages_give_the_same_report_and_cleaned_pages(spark: Any, tmp_path: Path) -> None:
    local, distributed = _both(tmp_path, "clean", PAGES, "--jobs", "2")
    assert set(local) == set(distributed) and len(local) == 6
    assert local == distributed
    assert json.loads(local["report.json"])["stats"]["duplicate_units"] > 0


def _corpus(path: Path, docs: int = 3000) -> None:
    """JSONL documents of sections (a heading, paragraphs of sentences from the blog pages)
    with repeats at every level: whole documents, sections, paragraphs and sentences,
    exact and with a word changed, and a byline on every document."""
    rng = random.Random(22)
    sentences = blog_sentences()
    made: list[list[list[str]]] = []  # documents of sections of lines
    records = []
    for number in range(docs):
        kind = number % 10
        if kind == 9 and made:  # a document again, whole
            sections = made[rng.randrange(len(made))]
        else:
            sections = []
            for _ in range(rng.randint(1, 3)):
                paragraphs = [
                    " ".join(rng.sample(sentences, rng.randint(1, 4)))
                    for _ in range(rng.randint(1, 3))
                ]
                sections.append([f"Partie {rng.randrange(10**6)}", *paragraphs])
            if kind in (3, 4) and made:  # a section of another document
                sections.append(rng.choice(made[rng.randrange(len(made))]))
            if kind == 5 and made:  # a paragraph of another, one word changed
                other = rng.choice(made[rng.randrange(len(made))])
                sections[0].append(other[-1].replace(" ", " très ", 1))
            if kind == 6 and made:  # a sentence of another inside a new paragraph
                other = rng.choice(made[rng.randrange(len(made))])
                sections[-1][-1] += " " + other[-1].split(". ")[0] + "."
        made.append(sections)
        body = "\n\n".join("\n\n".join(section) for section in sections)
        text = f"{body}\n\nPublié par Marie Dupont le 3 mars 2021 à 10 h 15"
        records.append({"id": f"d{number}", "text": text, "lang": "fr"})
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )


def test_a_corpus_with_repeats_at_every_level_gives_the_same_output(
    spark: Any, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    _corpus(corpus)
    local, distributed = _both(tmp_path, "clean", corpus, "--jobs", "2")
    assert local == distributed
    report = unpacked(json.loads(local["report.json"]))
    levels = {c["unit"] for c in report["clusters"]}
    assert {"document", "section", "paragraph", "sentence"} <= levels, levels
    assert report["boilerplate"], "the byline is boilerplate"


def test_bad_input_under_spark_gets_the_local_error_and_exit_code(
    spark: Any, tmp_path: Path
) -> None:
    _long_jsonl(tmp_path / "a.jsonl", {}, prefix="a")
    _long_jsonl(tmp_path / "d.jsonl", {4321: b'{"id": "x", "text": \n'})
    for engine in ("local", "spark"):
        result = run("scan", str(tmp_path), "--engine", engine, "--unit", "document")
        assert result.exit_code == 2, result.output
        assert "d.jsonl:4321: invalid JSON" in result.stderr


def test_spark_submit_runs_dedups_script_with_the_spark_engine(tmp_path: Path) -> None:
    # spark-submit starts its own driver: the session, master and JVM are its own.
    import subprocess

    import dedup.cli.spark_submit
    import dedup.spark.workers

    local = tmp_path / "local.json"
    assert run("scan", str(PAGES), "--report", str(local)).exit_code == 0
    submitted = tmp_path / "submitted.json"
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("spark-submit")),
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            dedup.cli.spark_submit.__file__,
            "scan",
            str(PAGES),
            "--report",
            str(submitted),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran = "collect at " + str(Path(dedup.spark.workers.__file__))
    assert ran in done.stderr  # Spark ran its jobs
    assert submitted.read_bytes() == local.read_bytes()
