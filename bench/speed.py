"""End-to-end speed and accuracy of `dedup scan` (`--unit document` unless told) beside plain
datasketch, and beside rensa over the documents or over the corpus's paragraphs.

    python bench/speed.py --docs 100000            # about 465 MB; 3 runs of each, 7 minutes
    python bench/speed.py --docs 100000 --french --rensa --repeat 1
    python bench/speed.py --docs 20000 --typographic --rensa
    python bench/speed.py --docs 10000 --jobs 1
    python bench/speed.py --docs 20000 --french --unit all --rensa-paragraphs --skip-datasketch

1. Builds a deterministic corpus (JSONL) of N documents from real prose: sentences of
   the PAN-13 source texts in ../shared/benchmarks (or the bundled blog pages; with
   --typographic, their quotes and dashes set as a typesetter sets them), about
   5.5 KB a document in paragraphs of 3 to 6 sentences.  A share of the documents
   (--dup-rate) are near-duplicate copies
   of an earlier one with random word edits (substitutions, deletions, insertions) at
   a rate drawn per copy, so their Jaccard spreads across the threshold.
2. Ground truth: within each family (an original and its copies) the exact Jaccard of
   the word 5-gram sets of dedup's normalized text; pairs at >= the threshold are true.
   (Documents of different families share no 5-gram runs beyond chance.)
3. Runs `dedup scan` in a subprocess and the datasketch pipeline (regex tokens, 5-gram
   strings, MinHash.update_batch with xxh32, MinHashLSH at the threshold, query)
   in another, with the same num_perm; samples the peak RSS of each process tree.
4. Prints documents/s, MB/s, peak RSS, pair precision/recall/F1 of both, and the speed
   ratio measured in the same run.  Median of --repeat runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedup.normalize import normalize  # noqa: E402
from dedup.report import unpacked  # noqa: E402

PAN13 = ROOT.parent / "shared" / "benchmarks" / "B_pan13" / "docs.jsonl.gz"
SENTENCE = re.compile(r"(?<=[.!?])\s+")

DATASKETCH = r"""
import json, re, sys
from datasketch import MinHash, MinHashLSH
import xxhash
path, num_perm, threshold, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
token = re.compile(r"\w+")
lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
pairs = set()
with open(path, encoding="utf-8") as handle:
    for number, line in enumerate(handle):
        record = json.loads(line)
        words = token.findall(record["text"].lower())
        grams = {" ".join(words[i:i + 5]) for i in range(max(1, len(words) - 4))}
        m = MinHash(num_perm=num_perm, hashfunc=xxhash.xxh32_intdigest)
        m.update_batch([g.encode("utf-8") for g in grams])
        key = record.get("id", number)
        for other in lsh.query(m):
            pairs.add((other, key))
        lsh.insert(key, m)
with open(out, "w") as handle:
    json.dump(sorted(pairs), handle)
"""


RENSA = r"""
import json, re, sys
from rensa import RMinHash, RMinHashLSH
path, num_perm, threshold, mode, out = sys.argv[1:6]
num_perm, threshold = int(num_perm), float(threshold)
token = re.compile(r"\w+")
lsh = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=16)
units, candidates, pairs, ids = 0, 0, [], []
with open(path, encoding="utf-8") as handle:
    # JSONL records, or a plain file as one document
    lines = handle if path.endswith(".jsonl") else [json.dumps({"id": path, "text": handle.read()})]
    for line in lines:
        record = json.loads(line)
        texts = record["text"].split("\n\n") if mode == "paragraphs" else [record["text"]]
        for text in texts:
            words = token.findall(text.lower())
            if not words:
                continue
            m = RMinHash(num_perm=num_perm, seed=1)
            m.update([" ".join(words[i:i + 5]) for i in range(max(1, len(words) - 4))])
            found = lsh.query(m)
            candidates += len(found)
            if mode == "documents":
                ids.append(str(record["id"]))
                pairs += [(ids[other], ids[units]) for other in found]
            lsh.insert(units, m)
            units += 1
if mode == "documents":
    with open(out, "w") as handle:
        json.dump(sorted(pairs), handle)
