"""Whole records and whole files repeated are duplicates, however many copies and however short;
cleaning that empties a JSONL record drops it, and `restore` brings it back (#27)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import restore_cli

from dedup.cli import main
from dedup.report import unpacked

POST = "Merci pour ce partage, c’était très intéressant à lire ce matin !"  # 64 characters


def _records(path: Path, texts: list[str]) -> Path:
    lines = [
        json.dumps({"id": str(i), "text": t, "lang": "fr"}, ensure_ascii=False)
        for i, t in enumerate(texts)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _distinct(count: int, seed: int = 3, words: int = 30) -> list[str]:
    rng = random.Random(seed)
    pool = ["".join(rng.choices("bcdfghjklmnprstvzéè", k=6)) for _ in range(2000)]
    return [" ".join(rng.choices(pool, k=words)).capitalize() + "." for _ in range(count)]


def _clean(tmp_path: Path, source: Path, *args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path / "out"
    done = CliRunner().invoke(
        main,
        [
            "clean",
            str(source),
            "--out",
            str(out),
            "--report",
            str(tmp_path / "r.json"),
            "-q",
            *args,
        ],
    )
    assert done.exit_code == 0, done.output
    report = unpacked(json.loads((tmp_path / "r.json").read_text(encoding="utf-8")))
    lines = (out / source.name).read_text(encoding="utf-8").splitlines()
    return report, [json.loads(line) for line in lines]


@pytest.mark.parametrize("unit", [[], ["--unit", "document"], ["--unit", "paragraph"]])
def test_a_record_copied_many_times_is_removed_not_kept_as_boilerplate(
    tmp_path: Path, unit: list[str]
) -> None:
    other = _distinct(10)
    texts = [other[0], POST, other[1], POST, POST, other[2], POST, POST, other[3], POST]
    report, records = _clean(tmp_path, _records(tmp_path / "in.jsonl", texts), *unit)
    kept = [r["text"] for r in records]
    assert kept.count(POST) == 1
    assert kept == [other[0], POST, other[1], other[2], other[3]]
    assert report["boilerplate"] == []
    (cluster,) = report["clusters"]
    assert cluster["survivor"]["doc"] == "1"
    assert [d["doc"] for d in cluster["duplicates"]] == ["3", "4", "6", "7", "9"]


def test_whole_record_near_copies_in_many_records_are_removed(tmp_path: Path) -> None:
    base = _distinct(1, seed=8, words=80)[0]
    words = base.split()
    copies = []
    for i in range(6):  # one word changed in each copy: word-5 Jaccard 0.88 with the first
        edited = list(words)
        edited[10 + 9 * i] = "zzz" + str(i)
        copies.append(" ".join(edited))
    other = _distinct(4, seed=9)
    report, records = _clean(tmp_path, _records(tmp_path / "in.jsonl", [base, *other, *copies]))
    assert [r["text"] for r in records] == [base, *other]
    assert report["boilerplate"] == []


def test_short_exact_whole_record_copies_are_removed_at_any_length(tmp_path: Path) -> None:
    texts = ["ok", "Bravo !", "ok", "Super article, merci.", "bravo !", "ok", "»", "Oui", "»", "«"]
    report, records = _clean(tmp_path, _records(tmp_path / "in.jsonl", texts))
    kept = ["ok", "Bravo !", "Super article, merci.", "»", "Oui", "«"]
    assert [r["text"] for r in records] == kept
    assert report["stats"]["chars_removed"] == len("ok") * 2 + len("bravo !") + len("»")


def test_records_of_punctuation_or_emoji_alone_are_exact_copies_only(tmp_path: Path) -> None:
    # Nothing of them survives normalization: they are compared by their raw text, as
    # exact copies only, never by shingles (a record of several lines stopped the run).
    emoji = "😀😀😀\n\n😂😂😂😂😂 !!"
    dots = "…… !!\n\n…… ?? ---"
    texts = [emoji, dots, "Bonjour à tous.", emoji, dots + "-", dots, "!!! ???"]
    report, records = _clean(tmp_path, _records(tmp_path / "in.jsonl", texts))
    assert [r["text"] for r in records] == [emoji, dots, "Bonjour à tous.", dots + "-", "!!! ???"]
    assert {d["relation"] for c in report["clusters"] for d in c["duplicates"]} == {"exact"}


def test_short_parts_below_min_chars_are_still_never_duplicates(tmp_path: Path) -> None:
    body = _distinct(2, seed=4)
    texts = [f"Oui\n\n{body[0]}", f"Oui\n\n{body[1]}"]  # a 3-character paragraph in each
    report, records = _clean(tmp_path, _records(tmp_path / "in.jsonl", texts))
    assert [r["text"] for r in records] == texts
    assert report["clusters"] == []


def test_short_whole_files_copied_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text("À bientôt\n", encoding="utf-8")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["clean", str(folder), "--out", str(out), "-q"])
    assert done.exit_code == 0, done.output
    assert (out / "a.txt").read_text(encoding="utf-8") == "À bientôt\n"
    assert (out / "b.txt").read_text(encoding="utf-8").strip() == ""  # files keep their files
    assert (out / "c.txt").exists()


def test_emptied_records_are_dropped_kept_with_keep_empty_and_restored(tmp_path: Path) -> None:
    other = _distinct(3)
    texts = [other[0], POST, other[1], f"  {POST}\n", other[2], POST]
    source = _records(tmp_path / "in.jsonl", texts)
    report, records = _clean(tmp_path, source)
    assert [r["id"] for r in records] == ["0", "1", "2", "4"]
    assert all(r["lang"] == "fr" for r in records)
    # restore brings the dropped records back where they were, byte for byte
    done = restore_cli(tmp_path / "out", tmp_path / "r.json", tmp_path / "back")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "back" / "in.jsonl").read_bytes() == source.read_bytes()
    dropped = [d["doc"] for d in report["documents"] if d.get("dropped")]
    assert dropped == ["3", "5"]
    # --keep-empty writes them as they were cleaned
    (tmp_path / "out" / "in.jsonl").unlink()
    _, records = _clean(tmp_path, source, "--keep-empty")
    assert [r["id"] for r in records] == ["0", "1", "2", "3", "4", "5"]
    assert [r["text"].strip() for r in records] == [other[0], POST, other[1], "", other[2], ""]


def test_emptied_records_are_dropped_from_standard_output_too(tmp_path: Path) -> None:
    source = _records(tmp_path / "in.jsonl", [POST, POST, *_distinct(1)])
    done = CliRunner().invoke(
        main, ["clean", "-", "--out", "-", "-q"], input=source.read_text(encoding="utf-8")
    )
    assert done.exit_code == 0, done.output
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["0", "2"]


def test_the_report_lists_the_documents_with_findings_and_restore_needs_no_more(
    tmp_path: Path,
) -> None:
    texts = _distinct(300, seed=12)
    texts[250] = texts[40]  # one record repeated
    source = _records(tmp_path / "in.jsonl", texts)
    (tmp_path / "pages").mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / "pages" / name).write_text(f"{name}\n\n{texts[7]}\n", encoding="utf-8")
    report, records = _clean(tmp_path, source)
    assert [d["doc"] for d in report["documents"]] == ["40", "250"]
    assert report["stats"]["documents"] == 300
    assert len(records) == 299
    out = tmp_path / "pages-out"
    done = CliRunner().invoke(
        main,
        ["clean", str(tmp_path / "pages"), "--out", str(out), "--report", str(tmp_path / "p.json")],
    )
    assert done.exit_code == 0, done.output
    listed = unpacked(json.loads((tmp_path / "p.json").read_text(encoding="utf-8")))["documents"]
    assert [d["doc"] for d in listed] == ["a.txt", "b.txt", "c.txt"]
    for cleaned, report_file in ((tmp_path / "out", "r.json"), (out, "p.json")):
        back = tmp_path / f"back-{cleaned.name}"
        done = CliRunner().invoke(
            main,
            ["restore", str(cleaned), "--report", str(tmp_path / report_file), "--out", str(back)],
        )
        assert done.exit_code == 0, done.output
    assert (tmp_path / "back-out" / "in.jsonl").read_bytes() == source.read_bytes()
    for name in ("a.txt", "b.txt", "c.txt"):
        restored = (tmp_path / "back-pages-out" / name).read_bytes()
        assert restored == (tmp_path / "pages" / name).read_bytes()


def test_a_file_whose_records_all_go_is_written_empty_and_restored(tmp_path: Path) -> None:
    """Every input file gets its output file: one that cleaning emptied of every record, or
    that held none, is written empty (not left out, which a pipeline reads as missing)."""
    folder = tmp_path / "in"
    folder.mkdir()
    _records(folder / "a.jsonl", [POST, *_distinct(2)])
    both = [{"id": f"b{i}", "text": t} for i, t in enumerate([POST, f" {POST}"])]
    (folder / "b.jsonl").write_text(  # both records repeat a.jsonl's first
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in both), encoding="utf-8"
    )
    (folder / "c.jsonl").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    done = CliRunner().invoke(
        main, ["clean", str(folder), "--out", str(out), "--report", str(tmp_path / "r.json")]
    )
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert (out / "b.jsonl").read_bytes() == b"" == (out / "c.jsonl").read_bytes()
    back = restore_cli(out, tmp_path / "r.json", tmp_path / "back")
    assert back.exit_code == 0, back.output
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        assert (tmp_path / "back" / name).read_bytes() == (folder / name).read_bytes()


@pytest.mark.parametrize("style", ["escaped", "compact", "plain"])
def test_records_are_written_as_they_came_and_restored_byte_for_byte(
    tmp_path: Path, style: str
) -> None:
    # Python's json.dumps escapes every string to ASCII by default, orjson writes no
    # spaces: a record cleaning leaves alone is its line, byte for byte; a cleaned one
    # keeps every other field as written and its text in its line's style; restore
    # brings both back, and the records it left out, byte for byte.
    other = _distinct(4)
    texts = [POST, other[1], f"Édition : {other[0]}\n\n{POST}", POST, other[2], other[3]]
    dumps = {
        "escaped": lambda r: json.dumps(r),
        "compact": lambda r: json.dumps(r, ensure_ascii=False, separators=(",", ":")),
        "plain": lambda r: json.dumps(r, ensure_ascii=False),
    }[style]

    def record(i: int, text: str) -> dict[str, Any]:
        return {"score": 1.0, "id": str(i), "n": 1e-05, "text": text, "tags": ["é", None]}

    lines = [dumps(record(i, t)) for i, t in enumerate(texts)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    report, records = _clean(tmp_path, source)
    written = (tmp_path / "out" / "in.jsonl").read_bytes().split(b"\r\n")
    assert [r["id"] for r in records] == ["0", "1", "2", "4", "5"]  # 3 repeats the post
    assert records[2]["text"] == f"Édition : {other[0]}"  # its copy of the post cut
    escaped = {d["doc"]: d.get("escaped", False) for d in report["documents"] if d["removed"]}
    assert escaped == {"2": style == "escaped", "3": style == "escaped"}
    untouched = [written[i] for i in (0, 1, 3, 4)]
    assert untouched == [lines[i].encode() for i in (0, 1, 4, 5)]
    # the text replaced in place, in the line's style
    assert written[2] == dumps(record(2, records[2]["text"])).encode()
    done = restore_cli(tmp_path / "out", tmp_path / "r.json", tmp_path / "back")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "back" / "in.jsonl").read_bytes() == source.read_bytes()
    # written to standard output, the same lines
    streamed = CliRunner().invoke(main, ["clean", str(source), "--out", "-", "-q"])
    assert streamed.exit_code == 0, streamed.output
    assert streamed.stdout_bytes.split(b"\r\n") == written


def test_records_cleaning_leaves_whole_are_written_as_read_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the cleaned records parses again only those cleaning changes; one whose
    line its reader mended (bytes that are not UTF-8, --errors replace) is written as
    mended, not as its line."""
    from dedup.config import Config
    from dedup.engine.run import run
    from dedup.io import readers

    texts = _distinct(5)
    lines = [json.dumps({"id": str(i), "text": t}, ensure_ascii=False) for i, t in enumerate(texts)]
    lines.append(json.dumps({"id": "copy", "text": texts[1]}, ensure_ascii=False))
    data = "\n".join(lines).encode() + b"\n"
    data = data.replace(texts[3][:6].encode(), texts[3][:6].encode() + b"\xff", 1)  # line 4
    source = tmp_path / "in.jsonl"
    source.write_bytes(data)
    parsed: list[int] = []
    real = readers.record_document

    def counted(*args: Any) -> Any:
        parsed.append(args[2])  # its line number
        return real(*args)

    monkeypatch.setattr(readers, "record_document", counted)
    config = Config().with_overrides({"jobs": 1, "errors": "replace"})
    run([str(source)], config, out=tmp_path / "out")
    # each read once to fingerprint; again the copy cleaning removes, and the mended line
    assert sorted(parsed) == [1, 2, 3, 4, 4, 5, 6, 6]
    written = (tmp_path / "out" / "in.jsonl").read_bytes().splitlines()
    assert written[:3] + written[4:] == [line.encode() for line in lines[:3] + lines[4:5]]
    assert json.loads(written[3])["text"] == texts[3][:6] + "\ufffd" + texts[3][6:]
