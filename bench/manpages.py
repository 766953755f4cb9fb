"""What the default run removes from real, unlabelled technical text: Debian's manual pages
as `man` renders them (French, English, German), one page a document.

    python bench/manpages.py                   # 300 French, 600 English, 300 German pages
    python bench/manpages.py --lang en --pages 200 --show 20

Manual pages are full of templated lines ("ID of the image or fully qualified identifier
for the image." / "... the machine image ..."), the kind of text where a rule for near
copies removes lines that state something else.  No labels: the script prints what was
removed, by level and relation, and how much of it was found by edits alone (Jaccard
under the threshold), and with `--show` a sample of those pairs to read.  Pages are
chosen by a seeded shuffle of the installed ones; `man` and `col` render them.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

_ROOTS = {"fr": "/usr/share/man/fr", "en": "/usr/share/man", "de": "/usr/share/man/de"}
_PAGES = {"fr": 300, "en": 600, "de": 300}


def corpus(lang: str, pages: int, seed: int, path: Path) -> int:
    """Write `pages` rendered manual pages of `lang` as JSONL; return how many."""
    files = sorted(str(f) for f in Path(_ROOTS[lang]).glob("man[1-8]/*") if f.is_file())
    random.Random(seed).shuffle(files)
    env = dict(os.environ, MANWIDTH="120", LANG="C.UTF-8")
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for file in files:
            if written == pages:
                break
            shown = subprocess.run(["man", "-l", file], capture_output=True, env=env, timeout=30)
            plain = subprocess.run(["col", "-bx"], input=shown.stdout, capture_output=True)
            text = plain.stdout.decode("utf-8", "replace")
            if len(text) >= 200:
                record = {"id": Path(file).name, "text": text}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=sorted(_ROOTS), nargs="*", default=["fr", "en", "de"])
    parser.add_argument("--pages", type=int, help="pages a language (default 300, English 600)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--show", type=int, default=0, help="print this many pairs found by edits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dedup-manpages-") as folder:
        for lang in args.lang:
            path = Path(folder) / f"{lang}.jsonl"
            count = corpus(lang, args.pages or _PAGES[lang], args.seed, path)
            report = Path(folder) / f"{lang}-report.json"
            command = [sys.executable, "-m", "dedup", "scan", "-q", str(path), "--report"]
            command += [str(report), "--threshold", str(args.threshold)]
            subprocess.run(command, check=True)
            summary(lang, count, path, report, args.threshold, args.show)
    return 0


def summary(
    lang: str,
    pages: int,
    path: Path,
    report: Path,
    threshold: float,
    show: int,
    every: bool = False,
) -> None:
    """Print what the report removed, by level and relation, and a sample of `show` pairs
    found by edits alone (with `every`, of every removal that is no exact copy)."""
    texts = {}
    for line in path.open(encoding="utf-8"):
        record = json.loads(line)
        texts[record["id"]] = record["text"]
    found = json.loads(report.read_text(encoding="utf-8"))
    removed: collections.Counter[tuple[str, str, str]] = collections.Counter()
    shown = []  # the pairs to show
    for cluster in found["clusters"]:
        level, survivor = cluster[1], cluster[2]
        for member in cluster[3]:
            doc, start, end, _, cuts, relation = member[:6]
            if not cuts:
                continue
            jaccard = member[6] if len(member) > 6 else None
            low = relation == "near" and jaccard is not None and jaccard < threshold
            removed[level, relation, "by edits" if low else ""] += 1
            if low or (every and relation != "exact"):
                shown.append((survivor, (doc, start, end), jaccard))
    print(f"{lang}: {pages} pages, {found['stats']['chars_removed']:,} characters removed")
    for (level, relation, how), count in sorted(removed.items()):
        print(f"  {level:9} {relation:9} {how:8} {count:6}")
    random.Random(1).shuffle(shown)
    for (sdoc, sstart, send, *_), (doc, start, end), jaccard in shown[:show]:
        print(f"  --- Jaccard {jaccard}")
        print("    kept:    ", " ".join(texts[sdoc][sstart:send].split())[:200])
        print("    removed: ", " ".join(texts[doc][start:end].split())[:200])


if __name__ == "__main__":
    sys.exit(main())
