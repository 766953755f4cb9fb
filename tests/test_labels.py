"""A labelled title ("Titre | Blog", "Blog | Titre", "Dossier : Titre"): which part is the
label is told by repetition across the corpus, the label standing beside many titles."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_relations import _posts, _scan

from dedup.config import NormalizeConfig
from dedup.titles import (
    META,
    Counted,
    Parts,
    Reading,
    holding,
    holds,
    normalized,
    part_counts,
    readings,
)

TITLES = [
    "Gestion des signaux sous Linux",
    "Comprendre les permissions de fichiers",
    "Le planificateur cron expliqué",
    "Écrire un script shell robuste",
    "Les sockets réseau en pratique",
    "Bien utiliser la commande find",
]


def _titles(text: str) -> list[str]:
    return [reading.title for reading in readings(text)]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *" |•·»:/-–—[]«\u00a0\t",
                *(" : ", ": ", " :", " - ", " — ", " / ", " | ", "[Tuto] "),
                *("Gestion des signaux", "Le Blog de Sophie", "Prozessverfolgung", "peut-être"),
                *("10:30", "5 min", "Titre"),
            ]
        ),
        max_size=8,
    ).map("".join)
)
@example("Gestion des signaux / Le Blog de Sophie")
@example("Gestion des signaux — Le Blog de Sophie")
@example("Le Blog de Sophie | Gestion des signaux")
@example("Dossier : Gestion des signaux")
@example("Dossier: Gestion des signaux")
@example("[Tuto] Gestion des signaux")
def test_the_text_without_a_separator_is_not_read_further(text: str) -> None:
    """The search that spares most sentences the reading finds every text with one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("dedup.titles._ANY_SEPARATOR", re.compile(""))  # every text read
        patch.setattr("dedup.titles._SEPARATOR", re.compile(""))
        every = readings(text)
    assert readings(text) == every


def test_readings_name_each_part_as_title_and_as_label_the_usual_order_first() -> None:
    assert readings("Threads menace Twitter | Le Blog de Sophie") == [
        Reading("Threads menace Twitter", "Le Blog de Sophie", True),
        Reading("Le Blog de Sophie", "Threads menace Twitter", False),
    ]
    assert readings("Dossier : Désactiver les sons système") == [
        Reading("Désactiver les sons système", "Dossier", True)
    ]
    assert _titles("Threads menace Twitter – Pages libres") == [
        "Threads menace Twitter",
        "Pages libres",
    ]
    assert readings("Elon Musk insulte les annonceurs") == []
    # a byline's reading time is a fact, not a label; a label is a few words at most
    assert readings("Publié le 8 janvier 2023 par Claire Dubois · 5 min de lecture") == []
    assert _titles("Titre | un long texte qui continue bien plus loin que tout label") == [
        "un long texte qui continue bien plus loin que tout label"
    ]
    # a label in square brackets, before the title or after it, is one as written
    assert readings("[Tuto] Désactiver les sons système") == [
        Reading("Désactiver les sons système", None, True)
    ]
    assert _titles("Désactiver les sons système [MAJ]") == ["Désactiver les sons système"]
    assert _titles("[Vidéo] Threads menace Twitter | Le Blog de Sophie") == [
        "[Vidéo] Threads menace Twitter",
        "Le Blog de Sophie",
        "Threads menace Twitter | Le Blog de Sophie",
        "Threads menace Twitter",
        "Le Blog de Sophie",
    ]
    # fields in a row are no title beside a label
    assert readings("Commandes utilisateur — page 12 — publié le 8 mai 2023") == []
    # a reference or a number in brackets is no label; one word is no title
    assert readings("Voir la page de manuel [1]") == []
    assert readings("[Tuto] Désactiver") == []
    assert readings("a[i] = b[j] pour tout i") == []
    # options in brackets, one after another, are a synopsis, not a label and a title
    assert readings("[--environment-size=SIZE] [--labels=[KEY=VALUE,...]]") == []
    assert readings("[--labels=[KEY=VALUE,...]] [--async]") == []
    # a French quote's » closes it, and a label holds a word: no title in a quoted term
    assert readings("Créer des fichiers «\u00a0.changes\u00a0».") == []
    assert readings("Accueil » Blog de Marc") == [Reading("Blog de Marc", "Accueil", False)]
    assert _titles("Le «\u00a0diff\u00a0» | Le Carnet") == ["Le «\u00a0diff\u00a0»", "Le Carnet"]


