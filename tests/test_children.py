"""A document-level run weighs a near duplicate's children where it verifies the pair: the
documents verification read are not read again for the children check (#20)."""

from __future__ import annotations

import importlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import FRENCH_WORDS, count_calls

from dedup import api
from dedup.engine import resolve
from dedup.model import Result
from dedup.report import build_report, json_pieces

verify = importlib.import_module("dedup.engine.verify")


def _text(rng: random.Random, paragraphs: int = 4, words: int = 60) -> list[list[str]]:
    return [
        [f"{rng.choice(FRENCH_WORDS)}{rng.randrange(400)}" for _ in range(words)]
        for _ in range(paragraphs)
    ]


def _changed(text: list[list[str]], places: list[tuple[int, int]]) -> list[list[str]]:
    out = [list(paragraph) for paragraph in text]
    for paragraph, word in places:
        out[paragraph][word] = "changé’" + out[paragraph][word]
    return out


def _record(n: int, text: list[list[str]]) -> dict[str, Any]:
    return {"id": f"d{n}", "text": "\n\n".join(" ".join(p).capitalize() + "." for p in text)}


def _write(path: Path, texts: list[list[list[str]]]) -> Path:
    lines = [json.dumps(_record(n, text), ensure_ascii=False) for n, text in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The links the children check is handed, a batch's count each."""
    return count_calls(monkeypatch, [resolve], "repeated_batch", len)


def _report(result: Result) -> bytes:
    return b"".join(json_pieces(build_report(result)))


def _unguessed(monkeypatch: pytest.MonkeyPatch, corpus: Path, **options: Any) -> Result:
    """The same run with nothing guessed: every link left to the children check."""
    with monkeypatch.context() as patched:
        patched.setattr(verify, "_guessed", lambda *args, **kwargs: ([], []))
        return api.scan([corpus], unit="document", jobs=1, **options)


def test_near_duplicates_are_weighed_where_they_are_verified(
    tmp_path: Path, checked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(3)
    originals = [_text(rng) for _ in range(6)]
    reposts = []
    for text in originals:  # a word changed, and a paragraph added: that one stays
        repost = _changed(text, [(1, rng.randrange(60))])
        reposts.append([*repost, *_text(rng, paragraphs=1, words=15)])
    corpus = _write(tmp_path / "pages.jsonl", [*originals, *reposts])
    result = api.scan([corpus], unit="document", jobs=1)
    removed = [m for c in result.clusters for m in c.members]
    assert len(removed) == 6
    assert all(m.evidence.relation != "exact" for m in removed)
    # The four paragraphs the survivor repeats go, in one span; the one added stays.
    assert all(len(m.removed) == 1 and m.removed[0][1] < m.segment.end for m in removed)
    assert checked == []  # no document read again for the children check
    assert _report(result) == _report(_unguessed(monkeypatch, corpus))
    assert sum(checked) == 6  # which the plain way does


def test_a_wrong_guess_is_weighed_again(
    tmp_path: Path, checked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repost nearest a text that is itself removed goes against the survivor that
    stays, which verification could not tell when it verified every pair at once (as
    for `--pairs`): the children check weighs it."""
    rng = random.Random(7)
    first = _text(rng)
    second = _changed(first, [(0, 10), (1, 30), (2, 50)])
    third = _changed(second, [(3, 20)])  # nearest the second, near the first too
    corpus = _write(tmp_path / "pages.jsonl", [first, second, third])
    result = api.scan([corpus], unit="document", jobs=1, pairs=True)
    (cluster,) = result.clusters
    assert cluster.survivor.doc_id == "d0"
    assert sorted(m.segment.doc_id for m in cluster.members) == ["d1", "d2"]
    assert checked == [1]  # the third's, guessed against the second
    assert _report(result) == _report(_unguessed(monkeypatch, corpus, pairs=True))
