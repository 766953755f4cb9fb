"""Spark's executors as a run's workers (`SparkWorkers`, what `dedup check` and the API's
`engine="spark"` use): batches answered in Spark, in input order, failures raised as a
local run raises them; and `--engine spark` through `spark-submit` and on bad input.

Spark runs in `local[2]` here, one session for every test module (`conftest.spark`); the
runs reuse it, as they would one that `spark-submit` made.  The whole run on Spark
against the local one, byte for byte: `test_spark_engine`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import PAGES
from test_bad_input import _long_jsonl

from dedup.cli import main
from dedup.errors import WorkerError

if shutil.which("java") is None and not os.environ.get("CI"):  # CI installs it: never skipped there
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # pandas 3 (not used by dedup's engine)
    from pyspark import cloudpickle

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
    # spark-submit starts its own driver: the session, master and JVM are its own.  One
    # level (every level is compared in test_spark_engine): a run of half the Spark jobs.
    import subprocess

    import dedup.cli.spark_submit
    import dedup.spark.workers

    local = tmp_path / "local.json"
    assert run("scan", str(PAGES), "--unit", "paragraph", "--report", str(local)).exit_code == 0
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
            "--unit",
            "paragraph",
            "--report",
            str(submitted),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran = " at " + str(Path(dedup.spark.workers.__file__).parent)
    assert ran in done.stderr  # Spark ran the stages' jobs
    assert submitted.read_bytes() == local.read_bytes()
    assert json.loads(local.read_bytes())["stats"]["clusters"] > 0
