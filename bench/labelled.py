"""Score dedup on a labelled near-duplicate set from shared/benchmarks (not copied here).

    python bench/labelled.py ../shared/benchmarks/B_pan13 --unit paragraph
    python bench/labelled.py ../shared/benchmarks/B_clough --unit document

Runs `dedup scan` on the set's docs.jsonl, maps every verified link (survivor,
duplicate) to the set's unit ids by character offsets, and runs the set's own
scorer (score.py beside the set) on those pairs.  The gzipped data is unpacked
into a temporary folder; nothing is written beside the set.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dedup.report import unpacked


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--gt", default="gt.json")
    parser.add_argument("--removing-only", action="store_true", help="leave out `overlap` links")
    parser.add_argument(
        "--pairs", action="store_true", help="score survivor-duplicate links, not whole clusters"
    )
    args, dedup_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        work = Path(tmp)
        for packed in args.dataset.glob("*.gz"):
            with gzip.open(packed, "rb") as src, (work / packed.stem).open("wb") as dst:
                shutil.copyfileobj(src, dst)
        shutil.copy(args.dataset / "stats.json", work)
        started = time.perf_counter()
        scan = subprocess.run(
            [sys.executable, "-m", "dedup", "scan", str(work / "docs.jsonl"), *dedup_args],
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = time.perf_counter() - started
        report = unpacked(json.loads(scan.stdout))
        units: dict[str, list[tuple[int, str]]] = {}
        for line in (work / "units.jsonl").read_text(encoding="utf-8").splitlines():
            unit = json.loads(line)
            units.setdefault(unit["doc"], []).append((unit.get("start", 0), unit["uid"]))
        for found in units.values():
            found.sort()

        def uid(entry: dict[str, object]) -> str:
            found = units[str(entry["doc"])]
            i = bisect.bisect_right([s for s, _ in found], int(entry["start"])) - 1  # type: ignore[call-overload]
            return found[max(i, 0)][1]

        lines = []
        for cluster in report["clusters"]:
            members = [uid(cluster["survivor"])]
            for dup in cluster["duplicates"]:
                if not (args.removing_only and dup["relation"] == "overlap"):
                    members.append(uid(dup))
            if args.pairs:
                lines += [{"pair": [members[0], m]} for m in members[1:] if m != members[0]]
            elif len(set(members)) > 1:
                lines.append(sorted(set(members)))
        predictions = work / "predictions.jsonl"
        predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
        stats = report["stats"]
        print(
            f"dedup scan {' '.join(dedup_args)}: {stats['documents']} documents, "
            f"{stats['units']} units, {len(report['clusters'])} clusters, {elapsed:.1f} s"
        )
        score = args.dataset.parent / "score.py"
        command = [
            sys.executable,
            str(score),
            "--gt",
            str(work / args.gt),
            "--pred",
            str(predictions),
        ]
        return subprocess.run(command, stderr=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    sys.exit(main())
