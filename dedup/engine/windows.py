"""Word shingles taken once a document (#27): the word MinHash of every unit that is a run
of its document's finest units, from its document's word windows.

A unit's word shingles are the windows of k words inside it.  The batch's words, hashed
once in order, hold every unit's windows, so each unit's signature is the minimum over a
range of windows permuted once: a sentence's, its paragraph's, its section's and its
document's from one pass over the words, not one pass a level (the word shingles of the
units of 20,000 French documents are 2.2 times their words).  Bags, as
`batch_shingle_sets(bags=True)` makes them: the same signatures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dedup.config import MinHashConfig
from dedup.fingerprint import I64, U32, WORD_SALT, gram_keys, part_minima, run_minima
from dedup.tokens import word_hashes

_EMPTY = np.iinfo(np.uint32).max


class Words:
    """The words of a batch's finest units, in order, where runs of them need any."""

    def __init__(self, pieces: Sequence[str], runs: I64) -> None:
        """`pieces`: the normalized text of every finest unit; `runs`: [lo, hi) rows of
        them (hi <= lo: none)."""
        # Only the pieces inside a run: two runs apart meet no window between them.
        inside = _covered(runs[:, 0], runs[:, 1], len(pieces))
        filled, self.atoms, words = word_hashes(pieces, np.flatnonzero(inside).tolist())
        counts = np.zeros(len(pieces), dtype=np.int64)
        counts[filled] = words
        self.first = np.concatenate(([0], np.cumsum(counts)))  # each piece's first word

    def count(self, runs: I64) -> I64:
        """The words of each run."""
        counts: I64 = self.first[runs[:, 1]] - self.first[runs[:, 0]]
        return counts

    def signatures(self, runs: I64, config: MinHashConfig) -> U32:
        """The word MinHash signatures of runs of k words or more (rows, num_perm
        columns)."""
        k, num_perm = config.shingle_size, config.num_perm
        out = np.full((len(runs), num_perm), _EMPTY, dtype=np.uint32)
        if not len(runs):
            return out
        windows = len(self.atoms) - k + 1
        bounds = np.array([0, len(self.atoms)], dtype=np.int64)
        values = gram_keys(self.atoms, bounds, k, WORD_SALT, None, 0)[:windows]
        starts, ends = self.first[runs[:, 0]], self.first[runs[:, 1]] - k + 1
        if (starts[1:] >= ends[:-1]).all():  # runs one after another (documents): each
            # a part of its own, its windows gathered as one slice (finding the windows
            # some run holds, and cutting the runs into parts where they overlap, took a
            # third of signing 20,000 French pages: 0.43 -> 0.28 s).  Those between two
            # runs (of a page banded before, say) are left out, not permuted.
            held = np.concatenate(
                [values[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
            )
            cuts = np.concatenate(([0], np.cumsum(ends - starts)[:-1]))
            out[:] = part_minima(held.astype(np.uint32), cuts, num_perm, config.seed)[1].T
            return out
        kept = _covered(starts, ends, windows)  # only the windows some run has are permuted
        at = np.concatenate(([0], np.cumsum(kept)))  # each window's place among those kept
        starts, ends = at[starts], at[ends]
        total = int(at[-1])
        cut = np.zeros(total + 1, dtype=bool)  # where a run starts or ends: a part starts
        cut[starts] = True
        cut[ends] = True
        cuts, parts = part_minima(
            values[kept].astype(np.uint32), np.flatnonzero(cut[:total]), num_perm, config.seed
        )
        # Each run's parts, [head, head + count).
        heads = np.searchsorted(cuts, starts)
        counts = np.searchsorted(cuts, ends) - heads
        minima: U32 = run_minima(parts.T, heads, counts)
        return minima


def _covered(starts: I64, ends: I64, size: int) -> npt.NDArray[np.bool_]:
    """Which of `size` places lie in one of the ranges [starts, ends) (an empty one holds
    none)."""
    real = starts < ends
    bounds = np.bincount(starts[real], minlength=size + 1)
    bounds -= np.bincount(ends[real], minlength=size + 1)
    covered: npt.NDArray[np.bool_] = np.cumsum(bounds[:size]) > 0
    return covered
