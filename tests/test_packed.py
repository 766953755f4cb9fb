"""Compressed inputs (dedup/io/packed.py): `.jsonl.gz`, `.json.gz`, `.txt.xz` and the like
read as the file they hold, cleaned to a file compressed the same way, restored."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import sys
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner
from conftest import PAGES, restore_cli

from dedup.cli import main

MODULES: dict[str, Any] = {".gz": gzip, ".bz2": bz2, ".xz": lzma, ".zst": zstandard}


def _decompress(suffix: str, data: bytes) -> bytes:
    """`data` decompressed by the module of `suffix` (a stream of zstandard frames too,
    whose headers need not give their size)."""
    if suffix != ".zst":
        return bytes(MODULES[suffix].decompress(data))
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    return bytes(reader.read())


def _records(folder: Path) -> Path:
    """The blog pages as JSONL records, the first page twice: copies at every level."""
    pages = sorted(PAGES.iterdir())
    lines = [
        json.dumps({"id": f"{n}-{page.stem}", "text": page.read_text("utf-8")}, ensure_ascii=False)
        for n, page in enumerate([*pages, pages[0]])
    ]
    path = folder / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _clean(*args: str) -> Any:
    result = CliRunner().invoke(main, ["clean", *args, "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _without_files(report: Path) -> dict[str, Any]:
    found = json.loads(report.read_bytes())
    found.pop("files")  # the names, `posts.jsonl.gz` and `posts.jsonl`
    return dict(found)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
def test_compressed_records_are_cleaned_as_the_plain_ones_and_restored(
    suffix: str, tmp_path: Path
) -> None:
    plain = _records(tmp_path)
    packed = tmp_path / f"posts.jsonl{suffix}"
    packed.write_bytes(MODULES[suffix].compress(plain.read_bytes()))
    _clean(str(plain), "--out", str(tmp_path / "plain"), "--report", str(tmp_path / "p.json"))
    for run in ("once", "again"):
        out, report = tmp_path / run, tmp_path / f"{run}.json"
        _clean(str(packed), "--out", str(out), "--report", str(report))
        assert _without_files(report) == _without_files(tmp_path / "p.json")
        cleaned = (out / packed.name).read_bytes()  # compressed as the input was
        assert _decompress(suffix, cleaned) == (tmp_path / "plain/posts.jsonl").read_bytes()
    assert json.loads((tmp_path / "once.json").read_bytes())["stats"]["chars_removed"] > 0
    # The same input, the same bytes: no time in a gzip header.
    assert (tmp_path / "once" / packed.name).read_bytes() == (
        tmp_path / "again" / packed.name
    ).read_bytes()
    restored = restore_cli(tmp_path / "once", tmp_path / "once.json", tmp_path / "back")
    assert restored.exit_code == 0, restored.output
    back = (tmp_path / "back" / packed.name).read_bytes()
    assert _decompress(suffix, back) == plain.read_bytes()


def test_compressed_json_records_and_text_pages_read_as_what_they_hold(tmp_path: Path) -> None:
    # C4 and Dolma ship their records as `.json.gz`; a page may come compressed too.
    records = tmp_path / "c4-train.00000.json.gz"
    records.write_bytes(gzip.compress(_records(tmp_path).read_bytes()))
    page = sorted(PAGES.iterdir())[0]
    (tmp_path / "pages").mkdir()
    for name in ("a", "b"):  # the first record's page, twice
        (tmp_path / "pages" / f"{name}.txt.xz").write_bytes(lzma.compress(page.read_bytes()))
    out = tmp_path / "out"
    report = tmp_path / "r.json"
    _clean(str(records), str(tmp_path / "pages"), "--include", "*.txt.xz", "--out", str(out),
           "--report", str(report))  # fmt: skip
    found = json.loads(report.read_bytes())
    assert found["files"][0] == records.name and len(found["files"]) == 3
    assert found["stats"]["documents"] == len(list(PAGES.iterdir())) + 1 + 2
    lines = gzip.decompress((out / records.name).read_bytes()).decode("utf-8").splitlines()
    assert all(json.loads(line)["id"] for line in lines)
    # Each page a copy of a record before it: cleaned to nothing, a valid .xz still.
    assert [lzma.decompress((out / f"{n}.txt.xz").read_bytes()) for n in "ab"] == [b"", b""]
    # Streamed out, the records are plain JSONL.
    streamed = _clean(str(records), "--out", "-")
    assert [json.loads(line)["id"] for line in streamed.stdout.splitlines()] == [
        json.loads(line)["id"] for line in lines
    ]


def test_a_damaged_compressed_file_is_named(tmp_path: Path) -> None:
    packed = tmp_path / "posts.jsonl.gz"
    packed.write_bytes(gzip.compress(_records(tmp_path).read_bytes())[:200])  # cut short
    result = CliRunner().invoke(main, ["scan", str(packed)])
    assert result.exit_code == 2, result.output
    assert f"{packed}: cannot decompress" in result.output


def test_a_zstandard_file_of_several_frames_is_read_across_them(tmp_path: Path) -> None:
    # `pzstd` writes several frames: every one is read, not the first alone.
    lines = _records(tmp_path).read_bytes().splitlines(keepends=True)
    packed = tmp_path / "posts.jsonl.zst"
    packed.write_bytes(b"".join(zstandard.compress(line) for line in lines))  # a frame each
    result = CliRunner().invoke(main, ["scan", str(packed), "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_bytes())["stats"]["documents"] == len(lines)


def test_zstandard_missing_is_named_with_its_remedy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = tmp_path / "posts.jsonl.zst"
    packed.write_bytes(zstandard.compress(_records(tmp_path).read_bytes()))
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as if it were not installed
    result = CliRunner().invoke(main, ["scan", str(packed)])
    assert result.exit_code == 2, result.output
    assert f"{packed}: reading .zst needs zstandard: pip install 'dedup[zstd]'" in result.output


def test_a_folder_of_compressed_shards_is_read_and_one_of_other_files_is_named(
    tmp_path: Path,
) -> None:
    shards = tmp_path / "shards"
    shards.mkdir()
    plain = _records(tmp_path).read_bytes()
    (shards / "part-0.jsonl.gz").write_bytes(gzip.compress(plain))
    again = plain.replace(b'{"id": "', b'{"id": "again-')  # copies of part 0's records
    (shards / "part-1.jsonl.zst").write_bytes(zstandard.compress(again))
    result = CliRunner().invoke(main, ["scan", str(shards), "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "r.json").read_bytes())
    assert found["files"] == ["part-0.jsonl.gz", "part-1.jsonl.zst"]
    assert found["stats"]["documents"] == 2 * len(plain.splitlines())
    # A folder none of whose files --include selects reads nothing: it says so.
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.csv").write_text("titre,texte\n", encoding="utf-8")
    (other / "meta.json.gz").write_bytes(gzip.compress(b"{}"))
    result = CliRunner().invoke(main, ["scan", str(other), "-q"])
    assert result.exit_code == 0, result.output
    assert f"{other}: none of its 2 files matches --include (theirs: *.csv *.json.gz)" in (
        result.stderr
    )


def test_every_compressed_jsonl_name_is_records_to_the_pre_commit_check() -> None:
    # Records carry ids that must stay unique across files: `dedup check` makes every
    # check of them a full one, compressed or not, whatever the codec.
    from dedup.config import JSONL_PACKED
    from dedup.engine.incremental import _RECORDS
    from dedup.io.packed import CODECS

    assert {glob.rsplit(".", 1)[1] for glob in JSONL_PACKED} == {s[1:] for s in CODECS}
    for suffix in CODECS:
        for name in (f"a.jsonl{suffix}", f"b.NDJSON{suffix}", f"c4.json{suffix}"):
            assert _RECORDS.search(f"page.md\n{name}\n"), name
    assert not _RECORDS.search("page.md\nnotes.txt.gz\nc4.json\n")
