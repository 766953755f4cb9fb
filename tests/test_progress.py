"""Progress on a terminal only; --quiet and --verbose."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from click.testing import CliRunner
from conftest import PAGES

from dedup.cli import main


def test_no_progress_line_when_stderr_is_not_a_terminal() -> None:
    result = CliRunner().invoke(main, ["scan", str(PAGES)])
    assert "\r" not in result.stderr
    assert result.stderr.startswith("dedup: 5 documents")


def test_quiet_says_nothing_and_verbose_says_more() -> None:
    quiet = CliRunner().invoke(main, ["scan", str(PAGES), "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout.startswith("{")
    verbose = CliRunner().invoke(main, ["scan", str(PAGES), "-v"])
    assert "dedup: 5 documents read and fingerprinted" in verbose.stderr
    assert "warning" not in verbose.stderr
    plain = CliRunner().invoke(main, ["scan", str(PAGES)])
    assert "read and fingerprinted" not in plain.stderr  # --verbose does not stick


def test_progress_line_on_a_terminal() -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dedup", "scan", str(PAGES)],
            stdout=subprocess.DEVNULL,
            stderr=follower,
            timeout=120,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    shown = b"".join(chunks).decode("utf-8")
    assert done.returncode == 0
    assert "\rdedup: 5 documents read" in shown  # redrawn at most ten times a second
    assert "\r\x1b[K" in shown  # the line is cleared before the summary
    assert shown.rstrip().endswith("characters removed (14.3 %)")
