"""Worker processes change nothing but speed: byte-identical output for every --jobs."""

from __future__ import annotations

import copyreg
import itertools
import json
import os
import pickle
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest
from conftest import PAGES

from dedup import parallel
from dedup.model import Evidence, Source, pickled_as_call
from dedup.parallel import Workers


def _square(x: int) -> int:
    return x * x


def test_workers_map_keeps_order() -> None:
    for jobs in (2, 1):
        with Workers(jobs) as workers:
            assert list(workers.map(_square, range(50))) == [x * x for x in range(50)]
            assert list(workers.map(_square, [3])) == [9]  # the pool, once started, serves it


_KEPT: list[int] = []  # what a "stage" keeps in a process between its batches


def _keep(x: int) -> int:
    _KEPT.append(x)
    return os.getpid()


def _kept(_: object) -> tuple[int, int]:
    time.sleep(0.05)  # every worker takes one
    return os.getpid(), len(_KEPT)


def test_workers_closed_start_afresh_when_needed_again() -> None:
    with Workers(2) as workers:
        before = set(workers.map(_keep, range(40)))
        assert len(before) == 2 and os.getpid() not in before
        workers.close()  # a stage done: what it kept in them goes with them
        after = {pid for pid, kept in workers.map(_kept, range(8)) if kept == 0}
        assert len(after) == 2 and not after & before and os.getpid() not in after
        assert list(workers.map(_square, range(50))) == [x * x for x in range(50)]


def test_restart_gives_fresh_workers_and_starts_none_unasked() -> None:
    with Workers(2) as workers:
        workers.restart()  # none started yet: none started now
        assert set(workers.map(_keep, range(3))) == {os.getpid()}  # few: in this process
        _KEPT.clear()
        before = set(workers.map(_keep, range(40)))
        assert len(before) == 2 and os.getpid() not in before
        workers.restart()
        after = {pid for pid, kept in workers.map(_kept, range(8)) if kept == 0}
        assert len(after) == 2 and not after & before  # fresh processes, nothing kept
        assert list(workers.map(_square, range(50))) == [x * x for x in range(50)]


def _slow_square(x: int) -> int:
    time.sleep(0.01 * (x % 3))  # answers come back out of order
    return x * x


def _fail_on_7(x: int) -> int:
    if x == 7:
        raise ValueError("seven")
    return x


def test_a_map_left_part_way_leaves_nothing_behind_for_the_next() -> None:
    # One pool serves every pass of a run: answers still in flight from a map its consumer
    # left (an error, or a break) must never come out of the next map.
    with Workers(2) as workers:
        first = workers.map(_slow_square, range(100, 200))
        assert [next(first) for _ in range(3)] == [100 * 100, 101 * 101, 102 * 102]
        first.close()
        assert list(workers.map(_slow_square, range(40))) == [x * x for x in range(40)]
        with pytest.raises(ValueError, match="seven"):
            list(workers.map(_fail_on_7, range(40)))
        assert list(workers.map(_slow_square, range(40))) == [x * x for x in range(40)]


def _fail_slow_or_fast(x: int) -> int:
    if x == 4:
        time.sleep(0.5)  # the earlier failure comes back last
        raise ValueError("four")
    if x == 5:
        raise ValueError("five")
    return x


def test_a_map_raises_the_first_failure_in_input_order() -> None:
    # As a loop in one process would: which error a run reports must not depend on
    # which worker happened to answer first.
    for jobs in (2, 1):
        with Workers(jobs) as workers:
            results = workers.map(_fail_slow_or_fast, range(8))
            assert [next(results) for _ in range(4)] == [0, 1, 2, 3]
            with pytest.raises(ValueError, match="four"):
                next(results)


