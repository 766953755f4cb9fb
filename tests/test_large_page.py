"""One large page of near repeats costs what its size costs: its paragraphs are found once,
not once for every near duplicate it holds (#27)."""

from __future__ import annotations

import importlib
import random
from pathlib import Path

import pytest
from conftest import FRENCH_WORDS, count_calls

from dedup import api
from dedup.engine import children

segment = importlib.import_module("dedup.segment")  # the package names a function so


def _page(path: Path, sections: int, seed: int = 5) -> Path:
    rng = random.Random(seed)
    pool = []
    for i in range(40):
        body = [
            " ".join(rng.choice(FRENCH_WORDS) for _ in range(rng.randint(25, 45))).capitalize()
            + "."
            for _ in range(rng.randint(1, 3))
        ]
        pool.append("\n\n".join([f"## Section {i} : {rng.choice(FRENCH_WORDS)}", *body]))
    parts = []
    for _ in range(sections):
        text = pool[rng.randrange(len(pool))]
        if rng.random() < 0.5:  # one word changed: a near repeat
            words = text.split(" ")
            at = rng.randrange(5, len(words))
            words[at] = words[at].upper()[::-1]
            text = " ".join(words)
        parts.append(text)
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls of `segment.paragraphs`, wherever it is called from."""
    return count_calls(monkeypatch, [segment, children], "paragraphs", len)


@pytest.mark.parametrize(("unit", "most"), [("all", 1), ("section", 2), ("document", 2)])
def test_a_page_of_near_repeats_is_segmented_once_a_level(
    tmp_path: Path, calls: list[int], unit: str, most: int
) -> None:
    page = _page(tmp_path / "page.md", 400)
    result = api.scan([page], unit=unit, jobs=1)
    near = [m for c in result.clusters for m in c.members if m.evidence.relation != "exact"]
    if unit != "document":
        assert len(near) > 50  # the near repeats were weighed child by child
    assert len(calls) <= most, f"{len(calls)} calls of paragraphs() for one page"
