"""The C loops of `dedup._native`, where they were built: `native` is the module, or None.

Installing dedup builds them from dedup/loops/ when a C compiler and Python's headers
are there; without them, or with DEDUP_NATIVE=0 in the environment, dedup runs the numpy
and Python code those loops stand for (each function that calls one says so: the MinHash of
shingle runs, word hashes, k-grams, shared values, normalization, the children check's
shares, sentence splitting, edit keys), which gives the same values, slower.  `dedup --version` says
which one runs.
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("DEDUP_NATIVE", "1") == "0":
        return None
    try:
        import dedup._native as built  # type: ignore[import-not-found]
    except ImportError:
        return None
    module: ModuleType = built
    return module


native = _load()
