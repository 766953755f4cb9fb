"""Reading: a JSONL file cut into byte ranges gives every record once, with its line and offset."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from dedup.config import InputConfig
from dedup.io import readers
from dedup.io.documents import Skipped
from dedup.io.readers import Corpus, Document, Listing, Listings, expand, list_inputs


def _records(corpus: Corpus, max_bytes: int) -> list[tuple[str, int, int, str]]:
    """(id, line, offset, text) of every record, read chunk by chunk as a run does:
    a chunk's lines are numbered within it, the lines before it added here."""
    out = []
    before = 0
    for chunk in corpus.chunks(max_bytes, 256):
        if chunk.start == 0:
            before = 0
        lines, docs = corpus.read_chunk(chunk)
        for doc in docs:
            assert isinstance(doc, Document)
            out.append((doc.doc_id, doc.source.line + before, doc.source.offset, doc.text))
        before += lines
    return out


@pytest.mark.parametrize("seed", range(6))
def test_byte_ranges_give_every_record_once_with_its_line_and_offset(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    lines: list[bytes] = []
    for n in range(rng.randint(1, 120)):
        if rng.random() < 0.1:
            lines.append(rng.choice([b"\n", b"  \n"]))  # blank lines are no records
            continue
        text = "é" * rng.choice([0, 1, 5, 40, 300, 2000])  # some lines span many ranges
        lines.append(json.dumps({"id": f"r{n}", "text": text}, ensure_ascii=False).encode())
        lines[-1] += b"\r\n" if rng.random() < 0.2 else b"\n"
    if rng.random() < 0.5:
        lines[-1] = lines[-1].rstrip(b"\r\n")  # no line end at the end of the file
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"".join(lines))
    expected = []
    offset = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            record = json.loads(line)
            expected.append((record["id"], number, offset, record["text"]))
        offset += len(line)
    with Corpus([str(path)], InputConfig()) as corpus:
        for max_bytes in (1, 2, 7, 64, 1000, 1 << 20):
            assert _records(corpus, max_bytes) == expected, max_bytes


@pytest.mark.parametrize("final_newline", [True, False])
def test_records_read_again_at_their_offsets_whatever_their_length(
    tmp_path: Path, final_newline: bool
) -> None:
    """Re-reading takes a line a block at a time: lines shorter than a block, as long,
    and many blocks long, in any order."""
    rng = random.Random(5)
    sizes = [0, 1, 4070, 4084, 4100, 8200, 35000, 3, 10000]  # characters of 2 bytes
    lines = [
        json.dumps({"id": f"r{n}", "text": "é" * size}, ensure_ascii=False).encode()
        + rng.choice([b"\n", b"\r\n"])
        for n, size in enumerate(sizes)
    ]
    assert any(len(line) in range(8180, 8200) for line in lines)  # about one block
    if not final_newline:
        lines[-1] = lines[-1].rstrip(b"\r\n")
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"".join(lines))
    with Corpus([str(path)], InputConfig()) as corpus:
        first = [
            doc
            for _, docs in [corpus.read_chunk(c) for c in corpus.chunks(1 << 20, 256)]
            for doc in docs
        ]
        assert [len(doc.text) for doc in first] == sizes
        order = list(range(len(first)))
        rng.shuffle(order)
        again = list(corpus.load([first[i].source for i in order]))
    assert [(d.doc_id, d.text, d.source) for d in again] == [
        (first[i].doc_id, first[i].text, first[i].source) for i in order
    ]


