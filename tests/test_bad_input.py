"""The bad-input battery: every row of the table in docs/input.md has a test here.

Each failure names the file (and line or byte offset), exits 2 unless skipping is
asked for, never modifies an input and never leaves a partial output.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dedup.cli import main

PARAGRAPH = (
    "The harbour reopened on Monday after the storm damaged the pier and the old lighthouse."
)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def clean_with_report(root: Path, *args: str) -> Result:
    """`dedup clean ROOT/in --out ROOT/out --report ROOT/r.json ARGS`."""
    return run(
        "clean",
        str(root / "in"),
        "--out",
        str(root / "out"),
        "--report",
        str(root / "r.json"),
        *args,
    )


def dedup(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dedup", *args], capture_output=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def test_invalid_utf8_strict_names_the_byte_offset(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xc3 au lait\n")
    result = run("scan", str(tmp_path / "bad.txt"))
    assert result.exit_code == 2
    assert "bad.txt: invalid UTF-8 at byte 3" in result.stderr
    assert "--errors replace or skip-file" in result.stderr


def test_invalid_utf8_replace_keeps_going(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.txt").write_bytes(
        f"caf\xc3 au lait\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n".encode("latin-1")
    )
    result = run(
        "clean", str(tmp_path / "in"), "--errors", "replace", "--out", str(tmp_path / "out")
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "bad.txt").read_text(
        encoding="utf-8"
    ) == f"caf\ufffd au lait\n\n{PARAGRAPH}\n"


def test_invalid_utf8_skip_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfd broken\n")
    (tmp_path / "good.txt").write_text(PARAGRAPH + "\n")
    result = run("scan", str(tmp_path), "--errors", "skip-file")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["stats"]["skipped"] == 1
    assert report["skipped"][0]["path"].endswith("bad.txt")
    assert "invalid UTF-8 at byte 0" in report["skipped"][0]["reason"]
    assert report["stats"]["documents"] == 1  # good.txt (a report lists findings only)
    assert "warning" in result.stderr and "bad.txt" in result.stderr


def test_invalid_utf8_in_jsonl_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_bytes(b'{"id": 1, "text": "fine"}\n{"id": 2, "text": "caf\xc3"}\n')
    result = run("scan", str(data))
    assert result.exit_code == 2
    assert "d.jsonl:2: invalid UTF-8 at byte" in result.stderr
    skipped = json.loads(run("scan", str(data), "--errors", "skip-file").stdout)
    assert skipped["skipped"] == [
        {"path": str(data), "line": 2, "reason": skipped["skipped"][0]["reason"]}
    ]


def test_an_unpaired_surrogate_escape_in_jsonl_names_its_line(tmp_path: Path) -> None:
    # json.loads accepts "\ud800", but no UTF-8 output (report, cleaned JSONL) can hold it.
    data = tmp_path / "d.jsonl"
    line = json.dumps(
        {"id": "b", "text": "Nothing else is said here \ud800 end", "tags": ["\udfff"]}
    )
    ok = json.dumps({"id": "c", "text": "A third text, with an emoji \U0001f600 end"})  # a pair
    data.write_text(f'{{"id": "a", "text": "{PARAGRAPH}"}}\n{line}\n{ok}\n')
    result = run("scan", str(data))
    assert result.exit_code == 2
    assert "d.jsonl:2: unpaired surrogate \\ud800 at character 26" in result.stderr
    skipped = run("scan", str(data), "--errors", "skip-file")
    assert skipped.exit_code == 0, skipped.output
    assert [s["line"] for s in json.loads(skipped.stdout)["skipped"]] == [2]
    out = tmp_path / "out"
    replaced = run("clean", str(data), "--errors", "replace", "--out", str(out))
    assert replaced.exit_code == 0, replaced.output
    records = [json.loads(r) for r in (out / "d.jsonl").read_text("utf-8").splitlines()]
    assert records[1]["tags"] == ["\ufffd"] and "\ufffd end" in records[1]["text"]
    assert records[2]["text"].endswith("\U0001f600 end")


def _long_jsonl(path: Path, bad: dict[int, bytes], prefix: str = "r") -> None:
    """5,000 records of random words (5.5 MB: 6 chunks, read by worker processes), some
    lines replaced."""
    rng = random.Random(prefix)
    words = PARAGRAPH.lower().rstrip(".").split()
    lines = [
        json.dumps({"id": f"{prefix}{n}", "text": " ".join(rng.choices(words, k=150))}).encode()
        + b"\n"
        for n in range(1, 5001)
    ]
    for number, line in bad.items():
        lines[number - 1] = line
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"id": "x", "text": \n', "invalid JSON"),
        (b'{"id": "r7", "text": "again"}\n', "duplicate document id 'r7'"),
        (b'{"id": "x", "text": "caf\xc3"}\n', "invalid UTF-8 at byte"),
    ],
)
def test_bad_records_far_into_a_file_name_their_line_with_workers(
    tmp_path: Path, line: bytes, message: str
) -> None:
    # A file before it: its chunks' lines are counted in that file, not this one.
    _long_jsonl(tmp_path / "a.jsonl", {}, prefix="a")
    data = tmp_path / "d.jsonl"
    _long_jsonl(data, {4321: line})
    for jobs in ("1", "2"):
        result = run("scan", str(tmp_path), "--jobs", jobs, "--unit", "document")
        assert result.exit_code == 2, result.output
        assert f"d.jsonl:4321: {message}" in result.stderr


def test_runs_stopped_by_a_bad_record_never_hang_with_workers(tmp_path: Path) -> None:
    # Stopping on a worker's error used to kill the other workers; one killed while
    # sending its result left the pool's shutdown waiting for ever (one run in five).
    data = tmp_path / "d.jsonl"
    _long_jsonl(data, {1500: b'{"id": "x", "text": \n'})
    loop = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dedup.cli import main\n"
        "for _ in range(12):\n"
        "    args = ['scan', sys.argv[1], '--jobs', '2', '--unit', 'document']\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    assert result.exit_code == 2 and 'd.jsonl:1500: invalid JSON' in result.stderr\n"
    )
    subprocess.run([sys.executable, "-c", loop, str(data)], check=True, timeout=120)


def test_skipped_records_far_into_a_file_keep_their_line_with_workers(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    _long_jsonl(data, {3001: b'{"id": "x", "text": "caf\xc3"}\n', 4999: b"\n"})
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        args = ("--errors", "skip-file", "--jobs", jobs, "--unit", "document")
        report_path = tmp_path / f"r{jobs}.json"
        done = run("clean", str(data), "--out", str(out), "--report", str(report_path), *args)
        assert done.exit_code == 0, done.output
        report = json.loads(report_path.read_text(encoding="utf-8"))
        assert [s["line"] for s in report["skipped"]] == [3001]
        lines = (out / "d.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["id"] for line in lines] == [
            f"r{n}" for n in range(1, 5001) if n not in (3001, 4999)
        ]


def test_other_encodings_are_read_and_written_back(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    raw = f"Réseaux sociaux\n\n{PARAGRAPH} Été.\n\n{PARAGRAPH} Été.\n".encode("latin-1")
    (tmp_path / "in" / "l1.txt").write_bytes(raw)
    result = run(
        "clean", str(tmp_path / "in"), "--encoding", "latin-1", "--out", str(tmp_path / "out")
    )
    assert result.exit_code == 0, result.stderr
    assert (
        tmp_path / "out" / "l1.txt"
    ).read_bytes() == f"Réseaux sociaux\n\n{PARAGRAPH} Été.\n".encode("latin-1")


def test_bom_is_ignored_for_comparison_and_kept_in_output(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_bytes(f"\ufeff{PARAGRAPH}\n".encode())
    (tmp_path / "in" / "b.txt").write_bytes(
        f"\ufeff{PARAGRAPH}\n\nKept line of its own here.\n".encode()
    )
    result = run("clean", str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert (tmp_path / "out" / "a.txt").read_bytes() == (tmp_path / "in" / "a.txt").read_bytes()
    assert (
        tmp_path / "out" / "b.txt"
    ).read_bytes() == "\ufeffKept line of its own here.\n".encode()


def test_crlf_and_mixed_line_endings_are_kept_exactly(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    raw = f"Title one\r\n\r\n{PARAGRAPH}\n\r\nOther text stays.\r\n\r\n{PARAGRAPH}\r\n\nEnd here.\r".encode()
    (tmp_path / "in" / "m.txt").write_bytes(raw)
    result = run("clean", str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert (
        (tmp_path / "out" / "m.txt").read_bytes()
        == f"Title one\r\n\r\n{PARAGRAPH}\n\r\nOther text stays.\r\n\nEnd here.\r".encode()
    )


def test_binary_files_are_skipped_with_a_warning_and_counted(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "in" / "text.txt").write_text(PARAGRAPH + "\n")
    result = clean_with_report(tmp_path)
    assert result.exit_code == 0
    assert "image.txt: skipped: binary file" in result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["stats"]["skipped"] == 1 and report["skipped"][0]["reason"].startswith("binary")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["text.txt"]


@pytest.mark.parametrize("content", [b"", b"   \n\t\n", b"\r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_and_whitespace_only_files(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "e.txt").write_bytes(content)
    result = clean_with_report(tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "out" / "e.txt").read_bytes() == content
    assert json.loads((tmp_path / "r.json").read_text())["stats"]["units"] == 0


def test_a_single_huge_line_is_linear(tmp_path: Path) -> None:
    # 60,000 sentences on one 3 MB line: a quadratic step (each sentence end rescanning
    # the line) would not finish; the repeats inside the line are still found.
    rng = random.Random(1)
    words = ["".join(rng.choices("bcdfghklmnprstvz", k=7)) for _ in range(20_000)]
    sentences = [" ".join(rng.choices(words, k=6)).capitalize() + "." for _ in range(30_000)]
    line = " ".join(sentences + sentences)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "long.txt").write_text(line + "\n")
    result = run(
        "clean", str(tmp_path / "in"), "--unit", "sentence", "--out", str(tmp_path / "out")
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "long.txt").read_text() == " ".join(sentences) + "\n"


def test_a_unit_beyond_the_size_bound_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text(PARAGRAPH * 5 + "\n")
    result = run("scan", str(tmp_path / "big.txt"), "--max-unit-chars", "100")
    assert result.exit_code == 2
    assert "big.txt: a document of" in result.stderr and "--max-unit-chars 100" in result.stderr


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(PARAGRAPH + "\n")
    os.symlink(tmp_path / "in", tmp_path / "in" / "again")  # folder loop
    os.symlink(tmp_path / "in" / "self.txt", tmp_path / "in" / "self.txt")  # file loop
    result = run("scan", str(tmp_path / "in"))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["stats"]["documents"] == 1  # a.txt, once
    result = run("scan", str(tmp_path / "in" / "self.txt"))
    assert result.exit_code == 2 and "self.txt" in result.stderr


def _as_nobody() -> list[str] | None:
    """A command prefix running as an unprivileged user, if this machine has one that can import dedup."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import dedup"], capture_output=True)
    return prefix if probe.returncode == 0 else None


