"""The report's quotes: read early, while the workers check a document-level run, or at its end."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import dedup
from dedup.cli import main
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


def _read_again(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of documents each run's quoting reads again, as they come."""
    counts: list[int] = []
    texts = quote._texts

    def counted(table: object, numbers: list[int]) -> object:
        counts.append(len(numbers))
        return texts(table, numbers)  # type: ignore[arg-type]

    monkeypatch.setattr(quote, "_texts", counted)
    return counts


@pytest.mark.parametrize("unit", ["document", "all"])
def test_a_run_that_quotes_only_the_removed_text_gives_the_same_json_report(
    tmp_path: Path, unit: str
) -> None:
    paths = _corpus(tmp_path)
    every = dedup.scan(paths, unit=unit, threshold=0.7)
    removed_only = dedup.scan(paths, unit=unit, threshold=0.7, unit_texts=False)
    report = dedup.render_json(dedup.build_report(every))
    assert dedup.render_json(dedup.build_report(removed_only)) == report
    assert any(document[5] for document in json.loads(report)["documents"])  # removed text
    assert all(cluster.survivor.text for cluster in every.clusters)
    if unit != "document":  # there, the units' early quotes are the cuts' texts too
        assert not any(cluster.survivor.text for cluster in removed_only.clusters)
    bare = dedup.scan(paths, unit=unit, threshold=0.7, quotes=False)
    nothing = dedup.scan(
        paths, unit=unit, threshold=0.7, quotes=False, unit_texts=False, removed_texts=False
    )
    assert dedup.render_json(dedup.build_report(nothing)) == dedup.render_json(
        dedup.build_report(bare)
    )


def test_the_command_line_reads_documents_again_only_for_the_texts_its_report_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [str(path) for path in _corpus(tmp_path)]
    counts = _read_again(monkeypatch)

    def read(*args: str) -> int:
        counts.clear()
        result = CliRunner().invoke(main, [*args, *paths, "--jobs", "1", "--threshold", "0.7"])
        assert result.exit_code == 0, result.output
        return sum(counts)

    markdown = read("scan", "--format", "markdown", "--report", str(tmp_path / "r.md"))
    json_report = read("scan", "--report", str(tmp_path / "r.json"))
    no_quotes = read("scan", "--no-quotes", "--report", str(tmp_path / "q.json"))
    no_report = read("clean", "--out", str(tmp_path / "out"))
    # Markdown quotes every unit a cluster names; JSON, the removed text alone: the
    # documents that only keep a survivor are not read.
    assert markdown > json_report > 0
    assert no_quotes == no_report == 0
