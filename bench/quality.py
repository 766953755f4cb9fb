"""Removal precision and recall per kind of duplicate, on generated French blog archives.

    python bench/quality.py                          # default options, 24 sites, seed 1
    python bench/quality.py --sites 60 --seed 2 -- --unit paragraph --threshold 0.9
    python bench/quality.py --keep out/archive       # also keep corpus.jsonl and labels.jsonl

Builds blogs from real French prose (Debian's French manual pages, see frenchprose.py:
`apt-get install manpages-fr manpages-fr-dev`), runs `dedup scan` on them (options after
`--`), and scores the spans the report says are removed against labels made with the
corpus.  Each blog has

- article pages: a title, a byline ("Publié le 8 janvier 2023 par Claire Dubois · 5 min de
  lecture"), paragraphs taken in order from one manual page (one in seven posts ends a
  paragraph with a few words of its own: "Testé sous Debian.", "Merci Léa !"), a share bar
  and comment form;
  half the blogs print their name atop every page, and half print a title beside the
  blog's name (`Titre | Le Carnet`, or `Le Carnet | Titre`);
- tag archive pages, after the articles: every post's title printed twice (the second
  time exact, with the blog's name or a topic label added, before it or in square
  brackets, in capitals, or with a typo),
  its byline, and an excerpt (its first sentences) with "Lire la suite";
- reposts: a post again under its title (as it was, with a typo, or in capitals) and a new
  byline, its paragraphs as they were, with one or two typos, or with a sentence added;
  and a paragraph of an earlier post inside a longer one;
- whole pages crawled twice.

What must stay: every first occurrence; the bylines of other posts, which differ from each
other by a year, a day, a month or an author; paragraphs of other posts on the same topic (the next
paragraphs of the same manual page); a short title that is part of a longer title of
another post; the sentences a repost adds; the few words a post ends a paragraph with,
which other posts print too by chance.  The share bar and comment form repeat on every
page: boilerplate, not scored.

A labelled span counts as removed when half of its non-space characters lie in spans the
report removes.  Removal precision is over every labelled span removed; recall is given
per kind, and for what must stay the share removed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frenchprose import MANUALS, Page, manual_pages

from dedup.report import unpacked


@dataclass(frozen=True)
class Language:
    """The words a blog of one language is made of, and the manual pages of its prose."""

    first: str  # first names
    last: str
    months: str
    sites: str  # blog names, "|" between them
    labels: str
    boilerplate: tuple[str, ...]  # the lines every page ends with
    practice: str  # the title of a post's second half: "{name}" the manual page's
    byline: str  # "{day} {month} {year} {author} {minutes}"
    archive: str  # a tag page's heading: "{label} {number}"
    labelled: str  # a title with a label: "{label} {title}"
    more: str  # "Read more"
    shout: str  # what a title in capitals ends with
    asides: str  # a few words a post may end a paragraph with, "|" between them
    manuals: Path
    name_section: str  # the manual pages' section that holds their title


LANGUAGES = {
    "fr": Language(
        first="Claire Marc Sophie Julien Camille Thomas Léa Nicolas Chloé Hugo Inès Mathis Zoé "
        "Éric",
        last="Dubois Lefèvre Martin Bernard Durand Moreau Laurent Girard Rousseau Mercier Faure "
        "Roux",
        months="janvier février mars avril mai juin juillet août septembre octobre novembre "
        "décembre",
        sites="Le Carnet|Au fil du terminal|Chroniques système|Le Blog de {first}|Notes de {first}|"
        "L’Atelier Linux|Pages libres|Le Coin du shell",
        labels="Dossier|Tutoriel|Astuce|Guide|À lire|Pratique",
        boilerplate=(
            "Partager\u00a0: Facebook · Twitter · LinkedIn · E-mail",
            "Laisser un commentaire",
            "Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués "
            "avec *",
        ),
        practice="Comprendre {name} en pratique",
        byline="Publié le {day} {month} {year} par {author} · {minutes} min de lecture",
        archive="Archives de l’étiquette {label} {number}",
        labelled="{label} : {title}",
        more="Lire la suite",
        shout=" !",
        asides="Testé sous {distro}.|Merci {first} !|Mis à jour en {year}.|Vu sur {distro}.",
        manuals=MANUALS,
        name_section="NOM",
    ),
    # English web text: typographic quotes and apostrophes, dashes, a few accented names.
    "en": Language(
        first="Emma Liam Olivia Noah Ava James Sophia Lucas Mia Ethan Zoë Renée Noël José",
        last="Smith O’Brien Johnson Müller García Brown Davis Wilson Núñez Taylor Clarke Moore",
        months="January February March April May June July August September October November "
        "December",
        sites="The Notebook|Down the Terminal|System Chronicles|{first}’s Blog|Notes by {first}|"
        "The Linux Workshop|Free Pages|The Shell Corner",
        labels="Feature|Tutorial|Tip|Guide|Must read|Hands-on",
        boilerplate=(
            "Share: Facebook · Twitter · LinkedIn · Email",
            "Leave a comment",
            "Your email address will not be published. Required fields are marked *",
        ),
        practice="Understanding {name} in practice",
        byline="Posted on {month} {day}, {year} by {author} — {minutes} min read",
        archive="Posts tagged “{label} {number}”",
        labelled="{label}: {title}",
        more="Read more",
        shout="!",
        asides="Tested on {distro}.|Thanks, {first}!|Updated in {year}.|Works on {distro}.",
        manuals=Path("/usr/share/man"),
        name_section="NAME",
    ),
    # German web text: nouns in capitals (a dot after a day or an abbreviation is followed
    # by one), umlauts and ß, „low-high“ quotes (`apt-get install manpages-de`).
    "de": Language(
        first="Anna Lukas Marie Jonas Lena Felix Sophie Paul Jürgen Björn Käthe Günther Özlem "
        "Maximilian",
        last="Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schäfer Koch Groß "
        "Hoffmann",
        months="Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
        sites="Das Notizbuch|Im Terminal|Systemchroniken|{first}s Blog|Notizen von {first}|"
        "Die Linux-Werkstatt|Freie Seiten|Die Shell-Ecke",
        labels="Dossier|Anleitung|Tipp|Leitfaden|Lesenswert|Praxis",
        boilerplate=(
            "Teilen: Facebook · Twitter · LinkedIn · E-Mail",
            "Schreibe einen Kommentar",
            "Deine E-Mail-Adresse wird nicht veröffentlicht. Erforderliche Felder sind mit * "
            "markiert",
        ),
        practice="{name} in der Praxis verstehen",
        byline="Veröffentlicht am {day}. {month} {year} von {author} · {minutes} Min. Lesezeit",
        archive="Beiträge mit dem Schlagwort „{label} {number}“",
        labelled="{label}: {title}",
        more="Weiterlesen",
        shout="!",
        asides="Getestet unter {distro}.|Danke, {first}!|"
        "Aktualisiert {year}.|Läuft unter {distro}.",
        manuals=Path("/usr/share/man/de"),
        name_section="BEZEICHNUNG",
    ),
    # Spanish web text: months in lower case ("8 de enero de 2023"), ¿¡ before questions
    # and exclamations, «» quotes, ñ and accents (`apt-get install manpages-es`).
    "es": Language(
        first="Lucía José María Ángel Sofía Martín Begoña Íñigo Álvaro Inés Raúl Nuria Óscar Jesús",
        last="García Fernández López Martínez Sánchez Pérez Gómez Núñez Muñoz Jiménez Ruiz Díaz",
        months="enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
        "diciembre",
        sites="El Cuaderno|Desde la terminal|Crónicas del sistema|El blog de {first}|"
        "Notas de {first}|El Taller Linux|Páginas libres|El Rincón del shell",
        labels="Dossier|Tutorial|Truco|Guía|Para leer|Práctica",
        boilerplate=(
            "Compartir: Facebook · Twitter · LinkedIn · Correo",
            "Deja un comentario",
            "Tu dirección de correo electrónico no será publicada. Los campos obligatorios "
            "están marcados con *",
        ),
        practice="Entender {name} en la práctica",
        byline="Publicado el {day} de {month} de {year} por {author} · {minutes} min de lectura",
        archive="Entradas etiquetadas «{label} {number}»",
        labelled="{label}: {title}",
        more="Seguir leyendo",
        shout="!",
        asides="Probado en {distro}.|¡Gracias, {first}!|"
        "Actualizado en {year}.|Funciona en {distro}.",
        manuals=Path("/usr/share/man/es"),
        name_section="NOMBRE",
    ),
    # Polish web text: ł, ś, ż and the other letters past Latin-1, months as a date writes
    # them ("8 stycznia"), „low-high“ quotes (`apt-get install manpages-pl`).
    "pl": Language(
        first="Anna Piotr Katarzyna Łukasz Małgorzata Paweł Agnieszka Michał Zofia Krzysztof "
        "Ewa Tomasz Joanna Grzegorz",
        last="Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński "
        "Szymański Woźniak Dąbrowski Kozłowski",
        months="stycznia lutego marca kwietnia maja czerwca lipca sierpnia września "
        "października listopada grudnia",
        sites="Notatnik|W terminalu|Kroniki systemu|Blog {first}|Notatki {first}|"
        "Warsztat Linuksa|Wolne strony|Kącik powłoki",
        labels="Dossier|Poradnik|Wskazówka|Przewodnik|Warto przeczytać|Praktyka",
        boilerplate=(
            "Udostępnij: Facebook · Twitter · LinkedIn · E-mail",
            "Dodaj komentarz",
            "Twój adres e-mail nie zostanie opublikowany. Wymagane pola są oznaczone *",
        ),
        practice="{name} w praktyce",
        byline="Opublikowano {day} {month} {year} przez {author} · {minutes} min czytania",
        archive="Wpisy z tagiem „{label} {number}”",
        labelled="{label}: {title}",
        more="Czytaj dalej",
        shout="!",
        asides="Testowane na {distro}.|Dzięki, {first}!|"
        "Zaktualizowano w {year}.|Działa na {distro}.",
        manuals=Path("/usr/share/man/pl"),
        name_section="NAZWA",
    ),
    # Russian web text: Cyrillic, months as a date writes them ("8 января"), «» quotes
    # (`apt-get install manpages-ru`).
    "ru": Language(
        first="Анна Иван Мария Дмитрий Ольга Сергей Елена Алексей Наталья Михаил Юлия Андрей "
        "Ксения Павел",
        last="Иванов Смирнов Кузнецов Попов Соколов Лебедев Козлов Новиков Морозов Петров "
        "Волков Соловьёв",
        months="января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
        sites="Записная книжка|В терминале|Системные хроники|Блог {first}|Заметки {first}|"
        "Мастерская Linux|Свободные страницы|Уголок оболочки",
        labels="Статья|Руководство|Совет|Гид|Стоит прочесть|Практика",
        boilerplate=(
            "Поделиться: Facebook · Twitter · LinkedIn · E-mail",
            "Оставить комментарий",
            "Ваш адрес электронной почты не будет опубликован. Обязательные поля помечены *",
        ),
        practice="Разбираемся с {name} на практике",
        byline="Опубликовано {day} {month} {year} г., автор {author} · {minutes} мин чтения",
        archive="Записи с меткой «{label} {number}»",
        labelled="{label}: {title}",
        more="Читать далее",
        shout="!",
        asides="Проверено на {distro}.|Спасибо, {first}!|Обновлено в {year}.|Работает на {distro}.",
        manuals=Path("/usr/share/man/ru"),
        name_section="ИМЯ",
    ),
}
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÝĀ-ŽА-ЯЁ«„])")

REMOVE, KEEP, EITHER = "remove", "keep", "either"


@dataclass(frozen=True)
class Span:
    doc: str
    start: int
    end: int
    kind: str
    expect: str


class PageText:
    """A page built a paragraph at a time, each labelled."""

    def __init__(self, doc: str, header: str | None = None) -> None:
        """A page; `header`, if given, is its first line (a blog's name atop every page):
        boilerplate, or a copy of it."""
        self.doc = doc
        self.text = ""
        self.spans: list[Span] = []
        if header is not None:
            self.add(header, "blog's name atop its page", EITHER)

    def add(self, text: str, kind: str, expect: str) -> None:
        self.paragraph([(text, kind, expect)])

    def paragraph(self, parts: list[tuple[str, str, str]]) -> None:
        """A paragraph of labelled sentences, joined by a space."""
        if self.text:
            self.text += "\n\n"
        for n, (text, kind, expect) in enumerate(parts):
            if n:
                self.text += " "
            self.spans.append(
                Span(self.doc, len(self.text), len(self.text) + len(text), kind, expect)
            )
            self.text += text


@dataclass
class Post:
    site: int
    title: str
    byline: str
    paragraphs: list[str]
    page: str  # doc id of its article page


def sentences(paragraph: str) -> list[str]:
    return [s for s in SENTENCE.split(paragraph) if s]


def ends(paragraph: str) -> bool:
    """Whether a paragraph ends a sentence, so that a sentence can be added after it (one
    that ends in "les options suivantes :" introduces a list, not a sentence)."""
    return paragraph.rstrip().endswith((".", "!", "?", "…"))


def typo(text: str, count: int, rng: random.Random) -> str:
    """`text` with `count` typos in different words of four letters or more."""
    words = text.split(" ")
    where = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    for i in rng.sample(where, min(count, len(where))):
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        how = rng.randrange(3)
        if how == 0:
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # two letters swapped
        elif how == 1:
            w = w[:j] + w[j + 1 :]  # a letter dropped
        else:
            w = w[:j] + w[j] + w[j:]  # a letter doubled
        words[i] = w
    return " ".join(words)


def build(
    sites: int, seed: int, lang: Language = LANGUAGES["fr"]
) -> tuple[list[tuple[str, str]], list[Span]]:
    """The corpus (doc id, text) and its labels."""
    rng = random.Random(seed)
    pages: list[Page] = []
    titles: set[str] = set()
    # One page a title (csqrt and csqrtf are one text); English has thousands: what the
    # sites need (14 posts' pages at most, and a third more for the sentences reposts add).
    for page in manual_pages(lang.manuals, lang.name_section):
        if len(page.paragraphs) >= 6 and not {page.title.casefold(), page.name} & titles:
            titles |= {page.title.casefold(), page.name}
            pages.append(page)
            if len(pages) >= 20 * sites:
                break
    rng.shuffle(pages)
    # Sentences that reposts add: from pages no post uses, so that they are new text.
    spare_pages, pages = pages[: len(pages) // 4], pages[len(pages) // 4 :]
    used = {g for page in pages for p in page.paragraphs for g in _grams(p)}
    spare = [
        sentence
        for page in spare_pages
        for p in page.paragraphs
        for sentence in sentences(p)
        if len(sentence.split()) >= 8
        and ends(sentence)
        and sum(g in used for g in _grams(sentence)) * 5 < len(_grams(sentence))
    ]
    bylines: set[str] = set()
    docs: list[PageText] = []
    posts: list[Post] = []
    titles_used: list[str] = []
    for site in range(sites):
        if len(pages) < 8:
            raise SystemExit(f"the manual pages make {site} blogs at most, not {sites}")
        first = rng.choice(lang.first.split())
        name = rng.choice(lang.sites.split("|")).format(first=first)
        # How the blog prints a post's title on its page, and its name atop every page.
        order = rng.choice(("{title}", "{title}", "{title} | {name}", "{name} | {title}"))
        header = name if rng.random() < 0.5 else None
        authors = [
            f"{rng.choice(lang.first.split())} {rng.choice(lang.last.split())}" for _ in range(2)
        ]
        days = [(rng.randrange(1, 29), rng.choice(lang.months.split())) for _ in range(3)]
        days[1] = (days[0][0], days[1][1])  # a blog that posts on the same day of the month
        mine: list[Post] = []
        for number in range(rng.randrange(8, 14)):
            if not pages:
                break
            page = pages.pop()
            # Two posts from one manual page: paragraphs on the same topic, all different.
            halves = [
                page.paragraphs[: len(page.paragraphs) // 2],
                page.paragraphs[len(page.paragraphs) // 2 :],
            ]
            for half, paragraphs in enumerate(halves):
                # templated titles of other posts: "Comprendre ls en pratique", "... lsof ..."
                title = page.title if not half else lang.practice.format(name=page.name)
                kind = "original title"
                longer = [t for t in titles_used if len(t.split()) >= 6]
                # a short title inside a longer one, which is no other page's title
                inside = longer[rng.randrange(len(longer))] if longer else ""
                short = " ".join(inside.split()[-3:]).capitalize()
                if inside and rng.random() < 0.08 and short.casefold() not in titles:
                    titles_used.remove(inside)
                    titles.add(short.casefold())  # not made again from another title
                    title, kind = short, "short title inside a longer one"
                else:
                    titles_used.append(title)
                byline = _byline(lang, days, authors, bylines, rng)
                doc = PageText(f"{site:02d}/article-{number:02d}-{half}", header)
                if order != "{title}" and kind == "original title":
                    kind = "title beside the blog's name"
                doc.add(order.format(title=title, name=name), kind, KEEP)
                doc.add(byline, "byline of its post", KEEP)
                # A few words a paragraph may end with, which other posts print by chance.
                aside = rng.randrange(len(paragraphs[:5])) if rng.random() < 0.15 else -1
                for n, paragraph in enumerate(paragraphs[:5]):
                    kind = "same topic, other post" if half else "original paragraph"
                    if n == aside and ends(paragraph):
                        words = (paragraph, kind, KEEP), (_aside(lang, rng), ASIDE, KEEP)
                        doc.paragraph(list(words))
                    else:
                        doc.add(paragraph, kind, KEEP)
                for line in lang.boilerplate:
                    doc.add(line, "boilerplate", EITHER)
                docs.append(doc)
                mine.append(Post(site, title, byline, list(paragraphs[:5]), doc.doc))
        posts += mine
        labelled = order if order != "{title}" else "{title} | {name}"
        docs += _tag_pages(lang, site, labelled.replace("{name}", name), header, mine, rng)
        docs += _reposts(lang, site, header, mine, days, authors, bylines, spare, rng)
        for copied in rng.sample(mine, 1):  # a page crawled twice
            source = next(d for d in docs if d.doc == copied.page)
            again = PageText(f"{site:02d}/copy-of-{source.doc.split('/')[1]}")
            again.text = source.text
            again.spans = [
                Span(again.doc, s.start, s.end, "whole page repeated", REMOVE) for s in source.spans
            ]
            docs.append(again)
    return [(d.doc, d.text) for d in docs], [s for d in docs for s in d.spans]


#: A few words two posts print by chance ("Tested on Debian.", "Thanks, Emma!"): what
#: one post says is no copy of the other.
ASIDE = "a few words two posts share"
DISTROS = ["Debian", "Ubuntu", "Fedora", "Arch", "Mint", "Gentoo"]


def _aside(lang: Language, rng: random.Random) -> str:
    return rng.choice(lang.asides.split("|")).format(
        distro=rng.choice(DISTROS),
        first=rng.choice(lang.first.split()),
        year=rng.randrange(2012, 2025),
    )


def _grams(text: str) -> set[str]:
    words = re.findall(r"\w+", text.casefold())
    return {" ".join(words[i : i + 4]) for i in range(len(words) - 3)}


def _byline(
    lang: Language,
    days: list[tuple[int, str]],
    authors: list[str],
    seen: set[str],
    rng: random.Random,
) -> str:
    """A byline no other post has: few days and two authors, so that many differ by a year,
    and some by the month alone."""
    while True:
        day, month = rng.choice(days)
        byline = lang.byline.format(
            day=day,
            month=month,
            year=rng.randrange(2012, 2025),
            author=rng.choice(authors),
            minutes=rng.randrange(2, 15),
        )
        if byline not in seen:
            seen.add(byline)
            return byline


def _tag_pages(
    lang: Language,
    site: int,
    labelled: str,
    header: str | None,
    posts: list[Post],
    rng: random.Random,
) -> list[PageText]:
    """Tag pages; `labelled` is a title beside the blog's name, "{title}" its place."""
    out = []
    for tag in range(2):
        doc = PageText(f"{site:02d}/tag-{tag}", header)
        doc.add(
            lang.archive.format(label=rng.choice(lang.labels.split("|")).lower(), number=tag + 1),
            "tag page heading",
            EITHER,
        )
        for post in rng.sample(posts, max(2, len(posts) // 2)):
            doc.add(post.title, "title printed again", REMOVE)
            how = rng.randrange(4)
            if how == 0:
                doc.add(post.title, "title printed again", REMOVE)
            elif how == 1:
                topic = rng.choice(lang.labels.split("|"))
                label = rng.choice(
                    [
                        labelled.format(title=post.title),
                        lang.labelled.format(label=topic, title=post.title),
                        f"[{topic}] {post.title}",
                    ]
                )
                doc.add(label, "title with a label added", REMOVE)
            elif how == 2:
                doc.add(post.title.upper(), "title in capitals", REMOVE)
            else:
                doc.add(typo(post.title, 1, rng), "short unit with a typo", REMOVE)
            doc.add(post.byline, "byline printed again", REMOVE)
            lead = sentences(post.paragraphs[0])[:2]
            doc.add(" ".join(lead) + " […]", "excerpt of a paragraph", REMOVE)
            doc.add(lang.more, "boilerplate", EITHER)
        out.append(doc)
    return out


def _reposts(
    lang: Language,
    site: int,
    header: str | None,
    posts: list[Post],
    days: list[tuple[int, str]],
    authors: list[str],
    bylines: set[str],
    spare: list[str],
    rng: random.Random,
) -> list[PageText]:
    out = []
    for number, post in enumerate(rng.sample(posts, max(1, len(posts) // 3))):
        doc = PageText(f"{site:02d}/repost-{number:02d}", header)
        how = rng.randrange(3)
        if how == 0:
            doc.add(post.title, "title printed again", REMOVE)
        elif how == 1:
            doc.add(typo(post.title, 1, rng), "short unit with a typo", REMOVE)
        else:
            doc.add(post.title.upper() + lang.shout, "title in capitals", REMOVE)
        doc.add(_byline(lang, days, authors, bylines, rng), "byline of its post", KEEP)
        for paragraph in post.paragraphs:
            words = len(paragraph.split())
            how = rng.randrange(4)
            if how == 0:
                doc.add(paragraph, "paragraph repeated", REMOVE)
            elif how == 1:
                kind = (
                    "paragraph of 20-60 words with typos"
                    if words <= 60
                    else "long paragraph with typos"
                )
                doc.add(typo(paragraph, rng.randrange(1, 3), rng), kind, REMOVE)
            elif how == 2 and ends(paragraph):
                added = spare.pop()
                doc.paragraph(
                    [
                        (paragraph, "paragraph repeated, a sentence added", REMOVE),
                        (added, "sentence a repost adds", KEEP),
                    ]
                )
            elif how == 3 and words <= 60 and ends(paragraph):
                added = " ".join(spare.pop() for _ in range(3))
                doc.paragraph(
                    [
                        (paragraph, "paragraph inside a longer one", REMOVE),
                        (added, "sentence a repost adds", KEEP),
                    ]
                )
        for line in lang.boilerplate:
            doc.add(line, "boilerplate", EITHER)
        out.append(doc)
    return out


def removed_spans(report: dict) -> dict[str, list[tuple[int, int]]]:  # type: ignore[type-arg]
    documents = unpacked(report)["documents"]
    return {d["doc"]: [tuple(span) for span in d["removed"]] for d in documents}


def is_removed(span: Span, text: str, cuts: list[tuple[int, int]]) -> bool:
    chars = [i for i in range(span.start, span.end) if not text[i].isspace()]
    inside = sum(1 for i in chars if any(s <= i < e for s, e in cuts))
    return inside * 2 > len(chars)


def score(docs: list[tuple[str, str]], labels: list[Span], report: dict) -> list[str]:  # type: ignore[type-arg]
    texts = dict(docs)
    cuts = removed_spans(report)
    total: Counter[tuple[str, str]] = Counter()
    gone: Counter[tuple[str, str]] = Counter()
    for span in labels:
        total[span.expect, span.kind] += 1
        if is_removed(span, texts[span.doc], cuts.get(span.doc, [])):
            gone[span.expect, span.kind] += 1
    right = sum(n for (expect, _), n in gone.items() if expect == REMOVE)
    wrong = sum(n for (expect, _), n in gone.items() if expect == KEEP)
    wanted = sum(n for (expect, _), n in total.items() if expect == REMOVE)
    precision, recall = right / max(1, right + wrong), right / max(1, wanted)
    lines = [
        f"removal precision {precision:.4f}  recall {recall:.4f}"
        f"  ({right} of {wanted} duplicates removed, {wrong} spans removed that must stay)",
        "must go (recall):",
    ]
    for expect, title in ((REMOVE, "must go"), (KEEP, "must stay (share removed)")):
        if expect == KEEP:
            lines.append(title + ":")
        for (e, kind), n in sorted(total.items()):
            if e == expect:
                lines.append(f"  {kind:<40} {gone[e, kind] / n:7.4f}  ({gone[e, kind]} of {n})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="also write corpus.jsonl and labels.jsonl here")
    parser.add_argument(
        "--lang",
        choices=sorted(LANGUAGES),
        default="fr",
        help="the blogs' language (en: English, de: German)",
    )
    args, dedup_args = parser.parse_known_args()
    dedup_args = [a for a in dedup_args if a != "--"]
    docs, labels = build(args.sites, args.seed, LANGUAGES[args.lang])
    with tempfile.TemporaryDirectory(prefix="dedup-quality-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        corpus = folder / "corpus.jsonl"
        with corpus.open("w", encoding="utf-8") as out:
            for doc_id, text in docs:
                out.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
        with (folder / "labels.jsonl").open("w", encoding="utf-8") as out:
            for s in labels:
                out.write(json.dumps(s.__dict__, ensure_ascii=False) + "\n")
        report_path = Path(tmp) / "report.json"
        began = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dedup",
                "scan",
                str(corpus),
                "--format",
                "json",
                "--report",
                str(report_path),
                "-q",
                *dedup_args,
            ],
            check=False,
        )
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            return done.returncode
        report = json.loads(report_path.read_text(encoding="utf-8"))
    kinds = defaultdict(int)
    for s in labels:
        kinds[s.expect] += 1
    size = sum(len(t.encode("utf-8")) for _, t in docs)
    non_ascii = sum(any(ord(c) > 127 for c in t) for _, t in docs)
    print(
        f"corpus: {args.sites} blogs, {len(docs)} pages, {size / 1e6:.2f} MB, "
        f"{non_ascii} pages with non-ASCII text; {kinds[REMOVE]} spans must go, "
        f"{kinds[KEEP]} must stay "
        f"(dedup scan {' '.join(dedup_args) or '(defaults)'}: {seconds:.1f} s)"
    )
    print("\n".join(score(docs, labels, report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
