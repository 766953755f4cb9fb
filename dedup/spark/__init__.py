"""dedup on Apache Spark (`--engine spark`).

- `run`: what `dedup scan` and `clean --engine spark` run, the stages below in order.
- `fingerprint`, `candidates`, `components`, `verify`, `cluster`, `resolve`, `clean`,
  `lsh` and `report`: the stages as DataFrame operations, for corpora whose units outgrow
  one driver, each calling the local stage's own functions in its tasks and giving what
  the local stage gives (`tests/test_spark_stages.py`, `tests/test_spark_engine.py`).
- `workers`: Spark's executors as a run's workers, every batch a stage hands its worker
  processes a Spark task calling the very same function (what `dedup check` and the
  API's `engine="spark"` use).
"""

from dedup.spark.workers import SparkWorkers, spark_session

__all__ = ["SparkWorkers", "spark_session"]