class _Unreadable(Exception):
    """Pickles, but cannot be unpickled: its args do not fit its __init__."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def _raise_unreadable(x: int) -> int:
    if x == 11:
        raise _Unreadable("eleven", "on purpose")
    return x


def test_an_answer_that_cannot_be_read_stops_the_map_not_the_pool() -> None:
    seen: dict[str, object] = {}

    def run() -> None:
        with Workers(2) as workers:
            try:
                list(workers.map(_raise_unreadable, range(40)))
            except Exception as exc:
                seen["error"] = exc
            seen["after"] = list(workers.map(_square, range(40)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the pool hung"
    assert "could not be read" in str(seen["error"]) and "_Unreadable" in str(seen["error"])
    assert seen["after"] == [x * x for x in range(40)]


#: The first processor of /proc/cpuinfo on an AMD EPYC Zen 4 (fields as Linux prints them).
ZEN4 = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
    "model name\t: AMD EPYC 9R14\nflags\t\t: fpu sse4_2 avx2 avx512f avx512dq avx512bw\n"
    "\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
)


@pytest.mark.parametrize(
    ("cpuinfo", "slow"),
    [
        (ZEN4, True),
        (ZEN4.replace("cpu family\t: 25", "cpu family\t: 26"), False),  # Zen 5
        (ZEN4.replace(" avx512f", ""), False),  # Zen 3: no AVX-512
        (ZEN4.replace("AuthenticAMD", "GenuineIntel"), False),
        ("", False),
    ],
    ids=["zen4", "zen5", "zen3", "intel", "empty"],
)
def test_the_slow_avx512_sort_is_told_by_vendor_family_and_flag(cpuinfo: str, slow: bool) -> None:
    assert parallel._slow_sort(cpuinfo) is slow


def _numpy_features(_: int) -> tuple[str | None, tuple[str, ...]]:
    """What a process was told to leave out, and the SIMD targets its numpy dispatches to."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    used = tuple(name for name in __cpu_dispatch__ if __cpu_features__.get(name))
    return os.environ.get("NPY_DISABLE_CPU_FEATURES"), used


@pytest.mark.parametrize(
    ("cpuinfo", "chosen", "told"),
    [
        (ZEN4, None, parallel._AVX512),
        (ZEN4.replace("AuthenticAMD", "GenuineIntel"), None, None),
        (ZEN4, "", ""),  # the user's own choice (here: nothing left out) stands
    ],
    ids=["zen4", "intel", "user's choice"],
)
def test_workers_on_a_zen4_leave_out_numpys_avx512(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cpuinfo: str,
    chosen: str | None,
    told: str | None,
) -> None:
    (tmp_path / "cpuinfo").write_text(cpuinfo)
    monkeypatch.setattr(parallel, "_CPUINFO", tmp_path / "cpuinfo")
    if chosen is None:
        monkeypatch.delenv("NPY_DISABLE_CPU_FEATURES", raising=False)
    else:
        monkeypatch.setenv("NPY_DISABLE_CPU_FEATURES", chosen)
    monkeypatch.delenv("NPY_ENABLE_CPU_FEATURES", raising=False)
    before = dict(os.environ)
    with Workers(2) as workers:
        seen = set(workers.map(_numpy_features, range(20)))
    assert dict(os.environ) == before  # this process's environment is left as it was
    assert {env for env, _ in seen} == {told}
    if told:
        assert not {"X86_V4", "AVX512_ICL", "AVX512_SPR"} & {f for _, used in seen for f in used}


def _threads(_: int) -> tuple[str | None, int]:
    """What a worker was told of BLAS threads, and the threads it runs."""
    return os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads listed by Linux")
@pytest.mark.parametrize("chosen", [None, "2"], ids=["unset", "user's choice"])
def test_workers_start_no_blas_threads(monkeypatch: pytest.MonkeyPatch, chosen: str | None) -> None:
    """A worker does no linear algebra: numpy's OpenBLAS starts no thread in it (each one
    spun 0.1 s of CPU as a worker started, beside the others), unless the user said."""
    if chosen is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", chosen)
    before = dict(os.environ)
    with Workers(2) as workers:
        forked = set(workers.map(_threads, range(10)))  # the first workers: forks
        workers.restart()
        spawned = set(workers.map(_threads, range(10)))
    assert dict(os.environ) == before  # this process's environment is left as it was
    if chosen is None:  # a fork has none of this process's threads, a spawned one is told
        # (on a Zen 4, numpy in the workers is told more than this process's was: the
        # first workers are spawned too, see parallel._numpy_told)
        assert forked == ({("1", 1)} if parallel._numpy_told() else {(None, 1)})
        assert spawned == {("1", 1)}
    else:
        assert {told for told, _ in forked | spawned} == {chosen}


