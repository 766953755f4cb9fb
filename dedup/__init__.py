"""dedup: find and remove duplicate and near-duplicate text.

>>> import dedup
>>> result = dedup.scan(["fixtures/blog/input"])          # doctest: +SKIP
>>> dedup.clean(["fixtures/blog/input"], out="cleaned")   # doctest: +SKIP
"""

from __future__ import annotations

from dedup.api import clean, scan
from dedup.config import Config
from dedup.errors import ConfigError, DedupError, InputError, OutputError
from dedup.markdown import render_markdown
from dedup.model import Cluster, Document, Evidence, Member, Result, Segment
from dedup.normalize import normalize
from dedup.report import build_report, render_json
from dedup.segment import segment
from dedup.version import __version__

__all__ = [
    "Cluster",
    "Config",
    "ConfigError",
    "DedupError",
    "Document",
    "Evidence",
    "InputError",
    "Member",
    "OutputError",
    "Result",
    "Segment",
    "__version__",
    "build_report",
    "clean",
    "normalize",
    "render_json",
    "render_markdown",
    "scan",
    "segment",
]
