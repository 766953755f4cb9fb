"""The distinct texts of a run, every level's at once, and their LSH band keys.

A unit that is a whole sentence, a paragraph, a section and a record is one text,
shingled and banded once (#27).  Band keys come from the workers a batch at a time
(`TextPrints`) and wait, past SPILL_BYTES, on disk (`dedup.io.spill`) until `freeze`
keeps each text's once, a key space's in one `Columns`, read a band at a time by the
candidates stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.columns import first_places, numbers_type
from dedup.fingerprint import I64, SPACES, U64
from dedup.io import spill
from dedup.io.spill import Columns, Spool, Stored
from dedup.order import unique_digests
from dedup.parallel import GiveBack, give_back_freed
from dedup.titles import META, TITLE_SPACES, Counted, holding, merged, part_counts

#: Where candidates come from: the LSH bands of each shingle space; "typo", one key a
#: row: the deletion keys of short units and the segment keys of medium ones (see
#: `prints.add_typo_keys`); and the character bands and deletion keys of the titles
#: inside labelled lines, which join the character and typo spaces where their reading
#: holds (see `prints.add_title_prints`).
KEY_SPACES = (*SPACES, "typo", *TITLE_SPACES)
#: The spaces of the batches each space of the table is made of.
_INTO = {
    name: (name, *(titled for titled, into in TITLE_SPACES.items() if into == name))
    for name in (*SPACES, "typo")
}


@dataclass
class TextPrints:
    """The LSH band keys of one batch's distinct texts, each once whatever the levels it
    is a unit of: exact keys (16 bytes a text), and per key space (text rows, band keys)."""

    digests: npt.NDArray[np.uint8]
    bands: dict[str, tuple[I64, U64]]


@dataclass
class Space:
    """The LSH band keys of one key space (char or word shingles, typo keys), a row per
    key: the text id of every row (see `Texts`) and its band keys.

    Only band keys are kept (8 bytes a band), not signatures: candidates are
    verified on exact shingle sets, so nothing else needs the signature.
    """

    keys: list[I64] = field(default_factory=list)  # text id of every row: one array, or none
    blocks: list[Columns] = field(default_factory=list)  # their band keys, on disk: one, or none


@dataclass
class Texts:
    """The distinct texts of every level, each once: a unit that is a whole sentence, a
    paragraph, a section and a record is one text, shingled and banded once (#27).

    Each level's keys map to them (`LevelTable.texts`).  `levels` has bit `li` set for
    the texts that are units of level `li`: a level's LSH candidates are those of its
    texts.
    """

    levels: npt.NDArray[np.uint8] = field(default_factory=lambda: np.empty(0, np.uint8))
    spaces: dict[str, Space] = field(default_factory=lambda: {s: Space() for s in KEY_SPACES})
    blocks: list[TextPrints] = field(default_factory=list)  # as batches come, until `freeze`
    # Their band keys, per space (text rows, keys), on disk past SPILL_BYTES.
    batch_bands: list[dict[str, tuple[I64, U64 | Stored]]] = field(default_factory=list)
    spool: Spool = field(default_factory=Spool)
    held: int = 0  # bytes of band keys in memory
    #: In how many labelled texts each part of their titles is, of those in two or more
    #: (see `titles`): known at `freeze`; before it, those of the whole corpus when the
    #: table holds a part of it (the incremental check), which no count falls below.
    labels: dict[int, int] = field(default_factory=dict)

    def add(self, prints: TextPrints) -> None:
        """Keep a batch's texts until `freeze`, their band keys on disk past SPILL_BYTES."""
        kept: dict[str, tuple[I64, U64 | Stored]] = {}
        for name, (rows, keys) in prints.bands.items():
            self.held += keys.nbytes
            kept[name] = rows, keys if self.held <= spill.SPILL_BYTES else self.spool.put(keys)
        prints.bands = {}
        self.blocks.append(prints)
        self.batch_bands.append(kept)

    def freeze(self, key_digests: list[npt.NDArray[np.void]]) -> list[I64]:
        """Number the distinct texts of the levels' keys (`key_digests`, a level's each, in
        the order of their exact keys; the list is emptied) and keep each text's band keys
        once, from the first batch that had it.  Returns each level's keys' texts."""
        blocks, self.blocks = self.blocks, []
        per_block, self.batch_bands = self.batch_bands, []
        starts = np.cumsum([0] + [len(block.digests) for block in blocks])
        every = np.concatenate([block.digests for block in blocks] or [np.empty((0, 16), np.uint8)])
        # The batches' texts are texts of the levels: numbered with them, they number none
        # of their own.  A level whose keys are the level above's (one-line records: the
        # same array) is numbered once: a million records' four levels sorted as one.
        held: dict[int, int] = {}  # id of a level's digests -> its place in `parts`
        place = [held.setdefault(id(mine), len(held)) for mine in key_digests]
        parts = [*{id(mine): mine for mine in key_digests}.values()]
        parts.append(np.ascontiguousarray(every).view("V16").ravel())
        key_digests.clear()
        bounds = np.cumsum([0] + [len(part) for part in parts]).tolist()
        digests = np.concatenate(parts)
        del parts, every
        first, inverse = unique_digests(digests)
        del digests
        self.levels = np.zeros(len(first), dtype=np.uint8)
        texts = [inverse[bounds[at] : bounds[at + 1]] for at in place]
        for li, mine in enumerate(texts):
            self.levels[mine] |= np.uint8(1 << li)
        ids = inverse[bounds[-2] :]
        fresh = np.zeros(len(ids), dtype=bool)  # a text's first row: the first batch's
        fresh[first_places(ids)] = True
        # Each space's rows copied straight into one array, a batch's after another's,
        # each batch's freed as it goes and given back now and then.
        kept = [
            {name: fresh[rows + start] for name, (rows, _) in bands.items()}
            for start, bands in zip(starts[:-1].tolist(), per_block, strict=True)
        ]
        self.labels = _held_titles(per_block, kept, ids, starts[:-1].tolist(), self.labels)
        for name in _INTO:
            total = sum(
                int(keep_of[given].sum())
                for keep_of in kept
                for given in _INTO[name]
                if given in keep_of
            )
            if not total:
                continue
            keys = np.empty(total, dtype=numbers_type(len(first)))
            self.spaces[name] = Space([keys], [Columns(total, _width(_INTO[name], per_block))])
        at = dict.fromkeys(KEY_SPACES, 0)
        giving = GiveBack()
        for start, spaces, keep_of in zip(starts[:-1].tolist(), per_block, kept, strict=True):
            for given, (rows, bands) in spaces.items():
                keep = keep_of[given]
                count = int(keep.sum())
                name = TITLE_SPACES.get(given, given)
                space = self.spaces[name]
                if count:
                    space.keys[0][at[name] : at[name] + count] = ids[rows[keep] + start]
                    if isinstance(bands, Stored):
                        bands = bands.read()
                    # a title's row, its parts' keys left out (see `titles`)
                    space.blocks[0].write(at[name], bands[keep, META if name != given else 0 :])
                at[name] += count
                if isinstance(bands, np.ndarray):
                    giving.freed(rows.nbytes + bands.nbytes)
            spaces.clear()
        self.spool.close()
        for titled in TITLE_SPACES:
            del self.spaces[titled]
        return texts

    def of_level(self, li: int, level_texts: I64) -> Iterator[tuple[str, I64, I64, I64]]:
        """Per key space, the level's keys that have band keys, in key order, their texts,
        and their rows in the space (see `bands`): what LSH over that level alone sees."""
        key_of = np.full(len(self.levels), -1, dtype=numbers_type(len(level_texts)))
        key_of[level_texts] = np.arange(len(level_texts))
        bit = np.uint8(1 << li)
        for name, space in self.spaces.items():
            texts = space.keys[0] if space.keys else np.empty(0, np.int64)
            rows = np.flatnonzero(self.levels[texts] & bit).astype(numbers_type(len(texts)))
            keys = key_of[texts[rows]]
            order = np.argsort(keys, kind="stable")
            rows = rows[order]
            del order
            keys.sort(kind="stable")
            yield name, keys, texts[rows], rows
            del keys, rows
            give_back_freed()  # the last space's arrays, before the next one's

    def bands(self, space: str) -> Columns | U64:
        """The band keys of every row of a key space (see `of_level` for a level's)."""
        blocks = self.spaces[space].blocks
        return blocks[0] if blocks else np.empty((0, 0), np.uint64)


def _width(given: tuple[str, ...], per_block: list[dict[str, tuple[I64, Any]]]) -> int:
    """The columns of the keys of a table's space, made of the batches' spaces `given`:
    the batches' own, or their titles' less their parts' keys."""
    for name in given:
        for bands in per_block:
            if name in bands:
                return int(bands[name][1].shape[-1]) - (META if name in TITLE_SPACES else 0)
    raise ValueError(f"no keys in spaces {given}")


def _held_titles(
    per_block: list[dict[str, tuple[I64, U64 | Stored]]],
    kept: list[dict[str, npt.NDArray[np.bool_]]],
    ids: I64,
    starts: list[int],
    prior: dict[int, int],
) -> dict[int, int]:
    """Count the parts of the labelled texts' readings (the batches' "title" rows that
    are kept), keep of the batches' title rows those whose reading holds, and return the
    counts (see `titles`).  The rows are read a batch at a time: a million labelled
    records have hundreds of MB of them."""

    def rows_of(bands: dict[str, tuple[I64, U64 | Stored]], titled: str) -> U64:
        keys = bands[titled][1]
        return keys.read() if isinstance(keys, Stored) else keys

    # Each batch's readings (their first META columns), read once for the counts and
    # kept for the "title" rows' verdicts.
    meta = [
        rows_of(bands, "title")[keep_of["title"], :META] if "title" in bands else None
        for bands, keep_of in zip(per_block, kept, strict=True)
    ]
    owners = [
        ids[bands["title"][0][keep_of["title"]] + start]
        for bands, keep_of, start in zip(per_block, kept, starts, strict=True)
        if "title" in bands
    ]
    if not owners:
        return prior
    counts = merged(
        part_counts(np.concatenate(owners), np.concatenate([m for m in meta if m is not None])),
        prior,
    )
    del owners
    counted = Counted(counts)
    for bands, keep_of, readings in zip(per_block, kept, meta, strict=True):
        for titled in TITLE_SPACES:
            if titled in bands:
                keep = keep_of[titled]
                if titled == "title" and readings is not None:
                    rows = readings
                else:
                    rows = rows_of(bands, titled)[keep, :META]
                keep[keep] = holding(rows, counted)
    return counts