def test_a_reading_holds_when_its_label_is_the_part_more_repeated() -> None:
    usual = Parts("titre", 1, 2, True)
    other = Parts("blog", 2, 1, False)
    # the corpus unknown, every reading holds; counted as often, the usual order
    assert holds(usual, None) and holds(other, None)
    assert holds(usual, Counted({})) and not holds(other, Counted({}))
    assert holds(usual, Counted({1: 2, 2: 2})) and not holds(other, Counted({1: 2, 2: 2}))
    # the part beside more titles is the label, whichever side it stands on
    assert holds(usual, Counted({2: 3})) and not holds(other, Counted({2: 3}))
    assert not holds(usual, Counted({1: 3})) and holds(other, Counted({1: 3}))
    # a label in brackets is one as written
    assert holds(Parts("titre", 1, 0, True), Counted({1: 9}))
    # many at once, as the table weighs them: the same answers
    meta = np.array([[1, 2, 1], [2, 1, 0], [1, 0, 1], [3, 4, 1], [4, 3, 0]], dtype=np.uint64)
    for counts in ({}, {1: 3}, {2: 3}, {1: 2, 2: 2}, {3: 5, 4: 5}):
        one_by_one = [_holds(*map(int, row), counts) for row in meta]
        assert holding(meta, Counted(counts)).tolist() == one_by_one


def _holds(title: int, label: int, usual: int, counts: dict[int, int]) -> bool:
    """The rule, written out: the label is the part counted more (or, counted as often,
    the parts stand in the usual order); a label in brackets always holds."""
    if not label:
        return True
    a, b = counts.get(title, 1), counts.get(label, 1)
    return b > a or (b == a and bool(usual))


def test_parts_are_counted_once_a_labelled_text() -> None:
    texts = ["Le Blog de Sophie | Titre un", "Le Blog de Sophie | Titre deux", "Titre un | Autre"]
    found = normalized(texts, NormalizeConfig())
    owners = np.array([k for k, _ in found], dtype=np.int64)
    meta = np.array(
        [(p.title_key, p.label_key, p.usual) for _, p in found], dtype=np.uint64
    ).reshape(-1, META)
    counts = part_counts(np.concatenate((owners, owners)), np.concatenate((meta, meta)))
    keys = {p.title: p.title_key for _, p in found}
    assert counts == {keys["le blog de sophie"]: 2, keys["titre un"]: 2}


def _removed(report: dict) -> list[str]:  # type: ignore[type-arg]
    """The lines removed (every unit here is a line)."""
    return sorted(
        line.strip()
        for d in report["documents"]
        for text in d["removed_text"]
        for line in text.splitlines()
        if line.strip()
    )


@pytest.mark.parametrize("pages", [2, 3, 6])
def test_a_site_name_before_every_title_is_its_label(tmp_path: Path, pages: int) -> None:
    """A page header `Le Blog de Sophie` and page titles `Le Blog de Sophie | <title>`:
    the site's name stands beside every title, so it is the label and the title the part
    after it.  The header is no title of any page, and no title line is its copy (each
    was removed: the part before the bar, read as the title, was the header)."""
    posts = _posts(random.Random(11), pages)
    texts = [
        f"Le Blog de Sophie\n\nLe Blog de Sophie | {title}\n\n{post}"
        for title, post in zip(TITLES, posts, strict=False)
    ]
    report = _scan(tmp_path, texts)
    removed = _removed(report)
    assert not [text for text in removed if "|" in text], report["clusters"]
    # the header printed again is removed, or kept as boilerplate on five pages or more
    assert removed == ([] if pages >= 5 else ["Le Blog de Sophie"] * (pages - 1))


@pytest.mark.parametrize(
    ("page", "headers"),
    [
        # the site's name first: each title after it is the title
        ("Le Blog de Sophie | {title}", 0),
        # the usual order, with the site's name as a page header too: the headers are
        # the only copies on the posts' pages
        ("Le Blog de Sophie\n\n{title} | Le Blog de Sophie", 2),
    ],
)
def test_a_title_beside_a_site_name_printed_again_is_a_copy(
    tmp_path: Path, page: str, headers: int
) -> None:
    """Each post's page prints its title beside the site's name, before it or after it,
    and an archive page lists the titles again: each is a copy of the title beside the
    site's name."""
    posts = _posts(random.Random(12 if not headers else 13), 4)
    pages = [
        page.format(title=title) + f"\n\n{post}"
        for title, post in zip(TITLES[:3], posts, strict=False)
    ]
    archive = "\n\n".join([*TITLES[:3], posts[3]])
    report = _scan(tmp_path, [*pages, archive])
    expected = sorted([*TITLES[:3], *["Le Blog de Sophie"] * headers])
    assert _removed(report) == expected, report["clusters"]


