"""Arrays kept on disk between stages (dedup/io/spill.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import PAGES
from test_levels_share import _records

from dedup.io import spill
from dedup.io.spill import Columns


@pytest.mark.parametrize("on_disk", [True, False])
def test_columns_give_back_what_blocks_of_rows_wrote(
    on_disk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if on_disk:
        monkeypatch.setattr(spill, "SPILL_BYTES", 0)
    rng = np.random.default_rng(7)
    matrix = rng.integers(0, 2**64 - 1, size=(1000, 21), dtype=np.uint64, endpoint=True)
    columns = Columns(*matrix.shape)
    assert (columns._file is not None) == on_disk
    for at in range(0, 1000, 333):  # blocks of rows, as batches come
        columns.write(at, matrix[at : at + 333])
    assert len(columns) == 1000
    for c in (0, 7, 20):
        assert np.array_equal(columns.column(c), matrix[:, c])
    assert np.array_equal(columns.array(), matrix)
    columns.close()


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.int64])
def test_a_column_on_disk_gives_back_the_rows_asked_in_their_order(
    dtype: type[np.signedinteger], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.io.spill import DiskColumn

    monkeypatch.setattr(DiskColumn, "CHUNK", 64)  # many chunks, most never read
    rng = np.random.default_rng(11)
    values = rng.integers(-100, 100, size=1000).astype(dtype)
    column = DiskColumn(values)
    assert len(column) == 1000 and column.dtype == values.dtype
    for at in ([999, 0, 5, 5, 64, 63, 128], rng.integers(0, 1000, 300), [], [999]):
        assert np.array_equal(column[at], values[np.asarray(at, dtype=np.int64)])
    with pytest.raises(IndexError):
        column[[1000]]


def test_band_keys_on_disk_find_the_candidates_they_find_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dedup.index import candidate_pairs

    monkeypatch.setattr(spill, "SPILL_BYTES", 0)
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 40, size=(500, 9), dtype=np.uint64)  # many shared keys
    columns = Columns(*keys.shape)
    columns.write(0, keys)
    rows = np.sort(rng.choice(500, 300, replace=False))
    assert np.array_equal(candidate_pairs(columns), candidate_pairs(keys))
    assert np.array_equal(candidate_pairs(columns, rows), candidate_pairs(keys, rows))
    assert len(candidate_pairs(keys)) > 100


def test_a_full_disk_is_an_output_error_that_names_the_folder() -> None:
    # RLIMIT_FSIZE (ulimit -f) makes any write past 4 KiB fail, as a full disk would.
    script = """
import resource, numpy as np
from dedup.errors import OutputError
from dedup.io import spill
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
spill.SPILL_BYTES = 0
columns = spill.Columns(10000, 4)
try:
    columns.write(0, np.ones((10000, 4), dtype=np.uint64))
except OutputError as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "cannot write the run's temporary files" in done.stdout
    assert "File too large" in done.stdout


@pytest.mark.parametrize("corpus", ["pages", "records"])
def test_a_run_with_every_band_key_on_disk_finds_what_it_finds_in_memory(
    corpus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dedup
    from dedup.report import build_report, render_json

    path = PAGES if corpus == "pages" else _records(tmp_path / "records.jsonl")
    in_memory = render_json(build_report(dedup.scan(path, jobs=1, pairs=True)))
    # Every batch's keys and units spooled, every space spilled, and the cold columns of
    # the table.
    monkeypatch.setattr(spill, "SPILL_BYTES", 0)
    written = []
    monkeypatch.setattr(spill.DiskColumn, "CHUNK", 16)
    monkeypatch.setattr(spill, "temporary_file", _counted(spill.temporary_file, written))
    on_disk = render_json(build_report(dedup.scan(path, jobs=1, pairs=True)))
    assert "dedup-column-" in written
    assert written.count("dedup-spool-") == 2  # the band keys', and the units' until frozen
    assert on_disk == in_memory
    assert ',"near",' in on_disk  # a near duplicate's relation


def test_a_level_without_units_reads_its_columns_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty column on disk is a column all the same (its length, 0, is no answer)."""
    import dedup
    from dedup.report import build_report, render_json

    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text("   \n")
    in_memory = render_json(build_report(dedup.scan(tmp_path, jobs=1)))
    monkeypatch.setattr(spill, "SPILL_BYTES", 0)
    assert render_json(build_report(dedup.scan(tmp_path, jobs=1))) == in_memory


def _counted(make: Any, prefixes: list[str]) -> Any:
    def counted(owner: object, prefix: str) -> Any:
        prefixes.append(prefix)
        return make(owner, prefix)

    return counted
