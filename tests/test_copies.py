"""The run's copies of the texts, read back a span at a time (dedup/io/copies.py), and the
stages that read them: the same findings as reading the corpus again."""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import PAGES
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import Config
from dedup.engine.places import Docs
from dedup.engine.table import Table
from dedup.io import copies as copies_module
from dedup.io.copies import STEP, CopyReader, write_copies
from dedup.io.documents import InputFile
from dedup.report import build_report, render_json

# Any code point, lone surrogates included (a text read with surrogate escapes has them),
# astral ones, combining marks, no-break spaces: the texts a run may hold.
#: The engine's module (`dedup.engine.run` the package also names its function).
engine = importlib.import_module("dedup.engine.run")

_TEXTS = st.lists(st.text(alphabet=st.characters(), max_size=700), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(texts=_TEXTS, data=st.data())
def test_any_span_of_a_copied_text_reads_back_as_it_was(
    texts: list[str], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = str(tmp_path_factory.mktemp("copies") / "0")
    first = write_copies(path, texts[:2])
    places = first + write_copies(path, texts[2:])  # a second batch appends
    with CopyReader() as reader:
        for text, place in zip(texts, places, strict=True):
            copy = (path, place, len(text))
            assert reader.span(copy, 0, len(text)) == text
            start = data.draw(st.integers(0, len(text)))
            end = data.draw(st.integers(start, len(text)))
            assert reader.span(copy, start, end) == text[start:end]


def test_spans_across_and_at_the_marks(tmp_path: Path) -> None:
    text = "é’« »\u00a0ﬁ😀" * (3 * STEP // 7 + 5)  # past three marks, astral characters too
    ascii_text = "plain text " * 100
    path = str(tmp_path / "0")
    places = write_copies(path, [text, ascii_text, ""])
    assert places[1] & 1 and not places[0] & 1  # ASCII is read without marks
    with CopyReader() as reader:
        for start, end in [(0, 0), (STEP - 1, STEP + 1), (STEP, 2 * STEP), (5, len(text))]:
            assert reader.span((path, places[0], len(text)), start, end) == text[start:end]
        assert reader.span((path, places[1], len(ascii_text)), 7, 300) == ascii_text[7:300]
        assert reader.span((path, places[2], 0), 0, 0) == ""


def test_a_copy_written_to_after_a_read_reads_its_new_texts(tmp_path: Path) -> None:
    """A reader maps a file once; texts appended after its first read are read too."""
    path = str(tmp_path / "0")
    texts = ["Première page, écrite d’abord.", "plain", "Seconde page « ajoutée » après."]
    places = write_copies(path, texts[:2])
    with CopyReader() as reader:
        assert reader.span((path, places[0], len(texts[0])), 0, 8) == "Première"
        places += write_copies(path, texts[2:])
        for text, place in zip(texts, places, strict=True):
            assert reader.span((path, place, len(text)), 0, len(text)) == text


def test_a_truncated_copy_is_an_error_not_a_short_text(tmp_path: Path) -> None:
    path = tmp_path / "0"
    place = write_copies(str(path), ["é" * 1000])[0]
    path.write_bytes(path.read_bytes()[:500])
    with CopyReader() as reader, pytest.raises(OSError, match="bytes missing"):
        reader.span((str(path), place, 1000), 0, 1000)


def _scan(paths: list[str], config: Config) -> tuple[str, Table]:
    tables: list[Table] = []
    real = engine.Table

    def keep(*args: object, **kwargs: object) -> Table:
        table = real(*args, **kwargs)  # type: ignore[arg-type]
        tables.append(table)
        return table

    engine.Table = keep  # type: ignore[misc]
    try:
        result = engine.run(paths, config)
    finally:
        engine.Table = real  # type: ignore[misc]
    return render_json(build_report(result)), tables[0]


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_run_reads_units_from_the_copies_with_the_same_findings(
    jobs: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "pages.jsonl"
    with records.open("w", encoding="utf-8") as handle:
        for page in sorted(PAGES.iterdir()):
            handle.write(
                json.dumps({"id": f"r-{page.name}", "text": page.read_text("utf-8")}) + "\n"
            )
    config = Config().with_overrides({"jobs": jobs})
    with_copies, table = _scan([str(records), str(PAGES)], config)
    assert len(table.docs.copy) == len(table.docs)
    assert min(table.docs.copy) >= 0  # every text was copied
    # The same run with no copies made: every unit read from the corpus again.
    monkeypatch.setattr(copies_module, "write_copies", _refuse)
    monkeypatch.setattr("dedup.engine.fingerprint.write_copies", _refuse)
    monkeypatch.setattr("dedup.engine.places.CopyReader", _Refused)
    config = Config().with_overrides({"jobs": 1})  # the patches hold in this process only
    without, table = _scan([str(records), str(PAGES)], config)
    assert max(table.docs.copy) == -1
    assert with_copies == without


def _refuse(path: str, texts: list[str], keep_free: int = 0) -> list[int]:
    return [-1] * len(texts)


class _Refused(CopyReader):
    def span(self, copy: object, start: int, end: int) -> str:
        raise AssertionError("no copy was made: none is read")


def test_texts_that_cannot_be_copied_are_read_from_the_corpus(tmp_path: Path) -> None:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "0").mkdir()  # the copy file's name taken by a folder: no copy can be written
    assert write_copies(str(folder / "0"), ["é", "a"]) == [-1, -1]


def test_the_copies_go_with_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made: list[str] = []
    real = copies_module.copy_folder

    def noted(owner: object, corpus_bytes: int) -> copies_module.CopyFolder | None:
        folder = real(owner, corpus_bytes)
        assert folder is not None
        made.append(folder.path)
        return folder

    monkeypatch.setattr("dedup.engine.fingerprint.copy_folder", noted)
    engine.run([str(PAGES)], Config().with_overrides({"jobs": 2}))
    assert made and all(Path(folder).parent == tmp_path for folder in made)
    assert not any(Path(folder).exists() for folder in made)


def test_a_page_a_batch_names_often_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The children check names a large page twice a link: read each time, a batch of a
    # thousand links held a thousand copies of it (a 1 MB page took 2.5 GB).
    from dedup.engine.places import read_spans

    page = "é" * 300_000
    path = str(tmp_path / "0")
    place = (None, 0, 0, (path, write_copies(path, [page])[0], len(page)))
    reads: list[tuple[int, int]] = []
    real = CopyReader.span

    def counted(self: CopyReader, copy: copies_module.Copy, start: int, end: int) -> str:
        reads.append((start, end))
        return real(self, copy, start, end)

    monkeypatch.setattr(CopyReader, "span", counted)
    spans = [(place, 0, None)] * 500 + [(place, 5, 9)] * 500
    texts = read_spans(spans, Config())  # type: ignore[arg-type]
    assert sorted(reads) == [(0, len(page))]  # the span inside it: a slice of it
    assert texts[0] == page and texts[-1] == page[5:9]
    assert all(text is texts[0] for text in texts[:500])


def test_the_places_of_many_documents_are_read_at_once() -> None:
    files = [
        InputFile(Path("a.jsonl"), "a.jsonl", True, "a.jsonl"),
        InputFile(Path("b.txt"), "b", False, "b.txt"),
    ]
    docs = Docs(files)
    docs.copy_paths = {0: "/tmp/copy-0", 1: "/tmp/copy-1"}
    docs.add("x", 0, 1, 0, 10, 0, 4)
    docs.add("y", 0, 2, 40, 7, -1, -1)  # not copied
    docs.add("z", 1, 0, 0, 900, 1, 0)
    x = (files[0], 1, 0, ("/tmp/copy-0", 4, 10))
    y = (files[0], 2, 40, None)  # not copied
    z = (files[1], 0, 0, ("/tmp/copy-1", 0, 900))
    places = docs.places([2, 0, 1, 2, 0], files)
    assert places == [z, x, y, z, x]
    assert places[0] is places[3]  # a document named twice: one Place
    assert docs.places([], files) == []


def test_a_batch_reads_more_copy_files_than_a_process_may_hold_open(tmp_path: Path) -> None:
    # A corpus of 1 GB is a thousand chunks, each copied to a file of its own, and a batch
    # of 4,096 texts may name most of them: Linux lets a process hold 1,024 open by default.
    import os
    import resource

    from dedup.engine.places import read_spans

    files = 300
    texts = [f"Le texte n° {n}, copié à part : « {'é' * (n % 7)} »." for n in range(files)]
    places = [
        (None, 0, 0, (path, write_copies(path, [text])[0], len(text)))
        for path, text in ((str(tmp_path / str(n)), text) for n, text in enumerate(texts))
    ]
    # Each file named twice, far apart in the batch: a reader that opened each as it came
    # and held it would hold every one at once.
    spans = [(place, 3, None) for place in places] + [(place, 0, 8) for place in places]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (held + 100, hard))
    try:
        read = read_spans(spans, Config())  # type: ignore[arg-type]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert read == [text[3:] for text in texts] + [text[:8] for text in texts]
    assert len(os.listdir("/proc/self/fd")) == held  # every file closed after the batch


@pytest.mark.parametrize("native", [True, False])
def test_copies_leave_the_room_the_runs_other_files_need(
    native: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not native:
        monkeypatch.setattr(copies_module, "native", None)
    texts = ["Une page « en français », copiée.", "plain"]
    path = str(tmp_path / "0")
    free = shutil.disk_usage(tmp_path).free
    # Writing them would leave less free than asked (whatever the disk holds): none written.
    assert write_copies(path, texts, keep_free=free + 1) == [-1, -1]
    assert not Path(path).exists()
    places = write_copies(path, texts, keep_free=free // 4)  # room enough
    with CopyReader() as reader:
        for text, place in zip(texts, places, strict=True):
            assert reader.span((path, place, len(text)), 0, len(text)) == text


def test_a_runs_copies_leave_the_corpuss_size_free_and_half_the_room_there_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    owner = Table.__new__(Table)  # any object the folder goes with
    free = shutil.disk_usage(tmp_path).free
    folders = [copies_module.copy_folder(owner, size) for size in (1000, free + 1)]
    assert all(f is not None and Path(f.path).parent == tmp_path for f in folders)
    small, large = (f.keep_free for f in folders if f is not None)
    assert abs(small - free // 2) <= free // 100  # the disk moves meanwhile
    assert large == free + 1  # a corpus larger than the room: nothing is copied
    del owner
    assert not any(f is not None and Path(f.path).exists() for f in folders)
