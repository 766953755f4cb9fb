"""`dedup check`: linter lines, exit codes, config files, baseline, suppression, pre-commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dedup.cli import main

ROOT = Path(__file__).resolve().parent.parent
REPEATED = "The harbour reopened on Monday after the storm damaged the pier and the old lighthouse."
DISCLAIMER = "All opinions here are our own and not those of any employer, past or present."


def _corpus(root: Path) -> None:
    (root / "notes").mkdir(parents=True)
    (root / "setup.cfg").write_text("[dedup]\npaths = notes\nunit = paragraph\n")
    (root / "notes" / "a.md").write_text(
        f"# Harbour\n\n{REPEATED}\n\n<!-- dedup: ignore -->\n{DISCLAIMER}\n"
    )
    (root / "notes" / "b.md").write_text(
        f"# Weather\n\nRain all week.\n\n{REPEATED}\n\n<!-- dedup: ignore -->\n{DISCLAIMER}\n"
    )


def check(root: Path, *args: str) -> Result:
    cwd = Path.cwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(main, ["check", *args])
    finally:
        os.chdir(cwd)


def test_check_prints_linter_lines_and_exits_1(tmp_path: Path) -> None:
    _corpus(tmp_path)
    result = check(tmp_path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "notes/b.md:5:1: DUP001 paragraph repeats notes/a.md:3 (exact, jaccard 1.00)",
        "dedup: 1 new duplicate",
    ]
    assert check(tmp_path, "--exit-zero").exit_code == 0


def test_check_of_a_clean_corpus_exits_0_and_modifies_nothing(tmp_path: Path) -> None:
    _corpus(tmp_path)
    (tmp_path / "notes" / "b.md").write_text(
        "Nothing repeated in this one at all, not even a word.\n"
    )

    def files() -> dict[Path, bytes]:  # everything but the index check keeps in .dedup/
        return {
            p: p.read_bytes()
            for p in tmp_path.rglob("*")
            if p.is_file() and ".dedup" not in p.parts
        }

    before = files()
    result = check(tmp_path)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "dedup: 0 new duplicates\n"
    assert files() == before
    assert (tmp_path / ".dedup" / "index.sqlite").is_file()
    assert (tmp_path / ".dedup" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_overlap_is_reported_as_dup004(tmp_path: Path) -> None:
    _corpus(tmp_path)
    added = " Two new cranes arrived today."
    (tmp_path / "notes" / "b.md").write_text(f"# Weather\n\n{REPEATED}{added}\n")
    lines = check(tmp_path).stdout.splitlines()
    assert "notes/b.md:3:1: DUP004 paragraph repeats notes/a.md:3 (overlap, jaccard 0.69)" in lines


def test_suppressed_units_are_not_duplicates_and_are_listed(tmp_path: Path) -> None:
    _corpus(tmp_path)
    report = json.loads(check(tmp_path, "--format", "json").stdout)
    assert [f["line"] for f in report["findings"]] == [5]  # the disclaimer is not there
    suppressed = {(s["doc"], s["line"]) for s in report["suppressed"]}
    assert {("a.md", 5), ("a.md", 6), ("b.md", 7), ("b.md", 8)} <= suppressed


def test_baseline_accepts_old_duplicates_not_new_copies(tmp_path: Path) -> None:
    _corpus(tmp_path)
    made = CliRunner().invoke(
        main,
        [
            "baseline",
            str(tmp_path / "notes"),
            "--baseline",
            str(tmp_path / "base.json"),
            "--unit",
            "paragraph",
        ],
    )
    assert made.exit_code == 0
    lines = (tmp_path / "base.json").read_text().splitlines()
    assert lines[0].startswith('{"dedup_baseline": 1') and len(lines) == 3  # one entry a line
    assert check(tmp_path, "--baseline", "base.json").exit_code == 0
    # an edit elsewhere in the file moves the duplicate: still accepted
    text = (tmp_path / "notes" / "b.md").read_text()
    (tmp_path / "notes" / "b.md").write_text("New opening paragraph, written today.\n\n" + text)
    assert check(tmp_path, "--baseline", "base.json").exit_code == 0
    # the same paragraph copied once more is new
    (tmp_path / "notes" / "c.md").write_text(REPEATED + "\n")
    result = check(tmp_path, "--baseline", "base.json")
    assert result.exit_code == 1
    assert (
        result.stdout.splitlines()[0]
        == "notes/c.md:1:1: DUP001 paragraph repeats notes/a.md:3 (exact, jaccard 1.00)"
    )
    assert "1 more accepted by the baseline" in result.stdout
    assert check(tmp_path, "--baseline", "base.json", "--update-baseline").exit_code == 0
    assert check(tmp_path, "--baseline", "base.json").exit_code == 0
    assert check(tmp_path, "--baseline", "base.json", "--no-baseline").exit_code == 1


def test_config_from_pyproject_walking_up_and_options_override(tmp_path: Path) -> None:
    _corpus(tmp_path)
    (tmp_path / "setup.cfg").unlink()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dedup]\npaths = ["notes"]\nunit = "document"\nthreshold = 1.0\n'
    )
    (tmp_path / "notes" / "deep").mkdir()
    result = check(tmp_path / "notes" / "deep", "--format", "json")
    assert result.exit_code == 0  # no document is all in another
    result = check(tmp_path / "notes" / "deep", "--unit", "paragraph")
    assert result.exit_code == 1
    assert "../b.md:5:1: DUP001" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[dedup]\npaths = notes\nshingles = 3\n", "unknown key 'shingles'"),
        ("[dedup]\npaths = notes\nthreshold = high\n", "threshold = 'high' is not a valid float"),
        ("[dedup]\npaths = notes\nthreshold = 1.5\n", "threshold must be in (0, 1]"),
    ],
)
def test_config_errors_name_the_key_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    _corpus(tmp_path)
    (tmp_path / "setup.cfg").write_text(content)
    result = check(tmp_path)
    assert result.exit_code == 2
    assert message in result.stderr


def test_no_path_and_no_config_is_a_usage_error(tmp_path: Path) -> None:
    result = check(tmp_path)
    assert result.exit_code == 2
    assert "no PATH given" in result.stderr


def test_sarif_output_has_rules_results_and_locations(tmp_path: Path) -> None:
    _corpus(tmp_path)
    sarif = json.loads(check(tmp_path, "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"DUP001", "DUP002", "DUP003"}
    (result,) = run["results"]
    location = result["locations"][0]["physicalLocation"]
    assert (
        result["ruleId"],
        location["artifactLocation"]["uri"],
        location["region"]["startLine"],
    ) == ("DUP001", "notes/b.md", 5)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_real_pre_commit_hook(tmp_path: Path) -> None:
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed (requirements-dev.txt)")
    head = _git(ROOT, "rev-parse", "HEAD").stdout.strip()
    hooks = _git(ROOT, "show", f"{head}:.pre-commit-hooks.yaml")
    if hooks.returncode != 0:
        pytest.skip("this checkout's HEAD has no .pre-commit-hooks.yaml yet")
    repo = tmp_path / "corpus"
    repo.mkdir()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    _git(repo, "init", "-q", "-b", "main")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n-   repo: {ROOT}\n    rev: {head}\n    hooks:\n    -   id: dedup-check\n"
    )
    (repo / "setup.cfg").write_text("[dedup]\npaths = notes\nunit = paragraph\n")
    (repo / "notes").mkdir()
    (repo / "notes" / "a.md").write_text(f"# Harbour\n\n{REPEATED}\n")
    subprocess.run([str(pre_commit), "install"], cwd=repo, env=env, check=True, capture_output=True)

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        return subprocess.run(
            ["git", "commit", "-q", "-m", message],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
        )

    first = commit("first page")
    assert first.returncode == 0, first.stdout + first.stderr
    (repo / "notes" / "b.md").write_text(f"# Copy\n\n{REPEATED}\n")
    repeat = commit("a page that repeats a paragraph")
    assert repeat.returncode != 0
    assert "notes/b.md:3:1: DUP001 paragraph repeats notes/a.md:3" in repeat.stdout + repeat.stderr
    (repo / "notes" / "b.md").write_text("# Other\n\nSomething unrelated to anything else here.\n")
    unrelated = commit("an unrelated page")
    assert unrelated.returncode == 0, unrelated.stdout + unrelated.stderr
    # accept the old duplicate with a baseline: it passes, a new one fails
    (repo / "notes" / "b.md").write_text(f"# Copy\n\n{REPEATED}\n")
    dedup = Path(sys.executable).with_name("dedup")
    subprocess.run([str(dedup), "baseline"], cwd=repo, env=env, check=True, capture_output=True)
    accepted = commit("the old duplicate, accepted")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    (repo / "notes" / "c.md").write_text(f"# Third\n\n{REPEATED}\n")
    again = commit("one copy more")
    assert again.returncode != 0
    assert "notes/c.md:3:1: DUP001" in again.stdout + again.stderr


def test_sarif_validates_against_the_sarif_2_1_0_schema(tmp_path: Path) -> None:
    # pydantic-sarif's model is generated from the official sarif-schema-2.1.0.json
    # (additionalProperties: false becomes extra="forbid"), so it validates as the schema does.
    schema = pytest.importorskip("pydantic_sarif.model")
    from pydantic import ValidationError

    _corpus(tmp_path)
    (tmp_path / "notes" / "c.md").write_text(
        f"{REPEATED} And more text added here to make it near.\n"
    )
    sarif = json.loads(check(tmp_path, "--format", "sarif").stdout)
    assert len(sarif["runs"][0]["results"]) >= 1
    schema.StaticAnalysisResultsFormatSarifVersion210JsonSchema.model_validate(sarif)
    broken = json.loads(json.dumps(sarif))
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(ValidationError):  # lines start at 1 in SARIF
        schema.StaticAnalysisResultsFormatSarifVersion210JsonSchema.model_validate(broken)
