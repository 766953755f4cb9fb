from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, PAGES

from dedup import __version__
from dedup.cli import main
from dedup.report import unpacked

NEWS = FIXTURES / "golden" / "jsonl" / "input" / "news.jsonl"


def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_version_and_help_on_every_command() -> None:
    assert __version__ in invoke("--version").stdout
    for command in ([], ["scan"], ["clean"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout


def test_the_cycle_collector_stays_off_until_the_report_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dedup.cli.reports

    seen: list[bool] = []
    write = dedup.cli.reports.write_pieces

    def watched(path: Path, pieces: Iterator[bytes]) -> None:
        seen.append(gc.isenabled())
        write(path, pieces)

    monkeypatch.setattr(dedup.cli.reports, "write_pieces", watched)
    assert gc.isenabled()
    result = invoke("scan", str(PAGES), "--report", str(tmp_path / "report.json"))
    assert result.exit_code == 0
    assert seen == [False]
    assert json.loads((tmp_path / "report.json").read_text())["stats"]["documents"] == 5
    assert gc.isenabled()  # on again once the command is done


def test_scan_writes_the_report_to_stdout_and_a_summary_to_stderr() -> None:
    result = invoke("scan", str(PAGES))
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["dedup_report"] == 5
    assert report["stats"]["documents"] == 5
    assert "duplicates" in result.stderr and "characters removed" in result.stderr


def test_a_report_to_dash_is_written_to_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--report -` is standard output, as `-` is for input and `--out`; a file named `-`
    was written in the working folder."""
    monkeypatch.chdir(tmp_path)
    scanned = invoke("scan", str(PAGES), "--report", "-", "--format", "markdown")
    assert scanned.exit_code == 0
    assert scanned.stdout.startswith("# dedup report")
    cleaned = invoke("clean", str(PAGES), "--out", str(tmp_path / "out"), "--report", "-")
    assert cleaned.exit_code == 0
    assert json.loads(cleaned.stdout)["stats"]["documents"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # the cleaned JSONL and the report cannot share standard output
    both = invoke("clean", "-", "--out", "-", "--report", "-", input=NEWS.read_text("utf-8"))
    assert both.exit_code == 2
    assert "standard output" in both.stderr


def test_scan_markdown_to_a_file_writes_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    result = invoke("scan", str(PAGES), "--format", "markdown", "--report", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("# dedup report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


@pytest.mark.parametrize("unit", ["document", "section", "paragraph", "sentence"])
def test_unit_restricts_the_levels(unit: str) -> None:
    report = unpacked(json.loads(invoke("scan", str(PAGES), "--unit", unit).stdout))
    assert {c["unit"] for c in report["clusters"]} <= {unit}
    assert report["options"]["unit"] == unit


def test_threshold_changes_what_is_found() -> None:
    loose = json.loads(
        invoke("scan", str(PAGES), "--unit", "paragraph", "--threshold", "0.5").stdout
    )
    strict = unpacked(
        json.loads(invoke("scan", str(PAGES), "--unit", "paragraph", "--threshold", "1.0").stdout)
    )
    assert loose["stats"]["duplicate_units"] > strict["stats"]["duplicate_units"]
    assert {d["relation"] for c in strict["clusters"] for d in c["duplicates"]} <= {
        "exact",
        "overlap",
        "near",
        "contained",
    }


def test_clean_writes_same_names_and_leaves_inputs_alone(tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in PAGES.iterdir()}
    result = invoke(
        "clean", str(PAGES), "--out", str(tmp_path / "out"), "--report", str(tmp_path / "r.json")
    )
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(before)
    assert {p.name: p.read_bytes() for p in PAGES.iterdir()} == before
    assert (
        json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["stats"]["chars_removed"] > 0
    )


def test_clean_refuses_to_write_into_the_input_tree(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Same line here, twice over.\n\nSame line here, twice over.\n")
    for out in (corpus, corpus / "cleaned"):
        result = CliRunner().invoke(main, ["clean", str(corpus), "--out", str(out)])
        assert result.exit_code == 2
        assert "inside the input folder" in result.stderr
    result = CliRunner().invoke(main, ["clean", str(corpus / "a.txt"), "--out", str(corpus)])
    assert result.exit_code == 2
    assert "overwrite an input" in result.stderr
    assert (
        corpus / "a.txt"
    ).read_text() == "Same line here, twice over.\n\nSame line here, twice over.\n"


def test_clean_refuses_to_write_over_an_input_through_a_link(tmp_path: Path) -> None:
    text = "Same line here, twice over.\n\nSame line here, twice over.\n"
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text(text)  # the input a link in the corpus leads to
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").symlink_to(tmp_path / "out" / "a.txt")
    (tmp_path / "via").symlink_to(tmp_path / "out")  # the output folder, through a link
    for out in ("out", "via"):
        result = CliRunner().invoke(
            main, ["clean", str(tmp_path / "corpus"), "--out", str(tmp_path / out)]
        )
        assert result.exit_code == 2, out
        assert "a.txt: writing there would overwrite an input" in result.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == text


def test_jsonl_round_trip_keeps_ids_and_fields(tmp_path: Path) -> None:
    result = invoke("clean", str(NEWS), "--out", str(tmp_path))
    assert result.exit_code == 0
    records_in = [json.loads(line) for line in NEWS.read_text(encoding="utf-8").splitlines()]
    records_out = [
        json.loads(line)
        for line in (tmp_path / "news.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["id"] for r in records_out] == [r["id"] for r in records_in]
    assert [r["lang"] for r in records_out] == [r["lang"] for r in records_in]
    assert records_out[0] == records_in[0]
    assert "Cookie notice" not in records_out[1]["text"]
    assert records_out[1]["text"] == "A second storm is expected on Friday, forecasters said."


def test_custom_field_names(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    line = "The same sentence appears in both records of this file."
    data.write_text(
        json.dumps({"key": 1, "body": line}) + "\n" + json.dumps({"key": 2, "body": line}) + "\n"
    )
    report = unpacked(
        json.loads(invoke("scan", str(data), "--text-field", "body", "--id-field", "key").stdout)
    )
    assert report["clusters"][0]["survivor"]["doc"] == "1"
    assert report["clusters"][0]["duplicates"][0]["doc"] == "2"


def test_stdin_to_stdout_with_the_runner() -> None:
    result = invoke("clean", "-", "--out", "-", input=NEWS.read_text(encoding="utf-8"))
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c", "d"]
    assert records[2]["text"].startswith("Le marché couvert")
    assert "Volunteers" not in records[2]["text"]


def test_stdin_to_stdout_streams_through_a_real_pipe() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dedup", "clean", "-", "--out", "-"],
        input=NEWS.read_bytes(),
        capture_output=True,
        check=True,
    )
    records = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
    assert len(records) == 4
    assert b"characters removed" in run.stderr


def test_folder_include_and_exclude(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    text = "A paragraph long enough to count, repeated in every file.\n"
    for name in ("a.txt", "sub/b.md", "c.rst", "sub/skip.txt"):
        (tmp_path / name).write_text(text)
    report = unpacked(json.loads(invoke("scan", str(tmp_path), "--exclude", "skip.txt").stdout))
    assert [d["doc"] for d in report["documents"]] == ["a.txt", "sub/b.md"]
    report = json.loads(invoke("scan", str(tmp_path), "--include", "*.rst").stdout)
    assert report["stats"]["documents"] == 1  # c.rst alone: nothing it repeats


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1, "text": "ok"}\n{"id": 2, "text": \n', "bad.jsonl:2: invalid JSON"),
        ('{"id": 1, "body": "no text"}\n', "bad.jsonl:1: no 'text' field"),
        ('{"id": 1, "text": 5}\n', "bad.jsonl:1: field 'text' is int, not a string"),
        (
            '{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n',
            "bad.jsonl:2: duplicate document id '1'",
        ),
        ('["not", "an", "object"]\n', "bad.jsonl:1: a JSONL line must be an object"),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    result = CliRunner().invoke(main, ["scan", str(bad)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_missing_path_and_invalid_utf8(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"fine\n\xff\xfe oops")
    result = CliRunner().invoke(main, ["scan", str(broken)])
    assert result.exit_code == 2
    assert "broken.txt: invalid UTF-8 at byte 5" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert CliRunner().invoke(main, ["scan"]).exit_code == 2
    assert CliRunner().invoke(main, ["scan", str(PAGES), "--threshold", "1.5"]).exit_code == 2
    assert CliRunner().invoke(main, ["scan", str(PAGES), "--unit", "word"]).exit_code == 2
    assert CliRunner().invoke(main, ["clean", str(PAGES)]).exit_code == 2  # --out is required
