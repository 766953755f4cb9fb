"""One frozen configuration per stage, and the `Config` that groups them.

Every CLI option maps to one field here with the same default (`--num-perm` is
`MinHashConfig.num_perm`); `Config.with_overrides()` applies the options given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dedup.errors import ConfigError
from dedup.model import LEVELS, Level

Keep = Literal["first", "longest"]
UNITS: tuple[str, ...] = ("all", *LEVELS)


@dataclass(frozen=True, slots=True)
class InputConfig:
    include: tuple[str, ...] = ("*.txt", "*.md", "*.jsonl")
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
    #: A unit longer than this (characters) is an error rather than a run out of memory.
    max_unit_chars: int = 1 << 28
    #: Probability that a pair at exactly `threshold` Jaccard becomes an LSH candidate.
    recall: float = 0.99


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    keep: Keep = "first"


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How a run executes; never changes its output, so it is not in the report."""

    #: Worker processes; 0 means every core.
    jobs: int = 0


@dataclass(frozen=True, slots=True)
class Config:
    input: InputConfig = field(default_factory=InputConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
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
        for name in ("shingle_size", "char_shingle_size"):
            if getattr(m, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
        if self.segment.unit not in UNITS:
            raise ConfigError(f"unit must be one of {', '.join(UNITS)}, got {self.segment.unit!r}")
        if self.input.errors not in ("strict", "replace", "skip-file"):
            raise ConfigError(
                f"errors must be strict, replace or skip-file, got {self.input.errors!r}"
            )
        if self.run.jobs < 0:
            raise ConfigError(f"jobs must be 0 (every core) or more, got {self.run.jobs}")
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