#: What the test process set before its first workers started (see below).
_SET_BEFORE = "as imported"


def _set_before(_: int) -> str:
    return _SET_BEFORE


def test_the_first_workers_are_forks_and_later_ones_spawned() -> None:
    """The first workers hold what this process held (a fork imports nothing again);
    those started once a run holds its tables are spawned, clean."""
    global _SET_BEFORE
    _SET_BEFORE = "set before the fork"
    first = "as imported" if parallel._numpy_told() else "set before the fork"  # Zen 4: spawned
    try:
        with Workers(2) as workers:
            assert set(workers.map(_set_before, range(10))) == {first}
            workers.restart()
            assert set(workers.map(_set_before, range(10))) == {"as imported"}
    finally:
        _SET_BEFORE = "as imported"


def _corpus(path: Path) -> None:
    """A corpus several batches long, with exact and near copies, built from the blog pages."""
    rng = random.Random(7)
    lines = [
        line
        for p in sorted(PAGES.iterdir())
        for line in p.read_text(encoding="utf-8").splitlines()
        if len(line) > 80
    ]
    records = []
    for number in range(2400):  # 10 batches: workers really run (parallel._MIN_BATCHES)
        paras = rng.sample(lines, 4)
        if number % 5 == 4:  # a near copy of an earlier record
            paras = records[rng.randrange(len(records))]["text"].split("\n\n")
            paras[0] = paras[0].replace("Twitter", "X", 1)
        records.append({"id": f"r{number}", "text": "\n\n".join(paras)})
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )


def test_output_is_byte_identical_across_jobs_and_hash_seeds(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    _corpus(corpus)
    outputs = []
    # numpy's CPU features as dedup sets them (on a Zen 4 the workers leave out AVX-512,
    # see parallel._worker_environment), then none of its SIMD kernels in any process.
    baseline = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
    for jobs, seed, left_out in (
        ("1", "0", None),
        ("2", "1", None),
        ("3", "12345", None),
        ("2", "5", baseline),
    ):
        out = tmp_path / f"out-{jobs}-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        for name in ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES"):
            env.pop(name, None)
        if left_out is not None:
            env["NPY_DISABLE_CPU_FEATURES"] = left_out
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "dedup",
                "clean",
                str(corpus),
                "--out",
                str(out),
                "--jobs",
                jobs,
                "--report",
                str(out / "report.json"),
            ],
            capture_output=True,
            env=env,
            check=True,
        )
        outputs.append(((out / "corpus.jsonl").read_bytes(), (out / "report.json").read_bytes()))
        assert b"duplicates" in run.stderr
    report = json.loads(outputs[0][1])
    assert report["stats"]["duplicate_units"] > 100  # the corpus really has repeats
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]


def _pairs_of(neighbours: dict[int, list[int]]) -> list[tuple[int, int]]:
    return sorted((a, b) for a, others in neighbours.items() for b in others if a < b)


def test_pair_batches_give_every_pair_once_with_its_keys() -> None:
    from dedup.engine import candidates, table

    rng = random.Random(5)
    linked: dict[int, set[int]] = {}
    for _ in range(9000):  # many small groups, and one large group of keys 0-1999
        a = rng.randrange(2000) if rng.random() < 0.5 else rng.randrange(2000, 40_000)
        b = a + rng.randrange(1, 4) if a >= 2000 else rng.randrange(2000)
        if a != b:
            linked.setdefault(a, set()).add(b)
            linked.setdefault(b, set()).add(a)
    neighbours = {k: sorted(v) for k, v in linked.items()}
    pairs = np.array(_pairs_of(neighbours), dtype=np.int64)
    chars = np.full(40_010, 1000, dtype=np.int64)
    batches = list(candidates.pair_batches(pairs, chars))
    seen = [pair for _, pairs in batches for pair in pairs]
    assert sorted(seen) == _pairs_of(neighbours) and len(seen) == len(set(seen))
    for keys, pairs in batches:
        assert {k for pair in pairs for k in pair} == set(keys)
        assert len(keys) * 1000 <= table.BATCH_CHARS + 2000  # cut near the budget
    # A group of connected keys that fits in a batch is never split; the large one is.
    where = {pair: i for i, (_, pairs) in enumerate(batches) for pair in pairs}
    seen_keys: set[int] = set()
    split = []
    for start in sorted(neighbours):
        if start in seen_keys:
            continue
        group, todo = {start}, [start]
        while todo:
            for other in neighbours[todo.pop()]:
                if other not in group:
                    group.add(other)
                    todo.append(other)
        seen_keys |= group
        inside = {where[a, b] for a in group for b in neighbours[a] if a < b}
        split.append((len(group), len(inside)))
    assert all(n == 1 for size, n in split if size * 1000 <= table.BATCH_CHARS)
    assert max(split)[0] > 1900 and max(split)[1] > 1  # 2 MB of text: cut


