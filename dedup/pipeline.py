"""The pipeline: input paths and a Config in, a Result (and cleaned documents) out.

This is the only place the stages meet.  The corpus is read in passes and never
held whole; what stays in memory is compact per-unit arrays (offsets, lines,
exact key ids) and one signature per distinct unit text:

1. read, segment, normalize and fingerprint every unit of every level;
2. find LSH candidates per level among distinct texts, then re-read only the
   documents holding a candidate to get its shingle set for verification;
3. resolve top down (document, section, paragraph, sentence): units inside a
   unit already removed take no further part; every duplicate is verified
   against its survivor;
4. re-read the documents with clusters to quote their units in the report;
5. `clean` re-reads every document once more and writes it without its cuts.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from dedup import __version__
from dedup.clean import Removal, clean, gap, merge, pieces
from dedup.cluster import Link, clusters
from dedup.config import Config
from dedup.fingerprint import SPACES, U32, exact_key, shingle_sets, signatures
from dedup.index import LshParams, candidate_pairs, covered, lsh_params, verify
from dedup.io.readers import Corpus, InputFile
from dedup.io.writers import check_output_dir, stream_documents, write_documents
from dedup.model import (
    LEVELS,
    REMOVING,
    Cluster,
    DocStats,
    Document,
    Evidence,
    Level,
    Member,
    Result,
    Segment,
    Source,
)
from dedup.normalize import normalize
from dedup.segment import LineIndex, paragraphs, sentences, spans

_SIGNATURE_BATCH = 2048
_COLUMNS = (
    "doc",
    "start",
    "end",
    "line",
    "end_line",
    "ws_before",
    "ws_after",
    "nl_before",
    "nl_after",
    "key",
)


@dataclass
class _Space:
    """The signatures of one shingle space (char or word) of one level, a row per key."""

    keys: list[int] = field(default_factory=list)  # key id of every row
    pending: list[U32] = field(default_factory=list)  # shingle sets awaiting signatures
    blocks: list[U32] = field(default_factory=list)
    candidates: int = 0

    def add(self, key: int, shingle_set: U32, config: Config) -> None:
        self.keys.append(key)
        self.pending.append(shingle_set)
        if len(self.pending) >= _SIGNATURE_BATCH:
            self.flush(config)

    def flush(self, config: Config) -> None:
        if self.pending:
            m = config.minhash
            self.blocks.append(signatures(self.pending, m.num_perm, m.seed))
            self.pending = []

    def signatures(self, num_perm: int) -> U32:
        blocks, self.blocks = self.blocks, []
        return np.concatenate(blocks) if blocks else np.empty((0, num_perm), dtype=np.uint32)


@dataclass
class _Level:
    """Compact per-unit arrays of one level, and its distinct texts (keys)."""

    name: Level
    columns: dict[str, list[int]] = field(default_factory=lambda: {c: [] for c in _COLUMNS})
    key_ids: dict[bytes, int] = field(default_factory=dict)
    key_unit: list[int] = field(default_factory=list)  # first unit of every key
    spaces: dict[str, _Space] = field(default_factory=lambda: {s: _Space() for s in SPACES})
    arrays: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    def freeze(self, config: Config) -> None:
        for space in self.spaces.values():
            space.flush(config)
        self.arrays = {
            name: np.asarray(values, dtype=np.int64) for name, values in self.columns.items()
        }
        self.columns = {}

    def __len__(self) -> int:
        return len(self.arrays["doc"]) if self.arrays else len(self.columns["doc"])


@dataclass
class _Doc:
    doc_id: str
    source: Source
    file: int
    chars: int


class _Run:
    """State of one analysis over one corpus."""

    def __init__(self, corpus: Corpus, config: Config) -> None:
        self.corpus = corpus
        self.config = config
        self.levels = [_Level(name) for name in LEVELS if name in config.segment.levels]
        self.docs: list[_Doc] = []
        self.file_index = {str(f.path): i for i, f in enumerate(corpus.files)}
        self.params = LshParams(1, 1)

    # pass 1 ----------------------------------------------------------------
    def fingerprint(self) -> None:
        cfg = self.config
        names = [level.name for level in self.levels]
        for doc in self.corpus:
            number = len(self.docs)
            self.docs.append(
                _Doc(doc.doc_id, doc.source, self.file_index[doc.source.path], len(doc.text))
            )
            found = spans(doc.text, names, cfg.segment)
            lines = LineIndex(doc.text)
            for level in self.levels:
                cols = level.columns
                for start, end in found[level.name]:
                    norm = normalize(doc.text[start:end], cfg.normalize)
                    key = -1
                    if len(norm) >= cfg.minhash.min_chars:
                        digest = exact_key(norm)
                        key = level.key_ids.setdefault(digest, len(level.key_ids))
                        if key == len(level.key_unit):
                            level.key_unit.append(len(cols["doc"]))
                            for space, shingle_set in shingle_sets(norm, cfg.minhash).items():
                                level.spaces[space].add(key, shingle_set, cfg)
                    row = (
                        number,
                        start,
                        end,
                        lines.line(start),
                        lines.line(max(start, end - 1)),
                        *gap(doc.text, start, end),
                        key,
                    )
                    for name, value in zip(_COLUMNS, row, strict=True):
                        cols[name].append(value)
        for level in self.levels:
            level.freeze(cfg)

    # pass 2 ----------------------------------------------------------------
    def candidates(self) -> tuple[list[dict[int, list[int]]], list[dict[int, dict[str, U32]]]]:
        """LSH neighbours per level and the shingle sets of every key that has one."""
        m = self.config.minhash
        self.params = lsh_params(m.threshold, m.num_perm, m.recall)
        neighbours: list[dict[int, list[int]]] = []
        wanted: dict[int, list[tuple[int, int, int]]] = defaultdict(
            list
        )  # doc -> (level, key, unit)
        for li, level in enumerate(self.levels):
            linked: dict[int, set[int]] = defaultdict(set)
            for space in level.spaces.values():
                pairs = candidate_pairs(space.signatures(m.num_perm), self.params)
                space.candidates = len(pairs)
                for a, b in pairs.tolist():
                    linked[space.keys[a]].add(space.keys[b])
                    linked[space.keys[b]].add(space.keys[a])
            neighbours.append({key: sorted(others) for key, others in linked.items()})
            for key in sorted(linked):
                unit = level.key_unit[key]
                wanted[int(level.arrays["doc"][unit])].append((li, key, unit))
        sets: list[dict[int, dict[str, U32]]] = [{} for _ in self.levels]
        for number, doc in self._reread(sorted(wanted)):
            for li, key, unit in wanted[number]:
                arrays = self.levels[li].arrays
                text = doc.text[arrays["start"][unit] : arrays["end"][unit]]
                sets[li][key] = shingle_sets(normalize(text, self.config.normalize), m)
        return neighbours, sets

    def _reread(self, numbers: Sequence[int]) -> Iterator[tuple[int, Document]]:
        docs = self.corpus.load(self.docs[n].source for n in numbers)
        yield from zip(numbers, docs, strict=True)

    # pass 3 ----------------------------------------------------------------
    def resolve(self) -> tuple[list[list[Link]], dict[int, list[Removal]]]:
        """Links per level, and the removals (with whitespace context) per document."""
        neighbours, sets = self.candidates()
        threshold = self.config.minhash.threshold
        links_per_level: list[list[Link]] = []
        removals: dict[int, list[Removal]] = defaultdict(list)
        gone: dict[int, _Spans] = defaultdict(_Spans)  # spans removed so far, per document
        for li, level in enumerate(self.levels):
            a = level.arrays
            units = [
                u
                for u in np.flatnonzero(a["key"] >= 0).tolist()
                if not gone[int(a["doc"][u])].covers(int(a["start"][u]), int(a["end"][u]))
            ]
            if self.config.cluster.keep == "longest":
                units.sort(key=lambda u: (-int(a["end"][u] - a["start"][u]), u))
            cache: dict[tuple[int, int], Evidence] = {}
            level_sets = sets[li]

            def evidence(
                survivor: int,
                member: int,
                s: dict[int, dict[str, U32]] = level_sets,
                c: dict[tuple[int, int], Evidence] = cache,
            ) -> Evidence:
                if (survivor, member) not in c:
                    # Compare in the space both share, characters first (short units).
                    space = "char" if "char" in s[survivor] and "char" in s[member] else "word"
                    c[survivor, member] = verify(
                        s[survivor][space], s[member][space], threshold, False
                    )
                return c[survivor, member]

            links = clusters(units, a["key"].tolist(), neighbours[li], evidence)
            links_per_level.append(links)
            removing = [link for link in links if link.evidence.relation in REMOVING]
            parts = self._repeated_parts(
                li, [k for k in removing if k.evidence.relation != "exact"]
            )
            for link in removing:
                u = link.member
                number = int(a["doc"][u])
                whole = Removal(_uid(li, u), *(int(a[c][u]) for c in _COLUMNS[1:3] + _COLUMNS[5:9]))
                for removal in parts.get(u, [whole]):
                    removals[number].append(removal)
                    gone[number].add(removal.start, removal.end)
        return links_per_level, removals

    def _repeated_parts(self, li: int, links: list[Link]) -> dict[int, list[Removal]]:
        """For near and contained duplicates, the children the survivor really repeats.

        A section or document loses the paragraphs its survivor repeats, a
        paragraph the sentences; what the survivor lacks stays in the output.
        """
        level = self.levels[li]
        if level.name == "sentence" or not links:
            return {}
        a = level.arrays
        wanted = sorted({int(a["doc"][u]) for k in links for u in (k.survivor, k.member)})
        texts = dict(self._reread(wanted))
        cfg = self.config
        out: dict[int, list[Removal]] = {}
        for link in links:
            s, u = link.survivor, link.member
            survivor = texts[int(a["doc"][s])].text[a["start"][s] : a["end"][s]]
            text = texts[int(a["doc"][u])].text
            span = (int(a["start"][u]), int(a["end"][u]))
            if level.name == "paragraph":
                children = sentences(text, span)
            else:
                children = [p for p in paragraphs(text) if span[0] <= p[0] and p[1] <= span[1]]
            repeated = covered(
                [normalize(text[cs:ce], cfg.normalize) for cs, ce in children],
                normalize(survivor, cfg.normalize),
                cfg.minhash.char_shingle_size,
                cfg.minhash.threshold,
            )
            out[u] = [
                Removal(_uid(li, u), cs, ce, *gap(text, cs, ce))
                for (cs, ce), keep in zip(children, repeated, strict=True)
                if keep
            ]
        return out

    # report ----------------------------------------------------------------
    def result(self) -> Result:
        links_per_level, removals = self.resolve()
        cuts: dict[int, list[tuple[int, int]]] = {}
        doc_cuts: dict[int, list[tuple[int, int]]] = {}
        for number, items in removals.items():
            per_unit = pieces(items, self.docs[number].chars)
            cuts.update(per_unit)
            doc_cuts[number] = merge([span for spans_ in per_unit.values() for span in spans_])
        quoted = self._quote(links_per_level)
        cluster_list = self._clusters(links_per_level, quoted, cuts, doc_cuts)
        return Result(
            self.config.as_dict(),
            self._doc_stats(links_per_level, doc_cuts),
            tuple(cluster_list),
            self._lsh(),
        )

    def _quote(self, links_per_level: list[list[Link]]) -> dict[int, Segment]:
        """Segments (with text) of every unit named by a link, read again from the corpus."""
        wanted: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for li, links in enumerate(links_per_level):
            docs = self.levels[li].arrays["doc"]
            for link in links:
                for u in (link.survivor, link.member):
                    wanted[int(docs[u])].append((li, u))
        out: dict[int, Segment] = {}
        for number, doc in self._reread(sorted(wanted)):
            for li, u in wanted[number]:
                level = self.levels[li]
                a = level.arrays
                start, end = int(a["start"][u]), int(a["end"][u])
                out[_uid(li, u)] = Segment(
                    doc.doc_id,
                    level.name,
                    u - self._first_unit(li, number),
                    start,
                    end,
                    int(a["line"][u]),
                    int(a["end_line"][u]),
                    doc.text[start:end],
                )
        return out

    def _first_unit(self, li: int, number: int) -> int:
        docs = self.levels[li].arrays["doc"]
        return int(np.searchsorted(docs, number, side="left"))

    def _clusters(
        self,
        links_per_level: list[list[Link]],
        quoted: dict[int, Segment],
        cuts: dict[int, list[tuple[int, int]]],
        doc_cuts: dict[int, list[tuple[int, int]]],
    ) -> list[Cluster]:
        grouped: dict[tuple[int, int], list[Link]] = defaultdict(list)
        for li, links in enumerate(links_per_level):
            for link in links:
                grouped[li, link.survivor].append(link)
        ordered = sorted(
            grouped,
            key=lambda k: (
                k[0],
                int(self.levels[k[0]].arrays["doc"][k[1]]),
                int(self.levels[k[0]].arrays["start"][k[1]]),
            ),
        )
        out: list[Cluster] = []
        for number, (li, survivor) in enumerate(ordered, start=1):
            members = []
            for link in sorted(
                grouped[li, survivor],
                key=lambda k: (
                    int(self.levels[li].arrays["doc"][k.member]),
                    int(self.levels[li].arrays["start"][k.member]),
                ),
            ):
                segment = quoted[_uid(li, link.member)]
                if link.evidence.relation in REMOVING:
                    removed = tuple(cuts.get(_uid(li, link.member), ()))
                else:  # overlap: what lower levels cut inside it
                    doc = int(self.levels[li].arrays["doc"][link.member])
                    removed = tuple(
                        (s, e)
                        for s, e in doc_cuts.get(doc, [])
                        if s >= segment.start and e <= segment.end
                    )
                members.append(Member(segment, link.evidence, removed))
            out.append(
                Cluster(
                    f"c{number:05d}",
                    self.levels[li].name,
                    quoted[_uid(li, survivor)],
                    tuple(members),
                )
            )
        return out

    def _doc_stats(
        self, links_per_level: list[list[Link]], doc_cuts: dict[int, list[tuple[int, int]]]
    ) -> tuple[DocStats, ...]:
        units = np.zeros(len(self.docs), dtype=np.int64)
        dups = np.zeros(len(self.docs), dtype=np.int64)
        for li, level in enumerate(self.levels):
            a = level.arrays
            units += np.bincount(a["doc"][a["key"] >= 0], minlength=len(self.docs))
            removed = [
                link.member for link in links_per_level[li] if link.evidence.relation in REMOVING
            ]
            dups += np.bincount(a["doc"][removed], minlength=len(self.docs))
        return tuple(
            DocStats(
                d.doc_id,
                d.chars,
                int(units[i]),
                int(dups[i]),
                sum(e - s for s, e in doc_cuts.get(i, [])),
                tuple(doc_cuts.get(i, [])),
            )
            for i, d in enumerate(self.docs)
        )

    def _lsh(self) -> dict[str, object]:
        out: dict[str, object] = {"bands": self.params.bands, "rows": self.params.rows}
        for level in self.levels:
            out[level.name] = {"distinct_texts": len(level.key_unit)} | {
                f"{name}_candidate_pairs": space.candidates for name, space in level.spaces.items()
            }
        return out

    # clean -----------------------------------------------------------------
    def cleaned(self, result: Result) -> Iterator[tuple[InputFile, Document, str]]:
        stats = result.documents
        for number, doc in self._reread(range(len(self.docs))):
            yield (
                self.corpus.files[self.docs[number].file],
                doc,
                clean(doc.text, stats[number].removed),
            )


class _Spans:
    """Disjoint spans of one document, for asking whether a unit lies inside one."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)

    def covers(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end


def _uid(level: int, unit: int) -> int:
    """One integer id for a unit of any level."""
    return unit * len(LEVELS) + level


def run(
    paths: Sequence[str],
    config: Config,
    out: Path | None = None,
    stream: TextIO | None = None,
) -> Result:
    """Find duplicates in the corpus at `paths`; with `out` or `stream`, also write it cleaned."""
    config.validate()
    with Corpus(paths, config.input) as corpus:
        if out is not None:
            check_output_dir(out, corpus.files, paths)
        analysis = _Run(corpus, config)
        analysis.fingerprint()
        result = analysis.result()
        result.options["version"] = __version__
        if out is not None:
            write_documents(
                analysis.cleaned(result), out, config.input.text_field, config.input.id_field
            )
        elif stream is not None:
            stream_documents(
                analysis.cleaned(result), stream, config.input.text_field, config.input.id_field
            )
    return result
