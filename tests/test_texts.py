"""Quoted texts on disk: a run keeps the long texts it quotes (removed spans, the units
its clusters name) in a temporary file, not in memory, and reads them back unchanged."""

from __future__ import annotations

import pickle
import random
import threading
from pathlib import Path

import dedup
from dedup.io.texts import SHORT, TextSpool, texts_of
from dedup.model import Quote


def test_the_spool_gives_back_every_text_and_keeps_short_ones_as_they_are() -> None:
    spool = TextSpool()
    rng = random.Random(3)
    texts = ["".join(rng.choices("aé’€𝄞\n ", k=rng.randint(0, 900))) for _ in range(300)]
    kept = [spool.keep(text) for text in texts]
    for text, quoted in zip(texts, kept, strict=True):
        assert isinstance(quoted, Quote) == (len(text) >= SHORT)
        assert quoted == text and str(quoted) == text
    assert pickle.loads(pickle.dumps(kept)) == texts


def test_texts_kept_encoded_and_their_parts_read_back_as_they_were() -> None:
    spool = TextSpool()
    rng = random.Random(5)
    texts = ["".join(rng.choices("aé’€𝄞\n ", k=rng.randint(SHORT, 900))) for _ in range(50)]
    kept = spool.keep_encoded([text.encode("utf-8") for text in texts])
    assert spool.keep_encoded([]) == []
    for text, quoted in zip(texts, kept, strict=True):
        start, end = sorted(rng.sample(range(len(text) + 1), 2))
        part = quoted.part(start, end)
        assert str(quoted) == text and str(part) == text[start:end]
        assert part.part(1, 3) == text[start + 1 : start + 3]
        assert pickle.loads(pickle.dumps(part)) == text[start:end]


def test_the_parts_of_a_quote_are_read_from_disk_once() -> None:
    spool = TextSpool()
    text = "Réseau’ " * 100
    (quote,) = spool.keep_encoded([text.encode("utf-8")])
    reads: list[int] = []
    read = spool.read
    spool.read = lambda at: reads.append(at) or read(at)  # type: ignore[method-assign]
    wanted = [quote.part(0, 3), "court", quote.part(8, 20), quote]
    assert texts_of(wanted) == [text[0:3], "court", text[8:20], text]
    assert reads == [0]


def test_two_threads_keep_texts_at_once() -> None:
    spool = TextSpool()
    found: dict[str, list[Quote | str]] = {"a": [], "b": []}

    def keep(name: str) -> None:
        found[name] = [spool.keep(name * (SHORT + n)) for n in range(200)]

    threads = [threading.Thread(target=keep, args=(name,)) for name in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, quotes in found.items():
        assert [str(q) for q in quotes] == [name * (SHORT + n) for n in range(200)]


def test_a_run_holds_its_long_quotes_on_disk(tmp_path: Path) -> None:
    rng = random.Random(5)
    words = ["".join(rng.choices("bcdfglmnprstéèàaeiou", k=rng.randint(3, 8))) for _ in range(900)]
    posts = [" ".join(rng.choices(words, k=120)) + "." for _ in range(30)]
    corpus = tmp_path / "posts.jsonl"
    corpus.write_text(
        "".join(f'{{"id": "p{i}", "text": "{posts[i % 20]}"}}\n' for i in range(30)),
        encoding="utf-8",
    )
    for unit in ("document", "all"):
        result = dedup.scan([corpus], unit=unit, jobs=1)
        quoted = [q for d in result.documents for q in d.removed_quotes]
        quoted += [m.segment.quoted for c in result.clusters for m in c.members]
        assert len(quoted) >= 20
        assert all(isinstance(q, Quote) for q in quoted)  # every one over SHORT characters
        for d in result.documents:
            for (start, end), text in zip(d.removed, d.removed_text, strict=True):
                assert text == posts[int(d.doc_id[1:]) % 20][start:end]
