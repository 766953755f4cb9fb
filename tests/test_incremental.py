"""The incremental check finds what a full check finds, edit after edit (#24).

A corpus of French pages (titles, paragraphs from the seed pages, a byline and a licence
notice on many of them, repeated paragraphs) goes through random edits: a page added,
changed, deleted or renamed; a paragraph repeated, edited, or appended new; the survivor
of an accepted duplicate removed.  After each edit the check with the index (the change
alone when it is closed, else a full check) must equal the check without it, finding for
finding, and the change alone must have been enough often.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup import engine
from dedup.check import Baseline, Checked, Finding, render_baseline
from dedup.cli import main
from dedup.config import Config
from dedup.io import stat

ROOT = Path(__file__).resolve().parent.parent
NOTICE = (
    "Ce document est publié sous licence Creative Commons\u00a0: vous pouvez le copier, "
    "le modifier et le redistribuer, à condition d’en citer l’auteur."
)
BYLINE = "Publié le 8 janvier 2023 par Claire Dubois"
#: The share and comment section a blog's every post ends with.
BLOCK = [
    "Partager\u00a0: Facebook · Twitter · LinkedIn · E-mail",
    "Laisser un commentaire",
    "Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués avec *",
]


def _sentences() -> list[str]:
    text = " ".join(
        page.read_text(encoding="utf-8")
        for page in sorted((ROOT / "fixtures/blog/pages").iterdir())
    )
    found = {s.strip() for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text))}
    return sorted(s for s in found if 40 <= len(s) <= 200 and not s.startswith(("#", "-", "*")))


class Corpus:
    def __init__(
        self, root: Path, rng: random.Random, titled: bool = False, blocked: bool = False
    ) -> None:
        """`titled`: half the pages' titles beside the blog's name or a topic; `blocked`:
        most pages end with the share and comment section (`BLOCK`)."""
        self.titled = titled
        self.blocked = blocked
        self.root = root
        self.pages = root / "pages"
        self.pages.mkdir()
        self.rng = rng
        self.pool = _sentences()
        self.made = 0

    def paragraph(self) -> str:
        """Sentences of the seed pages, their words shuffled: new text, French all the same."""
        sentences = []
        for sentence in self.rng.sample(self.pool, self.rng.randint(2, 4)):
            words = sentence.rstrip(".!?").split()
            self.rng.shuffle(words)
            sentences.append(" ".join(words) + ".")
        return " ".join(sentences)

    def page(self) -> str:
        heading = f"# Titre de la page {self.made}"
        if self.titled and self.rng.random() < 0.5:
            # a title beside the blog's name or a topic, in either order
            title = " ".join(self.paragraph().split()[:4]).rstrip(".")
            heading = self.rng.choice(
                [
                    f"{title} | Le Carnet de Marc",
                    f"Le Carnet de Marc | {title}",
                    f"Dossier : {title}",
                ]
            )
        parts = [heading, BYLINE if self.rng.random() < 0.6 else ""]
        parts += [self.paragraph() for _ in range(self.rng.randint(3, 6))]
        if self.rng.random() < 0.4:
            parts.append(NOTICE)
        if self.blocked and self.rng.random() < 0.7:
            parts += BLOCK
        self.made += 1
        return "\n\n".join(p for p in parts if p) + "\n"

    def files(self) -> list[Path]:
        return sorted(self.pages.iterdir())

    def paragraphs(self, path: Path) -> list[str]:
        return path.read_text(encoding="utf-8").rstrip("\n").split("\n\n")

    def write(self, path: Path, parts: list[str]) -> None:
        path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")

    def add(self) -> None:
        self.write(self.pages / f"p{self.rng.randrange(10**6):06d}.md", [self.page().rstrip()])

    def edit(self) -> str:
        files = self.files()
        if len(files) < 3:
            self.add()
            return "add"
        path = self.rng.choice(files)
        parts = self.paragraphs(path)
        kind = self.rng.choice(
            [
                "append",
                "append",
                "append",
                "repeat",
                "typo",
                "delete_para",
                "swap",
                "delete_page",
                "rename",
                "add",
                "add_copy",
                "notice",
                *(["title"] if self.titled else []),
                *(["block", "unblock"] if self.blocked else []),
            ]
        )
        if kind == "append":
            parts.append(self.paragraph())
        elif kind == "repeat":  # a paragraph of another page pasted in
            other = self.paragraphs(self.rng.choice(files))
            parts.insert(self.rng.randint(1, len(parts)), self.rng.choice(other))
        elif kind == "typo":
            i = self.rng.randrange(len(parts))
            words = parts[i].split(" ")
            j = self.rng.randrange(len(words))
            words[j] = words[j][::-1]
            parts[i] = " ".join(words)
        elif kind == "delete_para" and len(parts) > 1:
            del parts[self.rng.randrange(len(parts))]
        elif kind == "swap" and len(parts) > 2:
            i, j = self.rng.sample(range(1, len(parts)), 2)
            parts[i], parts[j] = parts[j], parts[i]
        elif kind == "delete_page":
            path.unlink()
            return kind
        elif kind == "rename":
            path.rename(self.pages / f"r{self.rng.randrange(10**6):06d}.md")
            return kind
        elif kind == "add":
            self.add()
            return kind
        elif kind == "add_copy":
            (self.pages / f"c{self.rng.randrange(10**6):06d}.md").write_bytes(path.read_bytes())
            return kind
        elif kind == "title":  # the title of another page printed again, alone
            heading = self.paragraphs(self.rng.choice(files))[0]
            parts.append(heading.split(" | ")[-1 if heading.startswith("Le Carnet") else 0])
        elif kind == "notice":
            parts.append(NOTICE)
        elif kind == "block":
            parts += BLOCK
        elif kind == "unblock" and parts[-len(BLOCK) :] == BLOCK:
            del parts[-len(BLOCK) :]
        self.write(path, parts)
        return kind


class Told(logging.Handler):
    """What the incremental check says it did."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def told() -> Iterator[Told]:
    logger = logging.getLogger("dedup.engine.incremental")
    level = logger.level
    handler = Told()
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize(
    ("unit", "seed", "least", "titled", "blocked"),
    [
        ("paragraph", 1, 10, False, False),
        ("all", 2, 10, False, False),
        ("paragraph", 3, 10, False, False),
        ("paragraph", 4, 10, True, False),
        ("all", 5, 10, True, False),
        ("all", 6, 5, False, True),
    ],
)
def test_incremental_equals_full_over_random_edits(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    told: Told,
    unit: str,
    seed: int,
    least: int,
    titled: bool,
    blocked: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(seed), titled, blocked)
    for _ in range(12):
        corpus.add()
    config = Config().with_overrides({"unit": unit, "jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    baseline = _accepting(engine.check(["pages"], config, None).new)
    alone = 0
    settled = 0
    for step in range(60):
        kind = corpus.edit()
        if os.stat(corpus.pages).st_mtime_ns != settled:  # an entry added, removed, renamed
            # changed long ago: the folder's listing is kept, and taken while it stands
            settled = time.time_ns() - (3600 - step) * 10**9
            os.utime(corpus.pages, ns=(settled, settled))
        if step % 20 == 10:  # the duplicates there are now accepted
            baseline = _accepting(engine.check(["pages"], config, None).new)
        told.messages.clear()
        found = engine.check(["pages"], config, index, baseline)
        assert found == engine.check(["pages"], config, None, baseline), (step, kind)
        alone += any("changed files alone" in m for m in told.messages)
    # Many edits touch only private text (a new paragraph, a typo, paragraphs swapped).
    assert alone >= least, alone


def _accepting(found: list[Finding]) -> Baseline:
    return Baseline("baseline", render_baseline(found).encode())


def test_incremental_check_keeps_the_baseline_accounting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Duplicates accepted by the baseline stay accepted, a new one is reported, through
    the command line, and the removal of an accepted duplicate's survivor is seen."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(7))
    for _ in range(8):
        corpus.add()
    (tmp_path / "setup.cfg").write_text("[dedup]\npaths = pages\nunit = paragraph\n")
    files = corpus.files()
    repeated = corpus.paragraphs(files[0])[2]
    corpus.write(files[3], [*corpus.paragraphs(files[3]), repeated])
    runner = CliRunner()
    assert runner.invoke(main, ["baseline"]).exit_code == 0
    first = runner.invoke(main, ["check"])
    assert first.exit_code == 0, first.output
    corpus.write(files[5], [*corpus.paragraphs(files[5]), corpus.paragraph()])  # private
    assert runner.invoke(main, ["check"]).exit_code == 0
    corpus.write(files[6], [*corpus.paragraphs(files[6]), repeated])  # one copy more
    new = runner.invoke(main, ["check"])
    assert new.exit_code == 1
    assert f"{files[6].relative_to(tmp_path)}:" in new.stdout
    assert new.stdout == runner.invoke(main, ["check", "--no-index"]).stdout
    files[0].unlink()  # the survivor gone: the copy in files[3] is its own survivor now
    after = runner.invoke(main, ["check"])
    assert after.stdout == runner.invoke(main, ["check", "--no-index"]).stdout


def _corpus_checked(root: Path, seed: int = 11) -> tuple[Corpus, Config, Path]:
    corpus = Corpus(root, random.Random(seed))
    for _ in range(10):
        corpus.add()
    config = Config().with_overrides({"unit": "paragraph", "jobs": 1})
    index = root / ".dedup" / "index.sqlite"
    engine.check(["pages"], config, index)  # a full check: stores its findings
    return corpus, config, index


def test_postings_lost_or_damaged_mean_a_full_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus, config, index = _corpus_checked(tmp_path)
    for number, postings in enumerate(sorted(index.parent.glob("*.npy"))):
        if number == 0:
            postings.unlink()
        else:
            postings.write_bytes(b"not an array")
    page = corpus.files()[2]
    corpus.write(page, [*corpus.paragraphs(page), corpus.paragraph()])
    assert engine.check(["pages"], config, index) == engine.check(["pages"], config, None)
    assert any("the postings cannot be read" in m for m in told.messages), told.messages


def test_a_locked_index_means_a_full_check_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus, config, index = _corpus_checked(tmp_path)
    files = corpus.files()
    corpus.write(files[4], [*corpus.paragraphs(files[4]), corpus.paragraphs(files[1])[2]])
    monkeypatch.setattr("dedup.io.store.BUSY_SECONDS", 0.2)
    holder = sqlite3.connect(index)
    holder.execute("BEGIN EXCLUSIVE")  # another run writing, for longer than we wait
    try:
        found = engine.check(["pages"], config, index)
    finally:
        holder.rollback()
        holder.close()
    assert found == engine.check(["pages"], config, None)
    assert found.new, "the repeated paragraph is found"
    assert index.exists() and any(index.parent.glob("*.npy")), "the index was left alone"


def test_two_checks_at_once_agree(tmp_path: Path) -> None:
    """Checks at once after a change that the changed files tell (each may write the
    index), then after one that needs a full check: each prints what a check without the
    index prints, and so does the next one."""
    corpus = Corpus(tmp_path, random.Random(5))
    for _ in range(30):
        corpus.add()
    (tmp_path / "setup.cfg").write_text("[dedup]\npaths = pages\nunit = paragraph\n")
    dedup = [sys.executable, "-m", "dedup", "check"]
    subprocess.run(dedup, cwd=tmp_path, capture_output=True, check=False)
    files = corpus.files()
    for page in files[3:6]:
        corpus.write(page, [*corpus.paragraphs(page), corpus.paragraph()])
    _at_once(dedup, tmp_path, 0)
    for round, page in enumerate(files[8:11]):  # a paragraph repeated, twice more
        corpus.write(page, [*corpus.paragraphs(page), corpus.paragraphs(files[round])[2]])
        _at_once(dedup, tmp_path, 1)


def _at_once(dedup: list[str], root: Path, code: int) -> None:
    runs = [
        subprocess.Popen(dedup, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    plain = subprocess.run([*dedup, "--no-index"], cwd=root, capture_output=True, text=True)
    assert plain.returncode == code, plain.stderr
    for (out, err), run in zip(outputs, runs, strict=True):
        assert run.returncode == code, err
        assert out.decode() == plain.stdout
    again = subprocess.run(dedup, cwd=root, capture_output=True, text=True)
    assert again.stdout == plain.stdout


def test_files_statted_in_two_processes_are_statted_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = []
    for number in range(7):
        path = tmp_path / f"f{number}.md"
        path.write_text("é" * number)
        os.utime(path, ns=(10**18 + number, 10**18 + 7 * number))
        paths.append(str(path))
    monkeypatch.setattr(stat, "APART", 2)
    expected = [[2 * n, 10**18 + 7 * n] for n in range(7)]
    assert stat.stat_all(paths).tolist() == expected
    with stat.Ahead(paths) as ahead:  # the child's half taken
        assert ahead.stamps(paths).tolist() == expected
    with stat.Ahead(paths[1:]) as ahead:  # other paths: the child's half left
        assert ahead.stamps(paths).tolist() == expected


def test_a_paragraph_pasted_into_a_later_page_is_checked_from_that_page_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told
) -> None:
    """The duplicate a hook exists to catch: an exact copy of an earlier page's paragraph,
    then the copy taken away again, each found from the changed page alone."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(13))
    for _ in range(8):
        corpus.add()
    config = Config().with_overrides({"unit": "paragraph", "jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    engine.check(["pages"], config, index)
    first, last = corpus.files()[0], corpus.files()[-1]
    before = corpus.paragraphs(last)
    pasted = corpus.paragraphs(first)[2]
    for parts in ([*before[:2], pasted, *before[2:]], before):  # pasted, then taken away
        corpus.write(last, parts)
        told.messages.clear()
        found = engine.check(["pages"], config, index)
        assert found == engine.check(["pages"], config, None)
        assert len(told.messages) == 1, told.messages
        assert told.messages[0].startswith("checked 1 changed files alone")
        copies = [f for f in found.new if f.fingerprint and f.path.endswith(last.name)]
        assert len(copies) == (parts is not before)


def test_the_baseline_is_accounted_for_the_change_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told
) -> None:
    """Many accepted duplicates elsewhere: a check after a page changed reads the stored
    findings of that page only, and still tells what a full check tells; a baseline edited
    by hand is accounted again, without a full check."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(17))
    for _ in range(12):
        corpus.add()
    files = corpus.files()
    first = [corpus.paragraphs(page) for page in files]
    for number, page in enumerate(files[1:], 1):  # two paragraphs of two other pages
        repeated = [first[number - 1][1], first[(number + 5) % len(files)][2]]
        corpus.write(page, [*first[number][:2], *repeated, *first[number][2:]])
    corpus.add()
    (alone,) = set(corpus.files()) - set(files)  # a page of its own text
    config = Config().with_overrides({"unit": "paragraph", "jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    everything = engine.check(["pages"], config, index).new
    assert len(everything) >= 10
    baseline = _accepting(everything)
    assert engine.check(["pages"], config, index, baseline) == Checked([], len(everything))
    corpus.write(alone, [*corpus.paragraphs(alone), corpus.paragraph()])
    told.messages.clear()
    found = engine.check(["pages"], config, index, baseline)
    assert found == engine.check(["pages"], config, None, baseline) == Checked([], len(everything))
    assert told.messages == ["checked 1 changed files alone (0 stored findings read)"]
    page = files[5]  # accepted duplicates of its own: their findings are read
    corpus.write(page, [*corpus.paragraphs(page), corpus.paragraph()])
    told.messages.clear()
    found = engine.check(["pages"], config, index, baseline)
    assert found == engine.check(["pages"], config, None, baseline)
    read = re.fullmatch(
        r"checked 1 changed files alone \((\d+) stored findings read\)", told.messages[0]
    )
    assert read is not None and 0 < int(read[1]) < len(everything) / 2, told.messages
    lines = baseline.data.decode().splitlines()
    edited = Baseline("baseline", "\n".join(lines[:1] + lines[2:]).encode())  # one entry less
    told.messages.clear()
    found = engine.check(["pages"], config, index, edited)
    assert found == engine.check(["pages"], config, None, edited)
    assert len(found.new) == 1
    assert not any("whole corpus" in m for m in told.messages), told.messages


def test_a_file_changed_again_within_the_clock_tick_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page rewritten with the same size and its mtime put back to what the last check
    saw (as a write within the same tick of the file system's clock leaves it) is read
    again, when that check saw it just after it changed."""
    monkeypatch.chdir(tmp_path)
    corpus, config, index = _corpus_checked(tmp_path)
    files = corpus.files()
    page = files[3]
    parts = corpus.paragraphs(page)
    repeated = corpus.paragraphs(files[0])[2]
    corpus.write(page, [*parts, repeated[::-1]])  # a private paragraph, just now
    seen = os.stat(page).st_mtime_ns
    assert engine.check(["pages"], config, index) == engine.check(["pages"], config, None)
    corpus.write(page, [*parts, repeated])  # the same size: a copy of an earlier paragraph
    os.utime(page, ns=(seen, seen))
    found = engine.check(["pages"], config, index)
    assert found == engine.check(["pages"], config, None)
    assert any(f.path.endswith(page.name) for f in found.new), "the copy is found"


def test_a_new_page_that_only_resembles_others_is_checked_from_that_page_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told
) -> None:
    """The usual new post: a byline templated like every other post's (another date: other
    facts) and paragraphs of its own are verified against the texts they share band keys
    with, and found related to none, from the new page alone; a near copy of a paragraph
    elsewhere is related, and is found by a full check."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(19))
    for number in range(10):
        byline = f"Publié le {number + 3} janvier 2023 par Claire Dubois"
        corpus.write(corpus.pages / f"p{number:02d}.md", [byline, corpus.paragraph()])
    config = Config().with_overrides({"unit": "paragraph", "jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    engine.check(["pages"], config, index)
    page = corpus.pages / "p20.md"
    corpus.write(page, ["Publié le 14 janvier 2023 par Claire Dubois", corpus.paragraph()])
    told.messages.clear()
    found = engine.check(["pages"], config, index)
    assert found == engine.check(["pages"], config, None)
    assert len(told.messages) == 1 and told.messages[0].startswith("checked 1 changed files alone")
    assert not found.new
    words = corpus.paragraphs(corpus.pages / "p03.md")[1].split(" ")
    words[len(words) // 2] = words[len(words) // 2][::-1]  # a typo
    corpus.write(page, [*corpus.paragraphs(page), " ".join(words)])
    told.messages.clear()
    found = engine.check(["pages"], config, index)
    assert found == engine.check(["pages"], config, None)
    assert any("resembles one outside" in m for m in told.messages), told.messages
    assert [f.path for f in found.new] == ["pages/p20.md"], found.new


def test_a_new_page_with_the_notice_every_page_carries_is_checked_from_that_page_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told
) -> None:
    """A text that files outside the change spread as far as boilerplate needs stays
    boilerplate whatever the change does: a page that adds it, or takes it away, is checked
    alone, and every copy is kept."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(23))
    for number in range(8):
        corpus.write(corpus.pages / f"p{number:02d}.md", [corpus.paragraph(), NOTICE])
    config = Config().with_overrides({"unit": "paragraph", "jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    engine.check(["pages"], config, index)
    for page, parts in (
        ("p20.md", [corpus.paragraph(), NOTICE]),  # a new page: the notice added
        ("p05.md", [corpus.paragraph()]),  # a page that takes it away
    ):
        corpus.write(corpus.pages / page, parts)
        told.messages.clear()
        found = engine.check(["pages"], config, index)
        assert found == engine.check(["pages"], config, None) == Checked([], 0)
        assert len(told.messages) == 1, told.messages
        assert told.messages[0].startswith("checked 1 changed files alone")


def test_a_new_post_ending_in_the_share_and_comment_section_is_checked_alone_at_every_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told
) -> None:
    """Read at every level, the share and comment block every post ends with is a section
    of its own, boilerplate over the files outside the change: a post that adds a copy of
    it, or takes one away, keeps every copy, and the block's paragraphs and sentences,
    inside it, are out of their levels' clusters.  A copy of the block's comment line
    elsewhere on the page is a full check, as before."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(31))
    block = BLOCK

    def post() -> list[str]:
        title = " ".join(corpus.paragraph().split()[:4]).rstrip(".,;:")
        return [title, corpus.paragraph(), corpus.paragraph(), *block]

    for number in range(8):
        corpus.write(corpus.pages / f"p{number:02d}.md", post())
    config = Config().with_overrides({"jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    engine.check(["pages"], config, index)
    for page, parts in (
        ("p20.md", post()),  # a new post
        ("p05.md", post()[:3]),  # a post that loses its block
        ("p21.md", [*post()[:3], "Laissez un mot, il sera lu.", *block]),  # a private line
    ):
        corpus.write(corpus.pages / page, parts)
        told.messages.clear()
        found = engine.check(["pages"], config, index)
        assert found == engine.check(["pages"], config, None), page
        assert len(told.messages) == 1, told.messages
        assert told.messages[0].startswith("checked 1 changed files alone"), told.messages
    corpus.write(corpus.pages / "p22.md", [*post()[:3], block[1], *block])
    told.messages.clear()
    found = engine.check(["pages"], config, index)
    assert found == engine.check(["pages"], config, None)
    assert any("whole corpus" in m for m in told.messages), told.messages


@pytest.mark.parametrize("order", ["{title} | {name}", "{name} | {title}"])
def test_a_new_post_titled_beside_the_blogs_name_is_checked_from_that_page_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told, order: str
) -> None:
    """`Titre | Le Carnet de Marc` (or the name first) on every post: the name stands
    beside every title, so a new post's title line, read with the counts of the last full
    check, is related to no other post's (each line's title was the blog's name, read the
    other way round), and the run over the new page alone reads its title as the whole
    corpus does.  The share bar every page ends with reads as two parts counted as often
    as each other, but a page that adds a copy of it counts neither once more."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(29))
    name = "Le Carnet de Marc"
    share = "Partager\u00a0: Facebook · Twitter · LinkedIn · E-mail"
    titles = [" ".join(corpus.paragraph().split()[:4]) for _ in range(11)]
    for number, title in enumerate(titles[:10]):
        line = order.format(title=title, name=name)
        corpus.write(corpus.pages / f"p{number:02d}.md", [line, corpus.paragraph(), share])
    config = Config().with_overrides({"unit": "paragraph", "jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    engine.check(["pages"], config, index)
    line = order.format(title=titles[10], name=name)
    corpus.write(corpus.pages / "p20.md", [line, corpus.paragraph(), share])
    told.messages.clear()
    found = engine.check(["pages"], config, index)
    assert found == engine.check(["pages"], config, None) == Checked([], 0)
    assert len(told.messages) == 1 and told.messages[0].startswith("checked 1 changed files alone")


def test_a_label_counted_nearly_as_often_as_its_title_means_a_full_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: Told
) -> None:
    """Two posts under `Dossier : …`: one more moves which part is the label as surely
    as the title, so the check is a full one."""
    monkeypatch.chdir(tmp_path)
    corpus = Corpus(tmp_path, random.Random(31))
    titles = [" ".join(corpus.paragraph().split()[:4]) for _ in range(3)]
    for number, title in enumerate(titles[:2]):
        corpus.write(corpus.pages / f"p{number:02d}.md", [f"Dossier : {title}", corpus.paragraph()])
    config = Config().with_overrides({"jobs": 1})
    index = tmp_path / ".dedup" / "index.sqlite"
    engine.check(["pages"], config, index)
    corpus.write(corpus.pages / "p20.md", [f"Dossier : {titles[2]}", corpus.paragraph()])
    told.messages.clear()
    found = engine.check(["pages"], config, index)
    assert found == engine.check(["pages"], config, None)
    assert any("counted nearly as often" in m for m in told.messages), told.messages
