"""The HTML report: self-contained, escaped, and rendered by a real browser (headless Chromium)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PAGES

from dedup.cli import main
from dedup.html import word_diff
from dedup.report import unpacked

HOSTILE = '<script>document.documentElement.setAttribute("data-pwned","1")</script> Ce paragraphe est répété pour tester le rapport HTML et son échappement.'
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _counts(tmp_path: Path) -> tuple[int, int]:
    """Clusters (any relation, boilerplate included) and removed spans in the JSON report of the
    same run."""
    report = unpacked(
        json.loads(CliRunner().invoke(main, ["scan", str(tmp_path / "pages")]).stdout)
    )
    spans = sum(len(d["removed"]) for d in report["documents"])
    return len(report["clusters"]) + len(report["boilerplate"]), spans


def _report(tmp_path: Path) -> Path:
    pages = tmp_path / "pages"
    shutil.copytree(PAGES, pages)
    (pages / "005_hostile.txt").write_text(
        f"Une page piégée\n\n{HOSTILE}\n\n{HOSTILE}\n", encoding="utf-8"
    )
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        [
            "clean",
            str(pages),
            "--out",
            str(tmp_path / "out"),
            "--report",
            str(report),
            "--format",
            "html",
        ],
    )
    assert result.exit_code == 0, result.stderr
    return report


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    page = _report(tmp_path).read_text(encoding="utf-8")
    assert "<script>document.documentElement" not in page  # the page's script is text
    assert "&lt;script&gt;document.documentElement" in page
    assert page.count("<script>") == 1  # ours only
    for external in ("http://", "https://", "src=", "@import", "url("):
        assert external not in page.replace("https://example", "")
    clusters, spans = _counts(tmp_path)
    assert page.count('<section class="cluster"') == clusters == 21
    assert page.count('class="removed"') == spans and '<del class="diff">' in page


def test_word_diff_marks_what_differs() -> None:
    kept, removed = word_diff(
        "le patron de Tesla a payé <cher>", "le patron de tesla a payé <cher>"
    )
    assert kept == 'le patron de <del class="diff">Tesla</del> a payé &lt;cher&gt;'
    assert removed == 'le patron de <ins class="diff">tesla</ins> a payé &lt;cher&gt;'


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it)"
)
def test_headless_chromium_renders_clusters_and_runs_no_corpus_script(tmp_path: Path) -> None:
    report = _report(tmp_path)
    dom = subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    html_tag = dom[dom.index("<html") : dom.index(">", dom.index("<html"))]
    assert 'data-ready="1"' in html_tag  # our script ran
    assert "data-pwned" not in html_tag  # the corpus's did not
    clusters, spans = _counts(tmp_path)
    assert dom.count('<section class="cluster"') == clusters
    assert dom.count('class="removed"') == spans > 0  # struck-through spans in the document view
    shot = Path(os.environ.get("DEDUP_SCREENSHOT", tmp_path / "report.png"))
    subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--window-size=1280,1800",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
