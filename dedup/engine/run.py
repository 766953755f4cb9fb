"""The local engine: the stages composed, in order, on one machine.

Input paths and a Config in, a Result (and the cleaned documents) out.  The corpus is
read in passes and never held whole; the stages meet only here:

1. `fingerprint`: worker processes read, segment, normalize and fingerprint the corpus
   a chunk at a time into the `table` of units, merged in corpus order;
2. `candidates`: per level, the LSH candidate pairs of distinct texts;
3. `resolve`: top down (document, section, paragraph, sentence), the level's candidates
   among the units taking part verified exactly by workers that read the texts again
   (`verify`), then clusters, boilerplate and the children a near duplicate's survivor
   repeats (`children`);
4. `quote` and `result`: the units the links name read again and quoted; the Result;
5. the cleaned documents, read once more and written without their cuts.

Workers only ever see batches and return arrays or scores; merging in input order makes
the result identical for every --jobs value.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from dedup.config import Config
from dedup.engine.fingerprint import fingerprint
from dedup.engine.quote import EarlyQuotes
from dedup.engine.resolve import resolve
from dedup.engine.result import Written, build_result, cleaned, with_written
from dedup.engine.table import Progress, Table
from dedup.engine.verify import Verifier
from dedup.io.documents import InputFile
from dedup.io.readers import Corpus
from dedup.io.store import Store
from dedup.io.writers import check_output_dir, stream_documents, write_documents
from dedup.model import Result
from dedup.parallel import Workers, default_jobs, give_back_freed, tune_allocator


def run(
    paths: Sequence[str],
    config: Config,
    out: Path | None = None,
    stream: TextIO | None = None,
    index: Path | None = None,
    progress: Progress | None = None,
    files: Sequence[InputFile] | None = None,
    corpus_docs: int | None = None,
    labels: dict[int, int] | None = None,
) -> Result:
    """Find duplicates in the corpus at `paths`; with `out` or `stream`, also write it cleaned.

    With `index`, fingerprints of unchanged files come from that SQLite index, which is
    brought up to date; the result is the same as without it.  `files`, already listed,
    stand for `paths`; `corpus_docs` is the document count of a whole corpus of which
    they are a part, and `labels` the counts of its labelled titles' parts (see
    `Table.corpus_docs`).
    """
    config.validate()
    told: Progress = progress or (lambda stage, count: None)
    # Without workers, the numpy work happens here: keep its arrays on the heap, too.
    tune_allocator(keep_arrays=default_jobs(config.run.jobs) <= 1)
    with (
        without_cycle_collection(),
        Corpus(paths, config.input, files) as corpus,
        workers_for(config) as workers,
        contextlib.ExitStack() as stack,
    ):
        if out is not None:
            check_output_dir(out, corpus.files, paths)
        table = Table(corpus, config, corpus_docs, labels)
        early = EarlyQuotes(table)
        stack.callback(early.close)
        if index is not None:
            with Store(index, index_params(config)) as store:
                fingerprint(table, workers, told, store)
        else:
            fingerprint(table, workers, told)
        give_back_freed()
        with corpus.unchanged.read_again():  # by the places fingerprinting found
            verifier = Verifier(table, workers, told, early.given)
            give_back_freed()
            done = resolve(table, workers, verifier, early.read)
            related = verifier.related
            del verifier
            give_back_freed()
            workers.close()  # the last pass that needs them: their memory goes back now
            result = build_result(table, done, related, early)
            del done, related
            give_back_freed()  # before the cleaned documents are written
            if out is not None or stream is not None:
                corpus.unchanged.check()  # before anything is written from what it read
            written = Written()  # records left out, or escaped, as cleaning tells
            fields = config.input.text_field, config.input.id_field
            if out is not None:
                docs = cleaned(table, result, written)
                write_documents(docs, out, corpus.files, *fields, config.input.encoding)
            elif stream is not None:
                stream_documents(cleaned(table, result, written), stream, *fields)
        result = with_written(result, written)
    return result


def update_index(paths: Sequence[str], config: Config, index: Path) -> int:
    """Bring the index at `index` up to date for the corpus at `paths`; returns its file count."""
    config.validate()
    with (
        Corpus(paths, config.input) as corpus,
        Store(index, index_params(config)) as store,
        workers_for(config) as workers,
    ):
        fingerprint(Table(corpus, config), workers, lambda stage, count: None, store)
        return int(store.stats()["files"])


def index_stats(config: Config, index: Path) -> dict[str, Any]:
    """What the index holds (and the parameters it was built with)."""
    with Store(index, index_params(config)) as store:
        return store.stats()


def workers_for(config: Config) -> Workers:
    """The workers a run's stages hand their batches to: local processes, or Spark."""
    if config.run.engine == "spark":
        from dedup.spark import SparkWorkers  # imported on use: it loads PySpark

        return SparkWorkers(config.run.spark_master, config.run.jobs)
    return Workers(default_jobs(config.run.jobs))


def index_params(config: Config) -> dict[str, Any]:
    """What fingerprints depend on: every option but file selection and the survivor rule."""
    options = config.as_dict()
    for name in (
        "include",
        "exclude",
        "keep",
        "boilerplate",
        "boilerplate_docs",
        "boilerplate_share",
        "keep_empty",
        "quotes",
        "pairs",
    ):
        options.pop(name, None)
    return options


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for the block, as it was after it.

    A run builds hundreds of thousands of objects that live to its end (links,
    document figures, report entries) and makes almost no reference cycles: a
    whole `--unit all` run over 20,000 documents left 403 unreachable objects.
    Each collection still walks every live object: without them, 100,000
    documents at document level took 15.4 / 14.7 s against 16.2 / 15.6, and
    20,000 at every level 25.7 s against 29.8.  Memory is freed by reference
    counting all the same (the same peak RSS).  The command line keeps it off
    for a whole command: on again after a run, its first collection walked the
    run's objects before the report was written (100,000 documents: 0.20 s).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
