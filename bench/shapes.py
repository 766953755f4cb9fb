"""The default run (every level) on the corpus shapes users have: one large page, and a
million short records.  Time per MB and peak RSS for each size, to show whether dedup
stays linear in every direction.

    python bench/shapes.py                      # 1/4/16/40 MB page, 1M records twice
    python bench/shapes.py --page-mb 1 4 --records 200000
    python bench/shapes.py --rensa              # each corpus beside rensa too

Shapes, all built here from real French prose (Debian's `manpages-fr`, see
frenchprose.py; accents, typographic apostrophes and quotes, no-break spaces):

- page: one Markdown file of blog-like sections (a `##` heading of 2-8 words and 1 to 3
  paragraphs) drawn at random from a pool of 300; a section seen before comes back as it
  was or, half the time, with one word changed;
- distinct records: JSONL, 2 to 12 characters each, all different;
- repeated records: JSONL drawn from 5,000 distinct posts of 1 to 8 words;
- templated records: JSONL of templated lines (a manual page's title, a page number, a
  date: `Commandes utilisateur — page 12 — publié le 8 mai 2023`), every one different
  but one in 50, a copy of one of the last thousand with its final stop dropped or added.

For each: seconds, MB/s, seconds per MB, peak RSS of the process tree, report size, and
removed characters (`dedup clean` to a folder; the JSON report); with --rensa, rensa's
seconds over the same text split into its paragraphs (candidate pairs only, no output).
The repeated-records output is checked to hold each text once and no empty record, the
templated-records output to have lost exactly the copies.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frenchprose import manual_pages
from speed import RENSA, measure

SECTIONS = 300
POSTS = 5_000


def prose() -> tuple[list[str], list[str]]:
    """(titles, paragraphs) of the French manual pages."""
    titles: list[str] = []
    paragraphs: list[str] = []
    for page in manual_pages():
        titles.append(page.title)
        paragraphs += page.paragraphs
    return titles, paragraphs


def sections(titles: list[str], paragraphs: list[str], rng: random.Random) -> list[str]:
    pool = []
    for _ in range(SECTIONS):
        words = rng.choice(titles).split()[:8]
        heading = " ".join(words) if len(words) >= 2 else f"{rng.choice(titles)} {len(pool)}"
        body = [rng.choice(paragraphs) for _ in range(rng.randint(1, 3))]
        pool.append("\n\n".join([f"## {heading}", *body]))
    return pool


def one_word_changed(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    at = rng.randrange(1, len(words))  # not the heading's '##'
    words[at] = words[at][::-1] if len(words[at]) > 3 else words[at] + "s"
    return " ".join(words)


def page(path: Path, megabytes: float, pool: list[str], rng: random.Random) -> None:
    parts: list[str] = []
    size = 0
    seen: set[int] = set()
    while size < megabytes * 1e6:
        i = rng.randrange(len(pool))
        text = pool[i]
        if i in seen and rng.random() < 0.5:
            text = one_word_changed(text, rng)
        seen.add(i)
        parts.append(text)
        size += len(text.encode("utf-8")) + 2
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def distinct_records(path: Path, count: int, words: list[str]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text = f"{words[i % len(words)][:5]} {i}"  # at most 5 + 1 + 6 characters
            out.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")


MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


def templated_records(path: Path, count: int, titles: list[str], rng: random.Random) -> int:
    """Writes the templated records; returns how many are copies."""
    months = MONTHS.split()
    texts: list[str] = []
    copies = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            if texts and rng.random() < 0.02:
                text = rng.choice(texts[-1000:])
                text = text[:-1] if text.endswith(".") else text + "."
                copies += 1
            else:
                title = " ".join(rng.choice(titles).split()[:6])
                day, month, year = rng.randint(1, 28), rng.choice(months), rng.randint(2001, 2024)
                text = f"{title} — page {i} — publié le {day} {month} {year}"
            texts.append(text)
            out.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")
    return copies


def repeated_records(path: Path, count: int, words: list[str], rng: random.Random) -> set[str]:
    posts = []
    while len(posts) < POSTS:
        post = " ".join(rng.choice(words) for _ in range(rng.randint(1, 8)))
        if post not in posts:
            posts.append(post)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text = posts[rng.randrange(POSTS)]
            out.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")
    return set(posts)


def run(name: str, corpus: Path, work: Path, jobs: int, rensa: bool = False) -> Path:
    slug = "-".join(name.split())
    out = work / f"{slug}-out"
    report = work / f"{slug}-report.json"
    command = [sys.executable, "-m", "dedup", "clean", str(corpus), "--out", str(out)]
    command += ["--report", str(report), "--jobs", str(jobs)]
    seconds, rss = measure(command)
    size = corpus.stat().st_size / 1e6
    data = json.loads(report.read_text(encoding="utf-8"))
    removed = data["stats"]["chars_removed"]
    print(
        f"{name:24s} {size:7.1f} MB {seconds:7.1f} s {size / seconds:6.2f} MB/s "
        f"{seconds / size:6.2f} s/MB  peak RSS {rss / 2**20:6.0f} MiB  "
        f"report {report.stat().st_size / 1e6:7.2f} MB  removed {removed / 1e6:6.2f} M chars",
        flush=True,
    )
    if rensa:  # the same text, split into its paragraphs (a record is one), one level
        command = [sys.executable, "-c", RENSA, str(corpus), "128", "0.8", "paragraphs", "-"]
        peer, peer_rss = measure(command)
        print(
            f"  rensa over its paragraphs {peer:7.1f} s {size / peer:6.2f} MB/s  "
            f"peak RSS {peer_rss / 2**20:6.0f} MiB  dedup {peer / seconds:.2f}x its speed",
            flush=True,
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--page-mb", type=float, nargs="*", default=[1, 4, 16, 40])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="folder for the corpora")
    parser.add_argument(
        "--rensa", action="store_true", help="also time rensa over each corpus's paragraphs"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    titles, paragraphs = prose()
    words = sorted({w for p in paragraphs for w in p.split() if w.isalpha()})
    pool = sections(titles, paragraphs, rng)
    with tempfile.TemporaryDirectory(prefix="dedup-shapes-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for megabytes in args.page_mb:
            path = work / f"page-{megabytes:g}mb.md"
            page(path, megabytes, pool, random.Random(args.seed))
            run(f"page {megabytes:g} MB", path, work, args.jobs, args.rensa)
        if args.records:
            path = work / "distinct.jsonl"
            distinct_records(path, args.records, words)
            run(f"{args.records} distinct records", path, work, args.jobs, args.rensa)
            path = work / "repeated.jsonl"
            posts = repeated_records(path, args.records, words, rng)
            out = run(f"{args.records} from {POSTS} texts", path, work, args.jobs, args.rensa)
            texts = [
                json.loads(line)["text"]
                for line in (out / path.name).read_text(encoding="utf-8").splitlines()
            ]
            print(
                f"  output: {len(texts)} records, {len(set(texts))} distinct texts "
                f"of {len(posts)}, {sum(not t.strip() for t in texts)} empty"
            )
            path = work / "templated.jsonl"
            copies = templated_records(path, args.records, titles, rng)
            out = run(f"{args.records} templated", path, work, args.jobs, args.rensa)
            kept = len((out / path.name).read_text(encoding="utf-8").splitlines())
            print(f"  output: {kept} records of {args.records}, {copies} copies in the input")
    return 0


if __name__ == "__main__":
    sys.exit(main())
