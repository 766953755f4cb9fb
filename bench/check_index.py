"""`dedup check` on a corpus of N pages of about 500 words: a cold run that builds the
index, then a warm run after one page changed.

    python bench/check_index.py --pages 10000

Pages are made of sentences of the PAN-13 source texts in ../shared/benchmarks (or the
blog pages), 1 % of them repeating a paragraph of another page.  Wall times of whole
commands, as a pre-commit hook would run them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import sentences


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return elapsed, done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--unit", default="paragraph")
    args = parser.parse_args()
    pool = sentences(None)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="dedup-check-") as tmp:
        root = Path(tmp)
        (root / "pages").mkdir()
        (root / "setup.cfg").write_text(f"[dedup]\npaths = pages\nunit = {args.unit}\n")
        texts = []
        for number in range(args.pages):
            paras = []
            words = 0
            while words < 500:
                para = " ".join(pool[i] for i in rng.integers(len(pool), size=4))
                paras.append(para)
                words += len(para.split())
            if texts and rng.random() < 0.01:
                other = texts[int(rng.integers(len(texts)))].split("\n\n")
                paras.insert(1, other[int(rng.integers(len(other)))])
            text = "\n\n".join(paras) + "\n"
            texts.append(text)
            (root / "pages" / f"p{number:05d}.md").write_text(text)
        size = sum(len(t) for t in texts)
        command = [sys.executable, "-m", "dedup", "check", "--no-baseline", "--exit-zero"]
        cold, summary = timed(command, root)
        print(f"corpus: {args.pages} pages, {size / 1e6:.1f} MB, unit {args.unit}")
        print(f"cold run (builds .dedup/index.sqlite): {cold:.2f} s   {summary}")
        warm0, _ = timed(command, root)
        print(f"warm run, nothing changed:            {warm0:.2f} s")
        page = root / "pages" / "p00042.md"
        page.write_text(
            page.read_text() + "\nOne more paragraph written today, new to the corpus.\n"
        )
        warm, summary = timed(command, root)
        print(f"warm run, one page changed:           {warm:.2f} s   {summary}")
        index = root / ".dedup" / "index.sqlite"
        print(f"index: {index.stat().st_size / 2**20:.1f} MiB")
        plain, _ = timed([*command, "--no-index"], root)
        print(f"same check without the index:         {plain:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
