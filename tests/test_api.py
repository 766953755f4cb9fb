from __future__ import annotations

import gc
import inspect
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PAGES

import dedup
from dedup.errors import ConfigError


def test_all_is_sorted_and_complete() -> None:
    assert dedup.__all__ == sorted(dedup.__all__)
    public = {
        name
        for name, value in vars(dedup).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public | {"__version__"} == set(dedup.__all__)


def test_scan_and_clean_mirror_the_cli(tmp_path: Path) -> None:
    result = dedup.scan([PAGES], unit="paragraph", threshold=0.9)
    assert result.options["unit"] == "paragraph" and result.options["threshold"] == 0.9
    assert all(c.level == "paragraph" for c in result.clusters)
    cleaned = dedup.clean([PAGES], out=tmp_path, unit="paragraph", threshold=0.9)
    assert cleaned.documents == result.documents


def test_clean_to_a_stream_writes_jsonl() -> None:
    stream = io.StringIO()
    dedup.clean([PAGES / "004_0ce93ecfe4c9966c.txt"], out=stream)
    (record,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert record["id"] == "004_0ce93ecfe4c9966c.txt"
    assert record["text"].startswith("En novembre")


def test_unknown_option_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'shingles'"):
        dedup.scan([PAGES], shingles=3)


def test_min_chars_below_one_is_an_error_as_on_the_command_line(tmp_path: Path) -> None:
    # At 0, every unit that normalizes to nothing ("***", "--") would be an exact
    # duplicate of every other one, and clean would remove them all.
    (tmp_path / "a.txt").write_text(
        "One paragraph of its own.\n\n***\n\nAnother one here.\n\n***\n"
    )
    with pytest.raises(ConfigError, match="min-chars must be at least 1"):
        dedup.scan([tmp_path], min_chars=0)
    (tmp_path / "setup.cfg").write_text("[dedup]\nmin_chars = 0\n")
    run = subprocess.run(
        [sys.executable, "-m", "dedup", "scan", "a.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "min-chars must be at least 1" in run.stderr, run.stderr


def test_keep_longest_keeps_the_longer_member(tmp_path: Path) -> None:
    short = "The harbour reopened on Monday after the storm damaged the pier"
    long = short + " and two fishing boats"
    (tmp_path / "a.txt").write_text(f"{short}.\n\n{long}.\n")
    first = dedup.scan([tmp_path], unit="paragraph", threshold=0.7)
    longest = dedup.scan([tmp_path], unit="paragraph", threshold=0.7, keep="longest")
    assert first.clusters[0].survivor.text == short + "."
    assert longest.clusters[0].survivor.text == long + "."
    assert longest.clusters[0].members[0].evidence.relation in ("contained", "near")


def test_fold_accents_matches_unaccented_copies(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Le réseau social a été racheté très cher.\n\nLe reseau social a ete rachete tres cher.\n"
    )
    plain = dedup.scan([tmp_path], unit="paragraph", threshold=1.0)
    folded = dedup.scan([tmp_path], unit="paragraph", threshold=1.0, fold_accents=True)
    assert not plain.clusters
    assert folded.clusters[0].members[0].evidence.relation == "exact"


def test_a_run_pauses_the_cycle_collector_and_leaves_it_as_it_was() -> None:
    from dedup import engine
    from dedup.config import Config

    seen: list[bool] = []
    engine.run([str(PAGES)], Config(), progress=lambda stage, count: seen.append(gc.isenabled()))
    assert seen and not any(seen)  # off while the run builds its objects
    assert gc.isenabled()  # and on again for the caller
    gc.disable()
    try:
        dedup.scan([PAGES])
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_a_path_given_alone_is_a_list_of_one() -> None:
    import dedup

    alone = dedup.scan(str(PAGES))
    assert alone.documents == dedup.scan([PAGES]).documents and len(alone.documents) == 5
