"""The command line: `dedup scan`, `clean`, `restore`, `check` and `index` (their options in
`options`, where their reports go in `reports`).

Exit codes: 0 done; 1 `check` found new duplicates; 2 usage, config, input or
output error, with a message naming the file (and line, for JSONL); 3 a worker
process died (out of memory); 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (see `ending`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from dedup import check as checking
from dedup import engine
from dedup.cli.ending import stopping
from dedup.cli.options import corpus_options, output_options, quiet, report_options, say
from dedup.cli.reports import (
    STDOUT,
    UserError,
    emit_report,
    local_only,
    quoting,
    render,
    run_on_spark,
    summary,
)
from dedup.config import Config, FileConfig, load_config
from dedup.errors import DedupError
from dedup.io.writers import write_text
from dedup.model import Result
from dedup.native import native
from dedup.report import stats
from dedup.restore import restore_corpus
from dedup.version import __version__


def _config(
    paths: tuple[str, ...], overrides: dict[str, Any]
) -> tuple[tuple[str, ...], Config, FileConfig]:
    """The paths and Config of a run: defaults, then the config file, then the options.

    Without PATH arguments, the config file's `paths` (relative to its folder) are used.
    """
    for name in ("include", "exclude"):
        overrides[name] = tuple(overrides[name]) or None
    try:
        found = load_config(Path.cwd())
        config = Config().with_overrides(found.options).with_overrides(overrides)
    except DedupError as exc:
        raise UserError.of(exc) from exc
    if not paths and found.root is not None:
        paths = tuple(os.path.relpath(Path(found.root, p)) for p in found.paths)
    if not paths:
        raise click.UsageError("no PATH given, and no `paths` in a [dedup] config section")
    return paths, config, found


class _ProgressLine:
    """Counts of a running job, redrawn in place on stderr at most ten times a second."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.last = 0.0
        self.drawn = False

    def __call__(self, stage: str, count: int) -> None:
        self.counts[stage] = count
        now = time.monotonic()
        if now - self.last >= 0.1:
            self.last = now
            text = ", ".join(f"{value:,} {name}" for name, value in self.counts.items())
            click.echo(f"\rdedup: {text}\x1b[K", err=True, nl=False)
            self.drawn = True

    def close(self) -> None:
        if self.drawn:
            click.echo("\r\x1b[K", err=True, nl=False)


def _run(paths: tuple[str, ...], config: Config, **outputs: Any) -> Result:
    """Run the engine, with a progress line when stderr is a terminal and not --quiet."""
    show = not quiet() and sys.stderr.isatty()
    line = _ProgressLine() if show else None
    try:
        return engine.run(paths, config, progress=line, **outputs)
    except DedupError as exc:
        raise UserError.of(exc) from exc
    finally:
        if line is not None:
            line.close()


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        # the report's objects live to the end: no cycle collection
        with stopping(), engine.without_cycle_collection():
            return super().invoke(ctx)


