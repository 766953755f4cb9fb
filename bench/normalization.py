"""Normalization speed per core on real text past ASCII, beside the plain definition.

    python bench/normalization.py            # about half a minute
    python bench/normalization.py --repeat 9

Corpora (each skipped, with a note, where its source is missing):

- the seed pages: the five French blog pages bundled in fixtures/blog/pages (accents,
  typographic apostrophes and quotes, no-break spaces, emoji);
- French manual pages: the prose of Debian's manpages-fr and manpages-fr-dev (see
  frenchprose.py; `apt-get install manpages-fr manpages-fr-dev`);
- English manual pages: the prose of the English manual pages installed, whose roff
  escapes give typographic quotes and dashes (“ ” ’ — –);
- English with typographic quotes and dashes: the PAN-13 documents of
  ../shared/benchmarks, their straight quotes and double hyphens set as a typesetter
  would (’ “ ” —).

For each, on one core with the allocator set as in the engine's workers (`tune_allocator`):
`normalize_many` over its paragraphs in batches of about 1 MB (as the engine calls it),
`normalize` of each whole document, and the plain definition (`_fold_plain`, NFKC,
casefold, NFKC, the table, NFC, spaces collapsed) over the same paragraphs; MB are UTF-8
megabytes (10^6 bytes) of input.  Every output is checked equal to the definition's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from speed import typographic  # noqa: E402

from dedup.config import NormalizeConfig  # noqa: E402
from dedup.normalize import _TABLE, _fold_plain, normalize, normalize_many  # noqa: E402
from dedup.parallel import tune_allocator  # noqa: E402

PAN13 = ROOT.parent / "shared" / "benchmarks" / "B_pan13" / "docs.jsonl.gz"
_CONFIG = NormalizeConfig()


def seed_pages() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((ROOT / "fixtures/blog/pages").iterdir())]


def manual(root: Path, limit: int, name_section: str = "NOM") -> list[str]:
    from frenchprose import manual_pages

    docs: list[str] = []
    size = 0
    for page in manual_pages(root, name_section):
        docs.append(page.title + "\n\n" + "\n\n".join(page.paragraphs))
        size += len(docs[-1])
        if size >= limit:
            break
    return docs


def pan13() -> list[str]:
    with gzip.open(PAN13, "rt", encoding="utf-8") as lines:
        return [typographic(json.loads(line)["text"]) for line in lines]


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def batches(paragraphs: list[str], size: int = 1 << 20) -> list[list[str]]:
    out: list[list[str]] = [[]]
    chars = 0
    for paragraph in paragraphs:
        out[-1].append(paragraph)
        chars += len(paragraph)
        if chars >= size:
            out.append([])
            chars = 0
    return [b for b in out if b]


def reference(text: str) -> str:
    return " ".join(_fold_plain(text, _CONFIG, _TABLE).split())


def measure(name: str, docs: list[str], repeat: int) -> None:
    paragraphs = [p for d in docs for p in d.split("\n\n") if p.strip()]
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    para_mb = sum(len(p.encode("utf-8")) for p in paragraphs) / 1e6
    wide = sum(not p.isascii() for p in paragraphs) / max(len(paragraphs), 1)
    groups = batches(paragraphs)
    expected = [reference(p) for p in paragraphs]
    assert [n for g in groups for n in normalize_many(g)] == expected, name
    assert [normalize(d) for d in docs] == [reference(d) for d in docs], name
    many = best(lambda: [normalize_many(g) for g in groups], repeat)
    whole = best(lambda: [normalize(d) for d in docs], repeat)
    plain = best(lambda: [reference(p) for p in paragraphs], max(1, repeat // 3))
    print(
        f"| {name} | {mb:.1f} | {wide:.0%} | {para_mb / many:.0f} | {mb / whole:.0f} | "
        f"{para_mb / plain:.0f} | {plain / many:.1f}x |"
    )


def main() -> int:
    tune_allocator()  # as a worker process does: numpy's temporaries stay on the heap
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mb", type=float, default=8.0, help="manual page text to take, in MB")
    args = parser.parse_args()
    corpora: list[tuple[str, Callable[[], list[str]]]] = [
        ("seed pages (French blog), 8 copies", lambda: seed_pages() * 8),
        ("French manual pages", lambda: manual(Path("/usr/share/man/fr"), int(args.mb * 1e6))),
        (
            "English manual pages",
            lambda: manual(Path("/usr/share/man"), int(args.mb * 1e6), "NAME"),
        ),
        ("PAN-13, typographic quotes and dashes", pan13),
    ]
    print("MB/s of input per core, best of", args.repeat, "runs")
    print()
    print(
        "| corpus | MB | paragraphs past ASCII | normalize_many | normalize (whole) "
        "| definition | speed-up |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, load in corpora:
        try:
            docs = load()
        except (OSError, SystemExit) as exc:
            print(f"| {name} | skipped: {exc} | | | | | |")
            continue
        measure(name, docs, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