print(units, candidates)
"""


def french_sentences() -> list[str]:
    """Sentences of 6 to 60 words of Debian's French manual pages (see frenchprose.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from frenchprose import manual_pages

    found = {
        s
        for page in manual_pages()
        for paragraph in page.paragraphs
        for s in SENTENCE.split(" ".join(paragraph.split()))
        if 6 <= len(s.split()) <= 60
    }
    return sorted(found)


_SINGLE = re.compile(r"(?<=\w)'(?=\w)")
_DOUBLE = re.compile(r'"([^"\n]{1,200})"')


def typographic(text: str) -> str:
    """English as a typesetter sets it: apostrophes ’, double quotes “ ”, dashes —."""
    text = _SINGLE.sub("’", text)
    text = _DOUBLE.sub(r"“\1”", text)
    return text.replace(" -- ", " — ").replace("--", "—")


def sentences(prose: Path | None) -> list[str]:
    """Sentences of 6 to 60 words from the prose source."""
    texts: list[str] = []
    if prose is None and PAN13.exists():
        prose = PAN13
    if prose is not None:
        opener = gzip.open if prose.suffix == ".gz" else open
        with opener(prose, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            texts = [json.loads(line)["text"] for line in handle]
    else:
        texts = [
            p.read_text(encoding="utf-8") for p in sorted((ROOT / "fixtures/blog/pages").iterdir())
        ]
    found = {
        s for t in texts for s in SENTENCE.split(" ".join(t.split())) if 6 <= len(s.split()) <= 60
    }
    return sorted(found)


def build(path: Path, docs: int, dup_rate: float, pool: list[str], seed: int) -> list[list[int]]:
    """Write the corpus; return its families (lists of document numbers, original first)."""
    rng = np.random.default_rng(seed)
    vocabulary = sorted({w for s in pool[:5000] for w in s.split()})
    families: list[list[int]] = []
    texts: list[str] = []
    with path.open("w", encoding="utf-8") as handle:
        for number in range(docs):
            if texts and rng.random() < dup_rate:
                family = families[int(rng.integers(len(families)))]
                words = texts[family[0]].replace("\n\n", " \n\n ").split(" ")
                rate = float(rng.uniform(0.002, 0.04))
                edited: list[str] = []
                for word in words:
                    roll = rng.random()
                    if roll < rate / 3:
                        continue  # deletion
                    if roll < 2 * rate / 3:
                        word = vocabulary[int(rng.integers(len(vocabulary)))]  # substitution
                    elif roll < rate:
                        edited.append(vocabulary[int(rng.integers(len(vocabulary)))])  # insertion
                    edited.append(word)
                text = " ".join(edited).replace(" \n\n ", "\n\n")
                family.append(number)
            else:
                chosen = [pool[i] for i in rng.integers(len(pool), size=int(rng.integers(28, 46)))]
                cuts = np.cumsum(
                    rng.integers(3, 7, size=len(chosen))
                )  # paragraphs of 3-6 sentences
                text = "\n\n".join(
                    " ".join(chosen[lo:hi])
                    for lo, hi in zip([0, *cuts], cuts, strict=False)
                    if lo < len(chosen)
                )
                families.append([number])
            texts.append(text)
            handle.write(
                json.dumps({"id": f"d{number:06d}", "text": text}, ensure_ascii=False) + "\n"
            )
    return families


def truth(texts: list[str], families: list[list[int]], threshold: float) -> set[tuple[str, str]]:
    true: set[tuple[str, str]] = set()
    for family in families:
        grams = {}
        for n in family:
            words = normalize(texts[n]).split()
            grams[n] = {tuple(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        for i, a in enumerate(family):
            for b in family[i + 1 :]:
                inter = len(grams[a] & grams[b])
                if inter >= threshold * (len(grams[a]) + len(grams[b]) - inter):
                    true.add((f"d{a:06d}", f"d{b:06d}"))
    return true


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, summed over the process tree) of a command."""
    peak = 0
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{command[:4]} failed: {err.decode()[-2000:]}")
    return elapsed, peak


def _tree_rss(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def score(
    predicted: set[tuple[str, str]], true: set[tuple[str, str]]
) -> tuple[float, float, float]:
    tp = len(predicted & true)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(true) if true else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def dedup_pairs(report: dict, threshold: float) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    """Verified pairs at >= threshold, plus every pair inside a group of exact copies."""
    pairs = {
        tuple(sorted((p["a"]["doc"], p["b"]["doc"])))
        for p in report["pairs"]
        if p["jaccard"] >= threshold and p["unit"] == "document"
    }
    for cluster in report["clusters"]:
        if cluster["unit"] != "document":
            continue  # the default run's finer levels: not what the truth is about
        exact = [cluster["survivor"]["doc"]] + [
            d["doc"] for d in cluster["duplicates"] if d["relation"] == "exact"
        ]
        pairs |= {tuple(sorted((a, b))) for i, a in enumerate(exact) for b in exact[i + 1 :]}
        pairs |= {
            tuple(sorted((cluster["survivor"]["doc"], d["doc"])))
            for d in cluster["duplicates"]
            if d.get("jaccard", 1.0) >= threshold  # an exact copy's scores are all 1
        }
    return pairs  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dup-rate", type=float, default=0.2)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prose", type=Path, default=None, help="JSONL(.gz) with a text field")
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for the corpus (default: temporary)"
    )
    parser.add_argument("--skip-datasketch", action="store_true")
    parser.add_argument(
        "--corpus", type=Path, default=None, help="time on this JSONL (text field) instead"
    )
    parser.add_argument(
        "--french",
        action="store_true",
        help="build the corpus from French prose (manpages-fr) instead of PAN-13's English",
    )
    parser.add_argument(
        "--typographic",
        action="store_true",
        help="set the English prose's quotes and dashes typographically (’ “ ” —)",
    )
    parser.add_argument(
        "--unit", default="document", help="dedup's --unit (all: the default run, every level)"
    )
    parser.add_argument(
        "--rensa",
        action="store_true",
        help="also time rensa over the documents (candidate pairs, scored as found)",
    )
    parser.add_argument(
        "--rensa-paragraphs",
        action="store_true",
        help="also time rensa over the corpus's paragraphs (one level, candidate pairs only)",
    )
    parser.add_argument(
        "--memory-unit", default="paragraph", help="also measure peak RSS of a scan at this unit"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dedup-speed-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        true: set[tuple[str, str]] | None = None  # no truth for a corpus given
        if args.corpus is not None:
            corpus = args.corpus
            with corpus.open(encoding="utf-8") as lines:
                args.docs = sum(1 for _ in lines)
            size = corpus.stat().st_size
            print(f"corpus: {corpus}, {args.docs} documents, {size / 1e6:.1f} MB (no truth)")
        else:
            corpus = work / "corpus.jsonl"
            pool = french_sentences() if args.french else sentences(args.prose)
            if args.typographic:
                pool = [typographic(sentence) for sentence in pool]
            families = build(corpus, args.docs, args.dup_rate, pool, args.seed)
            size = corpus.stat().st_size
            texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")]
            true = truth(texts, families, args.threshold)
            del texts
            copies = sum(len(f) - 1 for f in families)
            print(
                f"corpus: {args.docs} documents, {size / 1e6:.1f} MB, {copies} near copies, "
                f"{len(true)} true pairs at Jaccard >= {args.threshold}, "
                f"{len(pool)} source sentences"
            )

        report_path = work / "report.json"
        dedup_command = [
            sys.executable,
            "-m",
            "dedup",
            "scan",
            str(corpus),
            "--unit",
            args.unit,
            "--threshold",
            str(args.threshold),
            "--num-perm",
            str(args.num_perm),
            "--jobs",
            str(args.jobs),
            "--report",
            str(report_path),
        ]
        # Timed as users run it; the pairs are scored from one more run, untimed, that
        # lists them (--pairs verifies every candidate, which a plain run need not).
        scored_path = work / "report-pairs.json"
        scored_command = [*dedup_command[:-2], "--pairs", "--report", str(scored_path)]
        ds_command = [
            sys.executable,
            "-c",
            DATASKETCH,
            str(corpus),
            str(args.num_perm),
            str(args.threshold),
            str(work / "datasketch.json"),
        ]
        rensa = [sys.executable, "-c", RENSA, str(corpus), str(args.num_perm), str(args.threshold)]
        peers = {
            "rensa": [*rensa, "documents", str(work / "rensa.json")] if args.rensa else None,
            "rensa paragraphs": [*rensa, "paragraphs", "-"] if args.rensa_paragraphs else None,
        }
        runs: dict[str, list[tuple[float, int]]] = {"dedup": [], "datasketch": []}
        runs.update((name, []) for name in peers)
        for _ in range(args.repeat):
            runs["dedup"].append(measure(dedup_command))
            if not args.skip_datasketch:
                runs["datasketch"].append(measure(ds_command))
            for name, command in peers.items():
                if command is not None:
                    runs[name].append(measure(command))

        report = unpacked(json.loads(report_path.read_text(encoding="utf-8")))
        level = "document" if args.unit in ("document", "all") else args.unit
        found = {}
        if level == "document":  # the truth is about documents
            measure(scored_command)
            listed = unpacked(json.loads(scored_path.read_text(encoding="utf-8")))
            found["dedup"] = dedup_pairs(listed, args.threshold)
            lsh = listed["lsh"]
            print(
                f"dedup LSH (documents, --pairs): {lsh['bands']} bands x {lsh['rows']} rows, "
                f"{lsh['document']['candidate_pairs']} candidate pairs verified, "
                f"{lsh['document']['verified_pairs']} similar"
            )
            del listed
        if not args.skip_datasketch:
            ds_pairs = json.loads((work / "datasketch.json").read_text())
            found["datasketch"] = {tuple(sorted(p)) for p in ds_pairs}  # type: ignore[misc]
        if args.rensa:
            rensa_pairs = json.loads((work / "rensa.json").read_text())
            found["rensa"] = {tuple(sorted(p)) for p in rensa_pairs}  # type: ignore[misc]
        medians = {}
        removed = sum(
            len(t.encode("utf-8")) for d in report["documents"] for t in d["removed_text"]
        )
        written = report_path.stat().st_size
        print(
            f"dedup --unit {args.unit}: report {written / 1e6:.1f} MB, removed text "
            f"{removed / 1e6:.1f} MB (report / removed text: {written / max(removed, 1):.2f})"
        )
        # What #27 allows: the removed text plus 10 %, plus a few dozen bytes a finding.
        findings = sum(1 + len(c["duplicates"]) for c in report["clusters"])
        findings += len(report["boilerplate"])
        beyond = (written - 1.1 * removed) / max(findings, 1)
        print(
            f"  beyond the removed text + 10 %: {beyond:.0f} bytes a finding ({findings} "
            "findings: clusters, their duplicates, boilerplate units)"
        )
        for name, timings in runs.items():
            if not timings:
                continue
            seconds = statistics.median(t for t, _ in timings)
            rss = max(r for _, r in timings)
            medians[name] = seconds
            quality = ""
            if name in found and true is not None:
                p, r, f = score(found[name], true)  # type: ignore[arg-type]
                quality = f"  pairs P {p:.4f} R {r:.4f} F1 {f:.4f}"
            print(
                f"{name:16s} {seconds:7.1f} s  {args.docs / seconds:8.0f} docs/s  "
                f"{size / 1e6 / seconds:6.1f} MB/s  "
                f"peak RSS {rss / 2**20:6.0f} MiB{quality}  "
                f"(runs: {', '.join(f'{t:.1f}' for t, _ in timings)} s)"
            )
        if args.memory_unit:
            unit_report = work / "unit-report.json"
            command = [*dedup_command[:6], args.memory_unit, *dedup_command[7:-1], str(unit_report)]
            seconds, rss = measure(command)
            found = json.loads(unit_report.read_text(encoding="utf-8"))
            units = found["stats"]["units"]
            print(
                f"dedup --unit {args.memory_unit}: {seconds:.1f} s, "
                f"peak RSS {rss / 2**20:.0f} MiB, "
                f"{units} units ({found['lsh'][args.memory_unit]['distinct_texts']} distinct), "
                f"{rss / units:.0f} bytes a unit of peak RSS"
            )
        for peer in ("datasketch", "rensa", "rensa paragraphs"):
            if peer in medians:
                print(f"speed ratio dedup / {peer}: {medians[peer] / medians['dedup']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
