"""Acceptance on the blog corpus: check_clean.py passes, the labels are found, nothing else goes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import BLOG, PAGES

import dedup
from dedup.report import build_report, unpacked


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return unpacked(build_report(dedup.scan([PAGES])))


def test_check_clean_passes_on_cleaned_corpus(tmp_path: Path) -> None:
    dedup.clean([PAGES], out=tmp_path / "out")
    run = subprocess.run(
        [sys.executable, str(BLOG / "check_clean.py"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout
    assert run.stdout.strip().endswith("0 failed")


def test_check_clean_fails_on_raw_corpus() -> None:
    # The check itself can fail: on the raw pages it reports the duplicates.
    run = subprocess.run(
        [sys.executable, str(BLOG / "check_clean.py"), str(PAGES)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "31 failed" in run.stdout


def _removed_lines(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """(doc, line) of every non-blank line a removed span touches -> its cluster entry."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in PAGES.iterdir()}
    out = {}
    for cluster in report["clusters"]:
        for dup in cluster["duplicates"]:
            if dup["relation"] == "overlap":
                continue
            text = texts[dup["doc"]]
            for start, end in dup["removed"]:
                first = text.count("\n", 0, start) + 1
                for offset, line in enumerate(text[start:end].split("\n")):
                    if line.strip():
                        out[dup["doc"], first + offset] = {"cluster": cluster, "dup": dup}
    return out


def _survivor_lines(cluster: dict[str, Any]) -> range:
    survivor = cluster["survivor"]
    text = (PAGES / survivor["doc"]).read_text(encoding="utf-8")
    last = text.count("\n", 0, max(survivor["start"], survivor["end"] - 1)) + 1
    return range(survivor["line"], last + 1)


def test_every_required_label_is_removed_against_its_first_occurrence(
    report: dict[str, Any], labels: list[dict[str, Any]]
) -> None:
    removed = _removed_lines(report)
    by_line = {(lab["file"], lab["line"]): lab for lab in labels}
    for lab in labels:
        if not lab["required"]:
            continue
        where = (lab["file"], lab["line"])
        assert where in removed, f"label {where} not removed"
        cluster = removed[where]["cluster"]
        canon = lab["duplicate_of"]
        assert cluster["survivor"]["doc"] == canon["file"]
        first = canon["line"]
        if first not in _survivor_lines(cluster):
            # the first occurrence was itself removed: its cluster's survivor is the canon
            parent = by_line[canon["file"], first]
            assert (canon["file"], first) in removed, (
                f"label {where}: survivor does not hold {first}"
            )
            first = parent["duplicate_of"]["line"]
            assert first in _survivor_lines(removed[canon["file"], canon["line"]]["cluster"])


def test_nothing_outside_the_labels_is_removed(
    report: dict[str, Any], labels: list[dict[str, Any]]
) -> None:
    labelled = {(lab["file"], lab["line"]) for lab in labels}
    assert set(_removed_lines(report)) <= labelled


def test_offsets_quote_the_original_text(report: dict[str, Any]) -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in PAGES.iterdir()}
    units = [c["survivor"] for c in report["clusters"]]
    units += [d for c in report["clusters"] for d in c["duplicates"]]
    assert units
    for unit in units:
        text = texts[unit["doc"]]
        assert text[unit["start"] : unit["end"]].startswith(unit.get("excerpt", ""))
        assert text.count("\n", 0, unit["start"]) + 1 == unit["line"]


def test_removed_characters_are_accounted_for(report: dict[str, Any], tmp_path: Path) -> None:
    dedup.clean([PAGES], out=tmp_path)
    total_in = sum(len(p.read_text(encoding="utf-8")) for p in PAGES.iterdir())
    total_out = sum(len(p.read_text(encoding="utf-8")) for p in tmp_path.iterdir())
    assert report["stats"]["chars_in"] == total_in
    assert report["stats"]["chars_removed"] == total_in - total_out
    per_member = sum(
        e - s
        for c in report["clusters"]
        for d in c["duplicates"]
        if d["relation"] != "overlap"
        for s, e in d["removed"]
    )
    assert per_member == report["stats"]["chars_removed"]
