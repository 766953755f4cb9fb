"""Real French prose for the benchmarks: the paragraphs and titles of Debian's French manual
pages (`apt-get install manpages-fr manpages-fr-dev`), read from their roff source.

    from frenchprose import manual_pages
    for page in manual_pages():      # Page(name, title, paragraphs), in a stable order
        ...

The roff is reduced to the text a reader sees: fonts and escapes dropped, `\\ ` (the
unbreakable space French typography puts before `;:!?` and inside « ») kept as a no-break
space, typographic apostrophes and quotes kept as written.  Sections that repeat from page
to page (translation credits, licences, bug reporting, see also) are left out, and so is
any paragraph that shares more than a third of its word 3-grams with one kept before, so
that the pool holds no duplicates of its own.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MANUALS = Path("/usr/share/man/fr")

_SKIP_SECTIONS = {
    # English pages' (bench/quality.py --lang en)
    "NAME",
    "SEE ALSO",
    "AUTHOR",
    "AUTHORS",
    "REPORTING BUGS",
    "BUGS",
    "HISTORY",
    "LICENSE",
    "CONFORMING TO",
    "NOM",
    "SYNOPSIS",
    "TRADUCTION",
    "VOIR AUSSI",
    "COLOPHON",
    "AUTEUR",
    "AUTEURS",
    "COPYRIGHT",
    "LICENCE",
    "BOGUES",
    "SIGNALER DES BOGUES",
    "HISTORIQUE",
    "VERSIONS",
    "CONFORMITÉ",
    "STANDARDS",
}
_BREAKS = (".PP", ".P", ".LP", ".TP", ".IP", ".sp", ".br", ".RS", ".RE", ".nf", ".fi", ".in")
_ESCAPES = {
    r"\(aq": "'",
    r"\(cq": "’",
    r"\(oq": "‘",
    r"\(lq": "“",
    r"\(rq": "”",
    r"\(Fo": "«",
    r"\(Fc": "»",
    r"\(em": "—",
    r"\(en": "–",
    r"\(bu": "•",
    r"\(co": "©",
    r"\(dq": '"',
    r"\-": "-",
    r"\ ": "\u00a0",
    r"\~": "\u00a0",
    r"\e": "\\",
    r"\&": "",
    r"\,": "",
    r"\/": "",
    r"\:": "",
    r"\|": "",
    r"\^": "",
    r"\c": "",
}
_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
_OTHER = re.compile(r"\\(\(..|\*\(..|\*\[[^\]]*\]|\*.|\[[^\]]*\])")
_MACRO_TEXT = re.compile(r"^\.(B|I|BR|RB|IR|RI|BI|IB|SM|SB)\s+(.*)$")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Page:
    name: str
    title: str  # the one-line description of the NAME section
    paragraphs: tuple[str, ...]


def plain(line: str) -> str:
    """The text of one roff line, as a reader sees it."""
    line = _FONT.sub("", line)
    for escape, text in _ESCAPES.items():
        line = line.replace(escape, text)
    return _OTHER.sub("", line)


def _parse(source: str, name_section: str = "NOM") -> tuple[str, list[str]]:
    title = ""
    section = ""
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current and section not in _SKIP_SECTIONS and section != name_section:
            paragraphs.append(" ".join(" ".join(current).split(" ")).strip())
        current.clear()

    for raw in source.splitlines():
        if raw.startswith(('.\\"', "'\\\"", '.\\"')):
            continue
        if raw.startswith((".SH", ".SS")):
            flush()
            heading = plain(raw[3:]).strip().strip('"').upper()
            if raw.startswith(".SH"):
                section = heading
            continue
        if raw.startswith(_BREAKS) or raw.startswith(".TH"):
            flush()
            continue
        found = _MACRO_TEXT.match(raw)
        if found:
            text = plain(found.group(2)).replace('"', "")
        elif raw.startswith("."):
            continue
        else:
            text = plain(raw)
        if section == name_section and not title and " - " in text:
            title = text.split(" - ", 1)[1].strip()
        if text.strip():
            current.append(text.strip())
    flush()
    return title, paragraphs


def _prose(paragraph: str) -> bool:
    words = _WORD.findall(paragraph)
    if len(words) < 12:
        return False
    alphabetic = sum(w.isalpha() for w in words)
    return alphabetic >= 0.8 * len(words) and paragraph[:1].isupper()


def manual_pages(root: Path = MANUALS, name_section: str = "NOM") -> Iterator[Page]:
    """Every French manual page with prose, paragraphs of no more than a third of their
    word 3-grams in common with any paragraph yielded before.  Pages in another language
    name the section of their title (`NAME` in English)."""
    if not root.is_dir():
        raise SystemExit(f"{root}: no French manual pages; apt-get install manpages-fr")
    seen: set[str] = set()  # the word 3-grams of the paragraphs kept
    for path in sorted(root.glob("man*/*")):
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
                source = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
        if source.startswith(".so "):
            continue  # a link to another page
        title, paragraphs = _parse(source, name_section)
        kept = []
        for paragraph in paragraphs:
            if not _prose(paragraph):
                continue
            words = [w.casefold() for w in _WORD.findall(paragraph)]
            grams = {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
            if sum(g in seen for g in grams) * 3 > len(grams):
                continue
            seen |= grams
            kept.append(paragraph)
        if title and kept:
            yield Page(path.name.split(".")[0], title, tuple(kept))
