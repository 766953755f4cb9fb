from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import PAGES
from markdown_it import MarkdownIt

import dedup
from dedup.markdown import md_escape, render_markdown
from dedup.report import FIELDS, build_report, render_json, unpacked

UNIT_FIELDS = {"doc", "start", "end", "line"}


def test_json_report_schema() -> None:
    packed = build_report(dedup.scan([PAGES]))
    assert packed["dedup_report"] == 5
    # Documents, clusters and their places are arrays, their fields named once; an exact
    # copy has no scores, an array ends at its last field present.
    assert packed["fields"] == FIELDS
    for doc in packed["documents"]:
        assert isinstance(doc, list) and len(doc) == FIELDS["document"].index("removed_text") + 1
    for cluster in packed["clusters"] + packed["boilerplate"]:
        assert isinstance(cluster, list) and len(cluster) <= len(FIELDS["cluster"])
        survivor, duplicates = (cluster[FIELDS["cluster"].index(f)] for f in FIELDS["cluster"][2:4])
        assert len(survivor) == len(FIELDS["survivor"])
        for dup in duplicates:
            exact = dup[FIELDS["duplicate"].index("relation")] == "exact"
            assert len(dup) == len(FIELDS["duplicate"]) - 3 * exact
    report = unpacked(packed)
    assert unpacked(report) == report  # read again: as it was
    assert report["tool"] == {"name": "dedup", "version": dedup.__version__}
    assert set(report["stats"]) == {
        "documents",
        "units",
        "duplicate_units",
        "skipped",
        "boilerplate_clusters",
        "boilerplate_units",
        "clusters",
        "chars_in",
        "chars_removed",
    }
    # the documents with findings (text removed, or a unit in a cluster), in corpus order
    named = {
        unit["doc"]
        for cluster in report["clusters"] + report["boilerplate"]
        for unit in (cluster["survivor"], *cluster["duplicates"])
    }
    expected = [p.name for p in sorted(PAGES.iterdir()) if p.name in named]
    assert [d["doc"] for d in report["documents"]] == expected
    assert "002_c54355be08307aaa.txt" in expected
    assert report["stats"]["documents"] == len(list(PAGES.iterdir()))
    for doc in report["documents"]:
        assert {"doc", "chars_in", "file", "removed", "removed_text", "record"} == set(doc)
    assert report["lsh"]["bands"] * report["lsh"]["rows"] <= report["options"]["num_perm"]
    for cluster in report["clusters"]:
        assert {"id", "unit", "survivor", "duplicates"} <= set(cluster)
        assert set(cluster["survivor"]) == UNIT_FIELDS  # the kept text is not quoted
        for dup in cluster["duplicates"]:
            # a place, a relation, the scores but for an exact copy's (all 1), what it cut
            scores = set() if dup["relation"] == "exact" else {"jaccard", "containment"}
            assert UNIT_FIELDS | {"relation", "removed"} | scores <= set(dup)
            assert not {"unit", "index", "end_line", "column", "removed_chars"} & set(dup)
            assert "text" not in dup and "excerpt" not in dup  # its removed text: documents
            assert dup["relation"] in {"exact", "near", "contained", "overlap"}
            text = (PAGES / dup["doc"]).read_text(encoding="utf-8")
            for s, e in dup["removed"]:
                # what a removal cuts beyond the unit itself is whitespace
                inner = text[s:e].strip()
                assert text[s:e].startswith(inner, len(text[s:e]) - len(text[s:e].lstrip()))
                assert (
                    dup["start"] <= s + text[s:e].index(inner)
                    and s + len(text[s:e].rstrip()) <= dup["end"]
                )


def test_two_runs_give_identical_bytes(tmp_path: Path) -> None:
    outputs = []
    for name in ("one", "two"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dedup",
                "clean",
                str(PAGES),
                "--out",
                str(tmp_path / name),
                "--report",
                str(tmp_path / f"{name}.json"),
            ],
            check=True,
            capture_output=True,
            env={"PYTHONHASHSEED": str(len(name) * 7), "PATH": ""},
        )
        files = sorted((tmp_path / name).iterdir())
        outputs.append(((tmp_path / f"{name}.json").read_bytes(), [f.read_bytes() for f in files]))
    assert outputs[0] == outputs[1]


def test_markdown_is_commonmark_with_tables_and_escaped_text(tmp_path: Path) -> None:
    hostile = "A [link](http://evil.example) and <script>alert(1)</script> | pipe *bold*"
    (tmp_path / "a.txt").write_text(f"{hostile}\n\n{hostile}\n")
    text = render_markdown(build_report(dedup.scan([tmp_path]), texts=True))
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script>" not in html and "<a href" not in html and "<strong>" not in html
    assert html.count("<table>") == 4  # totals, documents, one cluster, calibration
    assert "&lt;script&gt;" in html
    blog = render_markdown(build_report(dedup.scan([PAGES]), texts=True))
    tokens = MarkdownIt("commonmark").enable("table").parse(blog)
    assert sum(1 for t in tokens if t.type == "table_open") == 3 + len(
        build_report(dedup.scan([PAGES]))["clusters"]
    )


def test_md_escape_flattens_and_escapes() -> None:
    assert md_escape("a|b\n# c") == "a\\|b \\# c"


def test_render_json_round_trips() -> None:
    report = build_report(dedup.scan([PAGES], unit="paragraph"))
    assert json.loads(render_json(report)) == report


def test_streamed_lazy_json_equals_the_plain_rendering(tmp_path: Path) -> None:
    from dedup.report import json_pieces

    (tmp_path / "a.txt").write_text("Nothing repeats in this single small document at all.\n")
    for corpus in (PAGES, tmp_path):  # with clusters, and with empty lists
        result = dedup.scan([corpus])
        plain = render_json(build_report(result))
        streamed = b"".join(json_pieces(build_report(result, lazy=True))).decode("utf-8")
        assert streamed == plain
        assert json.loads(streamed) == build_report(result)


def test_pairs_are_placed_only_when_listed_and_scored_either_way() -> None:
    plain = dedup.scan(PAGES, jobs=1)
    listed = dedup.scan(PAGES, jobs=1, pairs=True)
    assert plain.pairs == () and listed.pairs
    assert [p.evidence for p in listed.pairs] == list(listed.verified)
    for result in (plain, listed):
        verified = sum(
            level["verified_pairs"] for level in result.lsh.values() if isinstance(level, dict)
        )
        assert len(result.verified) == verified
    # Without --pairs, the pairs no decision reads are not verified: the calibration
    # counts those verified, some of the pairs listed with --pairs (#27).
    counted = [build_report(r)["calibration"]["jaccard_histogram"] for r in (plain, listed)]
    assert all(x <= y for x, y in zip(*counted, strict=True))
    assert sum(counted[0]) <= sum(counted[1])