def test_a_large_group_is_cut_where_its_keys_meet() -> None:
    """Families of near copies scattered over the key numbers, chained into one group
    too large for a batch: each batch holds whole families, so each key is read about
    once, not once for every batch its pairs fall in."""
    from dedup.engine import candidates

    rng = random.Random(7)
    numbers = list(range(6000))
    rng.shuffle(numbers)
    families = [sorted(numbers[i : i + 20]) for i in range(0, 6000, 20)]
    linked = {(a, b) for family in families for a in family for b in family if a < b}
    for one, other in itertools.pairwise(families):  # a chain through every family
        linked.add((min(one[0], other[0]), max(one[0], other[0])))
    pairs = np.array(sorted(linked), dtype=np.int64)
    batches = list(candidates.pair_batches(pairs, np.full(6000, 1000, dtype=np.int64)))
    assert len(batches) > 4
    assert sorted(pair for _, these in batches for pair in these) == sorted(linked)
    assert sum(len(keys) for keys, _ in batches) < 1.2 * 6000


@pickled_as_call
@dataclass(frozen=True, slots=True)
class _One:
    value: str


@pytest.mark.parametrize(
    "value",
    [
        Source("corpus.jsonl", 7, 4096),
        Source("notes.txt"),
        Evidence(0.8125, 0.9, 0.75, "near"),
        Evidence(0.5, 0.5, 0.5, None),
        _One("alone"),
    ],
)
def test_values_sent_to_workers_pickle_as_a_call_of_their_class(value: object) -> None:
    # The call form is what makes them cheap to send; the round trip must keep every field.
    rebuild, args = value.__reduce_ex__(pickle.HIGHEST_PROTOCOL)[:2]
    if rebuild is copyreg.__newobj__:  # a tuple's class, called on its fields
        rebuild, args = args[0], args[1:]
    assert rebuild is type(value)
    named = value._fields if isinstance(value, tuple) else fields(value)  # type: ignore[arg-type, attr-defined]
    names = [n if isinstance(n, str) else n.name for n in named]
    assert args == tuple(getattr(value, name) for name in names)
    assert pickle.loads(pickle.dumps(value)) == value


def test_components_root_every_node_at_its_smallest() -> None:
    from dedup.engine.candidates import components

    rng = random.Random(8)
    count = 3000
    edges = [(rng.randrange(count), rng.randrange(count)) for _ in range(2000)]
    edges += [(i, i + 1) for i in range(2000, 2999)]  # a long chain, in order
    edges += [(i + 1, i) for i in range(1000, 1400)]  # and one the other way
    root = components(np.array(edges, dtype=np.int64), count).tolist()
    parent = list(range(count))  # the plain union-find it must agree with

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    assert root == [find(x) for x in range(count)]


_KEPT: list[list[int]] = []  # what a worker keeps from one batch to the next


def _keep_and_count(x: int) -> tuple[int, int, int]:
    """Keep a container, make a cycle of garbage; say how many objects the cycle
    collector no longer walks, and how many cycles it then found."""
    import gc

    _KEPT.append([x])
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    return x, gc.get_freeze_count(), gc.collect()


def test_what_outlives_a_batch_is_out_of_the_collectors_sight() -> None:
    with Workers(2) as workers:
        answers = list(workers.map(_keep_and_count, range(2 * parallel._MIN_BATCHES)))
    later = answers[4:]  # each worker has finished batches before these
    assert all(frozen > 0 for _, frozen, _ in later)
    assert all(found >= 1 for _, _, found in answers)  # a batch's own cycles still go
