"""The persistent index: same results as without it, rebuilt when it cannot be trusted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, PAGES

from dedup import engine
from dedup.config import Config
from dedup.io.store import pack, unpack
from dedup.report import build_report, render_json


def _report(paths: list[str], index: Path | None = None, **options: object) -> str:
    result = engine.run(paths, Config().with_overrides(options), index=index)
    return render_json(build_report(result))


@pytest.mark.parametrize(
    "source",
    [PAGES, FIXTURES / "golden" / "jsonl" / "input", FIXTURES / "golden" / "crlf" / "input"],
)
def test_results_are_identical_with_and_without_the_index(tmp_path: Path, source: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(source, corpus)
    plain = _report([str(corpus)])
    index = tmp_path / "i.sqlite"
    assert _report([str(corpus)], index) == plain  # cold: builds it
    assert _report([str(corpus)], index) == plain  # warm: reads it
    assert index.stat().st_size > 0


def test_a_changed_file_is_fingerprinted_again(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(PAGES, corpus)
    index = tmp_path / "i.sqlite"
    _report([str(corpus)], index)
    page = corpus / "000_7a30a706ee8a8969.txt"
    page.write_text(
        page.read_text(encoding="utf-8") + "\n\nThreads menace Twitter\n", encoding="utf-8"
    )
    (corpus / "004_0ce93ecfe4c9966c.txt").unlink()
    warm = _report([str(corpus)], index)
    assert warm == _report([str(corpus)])
    assert "000_7a30a706ee8a8969.txt" in json.dumps([c for c in json.loads(warm)["clusters"]])


def _warned(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "dedup", *args], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    return done.stderr


def test_a_corrupt_index_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    index = tmp_path / "i.sqlite"
    index.write_bytes(b"this is not a database" * 100)
    err = _warned("check", str(PAGES), "--index", str(index), "--no-baseline")
    assert "rebuilding the index" in err
    assert _report([str(PAGES)], index) == _report([str(PAGES)])


def test_an_index_built_with_other_parameters_is_rebuilt(tmp_path: Path) -> None:
    index = tmp_path / "i.sqlite"
    _warned("index", "build", str(PAGES), "--index", str(index))
    err = _warned("check", str(PAGES), "--index", str(index), "--threshold", "0.9", "--no-baseline")
    assert "built with other parameters" in err
    assert _report([str(PAGES)], index, threshold=0.9) == _report([str(PAGES)], threshold=0.9)


def test_concurrent_runs_share_the_index(tmp_path: Path) -> None:
    index = tmp_path / "i.sqlite"
    command = [sys.executable, "-m", "dedup", "index", "update", str(PAGES), "--index", str(index)]
    runs = [subprocess.Popen(command, stderr=subprocess.PIPE) for _ in range(3)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    stats = subprocess.run(
        [sys.executable, "-m", "dedup", "index", "stats", "--index", str(index)],
        capture_output=True,
        text=True,
    )
    assert json.loads(stats.stdout)["files"] == 5
    assert _report([str(PAGES)], index) == _report([str(PAGES)])


def test_pack_round_trips_without_pickle() -> None:
    arrays = {"a": np.arange(12, dtype=np.int64).reshape(3, 4), "b": np.zeros((0, 21), np.uint64)}
    back = unpack(pack(arrays))
    assert all(
        np.array_equal(arrays[k], back[k]) and arrays[k].dtype == back[k].dtype for k in arrays
    )
    with pytest.raises(ValueError):
        unpack(pack(arrays) + b"x")


def test_a_parquet_file_is_indexed_by_itself_not_its_spool(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import sqlite3

    lines = (FIXTURES / "golden" / "jsonl" / "input" / "news.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in lines.splitlines()]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), corpus / "news.parquet")
    plain = _report([str(corpus)])
    index = tmp_path / "i.sqlite"
    assert _report([str(corpus)], index) == plain  # cold
    assert _report([str(corpus)], index) == plain  # warm: from the index
    with sqlite3.connect(index) as db:
        paths = [row[0] for row in db.execute("SELECT path FROM files")]
    assert paths == [str((corpus / "news.parquet").resolve())]
    pq.write_table(pa.Table.from_pylist(rows[:-1]), corpus / "news.parquet")  # changed
    assert _report([str(corpus)], index) == _report([str(corpus)])


def test_every_file_of_a_group_holds_the_band_keys_of_its_texts(tmp_path: Path) -> None:
    """Files are fingerprinted for the index in groups; a text two files share must stay a
    candidate from the second file's entry once the first one changes."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shared = (
        "Le démon lit sa configuration au démarrage puis la relit à chaque signal reçu, "
        "sans interrompre les connexions ouvertes ni perdre les requêtes en attente."
    )
    near = shared.replace("connexions ouvertes", "connexions actives")
    (corpus / "a.md").write_text(f"# Notes\n\n{shared}\n", encoding="utf-8")
    (corpus / "b.md").write_text(f"# Copie\n\n{shared}\n", encoding="utf-8")
    (corpus / "c.md").write_text(f"# Variante\n\n{near}\n", encoding="utf-8")
    index = tmp_path / "i.sqlite"
    assert _report([str(corpus)], index) == _report([str(corpus)])
    (corpus / "a.md").write_text("# Notes\n\nUne page réécrite, sans le paragraphe.\n")
    warm = _report([str(corpus)], index)
    assert warm == _report([str(corpus)])
    assert "c.md" in json.dumps(json.loads(warm)["clusters"])  # the near copy, found
