"""`dedup check` through the commits of a blog: how often the change alone decides, at what
cost, and whether the check always prints what a check without the index prints.

    python bench/check_edits.py                     # unit paragraph and every level
    python bench/check_edits.py --sites 8 --seed 3 --edits 20

Builds a French blog archive (bench/quality.py: articles with bylines and a share bar and
comment form, tag pages, reposts with typos, pages crawled twice; Debian's French manual
pages, `apt-get install manpages-fr manpages-fr-dev`) as a folder of pages, holds its last
pages back, checks the rest (a full check: it builds the index), then commits one change at
a time, each followed by `dedup check --verbose` and `dedup check --no-index`:

- a held-back page added (an article, a tag page, a repost);
- a new paragraph appended to a page;
- a typo in a paragraph of a page.

Printed per kind of change and `unit`: how many checks the changed file decided alone, the
median time of those and of the full ones, the reasons for the full ones, and how many
checks printed other findings than the check without the index (must be 0).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import build


def check(root: Path) -> tuple[float, str, bool]:
    """(seconds, how the check went, whether it printed what a check without the index
    prints)."""
    dedup = [sys.executable, "-m", "dedup", "check"]
    began = time.perf_counter()
    done = subprocess.run([*dedup, "--verbose"], cwd=root, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    plain = subprocess.run([*dedup, "--no-index"], cwd=root, capture_output=True, text=True)
    said = [line for line in done.stderr.splitlines() if "alone" in line or "whole corpus" in line]
    how = "nothing changed" if not said else "alone" if "alone" in said[-1] else said[-1]
    how = re.sub(r"^dedup: checking the whole corpus: (\S+: )?", "", how)
    return seconds, how, done.stdout == plain.stdout


def run(docs: list[tuple[str, str]], unit: str, held: int, edits: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    results: dict[str, list[tuple[float, str, bool]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="dedup-edits-") as tmp:
        root = Path(tmp)
        pages = root / "pages"
        pages.mkdir()
        options = "" if unit == "all" else f"unit = {unit}\n"
        (root / "setup.cfg").write_text(f"[dedup]\npaths = pages\n{options}", encoding="utf-8")
        names = [
            f"{n:05d}-{re.sub(r'[^a-z0-9]+', '-', doc_id.lower())}.md"
            for n, (doc_id, _) in enumerate(docs)
        ]
        for name, (_, text) in zip(names[:-held], docs[:-held], strict=True):
            (pages / name).write_text(text, encoding="utf-8")
        check(root)  # builds the index
        for name, (_, text) in zip(names[-held:], docs[-held:], strict=True):
            (pages / name).write_text(text, encoding="utf-8")
            results["page added"].append(check(root))
        files = sorted(pages.iterdir())
        texts = [text for _, text in docs]
        for _ in range(edits):
            page = rng.choice(files)
            words = rng.choice(texts).split()[:30]
            rng.shuffle(words)
            old = page.read_text(encoding="utf-8")
            page.write_text(old.rstrip("\n") + "\n\n" + " ".join(words) + ".\n", encoding="utf-8")
            results["paragraph appended"].append(check(root))
        for _ in range(edits):
            page = rng.choice(files)
            parts = page.read_text(encoding="utf-8").split("\n\n")
            k = rng.randrange(len(parts))
            words = parts[k].split(" ")
            j = max(range(len(words)), key=lambda i: (len(words[i]), -i))  # its longest word
            words[j] = words[j][1] + words[j][0] + words[j][2:]
            parts[k] = " ".join(words)
            page.write_text("\n\n".join(parts), encoding="utf-8")
            results["typo in a paragraph"].append(check(root))
    lines = []
    for kind, found in results.items():
        alone = sorted(s for s, how, _ in found if how == "alone")
        full = sorted(s for s, how, _ in found if how not in ("alone", "nothing changed"))
        wrong = sum(not same for _, _, same in found)
        lines.append(
            f"unit {unit:<9} {kind:<20} alone {len(alone):2d} of {len(found):2d}"
            f"  median {_median(alone)} alone, {_median(full)} full;"
            f"  other findings than without the index: {wrong}"
        )
        why = Counter(how for _, how, _ in found if how not in ("alone", "nothing changed"))
        lines += [f"    {n:2d} x {reason}" for reason, n in why.most_common()]
    return lines


def _median(times: list[float]) -> str:
    return f"{times[len(times) // 2]:.2f} s" if times else "  -   "


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--held", type=int, default=20, help="pages held back, then added")
    parser.add_argument("--edits", type=int, default=20, help="changes of each other kind")
    parser.add_argument("--units", default="paragraph,all")
    args = parser.parse_args()
    docs, _ = build(args.sites, args.seed)
    size = sum(len(text.encode("utf-8")) for _, text in docs)
    print(f"corpus: {args.sites} blogs, {len(docs)} pages, {size / 1e6:.2f} MB, French")
    for unit in args.units.split(","):
        print("\n".join(run(docs, unit, args.held, args.edits, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
