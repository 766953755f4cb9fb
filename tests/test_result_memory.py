"""What a run's Result holds, per document: figures as columns, not an object a document
(#27: a million distinct records held 330 MB of them at the end of the run)."""

from __future__ import annotations

import gc
import json
import random
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dedup
from dedup.columns import Strings
from dedup.report import build_report, render_json

#: Bytes a Result may hold per document that has no findings: its id (its characters, and
#: where they end), where it was read (file, line, byte offset), its length and counts, as
#: columns (64 measured; 105 with each id a str).
PER_DOCUMENT = 80


def _records(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text = f"Billet n° {i} : l’été à Besançon"  # distinct, no duplicate anywhere
            out.write(json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


def _size(root: Any) -> int:
    """The bytes of every object reachable from `root` (an array's buffer counted once),
    but classes, functions and modules."""
    seen: set[int] = set()
    total = 0
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, np.ndarray) and obj.base is not None:
            total += obj.nbytes
        todo.extend(gc.get_referents(obj))
    return total


def test_a_result_holds_no_object_per_document(tmp_path: Path) -> None:
    count = 20_000
    result = dedup.scan(str(_records(tmp_path / "records.jsonl", count)))
    held = _size(result)
    assert len(result.documents) == count
    assert result.documents[-1].doc_id == f"r{count - 1}"
    assert held / count < PER_DOCUMENT, f"{held / count:.0f} bytes a document"


def test_strings_read_as_the_list_of_their_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Strings, "BLOCK", 8)
    rng = random.Random(2)
    values = ["".join(rng.choice("ab1é€😀") for _ in range(rng.randrange(0, 5))) for _ in range(70)]
    held = Strings()
    for value in values:
        held.append(value)
    assert len(held) == 70 and list(held) == values  # full blocks, and one open
    assert [held[i] for i in range(-70, 70)] == values + values
    assert held[3:40:3] == tuple(values[3:40:3]) and held == values
    with pytest.raises(IndexError):
        held[70]


def test_the_figures_read_as_documents_do(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    texts = ["Un billet sur l’été à Besançon, avec ses marchés."] * 3 + ["Un autre billet."]
    with path.open("w", encoding="utf-8") as out:
        for i, text in enumerate(texts):
            out.write(json.dumps({"id": f"p{i}", "text": text}, ensure_ascii=False) + "\n")
    result = dedup.scan(str(path))
    docs = result.documents
    assert [d.doc_id for d in docs] == ["p0", "p1", "p2", "p3"]
    assert [d.record for d in docs] == [0, 1, 2, 3]
    assert [d.chars_removed for d in docs] == [0, len(texts[0]), len(texts[0]), 0]
    assert docs[1].removed == ((0, len(texts[0])),) and docs[1].removed_text == (texts[0],)
    assert docs[0].removed == () and docs[3].duplicate_units == 0
    assert docs[-1] == docs[3] and list(docs[1:3]) == [docs[1], docs[2]]
    assert docs[2].source is not None and docs[2].source.line == 3
    assert list(docs) == [docs[i] for i in range(len(docs))]
    report = json.loads(render_json(build_report(result)))
    assert [d[0] for d in report["documents"]] == ["p0", "p1", "p2"]


#: Bytes a Result may hold per record removed whole, beside its text and its figures: its
#: cut and removed text by document, and its place in its cluster, as columns (115
#: measured; 333 with the cuts and texts as dictionaries of tuples, 548 with a Member, a
#: Segment and their tuples an object each as well).
PER_COPY = 200


def test_a_result_holds_no_object_per_member(tmp_path: Path) -> None:
    """Whole records posted again and again: each copy a cluster member, held as columns."""
    path = tmp_path / "reposts.jsonl"
    count, distinct = 20_000, 200
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text = f"Repost {i % distinct} : l’été à Besançon, encore"
            out.write(json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=False) + "\n")
    result = dedup.scan(str(path))
    copies = [m for c in result.clusters for m in c.members]
    assert len(copies) == count - distinct and {c.level for c in result.clusters} == {"document"}
    assert copies[0].segment.text == "Repost 0 : l’été à Besançon, encore"
    assert copies[0].removed == ((0, len(copies[0].segment.text)),)
    text = sum(sys.getsizeof(m.segment.text) for m in copies)
    held = _size(result) - text - count * PER_DOCUMENT
    assert held / len(copies) < PER_COPY, f"{held / len(copies):.0f} bytes a copy"


def test_members_read_as_the_tuple_of_their_values(tmp_path: Path) -> None:
    from dedup.model import evidence_of

    path = tmp_path / "posts.jsonl"
    texts = ["Un billet sur l’été à Besançon, avec ses marchés.", "Un autre billet, en hiver."]
    posts = [texts[i % 2] + ("" if i < 6 else " Ajouté.") for i in range(9)]
    with path.open("w", encoding="utf-8") as out:
        for i, text in enumerate(posts):
            out.write(json.dumps({"id": f"p{i}", "text": text}, ensure_ascii=False) + "\n")
    clusters = dedup.scan(str(path)).clusters
    assert sum(len(c.members) for c in clusters) >= 5
    for cluster in clusters:
        members = cluster.members
        made = tuple(members)
        assert made == tuple(members[i] for i in range(len(members))) == members[:]
        assert members == made and made == members and hash(members) == hash(made)
        assert list(evidence_of(members)) == [m.evidence for m in made] == evidence_of(made)
        for member in made:
            segment = member.segment
            assert segment.text == posts[int(segment.doc_id[1:])][segment.start : segment.end]
