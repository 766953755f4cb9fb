"""Where a command's report goes, and the errors a command shows: the summary line, the
report rendered and written (a file, atomically, or standard output), and `--engine
spark`'s scan and clean (`dedup.spark.run`), which write the same report."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from dedup.cli.options import say
from dedup.config import Config
from dedup.errors import DedupError, WorkerError
from dedup.html import render_html
from dedup.io.writers import write_pieces
from dedup.model import Result
from dedup.report import RENDERERS, build_report, json_pieces


class UserError(click.ClickException):
    """A DedupError shown to the user; exit code 2."""

    exit_code = 2

    @staticmethod
    def of(exc: DedupError) -> UserError:
        return (StoppedError if isinstance(exc, WorkerError) else UserError)(str(exc))


class StoppedError(UserError):
    """A run stopped because a worker process died; exit code 3."""

    exit_code = 3


def quoting(config: Config, fmt: str, reported: bool = True) -> Config:
    """`config`, quoting only the texts its report reads: the JSON report quotes the
    removed text alone, and none without quotes; no report, no text; the HTML report
    also the whole texts of the documents it shows."""
    run = dataclasses.replace(
        config.run,
        document_texts=config.run.document_texts or (reported and fmt == "html"),
        unit_texts=reported and fmt != "json",
        removed_texts=reported and (fmt != "json" or config.output.quotes),
    )
    return dataclasses.replace(config, run=run)


def summary(report: dict[str, int]) -> str:
    share = 100 * report["chars_removed"] / report["chars_in"] if report["chars_in"] else 0.0
    return (
        f"dedup: {report['documents']} documents, {report['units']} units: "
        f"{report['duplicate_units']} duplicates in {report['clusters']} clusters, "
        f"{report['chars_removed']} of {report['chars_in']} characters removed ({share:.1f} %)"
    )


def render(result: Result, fmt: str) -> str:
    if fmt == "html":
        return render_html(build_report(result, texts=True), dict(result.texts))
    return RENDERERS[fmt](build_report(result, texts=fmt != "json"))


#: `--report -`: the report on standard output.
STDOUT = Path("-")


def emit_report(result: Result, fmt: str, report: Path | None) -> None:
    """Write the report to a file (atomically) or stdout (None, or -); JSON is streamed a
    piece at a time."""
    if fmt == "json":
        pieces = json_pieces(build_report(result, lazy=True))
    else:
        pieces = iter([render(result, fmt).encode("utf-8")])
    write_report(pieces, report)


def write_report(pieces: Iterator[bytes], report: Path | None) -> None:
    """The report's pieces to a file (atomically) or stdout (None, or -)."""
    if report is None or report == STDOUT:
        for piece in pieces:
            click.echo(piece, nl=False)
        return
    try:
        write_pieces(report, pieces)
    except DedupError as exc:
        raise UserError.of(exc) from exc


def run_on_spark(
    paths: tuple[str, ...],
    config: Config,
    fmt: str,
    report: Path | None,
    report_parts: str | None,
    out: str | None = None,
) -> None:
    """`--engine spark`: the run as DataFrame stages (`dedup.spark.run`); the summary,
    the JSON report where the local run writes it, and the cleaned documents."""
    if fmt != "json":
        raise click.UsageError("--engine spark writes the JSON report: use --format json")
    from dedup.spark.run import run_spark  # imported on use: it loads PySpark

    def emit(totals: dict[str, int], pieces: Iterator[bytes]) -> None:
        say(summary(totals))
        if report is not None or (out is None and report_parts is None):  # scan's: stdout
            write_report(pieces, report)

    try:
        if out == "-":
            run_spark(paths, config, None, emit, report_parts, stream=sys.stdout)
        else:
            run_spark(paths, config, out, emit, report_parts)
    except DedupError as exc:
        raise UserError.of(exc) from exc


def local_only(report_parts: str | None) -> None:
    if report_parts is not None:
        raise click.UsageError("--report-parts needs --engine spark")
