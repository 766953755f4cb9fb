"""Texts a change adds that resemble texts outside it only by LSH band keys, verified
exactly against them (see `dedup.engine.closed`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dedup.config import Config
from dedup.engine.entries import Changed, Unit, band_keys, levels_of, span_of
from dedup.engine.evidence import verify_texts
from dedup.index import reverse
from dedup.io.check_state import U64, Outside, level_key, text_key
from dedup.io.documents import InputFile, text_document
from dedup.io.store import Store
from dedup.titles import Counted

#: Texts outside a change, at most, that an added text is verified against before its
#: change is left to a full check (each is read from its file).
RESEMBLING_MAX = 64
#: Files outside, at most, searched for a text at a level of the one it meets.
HOLDERS_MAX = 16


@dataclass
class Resembling:
    """Texts added that resemble texts outside the change only by LSH band keys (no file
    outside holds the text itself): each is verified exactly against every text outside
    that shares one of its band keys, by the engine's own verification (read from its file
    as the engine reads it).  A text related to none of them is as good as private: no
    unit outside is related to it, so its clusters lie wholly inside the changed files.
    That is the usual new page: its byline or date line templated like every other post's
    (other facts: not duplicates), its paragraphs on the same topic as others."""

    outside: Outside
    store: Store
    config: Config
    file_of: Callable[[str], InputFile]  # a file outside, by key
    labels: Counted  # the counts of labelled titles' parts (see `titles`)
    verdicts: dict[bytes, bool] = dataclasses.field(default_factory=dict)

    def unrelated(self, change: Changed, digest: bytes, new: list[Unit]) -> bool:
        """Whether a text that `change` adds is related to no text outside it."""
        if digest not in self.verdicts:
            self.verdicts[digest] = self._unrelated(change, digest, new)
        return self.verdicts[digest]

    def _unrelated(self, change: Changed, digest: bytes, new: list[Unit]) -> bool:
        unit = next((u for u in new if u.digest == digest), None)
        if unit is None or change.new is None or change.file is None:
            return False  # taken away: its text cannot be read any more
        text = text_key(digest)
        bands = band_keys(change.new, digest, self.labels)
        if bands is None or self.outside.holds(np.array([text], np.uint64))[0]:
            return False  # a copy of a text outside
        raw = text_document(change.file, self.config.input).text[unit.start : unit.end]
        return not self.meets(raw, bands, text, levels_of(change.new, digest))

    def meets(self, raw: str, bands: U64, text: int, levels: set[str]) -> bool:
        """Whether a text (its raw form, band keys, key, and the levels it is a unit of) is
        related to a text outside the change that shares one of its band keys and a level
        (each level compares its own texts), or may be: too many to verify, or one that
        cannot be read."""
        texts = [raw]
        for other in self.outside.neighbours(bands, text):
            # A file outside that holds it at one of these levels (none: held inside the
            # change only, which the run alone verifies, or a unit of other levels only,
            # never compared with this one: a paragraph of the block a section is).
            one = np.array([other], np.uint64)
            holders = itertools.chain.from_iterable(
                self.outside.holding_files(int(level_key(one, level)[0]))
                for level in sorted(levels)
            )
            for number, key in enumerate(holders):
                entry = self.store.entry(key)
                if entry is None or number == HOLDERS_MAX or len(texts) > RESEMBLING_MAX:
                    return True  # cannot tell
                span = span_of(entry, other, levels)
                if span is not None:
                    texts.append(self.read(key, span))
                    break
        pairs = [(0, n) for n in range(1, len(texts))] + [(n, 0) for n in range(1, len(texts))]
        threshold = self.config.minhash.threshold
        return any(
            found.relation is not None or reverse(found, threshold).relation is not None
            for found in verify_texts(texts, pairs, self.config, self.labels)
        )

    def read(self, key: str, span: tuple[int, int]) -> str:
        """A span of a file outside the change (by key), read as the engine reads it."""
        return text_document(self.file_of(key), self.config.input).text[span[0] : span[1]]
