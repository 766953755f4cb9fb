"""The children of a near duplicate that its survivor repeats (part of stage 4, resolve).

A section or document near another loses only the paragraphs the other repeats, a
paragraph only the sentences: what the survivor lacks (a sentence a repost adds) stays.
Workers take the links a batch at a time: `repeated_batch`.
"""

from __future__ import annotations

import bisect

from dedup.clean import gap
from dedup.config import Config
from dedup.coverage import coverage_many
from dedup.engine.places import Place, read_places
from dedup.facts import Stating, facts
from dedup.model import Level
from dedup.normalize import normalize_many
from dedup.segment import paragraphs, sentences

#: (member, survivor's document and span, member's document and span, the member's
#: paragraphs if known) of a link.
LinkPlace = tuple[int, Place, tuple[int, int], Place, tuple[int, int], list[tuple[int, int]] | None]
#: A child a near duplicate loses: its span, and the white space around it (see `clean.gap`).
Child = tuple[int, int, int, int, int, int]


def repeated_batch(
    items: list[LinkPlace], level: Level, config: Config
) -> list[tuple[int, list[Child] | None]]:
    """Children of near duplicates that their survivors repeat; None: the unit goes whole.
    The documents are read (see `repeated`)."""
    texts = read_places([place for item in items for place in (item[1], item[3])], config)
    return repeated(items, texts, level, config)


def repeated(
    items: list[LinkPlace],
    texts: list[str],
    level: Level,
    config: Config,
    norms: list[str] | None = None,
) -> list[tuple[int, list[Child] | None]]:
    """`repeated_batch` of documents read: `texts` holds each item's survivor's document
    then its member's; `norms`, if given, each item's survivor normalized.

    A survivor that several members repeat is normalized and shingled once.  A member's
    paragraphs come with it when the run has them, else they are found once a document.
    """
    paragraphs_of: dict[Place, list[tuple[int, int]]] = {}  # a document's, found once
    survivors: list[str] = []
    compact: list[str] = []  # each survivor normalized, without its spaces
    owner_of: dict[tuple[Place, tuple[int, int]], int] = {}  # survivor -> its number
    splits: list[tuple[int, str, list[tuple[int, int]]]] = []  # item, member's text, children
    pieces: list[str] = []  # the children's texts
    owners: list[int] = []
    out: list[tuple[int, list[Child] | None]] = [(item[0], None) for item in items]
    for i, (_, survivor, (ss, se), place, span, known) in enumerate(items):
        text = texts[2 * i + 1]
        if level == "paragraph":
            children = sentences(text, span)
        elif known is not None:
            children = known
        else:
            if place not in paragraphs_of:
                paragraphs_of[place] = paragraphs(text)
            paras = paragraphs_of[place]
            first = bisect.bisect_left(paras, (span[0], span[0]))
            last = bisect.bisect_right(paras, (span[1], span[1]), lo=first)
            children = [p for p in paras[first:last] if p[1] <= span[1]]
        if children == [span]:
            continue  # the unit is its only child: it goes whole
        owner = owner_of.setdefault((survivor, (ss, se)), len(survivors))
        if owner == len(survivors):
            survivors.append(texts[2 * i][ss:se])
            if norms is not None:  # as normalize_many(spaces=False) gives it
                compact.append(norms[i].replace(" ", ""))
        pieces += [text[cs:ce] for cs, ce in children]
        owners += [owner] * len(children)
        splits.append((i, text, children))
    if norms is None:
        compact = normalize_many(survivors, config.normalize, spaces=False)
    covered = _covered(pieces, owners, survivors, compact, config)
    # A paragraph of a near section or document that its survivor only nearly repeats
    # may hold a sentence the survivor lacks (a repost adds one, or rewrites one): its
    # sentences are weighed one by one, as at the paragraph level, so that it stays.
    places = [(i, child) for i, _, children in splits for child in children]
    finer: dict[int, list[tuple[int, int]]] = {}
    if level != "paragraph":
        for n, (i, child) in enumerate(places):
            if covered[n] == _NEARLY:
                parts = sentences(texts[2 * i + 1], child)
                if len(parts) > 1:
                    finer[n] = parts
    inside: dict[int, list[tuple[int, int]]] = {n: [] for n in finer}
    if finer:
        parts_of = [(n, part) for n, parts in finer.items() for part in parts]
        found = _covered(
            [texts[2 * places[n][0] + 1][ps:pe] for n, (ps, pe) in parts_of],
            [owners[n] for n, _ in parts_of],
            survivors,
            compact,
            config,
        )
        for (n, part), repeated in zip(parts_of, found, strict=True):
            if repeated:
                inside[n].append(part)
        for n, parts in finer.items():
            if inside[n] == parts:  # every sentence repeated: the paragraph goes whole
                inside[n] = [places[n][1]]
    n = 0
    for i, text, children in splits:
        cut: list[tuple[int, int]] = []
        for child in children:
            cut += inside[n] if n in inside else [child] if covered[n] else []
            n += 1
        out[i] = (items[i][0], [(cs, ce, *gap(text, cs, ce)) for cs, ce in cut])
    return out


#: What `_covered` says of a child its survivor repeats by k-grams, but not verbatim and
#: for less than _WHOLE of its k-grams: a sentence added to it may stay.
_NEARLY = 1
#: A child whose survivor has this share of its k-grams or more is repeated whole: a
#: sentence of eight words added to one of a hundred leaves it 0.93.
_WHOLE = 0.95


def _covered(
    pieces: list[str], owners: list[int], survivors: list[str], compact: list[str], config: Config
) -> list[int]:
    """Which child texts (`pieces`, raw) their survivors (`survivors`, raw; `compact`,
    normalized without spaces) repeat: 0 not, 1 (_NEARLY) by most of their k-grams, 2
    wholly.

    A short child that its survivor only nearly repeats, and that states a number, a
    month or a name the survivor lacks, is another post's templated line: it stays (#19).
    """
    m = config.minhash
    texts = normalize_many(pieces, config.normalize, spaces=False)
    shares = coverage_many(texts, owners, compact, m.char_shingle_size)
    out: list[int] = []
    stated: dict[int, Stating] = {}
    for piece, share, owner in zip(pieces, shares, owners, strict=True):
        if share < m.threshold:
            out.append(0)
        elif share == 1.0:  # verbatim, or every k-gram of it
            out.append(2)
        elif piece.count(" ") < 2 * m.char_below:
            mine = facts(piece)
            if not any(mine):  # states nothing: nothing the survivor lacks
                out.append(2)
                continue
            if owner not in stated:  # a whole document, maybe: read only where asked
                stated[owner] = Stating(survivors[owner])
            out.append(0 if stated[owner].lacks(mine) else 2)
        else:
            out.append(_NEARLY if share < _WHOLE else 2)
    return out
