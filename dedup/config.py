"""One frozen configuration per stage, and the `Config` that groups them.

Every CLI option maps to one field here with the same default (`--num-perm` is
`MinHashConfig.num_perm`); `Config.with_overrides()` applies the options given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dedup.errors import ConfigError
from dedup.model import LEVELS, Level

Keep = Literal["first", "longest"]
UNITS: tuple[str, ...] = ("all", *LEVELS)


#: Compressed JSONL shards, as datasets ship them (see `io.packed`), read from folders too.
JSONL_PACKED = ("*.jsonl.gz", "*.jsonl.zst", "*.jsonl.bz2", "*.jsonl.xz")


@dataclass(frozen=True, slots=True)
class InputConfig:
    include: tuple[str, ...] = ("*.txt", "*.md", "*.jsonl", "*.parquet", *JSONL_PACKED)
    exclude: tuple[str, ...] = ()
    text_field: str = "text"
    id_field: str = "id"
    #: Encoding of text files (JSONL is always UTF-8); output is written in it too.
    encoding: str = "utf-8"
    #: Undecodable input: "strict" (error), "replace" (U+FFFD) or "skip-file".
    errors: str = "strict"


@dataclass(frozen=True, slots=True)
class SegmentConfig:
    unit: str = "all"
    #: A plain-text heading is a line standing alone with at most this many words.
    heading_max_words: int = 15

    @property
    def levels(self) -> tuple[Level, ...]:
        return LEVELS if self.unit == "all" else (self.unit,)  # type: ignore[return-value]

    @property
    def documents_alone(self) -> bool:
        """Whether the run has the document level alone: each unit a whole document, read
        whole when read again, and seldom met twice in a batch, so that what serves parts
        (copies of the texts to read them back by their bytes, a text keyed or normalized
        once a batch however often it comes) costs more than it saves."""
        return self.unit == "document"


@dataclass(frozen=True, slots=True)
class NormalizeConfig:
    fold_accents: bool = False


@dataclass(frozen=True, slots=True)
class MinHashConfig:
    threshold: float = 0.8
    num_perm: int = 128
    seed: int = 1
    #: Words per shingle for units with at least `char_below` words.
    shingle_size: int = 5
    #: Characters per shingle (spaces removed) for shorter units such as headings.
    char_shingle_size: int = 5
    char_below: int = 10
    #: Units whose normalized text is shorter than this are never duplicates.
    min_chars: int = 10
    #: A sentence shorter than this (normalized) inside a longer paragraph is no duplicate
    #: on its own: "Founded 1995." in two unrelated posts is a coincidence.  0: off.
    min_sentence_chars: int = 24
    #: A unit longer than this (characters) is an error rather than a run out of memory.
    max_unit_chars: int = 1 << 28
    #: Probability that a pair at exactly `threshold` Jaccard becomes an LSH candidate.
    recall: float = 0.99


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    keep: Keep = "first"
    #: What `clean` does with boilerplate: "report" (keep it, list it apart), "keep"
    #: (keep it, say nothing) or "remove" (remove it, list it apart).
    boilerplate: str = "report"
    #: A cluster is boilerplate when its units lie in at least this many documents...
    boilerplate_docs: int = 5
    #: ...or, when set, in at least this share of the documents (and 3 of them).  Off by
    #: default: on a small corpus any share is a few documents, and reposts are content.
    boilerplate_share: float = 0.0

    def is_boilerplate(self, docs: int, corpus: int) -> bool:
        """Whether a cluster spread over `docs` of `corpus` documents is boilerplate."""
        share = self.boilerplate_share
        return docs >= self.boilerplate_docs or (share > 0 and docs >= max(3, share * corpus))

    def boilerplate_line(self, corpus: int) -> int:
        """The fewest documents of `corpus` a boilerplate cluster spreads over."""
        return next(
            n for n in range(1, max(self.boilerplate_docs, 1) + 1) if self.is_boilerplate(n, corpus)
        )


@dataclass(frozen=True, slots=True)
class OutputConfig:
    #: Write a JSONL record that cleaning emptied (nothing but whitespace left) instead of
    #: leaving it out; `restore` brings a left-out record back from the report either way.
    keep_empty: bool = False
    #: Quote in the JSON report the removed text (what `restore` puts back); without,
    #: the report holds ids, offsets and scores only.
    quotes: bool = True
    #: List every verified pair of distinct texts in the JSON report.
    pairs: bool = False


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How a run executes; never changes its output, so it is not in the report."""

    #: Worker processes; 0 means every core.
    jobs: int = 0
    #: Who runs the workers' batches: local worker processes, or Spark's executors.
    engine: str = "local"
    #: The Spark master of a session dedup starts (None: Spark's own configuration,
    #: else local[jobs]); a session already running is used as it is.
    spark_master: str | None = None
    #: Keep the full text of the documents that have clusters (for the HTML report).
    document_texts: bool = False
    #: Quote the text of every unit a cluster names (the Markdown and HTML reports and
    #: the API read it; the JSON report, ids and places only).
    unit_texts: bool = True
    #: Quote the text each document loses (the JSON report with quotes, the Markdown and
    #: HTML reports and the API read it).
    removed_texts: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    input: InputConfig = field(default_factory=InputConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """Return a copy with fields replaced by name; None values are ignored.

        >>> Config().with_overrides({"num_perm": 64}).minhash.num_perm
        64
        """
        stages = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        owner = {
            f.name: stage_name
            for stage_name, stage in stages.items()
            for f in dataclasses.fields(stage)
        }
        changes: dict[str, dict[str, Any]] = {}
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in owner:
                raise ConfigError(f"unknown option {name!r}")
            changes.setdefault(owner[name], {})[name] = value
        for stage_name, values in changes.items():
            stages[stage_name] = dataclasses.replace(stages[stage_name], **values)
        config = Config(**stages)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError for values no run can use."""
        m = self.minhash
        if not 0.0 < m.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {m.threshold}")
        if not 0.0 < m.recall < 1.0:
            raise ConfigError(f"recall must be in (0, 1), got {m.recall}")
        if m.num_perm < 2:
            raise ConfigError(f"num-perm must be at least 2, got {m.num_perm}")
        for name in ("shingle_size", "char_shingle_size", "min_chars"):
            if getattr(m, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
        if m.min_sentence_chars < 0:
            raise ConfigError("min-sentence-chars must be 0 (off) or more")
        if self.segment.unit not in UNITS:
            raise ConfigError(f"unit must be one of {', '.join(UNITS)}, got {self.segment.unit!r}")
        if self.input.errors not in ("strict", "replace", "skip-file"):
            raise ConfigError(
                f"errors must be strict, replace or skip-file, got {self.input.errors!r}"
            )
        if self.run.engine not in ("local", "spark"):
            raise ConfigError(f"engine must be local or spark, got {self.run.engine!r}")
        if self.run.jobs < 0:
            raise ConfigError(f"jobs must be 0 (every core) or more, got {self.run.jobs}")
        if self.cluster.boilerplate not in ("report", "keep", "remove"):
            raise ConfigError(
                f"boilerplate must be report, keep or remove, got {self.cluster.boilerplate!r}"
            )
        if self.cluster.keep not in ("first", "longest"):
            raise ConfigError(f"keep must be 'first' or 'longest', got {self.cluster.keep!r}")

    def as_dict(self) -> dict[str, Any]:
        """All options, flat and JSON-friendly, as recorded in the report."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "run":
                continue
            for name, value in dataclasses.asdict(getattr(self, f.name)).items():
                out[name] = list(value) if isinstance(value, tuple) else value
        return dict(sorted(out.items()))


#: Keys of a [dedup] config section beyond the Config fields.
FILE_KEYS = ("paths", "baseline", "index")


@dataclass(frozen=True, slots=True)
class FileConfig:
    """What a config file found by `load_config` says, already typed."""

    source: str | None = None  # the file, for messages
    root: str | None = None  # its folder: paths in it are relative to this
    options: dict[str, Any] = field(default_factory=dict)
    paths: tuple[str, ...] = ()
    baseline: str = ".dedup-baseline.json"
    index: str = ".dedup/index.sqlite"

    def beside(self, name: str) -> Path:
        """A path the config names, relative to the config file's folder (or the working one)."""
        return Path(self.root or ".", name)


def _fields() -> dict[str, Any]:
    """Config field name -> its default value, over every stage."""
    config = Config()
    return {
        f.name: getattr(getattr(config, stage.name), f.name)
        for stage in dataclasses.fields(config)
        for f in dataclasses.fields(getattr(config, stage.name))
    }


def _typed(name: str, value: Any, default: Any, source: str) -> Any:
    """A config value as its field's type; strings come from setup.cfg."""
    try:
        if isinstance(default, tuple):
            return tuple(value.split()) if isinstance(value, str) else tuple(str(v) for v in value)
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                raise ValueError(value)
            return lowered in ("true", "yes", "1", "on")
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        kind = type(default).__name__
        raise ConfigError(f"{source}: {name} = {value!r} is not a valid {kind}") from exc


def load_config(start: Path, home: Path | None = None) -> FileConfig:
    """The first `[dedup]` section of a setup.cfg or `[tool.dedup]` table of a pyproject.toml,
    walking up from `start` and stopping at the home folder, as flake8 does."""
    import configparser
    import tomllib

    home = (home or Path.home()).resolve()
    folder = start.resolve()
    while True:
        found: dict[str, Any] | None = None
        source = None
        setup = folder / "setup.cfg"
        pyproject = folder / "pyproject.toml"
        if setup.is_file():
            parser = configparser.ConfigParser()
            try:
                parser.read(setup, encoding="utf-8")
            except configparser.Error as exc:
                raise ConfigError(f"{setup}: {exc}") from exc
            if parser.has_section("dedup"):
                found, source = dict(parser.items("dedup")), str(setup)
        if found is None and pyproject.is_file():
            try:
                table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{pyproject}: {exc}") from exc
            if isinstance(table.get("tool", {}).get("dedup"), dict):
                found, source = table["tool"]["dedup"], str(pyproject)
        if found is not None and source is not None:
            return _file_config(found, source, folder)
        if folder == home or folder.parent == folder:
            return FileConfig()
        folder = folder.parent


def _file_config(values: dict[str, Any], source: str, folder: Path) -> FileConfig:
    defaults = _fields()
    options: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key in FILE_KEYS:
            extra[key] = value
        elif key in defaults:
            options[key] = _typed(raw_key, value, defaults[key], source)
        else:
            raise ConfigError(f"{source}: unknown key {raw_key!r} in the dedup section")
    paths = extra.get("paths", ())
    paths = tuple(paths.split()) if isinstance(paths, str) else tuple(str(p) for p in paths)
    return FileConfig(
        source,
        str(folder),
        options,
        paths,
        str(extra.get("baseline", ".dedup-baseline.json")),
        str(extra.get("index", ".dedup/index.sqlite")),
    )
