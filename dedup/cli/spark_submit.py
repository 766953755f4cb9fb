"""The script `spark-submit` runs: the dedup command line, `--engine spark` by default.

    spark-submit --master yarn \\
        "$(python -c 'import dedup.cli.spark_submit as s; print(s.__file__)')" \\
        clean /shared/corpus --out /shared/cleaned --report /shared/report.json

The Spark session is the one `spark-submit` configured (see `dedup.spark`).
"""

from __future__ import annotations

import sys

from dedup.cli import main as cli

#: The commands that run the engine.
_RUNS = ("scan", "clean", "check", "baseline")


def main(argv: list[str] | None = None) -> None:
    """The dedup command line with `--engine spark` unless told otherwise."""
    args = list(sys.argv[1:] if argv is None else argv)
    if (
        args
        and args[0] in _RUNS
        and not any(a == "--engine" or a.startswith("--engine=") for a in args)
    ):
        args[1:1] = ["--engine", "spark"]
    cli.main(args=args, prog_name="dedup")


if __name__ == "__main__":
    main()
