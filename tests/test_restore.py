"""restore(clean(x)) == x, byte for byte, and every removed character is in the report."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, PAGES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.cli import main
from dedup.errors import DedupError
from dedup.report import unpacked
from dedup.restore import restore

SETTINGS = settings(
    max_examples=int(os.environ.get("DEDUP_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
words = st.text(alphabet="bcdfghjklmnprstvzé", min_size=2, max_size=7)
sentence = st.lists(words, min_size=3, max_size=9).map(lambda w: " ".join(w).capitalize() + ".")
paragraph = st.lists(sentence, min_size=1, max_size=3).map(" ".join)
separator = st.sampled_from(
    ["\n\n", "\r\n\r\n", "\n", "\n \t\n", "\n\u00a0\n", "\r\n", "\n\n\n", "  \n\n"]
)


@st.composite
def documents(draw: st.DrawFn) -> list[bytes]:
    pool = draw(st.lists(paragraph, min_size=1, max_size=4))
    docs = []
    for _ in range(draw(st.integers(1, 4))):
        paras = draw(st.lists(st.sampled_from(pool), min_size=0, max_size=6))
        text = draw(st.sampled_from(["", " ", "\n", "\t"]))
        for para in paras:
            text += para + draw(separator)
        bom = "\ufeff" if draw(st.booleans()) else ""
        docs.append((bom + text).encode("utf-8"))
    return docs


def _clean_and_restore(root: Path, args: list[str]) -> tuple[dict, Path]:  # type: ignore[type-arg]
    runner = CliRunner()
    done = runner.invoke(
        main,
        [
            "clean",
            str(root / "in"),
            "--out",
            str(root / "c"),
            "--report",
            str(root / "r.json"),
            *args,
        ],
    )
    assert done.exit_code == 0, done.stderr
    back = runner.invoke(
        main,
        ["restore", str(root / "c"), "--report", str(root / "r.json"), "--out", str(root / "o")],
    )
    assert back.exit_code == 0, back.stderr
    return unpacked(json.loads((root / "r.json").read_text(encoding="utf-8"))), root / "o"


@SETTINGS
@given(documents(), st.sampled_from([[], ["--unit", "paragraph"], ["--keep", "longest"]]))
def test_restore_of_clean_is_the_original(docs: list[bytes], args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        for number, data in enumerate(docs):
            (root / "in" / f"d{number}.txt").write_bytes(data)
        report, restored = _clean_and_restore(root, args)
        for number, data in enumerate(docs):
            assert (restored / f"d{number}.txt").read_bytes() == data
        cleaned = sum(
            len((root / "c" / f"d{n}.txt").read_bytes().decode("utf-8").lstrip("\ufeff"))
            for n in range(len(docs))
        )
        original = sum(len(d.decode("utf-8").lstrip("\ufeff")) for d in docs)
        assert original - cleaned == report["stats"]["chars_removed"]
        assert (
            sum(len(t) for d in report["documents"] for t in d["removed_text"])
            == report["stats"]["chars_removed"]
        )


def test_restore_the_blog_corpus_and_jsonl(tmp_path: Path) -> None:
    for source in (PAGES, FIXTURES / "golden" / "jsonl" / "input"):
        root = tmp_path / source.name
        root.mkdir()
        (root / "in").symlink_to(source)
        report, restored = _clean_and_restore(root, [])
        assert report["stats"]["chars_removed"] > 0
        for original in source.iterdir():
            assert (restored / original.name).read_bytes() == original.read_bytes()


def test_restore_reads_every_report_version(tmp_path: Path) -> None:
    """Reports of versions 2 to 4 list documents as objects, as a report unpacked does."""
    root = tmp_path / "now"
    root.mkdir()
    (root / "in").symlink_to(PAGES)
    report, _ = _clean_and_restore(root, [])
    runner = CliRunner()
    for version in (2, 3, 4):
        older = tmp_path / f"r{version}.json"
        older.write_text(json.dumps({**report, "dedup_report": version}), encoding="utf-8")
        out = tmp_path / f"o{version}"
        back = runner.invoke(
            main, ["restore", str(root / "c"), "--report", str(older), "--out", str(out)]
        )
        assert back.exit_code == 0, back.stderr
        for original in PAGES.iterdir():
            assert (out / original.name).read_bytes() == original.read_bytes()


@pytest.mark.parametrize(
    ("removed", "texts"),
    [
        ([(10, 20)], ["x" * 10]),
        ([(0, 3)], ["ab"]),
        ([(0, 2), (1, 3)], ["ab", "bc"]),
        ([(0, 1)], []),
    ],
)
def test_restore_refuses_a_report_that_does_not_fit(
    removed: list[tuple[int, int]], texts: list[str]
) -> None:
    with pytest.raises(DedupError, match=r"a\.txt"):
        restore("short", removed, texts, "a.txt")


def test_restore_reads_jsonl_whatever_the_case_of_its_suffix(tmp_path: Path) -> None:
    """The reader takes DATA.JSONL as JSONL; restore must too, not as one text file."""
    source = FIXTURES / "golden" / "jsonl" / "input"
    (tmp_path / "in").mkdir()
    originals = {}
    for n, original in enumerate(sorted(source.glob("*.jsonl"))):
        name = f"PART{n}.JSONL"
        (tmp_path / "in" / name).write_bytes(original.read_bytes())
        originals[name] = original.read_bytes()
    report, restored = _clean_and_restore(tmp_path, ["--include", "*.JSONL"])
    assert report["stats"]["chars_removed"] > 0
    for name, data in originals.items():
        assert (restored / name).read_bytes() == data
