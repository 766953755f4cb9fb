"""A report sized for a pipeline: the removed text quoted once and nothing else, pairs on
request, and a report without any text for pipelines that need only the decisions (#20, #27)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import restore_cli

from dedup.cli import main
from dedup.report import unpacked

#: What a finding (a cluster, or a member it lists) costs in a report, at most, beyond
#: 110 % of the removed text: places, scores, removed spans and document entries (this
#: corpus, version 4: 112 bytes; version 5, whose documents and clusters are arrays too and
#: whose survivors are not quoted: 41).
PER_FINDING = 48
#: And in a report of decisions only (--no-quotes): version 4, 193 bytes; version 5, 63.
DECISION_BYTES = 72


def _corpus(path: Path, seed: int = 7) -> list[str]:
    """Blog-like records: paragraphs repeated across records exactly, with a typo, or with
    a sentence added, near copies of whole records, and records repeated whole."""
    rng = random.Random(seed)
    pool = [
        "".join(rng.choices("bcdfghjklmnprstvzéèàaeiou", k=rng.randint(3, 9))) for _ in range(4000)
    ]

    def paragraph() -> str:
        return " ".join(rng.choices(pool, k=rng.randint(20, 60))).capitalize() + "."

    paragraphs = [paragraph() for _ in range(300)]
    texts: list[str] = []
    for n in range(400):
        body = [rng.choice(paragraphs) if rng.random() < 0.4 else paragraph() for _ in range(4)]
        if rng.random() < 0.2:
            words = body[0].split()
            words[3] = words[3][::-1]
            body[0] = " ".join(words)
        texts.append(f"Billet n° {n} : l’été à Paris\n\n" + "\n\n".join(body))
        if rng.random() < 0.1:
            texts.append(texts[-1])
    lines = [json.dumps({"id": str(i), "text": t}, ensure_ascii=False) for i, t in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return texts


def _clean(tmp_path: Path, *options: str) -> tuple[dict[str, Any], int, list[str]]:
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "in.jsonl"
    texts = _corpus(source)
    out, report = tmp_path / "out", tmp_path / "r.json"
    done = CliRunner().invoke(
        main, ["clean", str(source), "--out", str(out), "--report", str(report), "-q", *options]
    )
    assert done.exit_code == 0, done.output
    return unpacked(json.loads(report.read_text(encoding="utf-8"))), report.stat().st_size, texts


def test_the_report_quotes_the_removed_text_once_and_nothing_else(tmp_path: Path) -> None:
    report, size, _ = _clean(tmp_path / "quoted")
    _, bare_size, _ = _clean(tmp_path / "bare", "--no-quotes")
    removed = sum(len(t.encode("utf-8")) for d in report["documents"] for t in d["removed_text"])
    clusters = report["clusters"] + report["boilerplate"]
    findings = len(clusters) + sum(len(c["duplicates"]) for c in clusters)
    assert removed > 100_000 and findings > 300
    # The removed text (escaped: 10 %) and a few dozen bytes a finding, beyond what any
    # report holds (options, field names, totals, calibration).
    fixed = sum(
        len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        for name, value in report.items()
        if name not in ("files", "documents", "clusters", "boilerplate")
    )
    assert size <= fixed + 1.1 * removed + PER_FINDING * findings, (size, removed, findings)
    assert bare_size <= fixed + DECISION_BYTES * findings, (bare_size, findings)
    assert "pairs" not in report
    for cluster in clusters:  # the text kept is not quoted: it is in the cleaned output
        assert set(cluster["survivor"]) == {"doc", "start", "end", "line"}
        assert all("text" not in d and "excerpt" not in d for d in cluster["duplicates"])


def test_pairs_on_request(tmp_path: Path) -> None:
    report, _, _ = _clean(tmp_path, "--pairs")
    pair = report["pairs"][0]
    assert {"unit", "a", "b", "jaccard", "relation"} <= set(pair)
    assert {"doc", "start", "end", "line"} == set(pair["a"]) == set(pair["b"])


def test_a_report_without_quotes_holds_no_corpus_text_and_cannot_be_restored(
    tmp_path: Path,
) -> None:
    quoted, _, _ = _clean(tmp_path / "quoted")
    report, _, _ = _clean(tmp_path, "--no-quotes")
    raw = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "l’été à Paris" not in raw and "Billet" not in raw
    for doc in report["documents"]:
        assert "removed_text" not in doc and "dropped" not in doc
    # the same decisions, without the text
    assert [d["removed"] for d in report["documents"]] == [
        d["removed"] for d in quoted["documents"]
    ]
    done = restore_cli(tmp_path / "out", tmp_path / "r.json", tmp_path / "back")
    assert done.exit_code != 0 and "--no-quotes" in done.output
    assert not (tmp_path / "back").exists()