class _Warnings(logging.Handler):
    """Library warnings (a skipped binary file, say) on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        kind = "warning: " if record.levelno >= logging.WARNING else ""
        click.echo(f"dedup: {kind}{record.getMessage()}", err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__,
    prog_name="dedup",
    message=f"%(prog)s %(version)s ({'C' if native is not None else 'numpy'} loops)",
)
def main() -> None:
    """Find and remove duplicate and near-duplicate text.

    \b
    Examples:
      dedup scan corpus/ --report report.json
      dedup clean corpus/ --out cleaned/ --report report.md --format markdown
      cat docs.jsonl | dedup clean - --out - > cleaned.jsonl
      dedup restore cleaned/ --report report.json --out original/
    """
    library = logging.getLogger("dedup")
    if not any(isinstance(h, _Warnings) for h in library.handlers):
        library.addHandler(_Warnings(logging.INFO))
        library.propagate = False
    library.setLevel(logging.WARNING)  # --verbose, parsed after this, lowers it


@main.command()
@corpus_options
@output_options
@report_options("Write the report to this file instead of to standard output.")
def scan(
    paths: tuple[str, ...],
    report: Path | None,
    report_parts: str | None,
    fmt: str,
    **overrides: Any,
) -> None:
    """Find duplicates and write the report; never writes anything else.

    PATH is a text file, a folder, a JSONL file, or - for JSONL on standard input.

    \b
    Examples:
      dedup scan pages/
      dedup scan pages/ --unit paragraph --threshold 0.9 --format markdown
      dedup scan data.jsonl --text-field body --report report.json
    """
    paths, config, _ = _config(paths, overrides)
    if config.run.engine == "spark":
        run_on_spark(paths, config, fmt, report, report_parts)
        return
    local_only(report_parts)
    result = _run(paths, quoting(config, fmt))
    say(summary(stats(result)))
    emit_report(result, fmt, report)


@main.command()
@corpus_options
@output_options
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR|-",
    help="Folder for the cleaned documents (same relative paths), or - for JSONL on stdout.",
)
@report_options("Also write the report here (- for standard output).")
@click.option(
    "--keep-empty",
    is_flag=True,
    default=None,
    help="Write JSONL records that cleaning emptied, instead of leaving them out.",
)
def clean(
    paths: tuple[str, ...],
    out: str,
    report: Path | None,
    report_parts: str | None,
    fmt: str,
    **overrides: Any,
) -> None:
    """Write the corpus with every duplicate unit removed, the first occurrence kept.

    Every other character is kept exactly.  Inputs are never modified; the
    output folder may not lie inside an input folder.

    \b
    Examples:
      dedup clean pages/ --out cleaned/ --report report.json
      dedup clean data.jsonl --out cleaned/          # writes cleaned/data.jsonl
      cat data.jsonl | dedup clean - --out - > cleaned.jsonl
    """
    if out == "-" and report == STDOUT:
        raise click.UsageError("--out - and --report - cannot both write to standard output")
    paths, config, _ = _config(paths, overrides)
    if config.run.engine == "spark":
        run_on_spark(paths, config, fmt, report, report_parts, out)
        return
    local_only(report_parts)
    config = quoting(config, fmt, reported=report is not None)
    if out == "-":
        result = _run(paths, config, stream=sys.stdout)
    else:
        result = _run(paths, config, out=Path(out))
    say(summary(stats(result)))
    if report is not None:
        emit_report(result, fmt, report)


@main.command()
@click.argument("cleaned", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--report",
    "report",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The JSON report `dedup clean` wrote with these documents.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the restored documents.",
)
def restore(cleaned: Path, report: Path, out: Path) -> None:
    """Rebuild the original documents, byte for byte, from a cleaned folder and its report.

    \b
    Examples:
      dedup clean pages/ --out cleaned/ --report report.json
      dedup restore cleaned/ --report report.json --out original/
    """
    try:
        count = restore_corpus(cleaned, report, out)
    except DedupError as exc:
        raise UserError.of(exc) from exc
    click.echo(f"dedup: {count} files restored under {out}", err=True)


index_option = click.option(
    "--index",
    "index_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite index of fingerprints. [default: .dedup/index.sqlite beside the config]",
)


@main.command()
@corpus_options
@output_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "html"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when new duplicates are found.")
@click.option(
    "--baseline",
    "baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Baseline file. [default: .dedup-baseline.json beside the config]",
)
@click.option("--no-baseline", is_flag=True, help="Report every duplicate, accepted or not.")
@index_option
@click.option("--no-index", is_flag=True, help="Fingerprint every file, without the index.")
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Accept every duplicate found now: rewrite the baseline, exit 0.",
)
def check(
    paths: tuple[str, ...],
    fmt: str,
    exit_zero: bool,
    baseline: Path | None,
    no_baseline: bool,
    index_path: Path | None,
    no_index: bool,
    update_baseline: bool,
    **overrides: Any,
) -> None:
    """Report duplicates not accepted by the baseline, one linter line each. Never modifies a file
    of the corpus.

    Exit 0 when nothing new is found, 1 when something is, 2 on a usage, config or input error.
    PATH defaults to `paths` in the [dedup] section of setup.cfg (or [tool.dedup] of
    pyproject.toml), found by walking up from the working folder.

    \b
    Examples:
      dedup check                       # the corpus and options from setup.cfg
      dedup check notes/ --format sarif > dedup.sarif
      dedup check --update-baseline     # accept the duplicates there are now
    """
    overrides["document_texts"] = fmt == "html" or None
    paths, config, found = _config(paths, overrides)
    index = None if no_index else (index_path or found.beside(found.index))
    target = baseline or found.beside(found.baseline)
    accepted = checking.NO_BASELINE
    try:
        if not (no_baseline or update_baseline) and target.is_file():
            accepted = checking.Baseline.read(target)
        result = None
        if fmt in ("text", "sarif") or update_baseline:  # findings only: from the change if it can
            checked = engine.check(paths, config, index, accepted)
        else:
            result = _run(paths, config, index=index)
            checked = checking.Checked.of(checking.findings(result, config.normalize), accepted)
    except DedupError as exc:
        raise UserError.of(exc) from exc
    if update_baseline:  # no baseline read: every finding is new
        _write(target, checking.render_baseline(checked.new))
        click.echo(f"dedup: baseline {target} now accepts {checked.total} duplicates", err=True)
        return
    new, total = checked.new, checked.total
    if fmt == "text":
        click.echo(checking.render_text(new, total), nl=False)
    elif fmt == "json":
        assert result is not None
        click.echo(checking.render_json(new, total, result), nl=False)
    elif fmt == "sarif":
        click.echo(checking.render_sarif(new, total), nl=False)
    else:  # the whole report, for people
        assert result is not None
        click.echo(render(result, "html"), nl=False)
    click.get_current_context().exit(1 if new and not exit_zero else 0)


@main.command()
@corpus_options
@output_options
@click.option(
    "--baseline",
    "baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it. [default: .dedup-baseline.json beside the config]",
)
def baseline(paths: tuple[str, ...], baseline: Path | None, **overrides: Any) -> None:
    """Write the baseline: the duplicates there are now, which `check` will accept.

    \b
    Examples:
      dedup baseline
      dedup baseline notes/ --baseline notes/.dedup-baseline.json
    """
    paths, config, found = _config(paths, overrides)
    everything = checking.findings(_run(paths, config), config.normalize)
    target = baseline or found.beside(found.baseline)
    _write(target, checking.render_baseline(everything))
    click.echo(f"dedup: baseline {target} accepts {len(everything)} duplicates", err=True)


def _write(path: Path, text: str) -> None:
    try:
        write_text(path, text)
    except DedupError as exc:
        raise UserError.of(exc) from exc


@main.group()
def index() -> None:
    """The SQLite index that keeps `check` fast: fingerprints of unchanged files are reused.

    \b
    Examples:
      dedup index build        # from scratch
      dedup index update       # fingerprint changed files only, forget removed ones
      dedup index stats
    """


@index.command("build")
@corpus_options
@output_options
@index_option
def index_build(paths: tuple[str, ...], index_path: Path | None, **overrides: Any) -> None:
    """Build the index from scratch."""
    paths, config, found = _config(paths, overrides)
    target = index_path or found.beside(found.index)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    _index_update(paths, config, target)


@index.command("update")
@corpus_options
@output_options
@index_option
def index_update(paths: tuple[str, ...], index_path: Path | None, **overrides: Any) -> None:
    """Bring the index up to date: fingerprint changed files, forget removed ones."""
    paths, config, found = _config(paths, overrides)
    _index_update(paths, config, (index_path or found.beside(found.index)))


def _index_update(paths: tuple[str, ...], config: Config, target: Path) -> None:
    try:
        count = engine.update_index(paths, config, target)
    except DedupError as exc:
        raise UserError.of(exc) from exc
    click.echo(f"dedup: index {target} holds {count} files", err=True)


@index.command("stats")
@index_option
def index_stats(index_path: Path | None) -> None:
    """Print what the index holds, as JSON."""
    found = load_config(Path.cwd())
    config = Config().with_overrides(found.options)
    target = index_path or found.beside(found.index)
    if not target.is_file():
        raise UserError(f"{target}: no index here (dedup index build)")
    click.echo(json.dumps(engine.index_stats(config, target), indent=2))
