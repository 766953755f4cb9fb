"""The default run (`dedup scan`, every level) with the local engine and with Spark, side by side.

    python bench/spark.py --docs 100000             # about 490 MB of French; 2 x 2 runs
    python bench/spark.py --corpus data.jsonl --master 'local[2]' --repeat 1

1. Builds the corpus of `speed.py --french` (documents of Debian's French prose, a
   share of them near copies of an earlier one), or takes --corpus.
2. Runs `dedup scan` with the local engine, and through `spark-submit` on --master with
   dedup's own script (`dedup/cli/spark_submit.py`: `--engine spark`, the DataFrame
   stages), Spark's event log on, four shuffle partitions a core; both with --jobs of the
   machine's cores, so the same number of processes work.
3. Prints each engine's seconds, MB/s and peak RSS of its process tree (the JVM and
   Spark's Python workers included), checks that both reports are byte-identical, and
   reads from the event log what Spark moved: shuffle bytes written and read, and the
   bytes of task results sent to the driver.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import build, french_sentences, measure

ROOT = Path(__file__).resolve().parent.parent


def moved(event_dir: Path) -> dict[str, int]:
    """Totals over every task of the event logs in `event_dir`."""
    totals = {"shuffle written": 0, "shuffle read": 0, "results to the driver": 0, "tasks": 0}
    for log in sorted(event_dir.rglob("events_*")):  # Spark 4 rolls its logs in folders
        with log.open(encoding="utf-8") as events:
            for line in events:
                event = json.loads(line)
                if event.get("Event") != "SparkListenerTaskEnd":
                    continue
                metrics = event.get("Task Metrics") or {}
                write = metrics.get("Shuffle Write Metrics") or {}
                read = metrics.get("Shuffle Read Metrics") or {}
                totals["tasks"] += 1
                totals["shuffle written"] += write.get("Shuffle Bytes Written", 0)
                totals["shuffle read"] += read.get("Remote Bytes Read", 0) + read.get(
                    "Local Bytes Read", 0
                )
                totals["results to the driver"] += metrics.get("Result Size", 0)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dup-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=None, help="time on this JSONL instead")
    parser.add_argument("--master", default="local[2]", help="Spark master for spark-submit")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="folder for the corpus and logs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dedup-spark-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.corpus is not None:
            corpus = args.corpus
        else:
            corpus = work / "corpus.jsonl"
            build(corpus, args.docs, args.dup_rate, french_sentences(), args.seed)
        size = corpus.stat().st_size
        with corpus.open(encoding="utf-8") as lines:
            docs = sum(1 for _ in lines)
        print(f"corpus: {corpus.name}, {docs} documents, {size / 1e6:.1f} MB")

        events = work / "events"
        events.mkdir(exist_ok=True)
        scan = ["scan", str(corpus), "--jobs", str(args.jobs)]
        submit = Path(sys.executable).with_name("spark-submit")
        commands = {
            "local": [sys.executable, "-m", "dedup", *scan, "--report", str(work / "local.json")],
            "spark": [
                str(submit),
                "--master",
                args.master,
                "--conf",
                "spark.eventLog.enabled=true",
                "--conf",
                "spark.eventLog.compress=false",
                "--conf",
                f"spark.eventLog.dir={events.as_uri()}",
                "--conf",
                "spark.ui.enabled=false",
                "--conf",  # what dedup's own local session takes: four a core
                f"spark.sql.shuffle.partitions={4 * args.jobs}",
                str(ROOT / "dedup" / "cli" / "spark_submit.py"),
                *scan,
                "--report",
                str(work / "spark.json"),
            ],
        }
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        runs: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                runs[name].append(measure(command))
        same = (work / "local.json").read_bytes() == (work / "spark.json").read_bytes()
        medians = {}
        for name, timings in runs.items():
            seconds = statistics.median(t for t, _ in timings)
            medians[name] = seconds
            rss = max(r for _, r in timings)
            print(
                f"{name:6s} {seconds:7.1f} s  {size / 1e6 / seconds:6.1f} MB/s  "
                f"peak RSS {rss / 2**20:6.0f} MiB  "
                f"(runs: {', '.join(f'{t:.1f}' for t, _ in timings)} s)"
            )
        print(f"reports byte-identical: {'yes' if same else 'NO'}")
        print(f"spark / local time: {medians['spark'] / medians['local']:.2f}x")
        totals = moved(events)
        per_run = {name: value // args.repeat for name, value in totals.items()}
        print(
            f"spark, per run: {per_run['tasks']} tasks, shuffle written "
            f"{per_run['shuffle written'] / 1e6:.1f} MB, shuffle read "
            f"{per_run['shuffle read'] / 1e6:.1f} MB, task results to the driver "
            f"{per_run['results to the driver'] / 1e6:.1f} MB"
        )
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