def test_unreadable_files_and_folders_are_named() -> None:
    prefix = _as_nobody()
    if prefix is None:
        pytest.skip("needs root with setpriv, and an installation an unprivileged user can import")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        (root / "secret.txt").write_text(PARAGRAPH)
        (root / "secret.txt").chmod(0o000)
        (root / "closed").mkdir(mode=0o000)
        for target, message in ((root / "secret.txt", "secret.txt: cannot read: Permission denied"),
                                (root, "closed: cannot read folder: Permission denied")):  # fmt: skip
            done = subprocess.run(
                [*prefix, sys.executable, "-m", "dedup", "scan", str(target)], capture_output=True
            )
            assert done.returncode == 2
            assert message in done.stderr.decode()


def test_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(PARAGRAPH + "\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("old")
    (tmp_path / "out" / "a.txt").chmod(0o640)
    assert clean_with_report(tmp_path).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~umask  # new: as open() makes it
    assert (tmp_path / "out" / "a.txt").stat().st_mode & 0o777 == 0o640  # replaced: mode kept


def test_output_inside_or_equal_to_the_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(PARAGRAPH + "\n")
    for out in (tmp_path, tmp_path / "sub"):
        result = run("clean", str(tmp_path), "--out", str(out))
        assert result.exit_code == 2 and "inside the input folder" in result.stderr
    assert (tmp_path / "a.txt").read_text() == PARAGRAPH + "\n"
    assert not (tmp_path / "sub").exists()


def test_jsonl_ids_never_become_paths(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "../../etc/passwd", "text": PARAGRAPH}) + "\n")
    result = run("clean", str(data), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["d.jsonl"]


def test_a_tampered_report_cannot_make_restore_write_outside(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(PARAGRAPH + "\n\n" + PARAGRAPH + "\n")
    assert (
        run(
            "clean",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "c"),
            "--report",
            str(tmp_path / "r.json"),
        ).exit_code
        == 0
    )
    report = json.loads((tmp_path / "r.json").read_text())
    report["files"][0] = "../../escape.txt"
    (tmp_path / "r.json").write_text(json.dumps(report))
    result = run(
        "restore",
        str(tmp_path / "c"),
        "--report",
        str(tmp_path / "r.json"),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2 and "refusing a path outside" in result.stderr
    assert not (tmp_path.parent / "escape.txt").exists()


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_failing_write_leaves_no_partial_file(tmp_path: Path) -> None:
    # RLIMIT_FSIZE (ulimit -f) makes any write past 4 KiB fail, as a full disk would.
    (tmp_path / "in").mkdir()
    rng = random.Random(0)
    words = ["".join(rng.choices("bcdfghklmnprstvz", k=6)) for _ in range(5000)]
    big = "\n\n".join(" ".join(rng.choices(words, k=30)) + "." for _ in range(100))
    (tmp_path / "in" / "big.txt").write_text(big)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "big.txt").write_text("the previous output")
    done = dedup(
        "clean", str(tmp_path / "in"), "--out", str(tmp_path / "out"), preexec_fn=_limit_file_size
    )
    assert done.returncode == 2
    assert b"big.txt: cannot write: File too large" in done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["big.txt"]  # no temporary left
    assert (tmp_path / "out" / "big.txt").read_text() == "the previous output"


def test_ctrl_c_exits_130_and_leaves_no_partial_file(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    with data.open("w") as handle:
        for i in range(60_000):
            handle.write(
                json.dumps({"id": i, "text": f"{PARAGRAPH} Record {i}.\n\n{PARAGRAPH}"}) + "\n"
            )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dedup",
            "clean",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--jobs",
            "1",
        ],
        stderr=subprocess.PIPE,
    )
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert b"interrupted" in err
    leftovers = list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert leftovers == [] or [p.name for p in leftovers] == ["d.jsonl"]
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_run_asked_to_end_unwinds_and_takes_its_temporary_files(
    name: str, code: int, tmp_path: Path
) -> None:
    # timeout(1), systemd and CI runners end a pipeline's step with SIGTERM, a closed
    # terminal sends SIGHUP: the run stops as it stops on Ctrl-C, its outputs whole or not
    # written, and the copy of the corpus's texts it keeps in TMPDIR goes with it (left
    # there, it was the corpus's size again at every run so ended).
    temp = tmp_path / "tmp"
    temp.mkdir()
    out, report = tmp_path / "out", tmp_path / "report.json"
    process = _started(
        "clean", _french(tmp_path), "--out", str(out), "--report", str(report), TMPDIR=str(temp)
    )
    deadline = time.monotonic() + 60
    while not list(temp.glob("dedup-texts-*/*")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.02)
    process.send_signal(getattr(signal, name))  # the texts are being copied
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert (name.encode() if code != 130 else b"interrupted") in err
    assert b"Traceback" not in err
    assert list(temp.iterdir()) == []
    assert not report.exists() and not list(tmp_path.rglob("*.tmp"))