def test_a_title_under_two_labels_is_still_the_title(tmp_path: Path) -> None:
    """A title printed under a topic and under the site's name, each label beside other
    titles too: the title is the part each label stands beside, so printed under the other
    label or alone, it is a copy."""
    posts = _posts(random.Random(14), 5)
    texts = [
        f"{TITLES[0]} | Le Blog de Sophie\n\n{posts[0]}",
        f"{TITLES[1]} | Le Blog de Sophie\n\n{posts[1]}",
        f"Dossier : {TITLES[0]}\n\n{posts[2]}",
        f"Dossier : {TITLES[2]}\n\n{posts[3]}",
        f"{TITLES[0]}\n\n{posts[4]}",
    ]
    report = _scan(tmp_path, texts)
    assert _removed(report) == sorted([f"Dossier : {TITLES[0]}", TITLES[0]]), report["clusters"]


def test_a_title_printed_alone_with_a_typo_is_a_copy_of_the_labelled_one(tmp_path: Path) -> None:
    """A short title's typo changes most of its character 5-grams, so it is no candidate by
    them: the title inside a labelled line has the deletion keys a line of its own has."""
    posts = _posts(random.Random(15), 6)
    titles = ["Gestion des signaux", "Tubes et files", "Cron expliqué"]
    typos = ["Gestion des sigaux", "Tubes et flies", "Cron expliué"]
    labelled = [
        f"{title} | Le Blog de Sophie\n\n{post}" for title, post in zip(titles, posts, strict=False)
    ]
    alone = [f"{typo}\n\n{post}" for typo, post in zip(typos, posts[3:], strict=True)]
    report = _scan(tmp_path, labelled + alone)
    assert _removed(report) == sorted(typos), report["clusters"]


def test_a_label_that_names_someone_does_not_make_the_title_another(tmp_path: Path) -> None:
    """`Titre | Notes de Paul` states a name the title alone does not, and short lines
    that state other facts are other lines: the title inside states none, so the title
    printed alone (with a typo, too) is its copy.  Bylines that differ by their author
    stay, labelled or not."""
    posts = _posts(random.Random(16), 6)
    texts = [
        f"Ein einfaches Programm zur Lüftersteuerung | Notizen von Paul\n\n{posts[0]}",
        f"Gestion des signaux sous Linux | Notizen von Paul\n\n{posts[1]}",
        f"Ein einfaches Pogramm zur Lüftersteuerung\n\n{posts[2]}",
        f"Par Claire Dubois | 8 janvier 2023\n\n{posts[3]}",
        f"Par Marc Lefèvre | 8 janvier 2023\n\n{posts[4]}",
        f"Par Claire Dubois | 9 mars 2021\n\n{posts[5]}",
    ]
    report = _scan(tmp_path, texts)
    assert _removed(report) == ["Ein einfaches Pogramm zur Lüftersteuerung"], report["clusters"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(0, 5), st.booleans()), min_size=1, max_size=30
    ),
    st.dictionaries(st.integers(1, 5), st.integers(2, 6), max_size=5),
)
def test_readings_weighed_at_once_hold_as_one_by_one(
    rows: list[tuple[int, int, bool]], counts: dict[int, int]
) -> None:
    meta = np.array([(t, label, usual) for t, label, usual in rows], dtype=np.uint64)
    one_by_one = [_holds(t, label, usual, counts) for t, label, usual in rows]
    assert holding(meta, Counted(counts)).tolist() == one_by_one
    assert [holds(Parts("", t, label, usual), Counted(counts)) for t, label, usual in rows] == (
        one_by_one
    )


_WORDS = st.sampled_from(
    ["Titre", "Le", "Carnet", "de", "Marc", "Dossier", "2023", "[Tuto]", "été"]
)
_SEPARATORS = st.sampled_from([" | ", " : ", " – ", " · ", " ", " ", " — ", "/"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_WORDS, _SEPARATORS), min_size=1, max_size=10))
def test_a_reading_is_made_of_the_line_a_title_and_a_few_words_of_label(
    pieces: list[tuple[str, str]],
) -> None:
    text = "".join(word + separator for word, separator in pieces).strip()
    found = readings(text)
    for reading in found:
        assert reading.title and reading.title in text
        if reading.label is not None:
            assert reading.label in text
            assert 0 < len(reading.label.split()) <= 5
            assert not any(c.isdigit() for c in reading.label)
    # a title holds no separator of the kind it was split at: "A | B | C" is no title
    # "B | C" beside a label "A" (the label may hold one: a path of sections)
    if not any(mark in text for mark in ":–·—/["):
        assert all("|" not in reading.title for reading in found)
