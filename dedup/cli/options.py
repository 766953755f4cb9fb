"""The options `scan`, `clean`, `check`, `baseline` and `index` share, one per Config
field, and what a command says on stderr (--quiet, --verbose)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dedup.config import UNITS, InputConfig, MinHashConfig, SegmentConfig
from dedup.report import RENDERERS

F = TypeVar("F", bound=Callable[..., Any])
_M = MinHashConfig()
_S = SegmentConfig()
_I = InputConfig()


def corpus_options(command: F) -> F:
    """The options every command that reads a corpus shares, one per Config field."""
    options = [
        click.argument("paths", nargs=-1, metavar="[PATH]..."),
        click.option(
            "--unit",
            type=click.Choice(UNITS),
            default=None,
            help="Unit to deduplicate; 'all' (default) works top down: "
            "document, section, paragraph, sentence.",
        ),
        click.option(
            "--threshold",
            type=click.FloatRange(0, 1, min_open=True),
            default=None,
            help=f"Jaccard (and containment) a duplicate must reach. [default: {_M.threshold}]",
        ),
        click.option(
            "--num-perm",
            type=click.IntRange(2),
            default=None,
            help=f"MinHash permutations. [default: {_M.num_perm}]",
        ),
        click.option("--seed", type=int, default=None, help=f"MinHash seed. [default: {_M.seed}]"),
        click.option(
            "--shingle-size",
            type=click.IntRange(1),
            default=None,
            help=f"Words per shingle. [default: {_M.shingle_size}]",
        ),
        click.option(
            "--char-shingle-size",
            type=click.IntRange(1),
            default=None,
            help=f"Characters per shingle for short units. [default: {_M.char_shingle_size}]",
        ),
        click.option(
            "--char-below",
            type=click.IntRange(1),
            default=None,
            help="Units with fewer words are compared by character shingles. "
            f"[default: {_M.char_below}]",
        ),
        click.option(
            "--min-chars",
            type=click.IntRange(1),
            default=None,
            help=f"Shorter units (normalized) are never duplicates. [default: {_M.min_chars}]",
        ),
        click.option(
            "--min-sentence-chars",
            type=click.IntRange(0),
            default=None,
            help="A shorter sentence (normalized) inside a longer paragraph is no duplicate "
            f"on its own; 0: off. [default: {_M.min_sentence_chars}]",
        ),
        click.option(
            "--recall",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=None,
            help=f"LSH candidate probability for a pair at the threshold. [default: {_M.recall}]",
        ),
        click.option(
            "--boilerplate",
            type=click.Choice(["report", "keep", "remove"]),
            default=None,
            help="Units repeated across many documents: keep and list them apart (report), "
            "keep silently, or remove them. [default: report]",
        ),
        click.option(
            "--boilerplate-docs",
            type=click.IntRange(2),
            default=None,
            help="A cluster in at least this many documents is boilerplate. [default: 5]",
        ),
        click.option(
            "--boilerplate-share",
            type=click.FloatRange(0, 1),
            default=None,
            help="...or in at least this share of them (and 3), when set. [default: 0, off]",
        ),
        click.option(
            "--keep",
            type=click.Choice(["first", "longest"]),
            default=None,
            help="Which member of a cluster survives. [default: first]",
        ),
        click.option(
            "--fold-accents", is_flag=True, default=None, help="Compare 'é' and 'e' as equal."
        ),
        click.option(
            "--heading-max-words",
            type=click.IntRange(1),
            default=None,
            help=f"Longest line taken as a plain-text heading. [default: {_S.heading_max_words}]",
        ),
        click.option(
            "--include",
            multiple=True,
            metavar="GLOB",
            help=f"Files to read in folders (repeatable). [default: {' '.join(_I.include)}]",
        ),
        click.option(
            "--exclude",
            multiple=True,
            metavar="GLOB",
            help="Files to skip in folders (repeatable).",
        ),
        click.option(
            "--text-field",
            default=None,
            help="JSONL field or Parquet column holding the text. [default: text]",
        ),
        click.option(
            "--id-field",
            default=None,
            help="JSONL field or Parquet column holding the id. [default: id]",
        ),
        click.option(
            "--encoding",
            default=None,
            help="Encoding of text files; output keeps it. [default: utf-8]",
        ),
        click.option(
            "--errors",
            type=click.Choice(["strict", "replace", "skip-file"]),
            default=None,
            help="Undecodable input: stop (strict), use U+FFFD (replace), or leave the "
            "file or JSONL record out (skip-file). [default: strict]",
        ),
        click.option(
            "--max-unit-chars",
            type=click.IntRange(1),
            default=None,
            help="A longer unit is an error. [default: 268435456]",
        ),
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(0),
            default=None,
            help="Worker processes; 0 uses every core. The output is the same for any value. "
            "[default: 0]",
        ),
        click.option(
            "--engine",
            type=click.Choice(["local", "spark"]),
            default=None,
            help="Who runs the work: local worker processes, or Apache Spark's executors "
            "(pip install 'dedup[spark]'); the output is the same. [default: local]",
        ),
        click.option(
            "--spark-master",
            default=None,
            metavar="URL",
            help="Spark master for --engine spark, unless spark-submit set one "
            "[default: Spark's configuration, else local[--jobs]]",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def quiet() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context and context.meta.get("dedup.quiet"))


def say(text: str) -> None:
    """A summary line on stderr, unless --quiet."""
    if not quiet():
        click.echo(text, err=True)


def _verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value:
        return
    if param.name == "quiet":
        ctx.meta["dedup.quiet"] = True
    else:
        logging.getLogger("dedup").setLevel(logging.INFO)


def report_options(where: str) -> Callable[[F], F]:
    """--report (its help `where`), its format and what it holds, for `scan` and `clean`."""
    return functools.partial(_report_options, where=where)


def _report_options(command: F, where: str) -> F:
    options = [
        click.option(
            "--report",
            type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
            default=None,
            metavar="FILE|-",
            help=where,
        ),
        click.option(
            "--report-parts",
            default=None,
            metavar="DIR|URI",
            help="With --engine spark: also write the JSON report there as partitions "
            "(documents/, clusters/, boilerplate/, in order by name) and a summary/, "
            "for reports too large for one file.",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(sorted([*RENDERERS, "html"])),
            default="json",
            show_default=True,
            help="Report format.",
        ),
        click.option(
            "--quotes/--no-quotes",
            default=None,
            help="Quote the removed text (what `restore` puts back) in the JSON report, "
            "or give ids, offsets and scores only. "
            "[default: quotes]",
        ),
        click.option(
            "--pairs",
            is_flag=True,
            default=None,
            help="Also list every verified pair of distinct texts in the JSON report.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def output_options(command: F) -> F:
    """--quiet and --verbose: what a command says on stderr besides errors and warnings."""
    command = click.option(
        "--verbose",
        "-v",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_verbosity,
        help="Also say what each stage did.",
    )(command)
    return click.option(
        "--quiet",
        "-q",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_verbosity,
        help="No progress line and no summary.",
    )(command)
