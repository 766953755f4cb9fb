"""dedup on Apache Spark (`--engine spark`).

- `workers`: Spark's executors as a run's workers: every batch a stage hands its worker
  processes is a Spark task calling the very same function (what `--engine spark` runs).
- `fingerprint`, `candidates`, `components`, `verify`, `cluster` and `resolve`: the stages
  as DataFrame operations, for corpora whose units outgrow one driver, each calling the
  local stage's own functions in its tasks and giving what the local stage gives
  (`tests/test_spark_stages.py`): the corpus fingerprinted, a level's candidate pairs,
  the connected components of a graph of pairs, the pairs verified, a level clustered,
  and the whole resolution top down.  The run does not use them yet.
"""

from dedup.spark.workers import SparkWorkers, spark_session

__all__ = ["SparkWorkers", "spark_session"]
