"""`dedup check` as a pre-commit hook runs it: a corpus of N pages in a git-like folder with
`setup.cfg`, existing duplicates accepted in a baseline, then checks after nothing, one page
and ten pages changed.

    python bench/check_index.py --pages 10000            # French prose (manpages-fr)
    python bench/check_index.py --pages 10000 --prose pan13

Pages are Markdown of about 500 words: paragraphs of four sentences drawn from real prose
(Debian's French manual pages by default, with their accents, typographic apostrophes and
no-break spaces; or the PAN-13 source texts in ../shared/benchmarks). 1 % of the pages repeat
a paragraph of an earlier page, and 1 % carry a shared notice (a licence paragraph), or
`--repeats` of them: those are the existing duplicates, accepted by `dedup baseline`.
Printed: the cold check (builds `.dedup/index.sqlite`), the warm check with nothing changed,
with one page changed and with ten pages changed (each of the best-of runs after pages
changed anew: a paragraph of new text appended), and the same check without the index;
wall times of whole commands, and the index size.
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
from speed import french_sentences, sentences

NOTICE = (
    "Ce document est publié sous licence Creative Commons\u00a0: vous pouvez le copier, "
    "le modifier et le redistribuer, à condition d’en citer l’auteur et de partager "
    "les versions modifiées dans les mêmes conditions."
)


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    lines = done.stdout.strip().splitlines()
    return elapsed, lines[-1] if lines else ""


def best(command: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    found = [timed(command, cwd) for _ in range(runs)]
    return min(t for t, _ in found), found[-1][1]


def write_pages(
    root: Path, pages: int, pool: list[str], rng: np.random.Generator, repeats: float
) -> int:
    texts: list[str] = []
    for number in range(pages):
        paras = []
        words = 0
        while words < 500:
            para = " ".join(pool[i] for i in rng.integers(len(pool), size=4))
            paras.append(para)
            words += len(para.split())
        if texts and rng.random() < repeats:
            other = texts[int(rng.integers(len(texts)))].split("\n\n")
            paras.insert(1, other[int(rng.integers(len(other)))])
        if rng.random() < repeats:
            paras.append(NOTICE)
        text = "\n\n".join(paras) + "\n"
        texts.append(text)
        (root / "pages" / f"p{number:06d}.md").write_text(text, encoding="utf-8")
    return sum(len(t.encode("utf-8")) for t in texts)


def new_sentence(pool: list[str], rng: np.random.Generator) -> str:
    """A sentence nobody wrote before: words of the pool's sentences in a new order."""
    words = " ".join(pool[i] for i in rng.integers(len(pool), size=3)).split()
    return " ".join(words[i] for i in rng.permutation(len(words)))


def change(page: Path, note: str) -> None:
    page.write_text(page.read_text(encoding="utf-8") + f"\n{note}\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--unit", default="paragraph")
    parser.add_argument("--prose", choices=("french", "pan13"), default="french")
    parser.add_argument("--runs", type=int, default=3, help="warm checks: best of this many")
    parser.add_argument(
        "--repeats",
        type=float,
        default=0.01,
        help="share of pages that repeat an earlier page's paragraph, and that carry the notice",
    )
    args = parser.parse_args()
    pool = french_sentences() if args.prose == "french" else sentences(None)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="dedup-check-") as tmp:
        root = Path(tmp)
        (root / "pages").mkdir()
        (root / "setup.cfg").write_text(f"[dedup]\npaths = pages\nunit = {args.unit}\n")
        size = write_pages(root, args.pages, pool, rng, args.repeats)
        dedup = [sys.executable, "-m", "dedup"]
        baseline, _ = timed([*dedup, "baseline"], root)
        check = [*dedup, "check"]
        print(
            f"corpus: {args.pages} pages, {size / 1e6:.1f} MB, {args.prose} prose, "
            f"unit {args.unit}, {args.repeats:.0%} repeating a paragraph, "
            f"{args.repeats:.0%} with the notice"
        )
        print(f"baseline written:                     {baseline:.2f} s")
        cold, summary = timed(check, root)
        print(f"cold check (builds the index):        {cold:.2f} s   {summary}")
        warm0, summary = best(check, root, args.runs)
        print(f"warm, nothing changed:                {warm0:.2f} s   {summary}")
        pages = sorted((root / "pages").iterdir())
        picks = rng.permutation(len(pages))  # the pages each warm check changes anew

        def changed(count: int) -> tuple[float, str]:
            """Best of `runs` checks, each after `count` pages changed anew."""
            times = []
            for run in range(args.runs):
                for n in range(count):
                    page = pages[picks[(run * count + n) % len(pages)]]
                    change(page, f"{new_sentence(pool, rng)} (note {run}.{n})")
                times.append(timed(check, root))
            return min(t for t, _ in times), times[-1][1]

        warm1, summary = changed(1)
        print(f"warm, one page changed:               {warm1:.2f} s   {summary}")
        warm10, summary = changed(10)
        print(f"warm, ten pages changed:              {warm10:.2f} s   {summary}")
        index = root / ".dedup" / "index.sqlite"
        print(f"index: {index.stat().st_size / 2**20:.1f} MiB")
        plain, summary = best([*check, "--no-index"], root, 1)
        print(f"the same check without the index:     {plain:.2f} s   {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
