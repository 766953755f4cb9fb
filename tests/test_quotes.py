"""The report's quotes: read early, while the workers check a document-level run, or at its end."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest

import dedup
from dedup.engine import quote, resolve


def _corpus(tmp_path: Path) -> list[Path]:
    """Documents repeated whole, with word edits, in part, and with blank margins (a
    cut there lies outside the document's unit), in a JSONL file and text files."""
    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)]
    paras = [" ".join(rng.choices(words, k=40)) + "." for _ in range(12)]

    def edited(text: str) -> str:  # one word in 40 replaced: word 5-gram Jaccard about 0.77
        out = text.split()
        for _ in range(1):
            out[rng.randrange(len(out))] = rng.choice(words)
        return " ".join(out)

    docs = [
        "\n\n".join(paras[:6]),
        "\n\n".join(paras[6:]),
        "\n\n".join(edited(p) for p in paras[:6]),  # near copy of the first
        "\n\n".join([*paras[:5], paras[9]]),  # most of the first, and a part of the second
        "\n\n" + "\n\n".join(paras[6:]) + "\n\n\n",  # the second in blank margins
        "\n\n".join(paras[:6]),  # an exact copy
    ]
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"id": f"j{i}", "text": t}) + "\n" for i, t in enumerate(docs[:3])),
        encoding="utf-8",
    )
    folder = tmp_path / "pages"
    folder.mkdir()
    for i, text in enumerate(docs[3:], start=3):
        (folder / f"p{i}.txt").write_text(text, encoding="utf-8")
    return [jsonl, folder]


@pytest.mark.parametrize("unit", ["document", "section", "paragraph", "sentence", "all"])
def test_quotes_read_early_give_the_report_read_at_the_end(
    tmp_path: Path, unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _corpus(tmp_path)
    held: list[bool] = []
    from_quotes = quote.from_quotes

    def counted(*args: object) -> list[str] | None:
        found = from_quotes(*args)  # type: ignore[arg-type]
        held.append(found is not None)
        return found

    monkeypatch.setattr(quote, "from_quotes", counted)
    early = dedup.render_json(dedup.build_report(dedup.scan(paths, unit=unit, threshold=0.7)))
    if unit == "document":
        assert True in held and False in held  # most from early quotes; a margin read again
    else:
        assert not any(held)  # finer units, or several levels: read at the end only
    monkeypatch.setattr(quote.EarlyQuotes, "read", lambda self, li, links: None)
    late = dedup.render_json(dedup.build_report(dedup.scan(paths, unit=unit, threshold=0.7)))
    assert early == late
    assert json.loads(late)["stats"]["duplicate_units"] >= 4


def test_no_quote_reader_outlives_its_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _corpus(tmp_path)
    dedup.scan(paths, unit="document", threshold=0.7)
    assert not [t for t in threading.enumerate() if t.name == "dedup-quotes"]

    def fail(*args: object) -> None:
        raise RuntimeError("stopped while the quotes are read")

    monkeypatch.setattr(resolve, "_repeated_parts", fail)  # after the links are made
    with pytest.raises(RuntimeError, match="stopped"):
        dedup.scan(paths, unit="document", threshold=0.7)
    assert not [t for t in threading.enumerate() if t.name == "dedup-quotes"]
