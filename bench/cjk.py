"""Sentences of Chinese manual pages copied into other pages' paragraphs: found or not.

    python bench/cjk.py                 # seed 1
    python bench/cjk.py --seed 2 -- --unit sentence

Chinese writes no space between sentences. This builds 150 pages of four paragraphs from
the Chinese manual pages (`apt-get install manpages-zh`, `/usr/share/man/zh_CN`), then 150
pages of three other paragraphs, each with one sentence of a first page put between two of
its own; runs `dedup scan` (options after `--`) and prints the recall of the copied
sentences (half of a copy's characters removed) and the share of the characters removed
that lie inside copies (the rest are sentences the manual pages repeat themselves).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from frenchprose import _parse

from dedup.report import unpacked

MANUALS = Path("/usr/share/man/zh_CN")
_SENTENCE = re.compile(r"(?<=[。！？])")
Label = tuple[str, int, int]


def chinese_paragraphs() -> list[list[str]]:
    """Paragraphs of the manual pages, as their sentences, mostly ideographs, three
    sentences or more; none with a sentence an earlier one has."""
    if not MANUALS.is_dir():
        raise SystemExit(f"{MANUALS}: no Chinese manual pages; apt-get install manpages-zh")
    found: list[list[str]] = []
    seen: set[str] = set()
    for path in sorted(MANUALS.glob("man*/*.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                source = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
        for paragraph in _parse(source, "名称")[1]:
            sentences = [s for s in _SENTENCE.split(paragraph) if s.strip()]
            ideographs = sum(1 for c in paragraph if "\u4e00" <= c <= "\u9fff")
            if len(sentences) < 3 or ideographs < len(paragraph) / 2 or seen & set(sentences):
                continue
            seen.update(sentences)
            found.append(sentences)
    return found


def build(seed: int) -> tuple[list[tuple[str, str]], list[Label]]:
    """The corpus (doc id, text) and the copied sentences' spans."""
    rng = random.Random(seed)
    pool = chinese_paragraphs()
    rng.shuffle(pool)
    firsts, others = pool[:600], pool[600:]
    docs = [
        (f"a{d}", "\n\n".join("".join(s) for s in firsts[4 * d : 4 * d + 4])) for d in range(150)
    ]
    labels: list[Label] = []
    for d in range(150):
        text = ""
        for k in range(3):
            sentences = others[(3 * d + k) % len(others)]
            copy = rng.choice(rng.choice(firsts))
            at = rng.randrange(1, len(sentences))
            if text:
                text += "\n\n"
            if len(copy) >= 12:  # a longer copy than --min-chars
                start = len(text) + len("".join(sentences[:at]))
                labels.append((f"b{d}", start, start + len(copy)))
                sentences = [*sentences[:at], copy, *sentences[at:]]
            text += "".join(sentences)
        docs.append((f"b{d}", text))
    return docs, labels


def _solid(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("options", nargs="*", help="dedup scan options, after --")
    args = parser.parse_args()
    docs, labels = build(args.seed)
    text_of = dict(docs)
    with tempfile.TemporaryDirectory() as work:
        corpus, report = Path(work) / "corpus.jsonl", Path(work) / "report.json"
        corpus.write_text(
            "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in docs),
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "dedup", "scan", str(corpus), "--report", str(report)]
        subprocess.run([*command, "-q", *args.options], check=True)
        found = unpacked(json.loads(report.read_text(encoding="utf-8")))
    removed = {d["doc"]: d.get("removed", []) for d in found["documents"]}

    def inside(doc: str, start: int, end: int) -> int:
        cut = ((max(a, start), min(b, end)) for a, b in removed.get(doc, []) if max(a, start) < b)
        return sum(_solid(text_of[doc][a:b]) for a, b in cut if a < b)

    hits = sum(1 for doc, s, e in labels if inside(doc, s, e) >= 0.5 * _solid(text_of[doc][s:e]))
    total = sum(_solid(text_of[doc][a:b]) for doc, cuts in removed.items() for a, b in cuts)
    within = sum(inside(doc, s, e) for doc, s, e in labels)
    print(
        f"{len(docs)} pages, {len(labels)} sentences copied: recall {hits / len(labels):.4f} "
        f"({hits}), {total} characters removed, {within / max(total, 1):.4f} of them in copies"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