def test_a_chunk_numbers_its_skipped_lines_within_it(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    good = b'{"id": "a", "text": "some text here"}\n'
    path.write_bytes(good * 10 + b'{"id": "x", "text": "caf\xc3"}\n' + good)
    with Corpus([str(path)], InputConfig(errors="skip-file")) as corpus:
        chunks = list(corpus.chunks(len(good) * 4, 256))
        assert len(chunks) == 3
        lines, docs = corpus.read_chunk(chunks[2])
        found = list(docs)
        assert lines == 4  # lines 9 to 12 of the file
        assert isinstance(found[2], Skipped) and found[2].entry["line"] == 3


def test_records_read_exactly_as_the_json_module_reads_them(tmp_path: Path) -> None:
    """Whatever parser reads a record, its values are json.loads's, types included."""
    lines = [
        b'{"id": "a", "text": "plain", "n": 3, "ok": true, "none": null}',
        b'{"id": "b", "text": "big", "n": 123456789012345678901234567890}',
        b'{"id": "c", "text": "low", "n": -9223372036854775809, "m": 18446744073709551615}',
        b'{"id": "d", "text": "float", "x": 1.5e-7, "y": -0.0, "z": 1e400}',
        b'{"id": "e", "text": "nested", "tags": ["x", {"k": [1, 2.5]}]}',
        b'{"id": "f", "text": "twice", "text": "last wins"}',
        b'{"id": "g", "text": "pair \\ud83d\\ude00 and \\u00e9", "nan": NaN}',
        b'{"id": 7, "text": "integer id"}',
        '{"id": "h", "text": "déjà \u2028 vu"}'.encode(),
    ]
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with Corpus([str(path)], InputConfig()) as corpus:
        _, docs = corpus.read_chunk(next(corpus.chunks(1 << 20, 256)))
        found = list(docs)
    assert len(found) == len(lines)
    for doc, line in zip(found, lines, strict=True):
        assert isinstance(doc, Document)
        expected = json.loads(line)
        assert repr(doc.record) == repr(expected)  # 1e400 is inf, NaN is nan: repr compares them
        assert doc.text == expected["text"]


def test_files_of_the_working_folder_are_named_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dedup scan .` names a file "a.md", as a Path of "./a.md" prints, and `./notes` names
    "notes/b.md"."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "a.md").write_text("a")
    (tmp_path / "notes" / "b.md").write_text("b")
    monkeypatch.chdir(tmp_path)
    labels = [f.label for f in list_inputs(["."], InputConfig())]
    assert labels == ["a.md", "notes/b.md"]
    assert [f.label for f in list_inputs(["./notes"], InputConfig())] == ["notes/b.md"]
    assert [str(f.path) for f in list_inputs(["."], InputConfig())] == labels


def _settle(*folders: Path, ago: int = 3600) -> None:
    """Give folders an mtime long past (a listing made now may be kept)."""
    past = time.time_ns() - ago * 10**9
    for folder in folders:
        os.utime(folder, ns=(past, past))


def test_a_folder_listing_is_taken_again_while_its_folders_stand(tmp_path: Path) -> None:
    """A listing kept stands while no folder below the path changed (proved here by a file
    slipped in with its folder's mtime put back: not seen); any entry added, removed or
    renamed, in a subfolder too, makes a new one; a folder changed just now is not kept."""
    root = tmp_path / "notes"
    (root / "deep").mkdir(parents=True)
    for name in ("b.md", "a.md", "deep/c.md"):
        (root / name).write_text("x", encoding="utf-8")
    config = InputConfig()
    kept: dict[str, Listing] = {}

    def expanded() -> list[str]:
        listings = Listings(kept.get)
        prefix, names = expand(str(root), config, listings)
        kept.update(listings.fresh)
        return [prefix + name for name in names]

    base = f"{root}{os.sep}"
    assert expanded() == [base + "a.md", base + "b.md", base + "deep/c.md"]
    assert not kept, "folders changed just now: not kept"
    _settle(root, root / "deep")
    assert expanded() == [base + "a.md", base + "b.md", base + "deep/c.md"]
    assert len(kept) == 1
    before = os.stat(root).st_mtime_ns
    (root / "slipped.md").write_text("x", encoding="utf-8")
    os.utime(root, ns=(before, before))
    assert base + "slipped.md" not in expanded(), "the listing kept is taken"
    (root / "deep" / "d.md").write_text("x", encoding="utf-8")
    assert base + "deep/d.md" in expanded() and base + "slipped.md" in expanded()
    _settle(root, root / "deep", ago=1800)
    expanded()
    (root / "deep" / "c.md").rename(root / "deep" / "e.md")
    found = expanded()
    assert base + "deep/e.md" in found and base + "deep/c.md" not in found
    (root / "a.md").unlink()
    assert base + "a.md" not in expanded()
    assert kept, "each new listing replaces the one kept (when settled)"


@pytest.mark.parametrize("block", [16, 64, 1 << 13])
def test_lines_are_read_back_by_offset_in_any_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Lines short and longer than a block, one straddling its end, the last without a
    line break: each read back whole, asked in order (from the block last read) or not."""
    monkeypatch.setattr(readers, "_LINE_BLOCK", block)
    rng = random.Random(block)
    lines = [("é" * rng.choice([0, 1, 3, 7, 20, 90])).encode() + b"\n" for _ in range(300)]
    lines[-1] = lines[-1].rstrip(b"\n") or b"x"
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join(lines))
    offsets = [sum(len(line) for line in lines[:n]) for n in range(len(lines))]
    asked = list(range(len(lines)))
    handle = os.open(path, os.O_RDONLY)
    try:
        for order in (asked, sorted(asked, key=lambda _: rng.random())):
            reader = readers._Lines(handle)
            assert [reader.at(offsets[n]) for n in order] == [lines[n] for n in order]
    finally:
        os.close(handle)
