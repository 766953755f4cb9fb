"""Worker processes: an ordered, bounded `map` over batches.

Results come back in input order whatever the number of workers, so output
never depends on --jobs, and at most `2 * jobs` batches are in flight, so the
input is never read ahead without bound (multiprocessing's own imap would
consume the whole input iterator at once).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.pool import AsyncResult
from typing import TypeVar

T = TypeVar("T")
_MIN_BATCHES = 8
R = TypeVar("R")


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(function: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """`map(function, items)` over `jobs` worker processes, in order, bounded.

    Input of fewer than _MIN_BATCHES batches is mapped in this process: starting
    workers (about 0.3 s, each importing numpy) costs more than it saves.
    """
    iterator = iter(items)
    head = list(itertools.islice(iterator, _MIN_BATCHES))
    if jobs <= 1 or len(head) < _MIN_BATCHES:
        yield from map(function, itertools.chain(head, iterator))
        return
    # fork would copy whatever the parent holds; spawn starts clean workers.
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        pending: deque[AsyncResult[R]] = deque()
        for item in itertools.chain(head, iterator):
            pending.append(pool.apply_async(function, (item,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
