"""The C loops read and write only the memory they are given: their tests again (a default
run of the blog fixture among them), with the module built by gcc under AddressSanitizer and
UndefinedBehaviorSanitizer, any finding of which stops the process.  A one-byte write past
the normalization's output fails it, naming the line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _runtime(name: str) -> str | None:
    """The path of gcc's sanitizer runtime `name`, if gcc has it."""
    if shutil.which("gcc") is None:
        return None
    found = subprocess.run(
        ["gcc", f"-print-file-name={name}"], capture_output=True, text=True
    ).stdout.strip()
    return found if os.path.isabs(found) and os.path.exists(found) else None


class SanitizedRun:
    """The sanitized module built and its tests run in a thread, from when the suite is
    collected (`conftest.pytest_collection_modifyitems`) while the suite's other tests run:
    they mostly keep one of CI's two cores busy, and this run took 135 s on the other."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="dedup-sanitized-"))
        self.process: subprocess.Popen[str] | None = None
        self.output = ("", "")
        self.error: BaseException | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            env = _built(self.folder)
            if env is None or self.stopped:
                return
            tests = ["test_native.py", "test_normalize.py", "test_records.py"]
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"]
                + [str(ROOT / "tests" / name) for name in tests],
                env=env,
                cwd=self.folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.output = self.process.communicate()
        except BaseException as exc:  # raised by the test that reads it
            self.error = exc

    def result(self) -> tuple[int | None, str, str]:
        """Wait for the run: its exit code (None: it could not run here), output, errors."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        code = None if self.process is None else self.process.returncode
        return code, *self.output

    def stop(self) -> None:
        """The suite ends: a run not waited for (a test selection, -x) does not outlive it."""
        self.stopped = True
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self.thread.join(timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def _built(folder: Path) -> dict[str, str] | None:
    """The module built under the sanitizers in a copy of dedup under `folder`, and the
    environment that loads it; None without gcc's sanitizers on Linux."""
    runtimes = [_runtime("libasan.so"), _runtime("libubsan.so")]
    if sys.platform != "linux" or None in runtimes:
        return None
    tree = folder / "tree"
    shutil.copytree(ROOT / "dedup", tree / "dedup", ignore=shutil.ignore_patterns("*.so"))
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    flags += ["-fno-omit-frame-pointer", "-fPIC", "-shared"]
    flags += [f"-I{sysconfig.get_paths()['include']}"]
    flags += [str(path) for path in sorted((ROOT / "dedup/loops").glob("*.c"))]
    subprocess.run(["gcc", *flags, "-o", str(tree / "dedup" / f"_native{suffix}")], check=True)
    return {
        **os.environ,
        "LD_PRELOAD": " ".join(str(path) for path in runtimes if path),
        "ASAN_OPTIONS": "detect_leaks=0",  # Python itself is no ASan build
        "PYTHONPATH": str(tree),
        "DEDUP_NATIVE": "1",
        "CI": "true",  # so that test_native checks the sanitized module is the one loaded
        "DEDUP_NATIVE_FROM": str(tree / "dedup"),
    }


def test_the_c_loops_under_sanitizers(request: pytest.FixtureRequest) -> None:
    run: SanitizedRun | None = getattr(request.config, "sanitized_run", None)
    if run is None:  # collected some other way: run now
        run = request.config.sanitized_run = SanitizedRun()  # type: ignore[attr-defined]
    code, out, err = run.result()
    if code is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI has gcc with its sanitizers: this test must run there")
        pytest.skip("needs gcc with AddressSanitizer on Linux")
    assert code == 0, out[-3000:] + err[-3000:]
    assert "passed" in out and "skipped" not in out, out[-3000:]
