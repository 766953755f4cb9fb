from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
BLOG = FIXTURES / "blog"
PAGES = BLOG / "pages"

#: Words of French prose, for corpora a test builds.
FRENCH_WORDS = [
    "été",
    "fenêtre",
    "élève",
    "château",
    "forêt",
    "répertoire",
    "fichier",
    "système",
    "réseau",
    "mémoire",
    "noyau",
    "processus",
    "utilisateur",
    "commande",
    "paramètre",
    "sortie",
    "entrée",
    "valeur",
    "défaut",
    "option",
]


@pytest.fixture(scope="session")
def labels() -> list[dict[str, Any]]:
    lines = (BLOG / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def blog_sentences() -> list[str]:
    """The sentences of 40 to 300 characters on one line of the blog pages, sorted."""
    return sorted(
        {
            s.strip() + "."
            for p in sorted(PAGES.iterdir())
            for s in p.read_text(encoding="utf-8").split(".")
            if 40 < len(s.strip()) < 300 and "\n" not in s.strip()
        }
    )


def restore_cli(cleaned: Path, report: Path, out: Path) -> Any:
    """`dedup restore CLEANED --report REPORT --out OUT`, run in-process (a click Result)."""
    from click.testing import CliRunner

    from dedup.cli import main

    return CliRunner().invoke(
        main, ["restore", str(cleaned), "--report", str(report), "--out", str(out)]
    )


def verify(survivor: Any, member: Any, threshold: float, same_text: bool, few: bool = False) -> Any:
    """The evidence of a pair of sorted shingle-hash sets, as verification scores it
    (`same_text`: the normalized texts are identical, an exact copy)."""
    import dataclasses

    import numpy as np

    from dedup.index import scored_many, shared

    one = [np.array([n], np.int64) for n in (shared(survivor, member), len(survivor), len(member))]
    found = scored_many(*one, threshold, np.array([few]), np.array([False])).evidence()[0]
    return dataclasses.replace(found, relation="exact") if same_text else found


@contextlib.contextmanager
def said(name: str) -> Iterator[list[str]]:
    """The messages a logger gives at INFO (what --verbose shows) within the block."""
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def count_calls(
    monkeypatch: pytest.MonkeyPatch,
    modules: Sequence[Any],
    name: str,
    measure: Callable[[Any], int],
) -> list[int]:
    """Counts the calls of the function `name` of `modules[0]`, from wherever `modules`
    name it: `measure` of each call's first argument, in order."""
    counted: list[int] = []
    original = getattr(modules[0], name)

    def counting(first: Any, *args: Any, **kwargs: Any) -> Any:
        counted.append(measure(first))
        return original(first, *args, **kwargs)

    for module in modules:
        monkeypatch.setattr(module, name, counting)
    return counted


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One Spark session in `local[2]` for every test that asks (one takes 5-15 s to
    start), stopped at the end; the runs reuse it, as they would one that `spark-submit`
    made."""
    from dedup.spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they deselect
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The C loops' sanitized run (`test_native_memory`), if selected, starts now and runs
    beside the other tests; its test waits for it."""
    if any(item.name == "test_the_c_loops_under_sanitizers" for item in items):
        from test_native_memory import SanitizedRun

        config.sanitized_run = SanitizedRun()  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    run = getattr(config, "sanitized_run", None)
    if run is not None:
        run.stop()
