"""Boilerplate (a byline on every page) is reported apart and kept unless asked; calibration."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import PAGES

from dedup import model
from dedup.cli import main
from dedup.report import unpacked

BYLINE = "Rédigé par Erwan, expert digital pour Coeur sur Paris. Il aime les réseaux sociaux."
NOTICE = "Ce site utilise des cookies pour mesurer son audience et améliorer votre expérience."


def _pages(root: Path, count: int = 8) -> Path:
    rng = random.Random(5)
    words = ["".join(rng.choices("bcdfghjklmnprstvz", k=6)) for _ in range(3000)]
    folder = root / "pages"
    folder.mkdir()
    for number in range(count):
        body = "\n\n".join(" ".join(rng.choices(words, k=25)).capitalize() + "." for _ in range(3))
        (folder / f"p{number}.txt").write_text(
            f"Page {number} title\n\n{body}\n\n{BYLINE}\n\n{NOTICE}\n"
        )
    return folder


def _clean(root: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(
        main,
        [
            "clean",
            str(root / "pages"),
            "--out",
            str(root / "out"),
            "--report",
            str(root / "r.json"),
            *args,
        ],
    )
    assert result.exit_code == 0, result.stderr
    return unpacked(json.loads((root / "r.json").read_text(encoding="utf-8")))


def _survivors(root: Path, clusters: list[dict[str, Any]]) -> set[str]:
    """The text each cluster keeps, read from the pages by its offsets."""
    out = set()
    for cluster in clusters:
        unit = cluster["survivor"]
        text = (root / "pages" / unit["doc"]).read_text(encoding="utf-8")
        out.add(text[unit["start"] : unit["end"]])
    return out


def test_a_byline_on_every_page_is_boilerplate_reported_apart_and_kept(tmp_path: Path) -> None:
    _pages(tmp_path)
    report = _clean(tmp_path)
    assert report["clusters"] == []  # no content duplicates
    texts = _survivors(tmp_path, report["boilerplate"])
    assert {BYLINE, NOTICE} <= texts
    assert report["stats"]["boilerplate_clusters"] == len(report["boilerplate"])
    assert report["stats"]["boilerplate_units"] >= 14
    assert report["stats"]["chars_removed"] == 0
    for page in (tmp_path / "out").iterdir():  # kept whole, sentence by sentence too
        assert page.read_text(encoding="utf-8") == (tmp_path / "pages" / page.name).read_text(
            encoding="utf-8"
        )


def test_boilerplate_remove_removes_it_after_the_first_page(tmp_path: Path) -> None:
    _pages(tmp_path)
    report = _clean(tmp_path, "--boilerplate", "remove")
    assert {BYLINE, NOTICE} <= _survivors(tmp_path, report["boilerplate"])
    out = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()}
    assert BYLINE in out["p0.txt"] and NOTICE in out["p0.txt"]
    assert all(
        BYLINE not in text and NOTICE not in text for name, text in out.items() if name != "p0.txt"
    )


def test_boilerplate_keep_says_nothing(tmp_path: Path) -> None:
    _pages(tmp_path)
    report = _clean(tmp_path, "--boilerplate", "keep")
    assert report["boilerplate"] == [] and report["clusters"] == []
    assert report["stats"]["chars_removed"] == 0


@pytest.mark.parametrize(
    ("pages", "args", "expected"),
    [
        (2, [], False),
        (5, [], True),
        (4, ["--boilerplate-share", "1.0"], True),
        (3, ["--boilerplate-docs", "4", "--boilerplate-share", "1.0"], True),
        (3, ["--boilerplate-docs", "4", "--boilerplate-share", "0.9"], True),
    ],
)
def test_boilerplate_thresholds(
    tmp_path: Path, pages: int, args: list[str], expected: bool
) -> None:
    # in 2 documents: plain duplicates; in 4 of 4 (a share of 1) or 5 or more: boilerplate
    _pages(tmp_path, pages)
    report = _clean(tmp_path, *args)
    assert bool(report["boilerplate"]) is expected
    assert bool(report["clusters"]) is not expected  # otherwise they are plain duplicates


def test_check_does_not_fail_on_boilerplate(tmp_path: Path) -> None:
    _pages(tmp_path)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "pages"), "--no-index"])
    assert result.exit_code == 0, result.stdout


def test_calibration_in_the_report() -> None:
    result = CliRunner().invoke(main, ["scan", str(PAGES), "--pairs"])
    report = unpacked(json.loads(result.stdout))
    cal = report["calibration"]
    assert (cal["bands"], cal["rows"], cal["threshold"]) == (21, 6, 0.8)
    at = dict((s, p) for s, p in cal["candidate_probability"])[0.8]
    assert abs(cal["false_negative_rate"] - (1 - at)) < 1e-6 and at > 0.99
    exact = sum(1 for c in report["clusters"] for d in c["duplicates"] if d["relation"] == "exact")
    assert sum(cal["jaccard_histogram"]) == len(report["pairs"]) + exact
    assert cal["jaccard_histogram"][-1] >= exact
    markdown = CliRunner().invoke(main, ["scan", str(PAGES), "--format", "markdown"]).stdout
    assert "## Calibration" in markdown and "21 bands of 6 rows" in markdown


def test_a_cluster_counts_the_documents_it_spreads_over_not_its_copies(tmp_path: Path) -> None:
    # The notice twice on each of 3 pages: 6 copies, 3 documents. Under the 5-document
    # rule it is a plain duplicate (its second copies go), not boilerplate.
    folder = _pages(tmp_path, count=3)
    for page in folder.iterdir():
        page.write_text(page.read_text(encoding="utf-8") + f"\n{NOTICE}\n", encoding="utf-8")
    report = _clean(tmp_path, "--unit", "paragraph")
    boilerplate = _survivors(tmp_path, report["boilerplate"])
    duplicated = _survivors(tmp_path, report["clusters"])
    assert NOTICE not in boilerplate
    assert NOTICE in duplicated
    assert BYLINE not in boilerplate  # 3 pages: not boilerplate either


def test_boilerplate_printed_twice_on_one_page_loses_its_second_copy(tmp_path: Path) -> None:
    folder = _pages(tmp_path)
    page = folder / "p3.txt"
    once = page.read_text(encoding="utf-8")
    page.write_text(once + f"\n{BYLINE}\n", encoding="utf-8")
    report = _clean(tmp_path)
    assert BYLINE in _survivors(tmp_path, report["boilerplate"])
    # once a page, as on every other page: the second copy goes with the blank line before it
    assert (tmp_path / "out" / "p3.txt").read_text(encoding="utf-8") == once
    for other in ("p0.txt", "p5.txt"):
        assert (tmp_path / "out" / other).read_text(encoding="utf-8").count(BYLINE) == 1
    assert report["stats"]["chars_removed"] == len(BYLINE) + 2


def test_the_json_report_counts_the_boilerplate_copies_it_keeps(tmp_path: Path) -> None:
    folder = _pages(tmp_path)
    page = folder / "p3.txt"
    page.write_text(page.read_text(encoding="utf-8") + f"\n{BYLINE}\n", encoding="utf-8")
    report = _clean(tmp_path, "--unit", "paragraph")
    (byline,) = [c for c in report["boilerplate"] if BYLINE in _survivors(tmp_path, [c])]
    # one copy a page kept (8 pages: the survivor and 7 more), the second copy on p3 removed
    assert (byline["kept"], byline["documents"]) == (7, 8)
    assert [d["doc"] for d in byline["duplicates"]] == ["p3.txt"]
    assert byline["duplicates"][0]["removed"]
    # documents named by kept copies only are not listed; p3 lost text, p0 holds survivors
    assert {d["doc"] for d in report["documents"]} == {"p0.txt", "p3.txt"}
    # the reports for people list the copies removed, and count those kept
    html = (
        CliRunner()
        .invoke(main, ["scan", str(folder), "--unit", "paragraph", "--format", "html"])
        .stdout
    )
    assert "7 more copies kept, one a page, over 8 documents" in html
    markdown = (
        CliRunner()
        .invoke(main, ["scan", str(folder), "--unit", "paragraph", "--format", "markdown"])
        .stdout
    )
    assert "(and 7 copies kept, one a page, over 8 documents)" in markdown


def test_kept_boilerplate_copies_are_counted_in_the_result_not_quoted(tmp_path: Path) -> None:
    import dedup

    folder = _pages(tmp_path)
    result = dedup.scan([folder], unit="paragraph")
    (byline,) = [c for c in result.clusters if c.boilerplate and c.survivor.text == BYLINE]
    assert len(byline.kept) == 7 and not byline.members
    assert {k.doc_id for k in byline.kept} == {f"p{n}.txt" for n in range(1, 8)}
    for copy in byline.kept:
        text = (folder / copy.doc_id).read_text(encoding="utf-8")
        assert text[copy.start : copy.end] == BYLINE
        assert copy.evidence.relation == "exact"
    # Columns, read as the Kept they stand for, whichever way they are read.
    kept = byline.kept
    assert kept.doc_ids == [k.doc_id for k in kept]
    assert list(kept.evidence) == [k.evidence for k in kept]
    assert kept[1:3] == tuple(kept)[1:3] and kept[-1] == tuple(kept)[-1]
    assert kept == tuple(kept) and hash(kept) == hash(tuple(kept))
    import pickle

    assert pickle.loads(pickle.dumps(result)) == result


def test_a_boilerplate_line_under_one_document_is_one_document() -> None:
    # The API takes any number (the command line, 2 or more): 0 flags every cluster, as 1.
    import dedup
    from dedup.report import build_report, render_json

    none, one = (
        render_json(build_report(dedup.scan(PAGES, boilerplate_docs=n, jobs=1))) for n in (0, 1)
    )
    assert none.replace('"boilerplate_docs":0', '"boilerplate_docs":1') == one
    assert '"boilerplate":[]' not in one.replace("\n", "").replace(" ", "")


def test_a_clusters_documents_are_counted_alike_by_a_set_and_by_numpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pages(tmp_path, count=9)
    by_set = _clean(tmp_path, "--unit", "paragraph")
    assert any(entry["documents"] == 9 for entry in by_set["boilerplate"])
    monkeypatch.setattr(model, "FEW_DOCS", 0)  # every cluster counted in numpy
    (tmp_path / "r.json").unlink()
    shutil.rmtree(tmp_path / "out")
    assert _clean(tmp_path, "--unit", "paragraph") == by_set


def test_the_calibration_bins_each_verified_pair_and_exact_copy_once() -> None:
    result = CliRunner().invoke(main, ["scan", str(PAGES), "--pairs"])
    report = unpacked(json.loads(result.stdout))
    jaccard, containment = [0] * 20, [0] * 20
    for pair in report["pairs"]:
        jaccard[min(19, int(pair["jaccard"] * 20))] += 1
        most = max(pair["containment"], pair["containment_survivor"])
        containment[min(19, int(most * 20))] += 1
    exact = sum(1 for c in report["clusters"] for d in c["duplicates"] if d["relation"] == "exact")
    jaccard[19] += exact
    containment[19] += exact
    assert report["calibration"]["jaccard_histogram"] == jaccard
    assert report["calibration"]["containment_histogram"] == containment