def test_workers_end_with_a_main_process_killed(tmp_path: Path) -> None:
    # The kernel's out-of-memory killer may pick the main process: its workers, forked
    # with every pipe's two ends, waited for a batch for ever, holding the step's stderr
    # open (a pipeline that reads it hung) and their memory.
    temp = tmp_path / "tmp"  # what the killed run leaves there goes with the test's folder
    temp.mkdir()
    process = _started("scan", _french(tmp_path), "--jobs", "2", TMPDIR=str(temp))
    deadline = time.monotonic() + 60
    while len(workers := _workers(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(workers) == 2, process.communicate()[1]
    process.kill()
    process.communicate(timeout=30)  # stderr's end: no worker holds it any more
    deadline = time.monotonic() + 30
    while (left := [w for w in workers if Path(f"/proc/{w}").exists()]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert left == []


def _french(folder: Path) -> str:
    """60,000 French records of two paragraphs, written in `folder`: a run of some seconds."""
    sentence = (
        "Le port a rouvert lundi après la tempête qui a endommagé la jetée et le vieux phare."
    )
    data = folder / "d.jsonl"
    with data.open("w", encoding="utf-8") as handle:
        for i in range(60_000):
            text = f"{sentence} Notice n° {i}.\n\n{sentence}"
            handle.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    return str(data)


def _started(*args: str, **environment: str) -> subprocess.Popen[bytes]:
    """`dedup ARGS` started, its standard error piped, with `environment` added to ours."""
    return subprocess.Popen(
        [sys.executable, "-m", "dedup", *args],
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_ctrl_c_in_a_terminal_stops_the_workers_too(name: str, code: int, tmp_path: Path) -> None:
    # A terminal sends SIGINT (SIGHUP once closed) to the whole process group, systemd
    # SIGTERM to every process of a service: workers included.
    data = tmp_path / "d.jsonl"
    with data.open("w") as handle:
        for i in range(60_000):
            handle.write(json.dumps({"id": i, "text": f"{PARAGRAPH} Record {i}."}) + "\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "dedup", "scan", str(data), "--jobs", "2", "--unit", "document"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    time.sleep(2.5)
    os.killpg(process.pid, getattr(signal, name))
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert (b"interrupted" if code == 130 else name.encode()) in err
    assert b"Traceback" not in err


def _workers(pid: int) -> list[int]:
    """The worker processes of a dedup run (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return found


def _writing(pids: list[int], seconds: float) -> int | None:
    """The first of `pids` seen blocked writing to a pipe or socket, if the kernel says.

    /proc/PID/wchan names the kernel function a sleeping process waits in, or reads "0"
    when it is running or when the kernel does not tell; after 2 s of nothing but "0"
    this gives up.
    """
    start = time.monotonic()
    named = False
    while time.monotonic() - start < (seconds if named else 2):
        for pid in pids:
            try:
                waits_on = Path(f"/proc/{pid}/wchan").read_text()
            except OSError:
                continue
            if waits_on.endswith("pipe_write") or waits_on.startswith("sock_alloc_send"):
                return pid
            named = named or waits_on not in ("", "0")
    return None


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM])
def test_a_worker_killed_mid_run_stops_the_run_with_its_own_exit_code(
    tmp_path: Path, kill: signal.Signals
) -> None:
    # The kernel's out-of-memory killer ends a worker with SIGKILL: the run must say so
    # and stop, not wait for ever for the batch that worker had.
    data = tmp_path / "d.jsonl"
    with data.open("w") as handle:
        for i in range(60_000):
            handle.write(json.dumps({"id": i, "text": f"{PARAGRAPH} Record {i}."}) + "\n")
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "dedup", "clean", str(data), "--jobs", "2", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while len(workers := _workers(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2, workers
    # The hard moment is a worker killed halfway through sending its answer: the run
    # must not wait for the rest of it. Where the kernel says what a process waits on,
    # kill a worker while it is blocked writing to its pipe or socket; else after 2 s.
    victim = _writing(workers, seconds=20) or workers[0]
    os.kill(victim, kill)
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        for worker in _workers(process.pid):
            os.kill(worker, signal.SIGKILL)
        process.kill()
        raise
    assert process.returncode == 3, err
    assert b"a worker process was killed" in err and kill.name.encode() in err
    assert b"--jobs" in err
    assert b"Traceback" not in err
    assert not out.exists()  # nothing half-written


def _peak_rss(*args: str) -> int:
    """Peak RSS in KiB of `dedup ARGS` in a fresh process tree."""
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run([sys.executable, '-m', 'dedup', *sys.argv[1:]], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, check=True)
    return int(done.stdout)


def test_memory_grows_with_units_not_with_corpus_bytes(tmp_path: Path) -> None:
    # 400 and then 800 documents of about 100 KB each (40 and 80 MB): the corpus is
    # streamed in batches of bounded size, so the second run holds 400 more units, not
    # 40 MB more text. Holding the corpus whole would show as +40 MB or more.
    rng = random.Random(2)
    words = ["".join(rng.choices("bcdfghklmnprstvz", k=6)) for _ in range(50_000)]
    for name, count in (("half", 400), ("whole", 800)):
        with (tmp_path / f"{name}.jsonl").open("w") as handle:
            for number in range(count):
                text = " ".join(rng.choices(words, k=15_000))
                handle.write(json.dumps({"id": number, "text": text}) + "\n")
    half = _peak_rss("scan", str(tmp_path / "half.jsonl"), "--unit", "document", "--jobs", "1")
    whole = _peak_rss("scan", str(tmp_path / "whole.jsonl"), "--unit", "document", "--jobs", "1")
    sizes = [(tmp_path / f"{name}.jsonl").stat().st_size // 1024 for name in ("half", "whole")]
    added_kib = sizes[1] - sizes[0]
    assert added_kib > 38_000
    print(f"peak RSS {half} KiB for 400 documents, {whole} KiB for 800 ({added_kib} KiB more)")
    assert whole - half < added_kib // 8, (half, whole, added_kib)


def test_a_full_disk_leaves_no_partial_file(tmp_path: Path) -> None:
    # A real 64 KiB tmpfs: the cleaned output does not fit.
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        rng = random.Random(3)
        words = ["".join(rng.choices("bcdfghklmnprstvz", k=6)) for _ in range(5000)]
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "big.txt").write_text(
            "\n\n".join(" ".join(rng.choices(words, k=40)) + "." for _ in range(600))
        )
        (disk / "big.txt").write_text("the previous output")
        done = dedup("clean", str(tmp_path / "in"), "--out", str(disk))
        assert done.returncode == 2
        assert b"big.txt: cannot write: No space left on device" in done.stderr
        assert [p.name for p in disk.iterdir()] == ["big.txt"]
        assert (disk / "big.txt").read_text() == "the previous output"
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_nothing_is_loaded_with_pickle_or_eval() -> None:
    # Reports and inputs are parsed as JSON or text only.
    import ast

    package = Path(__file__).resolve().parent.parent / "dedup"
    for module in package.rglob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not {"pickle", "marshal", "shelve", "dill"} & set(names), module
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec"), module


@pytest.mark.parametrize("change", ["appended", "rewritten"])
def test_an_input_changed_while_the_run_reads_it_is_named_and_nothing_is_written(
    change: str, tmp_path: Path
) -> None:
    # A crawler appends to the JSONL file a run cleans, or an editor saves it anew: the
    # run read it once to fingerprint it and reads it again to clean it, by places that no
    # longer hold what it read. Appended records were left out of the output without a
    # word; a rewritten file stopped the run with "invalid JSON" at a line that is valid.
    import importlib

    from dedup.config import Config
    from dedup.errors import InputError

    engine = importlib.import_module("dedup.engine.run")
    data = Path(_french(tmp_path))
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)[:2000]
    data.write_text("".join(lines), encoding="utf-8")

    def changing(stage: str, count: int) -> None:
        if stage != "documents read":  # told once every document is fingerprinted
            return
        if change == "appended":
            with data.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"id": "late", "text": "Une notice arrivée tard."}) + "\n")
        else:  # a record's text one word longer, the file written anew and renamed
            record = json.loads(lines[10])
            record["text"] = "Note : " + record["text"]
            new = tmp_path / "d.jsonl.new"
            new.write_text("".join([*lines[:10], json.dumps(record) + "\n", *lines[11:]]))
            new.replace(data)

    out = tmp_path / "out"
    with pytest.raises(InputError) as raised:
        engine.run([str(data)], Config().with_overrides({"jobs": 2}), out=out, progress=changing)
    assert raised.value.path == str(data)
    assert "changed while" in raised.value.message
    assert not out.exists() or list(out.iterdir()) == []
