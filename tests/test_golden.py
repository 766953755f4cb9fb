"""Golden cases: fixtures/golden/<case>/{args, input, expected/{report.json, report.md, cleaned/}}.

`make golden` (DEDUP_UPDATE_GOLDEN=1) rewrites expected/ for review.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from dedup.cli import main

CASES = sorted(p for p in (FIXTURES / "golden").iterdir() if p.is_dir())
UPDATE = os.environ.get("DEDUP_UPDATE_GOLDEN") == "1"


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = (case / "args").read_text(encoding="utf-8").split()
    monkeypatch.chdir(case)
    out = tmp_path / "cleaned"
    runner = CliRunner()
    cleaned = runner.invoke(
        main, ["clean", *args, "--out", str(out), "--report", str(tmp_path / "report.json")]
    )
    assert cleaned.exit_code == 0, cleaned.stderr
    markdown = runner.invoke(main, ["scan", *args, "--format", "markdown"])
    assert markdown.exit_code == 0, markdown.stderr
    (tmp_path / "report.md").write_text(markdown.stdout, encoding="utf-8")
    expected = case / "expected"
    if UPDATE:
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(tmp_path, expected)
    assert _files(tmp_path) == _files(expected)
