"""Worker processes: an ordered, bounded `map` over batches.

Results come back in input order whatever the number of workers, so output
never depends on --jobs, and at most `2 * jobs` batches are in flight, so the
input is never read ahead without bound (an executor's own map, like
multiprocessing's imap, takes in the whole input iterator at once).  One
`Workers` pool serves every pass of a run: the workers start once.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import itertools
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from dedup.errors import WorkerError

T = TypeVar("T")
R = TypeVar("R")
_MIN_BATCHES = 8


#: glibc's mallopt parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_allocator(keep_arrays: bool = True) -> None:
    """Set where glibc puts large arrays (elsewhere: nothing).

    By default glibc maps every allocation over 128 KiB on its own, and raises
    that bound to the largest block freed so far.  `keep_arrays` (a process that
    does the numpy work: the workers, or a run without them) serves arrays of up
    to 32 MiB from the heap and keeps up to 64 MiB of freed memory: the page
    faults of mapping each numpy temporary anew cost 12 % of a document-level run
    here (sys time 1.1 s -> 0.2 s on 93 MB).  Otherwise (the main process of a
    run with workers, which holds the run's state) the bound stays at 128 KiB,
    so that a large array freed goes back to the system instead of leaving a
    hole in the heap: peak RSS of a paragraph-level run of 100,000 documents,
    1,148 -> 990 MiB.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    if keep_arrays:
        mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    else:
        mallopt(_M_MMAP_THRESHOLD, 128 << 10)


def _start_worker() -> None:
    """Set up a worker: its allocator, and Ctrl-C left to the main process (a terminal
    sends SIGINT to every process of the job; the main process stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_allocator()


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Workers:
    """`jobs` worker processes, started on first use and kept until `close`.

    `close` lets the batches in flight finish, then lets the workers exit.  It
    never kills a worker: one killed while sending its result would leave the
    result queue's lock taken, and the shutdown waiting on it for ever (a run
    stopped by a bad record hung one time in five that way).  A worker that
    dies (the kernel's out-of-memory killer) stops the run with a WorkerError:
    a plain multiprocessing Pool would start another and wait for ever for the
    batch the dead one had.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._in_flight: deque[concurrent.futures.Future[Any]] = deque()

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            concurrent.futures.wait(self._in_flight)
            self._in_flight.clear()
            self._pool.shutdown(wait=True)
            self._pool = None

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`map(function, items)` over the workers, in order, bounded.

        Input of fewer than _MIN_BATCHES batches is mapped in this process when no
        worker runs yet: starting them (about 0.3 s, each importing numpy) costs
        more than it saves.
        """
        iterator = iter(items)
        head = list(itertools.islice(iterator, _MIN_BATCHES))
        if self.jobs <= 1 or (self._pool is None and len(head) < _MIN_BATCHES):
            yield from map(function, itertools.chain(head, iterator))
            return
        if self._pool is None:
            # fork would copy whatever the parent holds; spawn starts clean workers.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
        pending = self._in_flight
        for item in itertools.chain(head, iterator):
            pending.append(self._submit(function, item))
            if len(pending) >= 2 * self.jobs:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())

    def _submit(self, function: Callable[[T], R], item: T) -> concurrent.futures.Future[R]:
        assert self._pool is not None
        try:
            return self._pool.submit(function, item)
        except BrokenProcessPool as exc:
            raise _died() from exc


def _result(future: concurrent.futures.Future[R]) -> R:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise _died() from exc


def _died() -> WorkerError:
    return WorkerError(
        "a worker process ended abruptly (killed, perhaps by the system for lack of memory), "
        "so the run stopped; try fewer --jobs"
    )
