"""The Python API, mirroring the command line: `scan` and `clean`, over paths or data in memory.

>>> result = scan(["fixtures/blog/input"], unit="paragraph")   # doctest: +SKIP
>>> clean(["fixtures/blog/input"], out="cleaned/")              # doctest: +SKIP
>>> frame, result = clean(frame)                                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from dedup import engine
from dedup.config import Config
from dedup.errors import InputError
from dedup.io import memory
from dedup.model import Result


def scan(
    data: str | Path | Sequence[str | Path] | Any, config: Config | None = None, **options: Any
) -> Result:
    """Find duplicates; options are Config field names (`unit`, `threshold`, `num_perm`, ...).

    `data` is a path or a list of paths (files, folders, JSONL), or data in memory: an iterable of
    `{"id", "text", ...}` mappings or `(id, text)` pairs, a pandas DataFrame, a pyarrow
    Table or RecordBatchReader, or a `datasets.Dataset` (fields named by `text_field` and
    `id_field`).
    """
    cfg = (config or Config()).with_overrides(options)
    if not memory.is_data(data):
        return engine.run(_paths(data), cfg)
    with _spooled(data, cfg) as (path, _):
        return _run_on(path, cfg)


def clean(
    data: str | Path | Sequence[str | Path] | Any,
    out: str | Path | TextIO | None = None,
    config: Config | None = None,
    **options: Any,
) -> Any:
    """Find duplicates and write the cleaned corpus under `out`; returns the Result.

    `out` is a folder (same relative paths as the inputs) or a text stream (JSONL).  Given
    data in memory (see `scan`) and no `out`, returns `(cleaned, result)`: the cleaned data
    in the kind it came in (a DataFrame for a DataFrame, every other column kept; a Table
    for a Table; a list of records for an iterable), less the rows cleaning emptied
    unless `keep_empty`; with `out`, it writes them there as JSONL (`records.jsonl` in a
    folder) and returns the Result.
    """
    cfg = (config or Config()).with_overrides(options)
    if not memory.is_data(data):
        names = _paths(data)
        if out is None:
            raise TypeError("clean(paths) needs `out`: a folder or a text stream")
        return engine.run(names, cfg, **_outputs(out))
    with _spooled(data, cfg) as (path, spooled):
        if out is not None:
            return _run_on(path, cfg, **_outputs(out))
        cleaned = path.parent / "cleaned"
        result = _run_on(path, cfg, out=cleaned)
        text_field, id_field = cfg.input.text_field, cfg.input.id_field
        return memory.rebuilt(spooled, cleaned / path.name, text_field, id_field), result


def _outputs(out: str | Path | TextIO) -> dict[str, Any]:
    """Where `engine.run` writes the cleaned documents: a folder, or a stream (JSONL)."""
    return {"out": Path(out)} if isinstance(out, str | Path) else {"stream": out}


def _paths(data: str | Path | Sequence[str | Path]) -> list[str]:
    """A path given alone is a list of one."""
    return [str(data)] if isinstance(data, str | Path) else [str(p) for p in data]


@contextlib.contextmanager
def _spooled(data: Any, cfg: Config) -> Iterator[tuple[Path, memory.Spooled]]:
    with tempfile.TemporaryDirectory(prefix="dedup-data-") as tmp:
        path = Path(tmp, "records.jsonl")
        yield path, memory.spool(data, path, cfg.input.text_field, cfg.input.id_field)


def _run_on(path: Path, cfg: Config, **outputs: Any) -> Result:
    """The engine over a spool; an error about it names the row, not the spool."""
    try:
        return engine.run([str(path)], cfg, **outputs)
    except InputError as exc:
        if exc.path not in (str(path), path.name):
            raise
        raise InputError(memory.LABEL, exc.message, exc.line) from exc
