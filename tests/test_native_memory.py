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


def test_the_c_loops_under_sanitizers(tmp_path: Path) -> None:
    runtimes = [_runtime("libasan.so"), _runtime("libubsan.so")]
    if sys.platform != "linux" or None in runtimes:
        if os.environ.get("CI") == "true":
            pytest.fail("CI has gcc with its sanitizers: this test must run there")
        pytest.skip("needs gcc with AddressSanitizer on Linux")
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "dedup", tree / "dedup", ignore=shutil.ignore_patterns("*.so"))
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    flags += ["-fno-omit-frame-pointer", "-fPIC", "-shared"]
    flags += [f"-I{sysconfig.get_paths()['include']}"]
    flags += [str(path) for path in sorted((ROOT / "dedup/loops").glob("*.c"))]
    subprocess.run(["gcc", *flags, "-o", str(tree / "dedup" / f"_native{suffix}")], check=True)
    env = {
        **os.environ,
        "LD_PRELOAD": " ".join(str(path) for path in runtimes),
        "ASAN_OPTIONS": "detect_leaks=0",  # Python itself is no ASan build
        "PYTHONPATH": str(tree),
        "DEDUP_NATIVE": "1",
        "CI": "true",  # so that test_native checks the sanitized module is the one loaded
        "DEDUP_NATIVE_FROM": str(tree / "dedup"),
    }
    tests = ["test_native.py", "test_normalize.py", "test_records.py"]
    tests = [str(ROOT / "tests" / name) for name in tests]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *tests],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-3000:]
