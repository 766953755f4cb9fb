"""Worker processes: an ordered, bounded `map` over batches.

Results come back in input order whatever the number of workers, so output
never depends on --jobs, and at most `2 * jobs` batches are in flight, so the
input is never read ahead without bound (an executor's own map, like
multiprocessing's imap, takes in the whole input iterator at once).  One
`Workers` pool serves every pass of a run: the workers start once.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing import connection, util
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
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
    to 32 MiB from the heap and keeps up to 16 MiB of freed memory: the page
    faults of mapping each numpy temporary anew cost 12 % of a document-level run
    here (sys time 1.1 s -> 0.2 s on 93 MB); keeping 64 MiB instead was no faster
    (20,000 French documents, farm-bench, document level 1.00x, every level 1.02x)
    and held 20 MiB more a worker at the default run's peak on 100,000.
    Otherwise (the main process of a run with workers, which holds the run's
    state) the bound stays at 128 KiB, so that a large array freed goes back to
    the system instead of leaving a hole in the heap: peak RSS of a
    paragraph-level run of 100,000 documents, 1,148 -> 990 MiB.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    if keep_arrays:
        mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        mallopt(_M_TRIM_THRESHOLD, 16 << 20)
    else:
        mallopt(_M_MMAP_THRESHOLD, 128 << 10)


def give_back_freed() -> None:
    """Return the heap's free pages to the system (glibc's malloc_trim; elsewhere
    nothing).  Between stages of the main process: the batches workers sent are many
    small blocks, freed once merged among objects that live on (document ids), and
    glibc returns only the heap's top by itself.  A million one-line records held 700 MB
    of such pages after fingerprinting."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class GiveBack:
    """Gives the heap's free pages back each time about `step` bytes were freed: while
    many small blocks are copied into one array and freed, so that the process never
    holds both whole (a million one-line records: the LSH band keys of every batch and
    their joined array, 500 MB for 250)."""

    def __init__(self, step: int = 32 << 20) -> None:
        self.step = step
        self.pending = 0

    def freed(self, nbytes: int) -> None:
        self.pending += nbytes
        if self.pending >= self.step:
            give_back_freed()
            self.pending = 0


def _start_worker() -> None:
    """Set up a worker: its allocator, its cycle collector on (a fork's parent may have
    paused its own), Ctrl-C left to the main process (a terminal sends SIGINT to every
    process of the job; the main process stops the workers), and SIGTERM and SIGHUP at
    their default, which a fork's parent may have changed (see `cli.ending`): a
    worker they reach ends at once, and the main process says so."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    gc.enable()
    tune_allocator()


def _forks_cleanly() -> bool:
    """Whether workers may be forks of this process: on Linux, with no other thread
    running (a fork holds only the thread that made it, and any lock another held), and
    where numpy in the workers is told nothing this process's numpy, loaded already, was
    not (OpenBLAS starts no thread in a fork: its threads are not forked)."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return False
    return not _numpy_told()


def _numpy_told() -> dict[str, str]:
    """What numpy in the workers is told: on a Zen 4, to leave out its AVX-512 kernels
    (NPY_DISABLE_CPU_FEATURES), unless the user chose features already."""
    chosen = {"NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES"} & os.environ.keys()
    try:
        slow = not chosen and _slow_sort(_CPUINFO.read_text(errors="replace"))
    except OSError:  # not on Linux
        slow = False
    return {"NPY_DISABLE_CPU_FEATURES": _AVX512} if slow else {}


#: numpy's AVX-512 sort stores through vpcompress to memory, which AMD's Zen 4 runs in
#: microcode: there np.sort of 200,000 uint64 keys took 51 ns a key against 10 with
#: numpy's AVX2 sort, and the children check of 20,000 documents 1.29 -> 0.72 s.  Zen 5
#: (family 26) runs it in hardware, Zen 3 and earlier have no AVX-512.
_SLOW_SORT = ("AuthenticAMD", "25", "avx512f")
#: What numpy is told to leave out there (names it does not dispatch are ignored).
_AVX512 = "X86_V4 AVX512_ICL AVX512_SPR"
#: Where Linux describes the processors.
_CPUINFO = Path("/proc/cpuinfo")


