"""dedup on Apache Spark (`--engine spark`).

- `workers`: Spark's executors as a run's workers: every batch a stage hands its worker
  processes is a Spark task calling the very same function (what `--engine spark` runs).
- `candidates` and `components`: stages as DataFrame operations, for corpora whose units
  outgrow one driver: a level's candidate pairs from its band keys, grouped by bucket as
  `dedup.index.candidate_pairs` pairs them, and the connected components of a graph of
  pairs, as `dedup.engine.candidates.components` finds them.  Both give exactly what the
  local stage gives (`tests/test_spark.py`); the run does not use them yet.
"""

from dedup.spark.workers import SparkWorkers, spark_session

__all__ = ["SparkWorkers", "spark_session"]
