"""The Python API, mirroring the command line: `scan` and `clean`.

>>> result = scan(["fixtures/blog/input"], unit="paragraph")   # doctest: +SKIP
>>> clean(["fixtures/blog/input"], out="cleaned/")              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from dedup import engine
from dedup.config import Config
from dedup.model import Result


def scan(paths: Sequence[str | Path], config: Config | None = None, **options: Any) -> Result:
    """Find duplicates; options are Config field names (`unit`, `threshold`, `num_perm`, ...)."""
    cfg = (config or Config()).with_overrides(options)
    return engine.run([str(p) for p in paths], cfg)


def clean(
    paths: Sequence[str | Path],
    out: str | Path | TextIO,
    config: Config | None = None,
    **options: Any,
) -> Result:
    """Find duplicates and write the cleaned corpus under `out`.

    `out` is a folder (same relative paths as the inputs) or a text stream (JSONL).
    """
    cfg = (config or Config()).with_overrides(options)
    names = [str(p) for p in paths]
    if isinstance(out, str | Path):
        return engine.run(names, cfg, out=Path(out))
    return engine.run(names, cfg, stream=out)