def _slow_sort(cpuinfo: str) -> bool:
    """Whether the first processor /proc/cpuinfo describes is a Zen 4 with AVX-512."""
    fields: dict[str, str] = {}
    for line in cpuinfo.split("\n\n", 1)[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    vendor, family, flag = _SLOW_SORT
    return (
        fields.get("vendor_id") == vendor
        and fields.get("cpu family") == family
        and flag in fields.get("flags", "").split()
    )


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """The environment workers start in: numpy's OpenBLAS starts no thread of its own in
    them (OPENBLAS_NUM_THREADS=1: a worker does no linear algebra, and each such thread
    spun 0.1 s of CPU as its worker started, beside the other workers: 6 % of the CPU
    samples of a document-level run of 20,000 pages); on a Zen 4, numpy in them leaves
    out its AVX-512 kernels (NPY_DISABLE_CPU_FEATURES).  Each unless the user chose
    already.  Only the workers: this process's numpy is loaded by now, and a library must
    not change that of the program it runs in."""
    told = _numpy_told()
    if "OPENBLAS_NUM_THREADS" not in os.environ:
        told["OPENBLAS_NUM_THREADS"] = "1"
    os.environ.update(told)
    try:
        yield
    finally:
        for name in told:
            del os.environ[name]


def default_jobs(asked: int = 0) -> int:
    """`asked` (--jobs), or for 0 every core this process may use."""
    if asked:
        return asked
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Workers:
    """`jobs` worker processes, started on first use and kept until `close`.

    Each worker has a pipe of its own and works on one batch at a time.  A worker
    that dies (the kernel's out-of-memory killer) stops the run with a
    WorkerError, whatever it was doing: its pipe closes with it, so even an
    answer it was half-way through sending is never waited for.  (A shared
    result queue, as multiprocessing's Pool and concurrent.futures use, hangs
    for ever then: the Pool waits for the lost batch, the executor for the rest
    of the half-sent answer, about one kill in fifteen.)  `close` lets the
    batches in flight finish, then tells the workers to exit.
    """

    #: Whether the workers read and write the files this process does (one machine).
    local = True

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._workers: list[_Worker] = []
        self._started = False  # whether workers were ever started

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        for worker in self._workers:
            worker.process.join()
            worker.conn.close()
        self._workers = []

    def restart(self) -> None:
        """Stop the workers started, if any, and start fresh ones at once (they load while
        this process goes on): what earlier batches left in their heaps goes back."""
        if self._workers:
            self.close()
            self._start()

    def _start(self) -> None:
        # The first workers are forks of this process, which holds little but its modules
        # by then: they need not import numpy and dedup again, each (0.3 s of CPU, and as
        # long before the first batch: 20,000 French pages, document level, 2.52 -> 2.25 s).
        # Later ones are spawned, clean: a fork would copy the run's tables.
        first, self._started = not self._started, True
        if first and _forks_cleanly():
            self._workers = [_Worker(multiprocessing.get_context("fork")) for _ in range(self.jobs)]
            return
        context = multiprocessing.get_context("spawn")
        with _worker_environment():
            self._workers = [_Worker(context) for _ in range(self.jobs)]

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`map(function, items)` over the workers, in order, bounded.

        Input of fewer than _MIN_BATCHES batches is mapped in this process when no
        worker runs yet: starting them (about 0.3 s, each importing numpy) costs
        more than it saves.
        """
        iterator = iter(items)
        head = list(itertools.islice(iterator, _MIN_BATCHES))
        if self.jobs <= 1 or (not self._workers and len(head) < _MIN_BATCHES):
            yield from map(function, itertools.chain(head, iterator))
            return
        if not self._workers:
            self._start()
        for worker in self._workers:  # an earlier map's answers are not this one's
            worker.settle()
        tasks = itertools.chain(head, iterator)
        done: dict[int, tuple[bool, Any]] = {}  # answers that came before an earlier one
        sent = served = 0
        more = True
        while True:
            for worker in self._workers:  # every idle worker a batch, at most 2 * jobs ahead
                if more and worker.task is None and sent - served < 2 * self.jobs:
                    item = next(tasks, _END)
                    if item is _END:
                        more = False
                    else:
                        worker.give(sent, (function, item))
                        sent += 1
            if served in done:
                ok, value = done.pop(served)
                if not ok:  # in input order, as one process would meet it
                    raise value
                yield value
                served += 1
            elif served == sent and not more:
                return
            else:
                done.update(self._answers())

    def _answers(self) -> Iterator[tuple[int, tuple[bool, Any]]]:
        """Wait for the busy workers until one answers (or dies); their answers."""
        busy = [worker for worker in self._workers if worker.task is not None]
        ready = set(connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                yield worker.answer()


#: The end of a map's input.
_END = object()


class _Worker:
    """One worker process, the pipe it takes batches from and answers on, and the
    number of the batch it works on (None: idle)."""

    def __init__(self, context: Any) -> None:
        self.conn, theirs = context.Pipe()
        # A worker forked later holds this end too, unless it closes it: this worker
        # would then never see the main process's end (see `_serve`).
        util.register_after_fork(self.conn, Connection.close)
        self.process: BaseProcess = context.Process(target=_serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()  # only the worker holds its end: if it dies, the pipe says so
        self.task: int | None = None

    def give(self, task: int, work: tuple[Callable[[Any], Any], Any]) -> None:
        try:
            self.conn.send(work)
        except OSError as exc:
            raise self.died() from exc
        self.task = task

    def answer(self) -> tuple[int, tuple[bool, Any]]:
        """The number of its batch and (True, its result) or (False, what it raised)."""
        if not self.process.is_alive():  # dead: a half-sent answer is never read
            raise self.died()
        task, self.task = self.task, None  # whatever recv raises, the answer is consumed
        try:
            ok, value = self.conn.recv()
        except (EOFError, OSError) as exc:  # died while sending
            raise self.died() from exc
        except Exception as exc:  # an exception whose arguments do not fit its class, say
            raise RuntimeError(f"a worker's answer could not be read: {exc!r}") from exc
        assert task is not None
        return task, (ok, value)

    def died(self) -> WorkerError:
        """The error that stops the run, saying how the worker ended."""
        self.process.join(timeout=5)  # its pipe can close a moment before it is reaped
        code = self.process.exitcode
        if code == -signal.SIGKILL:
            how = "was killed (SIGKILL, as the system does when memory runs out)"
        elif code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
        elif code is not None:
            how = f"exited with status {code}"
        else:
            how = "closed its pipe"
        return WorkerError(f"a worker process {how}, so the run stopped; try fewer --jobs")

    def settle(self) -> None:
        """Let it finish the batch it works on (if it still lives), the answer dropped:
        the batch of a map left part-way, by an error or a consumer that stopped."""
        if self.task is not None and self.process.is_alive():
            with contextlib.suppress(EOFError, OSError):
                self.conn.recv()
        self.task = None

    def stop(self) -> None:
        """Let it finish its batch, then tell it to exit."""
        self.settle()
        with contextlib.suppress(OSError):
            self.conn.send(None)


def _serve(conn: Connection) -> None:
    """A worker's life: take (function, item) batches until told to stop, and answer
    each with (True, result) or (False, the exception, its traceback noted).

    What outlives a batch (imported modules, what a run keeps between its batches,
    such as the texts banded) is moved out of the cycle collector's sight after each
    one (`gc.freeze`): its collections walked every such object again and again, 10 %
    of the verification of 200,000 short records.  A batch's own objects are collected
    as before.
    """
    _start_worker()
    parent = multiprocessing.parent_process()
    gone = [] if parent is None else [parent.sentinel]
    while True:
        # The main process killed (the out-of-memory killer may pick it): the worker
        # goes too, not waiting for a batch for ever with the run's stderr open.
        if set(gone) & set(connection.wait([conn, *gone])):
            return
        try:
            work = conn.recv()
        except (EOFError, OSError):
            return  # the main process's end closed
        if work is None:  # told to stop
            return
        function, item = work
        answer = attempt(function, item)
        del work, function, item
        try:
            conn.send(answer)
        except OSError:
            return  # nobody reads it: the main process is gone
        except Exception:  # a result that cannot be pickled: its text then
            conn.send((False, RuntimeError(traceback.format_exc())))
        del answer
        gc.freeze()


def attempt(function: Callable[[T], R], item: T) -> tuple[bool, Any]:
    """(True, `function(item)`), or (False, what it raised, its traceback noted), as a
    worker answers a batch: the caller raises it when the batch's turn comes."""
    try:
        return True, function(item)
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python 3.11 on
            exc.add_note(f"in a worker process:\n{traceback.format_exc()}")
        return False, exc
