"""Apache Spark as a run's workers (`--engine spark`).

Every stage hands its workers batches through one call, `Workers.map`: chunks of the
corpus to read and fingerprint, candidate pairs to verify, links whose repeated children
to find.  `SparkWorkers` is that call run by Spark: each batch a task, calling the very
function a local worker process calls, the answers back in input order.  The main
process (Spark's driver) merges, resolves and reports as the local engine's does, so
the decisions, the report and the cleaned output are the same, byte for byte.

Executors read the input files themselves, at the paths the driver names: on a
cluster, a filesystem every node mounts at the same place.  The driver holds the table
of units, as the local main process does (about 150 bytes a unit).

`spark-submit` runs `dedup/cli/spark_submit.py` with a dedup command line; the session is
then the one `spark-submit` configured.
"""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import os
import re
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from dedup.errors import ConfigError, WorkerError
from dedup.parallel import Workers, attempt, tune_allocator

T = TypeVar("T")
R = TypeVar("R")

#: Batches a Spark job takes, per task slot of the cluster: a job ends when its slowest
#: task does, so more than one round of tasks keeps the slots busy between stragglers.
_ROUNDS = 4


def spark_session(master: str | None = None, jobs: int = 0) -> Any:
    """The running Spark session, or one started for dedup.

    A session `spark-submit` (or the caller) made is used as it is.  Otherwise one is
    started on `master`, else on the master Spark's own configuration names, else on
    this machine (`local[jobs]`, every core for 0).  Executors run this very Python
    (PYSPARK_PYTHON) and Spark listens on the loopback address (SPARK_LOCAL_IP) unless
    the environment says otherwise.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        with warnings.catch_warnings():
            # PySpark warns of pandas 3 on import; dedup's engine does not use pandas.
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark import SparkConf
            from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "--engine spark needs PySpark: pip install 'dedup[spark]' (and Java 17)"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("dedup")
    if master is None and not SparkConf().contains("spark.master"):
        master = f"local[{jobs or '*'}]"
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        log = Path(__file__).with_name("log4j2.properties")
        builder = (
            builder.config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log.as_uri()}")
            # A shuffle's partitions, _ROUNDS a core: Spark's 200 are tasks of a few rows
            # each on one machine (the DataFrame stages' tests took twice as long).
            .config("spark.sql.shuffle.partitions", str(_ROUNDS * (jobs or os.cpu_count() or 1)))
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return builder.getOrCreate()
    except Exception as exc:  # no Java, or a master that cannot be reached
        raise ConfigError(f"Spark could not start: {gist(exc)}") from exc


class SparkWorkers(Workers):
    """`Workers` whose batches Spark's executors run: the same `map`, in input order.

    Batches go to Spark a job at a time, `_ROUNDS` per task slot, each batch a task; the
    next job is under way while the answers of one are taken.  An executor may meet a
    batch after a later one (a task retried, or rescheduled): no stage counts on the
    order a worker sees them in.  The session is the caller's to stop: one session
    serves every run of a process.
    """

    local = False  # executors may be other machines: they read the corpus, not copies

    def __init__(self, master: str | None = None, jobs: int = 0) -> None:
        super().__init__(jobs)
        self.master = master
        self._session: Any = None

    def close(self) -> None:
        """Nothing to stop: the session outlives the run."""

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._session is None:
            self._session = spark_session(self.master, self.jobs)
        context = self._session.sparkContext
        size = _ROUNDS * max(1, context.defaultParallelism)
        task = functools.partial(_answer, function)
        group = f"dedup-{uuid.uuid4().hex}"  # this map's jobs, to cancel when it stops

        stopped = threading.Event()

        def job(batches: list[T]) -> list[tuple[bool, Any]]:
            context.setJobGroup(group, "dedup", interruptOnCancel=True)
            if stopped.is_set():
                return []
            answers: list[tuple[bool, Any]] = (
                context.parallelize(batches, len(batches)).map(task).collect()
            )
            return answers

        iterator = iter(items)
        pool = concurrent.futures.ThreadPoolExecutor(1)
        pending: concurrent.futures.Future[list[tuple[bool, Any]]] | None = None
        try:
            batches = list(itertools.islice(iterator, size))
            pending = pool.submit(job, batches) if batches else None
            while pending is not None:
                try:
                    answers = pending.result()
                except Exception as exc:  # a task that died, or failed past its retries
                    raise WorkerError(
                        f"a Spark task failed, so the run stopped: {gist(exc)}"
                    ) from exc
                batches = list(itertools.islice(iterator, size))
                pending = pool.submit(job, batches) if batches else None
                for ok, value in answers:
                    if not ok:  # in input order, as one process would meet it
                        raise value
                    yield value
        finally:
            # Stopped early (an error, Ctrl-C, a consumer that had enough): the job under
            # way is cancelled, again until it ends (it may not have reached Spark yet).
            stopped.set()
            while pending is not None and not pending.done():
                context.cancelJobGroup(group)
                concurrent.futures.wait([pending], timeout=0.2)
            pool.shutdown()


@functools.cache
def _tune_once() -> None:
    """Set up the allocator of this process, a Spark executor's Python worker, once."""
    tune_allocator()


def _answer(function: Callable[[T], R], item: T) -> tuple[bool, Any]:
    """One batch, in an executor: answered as a local worker answers it."""
    _tune_once()
    return attempt(function, item)


#: What says most in an error from Spark (a Java stack trace around a Python one), best
#: first: a Python worker that died, then the last line of a Python traceback.
_GISTS = (
    re.compile(r"Python worker exited unexpectedly \(\w+\)"),
    re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception): .*$", re.MULTILINE),
)


def gist(exc: BaseException) -> str:
    """The gist of an error from Spark (see `_GISTS`), else its first line, cut short."""
    text = str(exc)
    for pattern in _GISTS:
        found = pattern.search(text)
        if found:
            return found.group(0).strip()[:500]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:500]
