"""The check: a Result in, findings in linter form out, less those a baseline accepts.

A finding is a removed duplicate, or an overlap (a unit that repeats an earlier one and
adds to it, which `clean` trims at a finer level), as one line:
`path:line:col: CODE unit repeats place (relation, jaccard)`.
A baseline counts findings by content fingerprints (the normalized texts of the duplicate
and of its survivor, and the duplicate's document), not by line numbers, so it survives
edits elsewhere in a file; a duplicate copied once more than the baseline counts is new.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from dedup.config import NormalizeConfig
from dedup.fingerprint import exact_key
from dedup.jsonfiles import parse_json, read_bytes
from dedup.model import DocStats, Result, Segment
from dedup.normalize import normalize
from dedup.version import __version__

#: Codes by relation for paragraphs and sentences, by unit for larger units.
CODES = {
    "exact": ("DUP001", "exact repeat of an earlier unit"),
    "near": ("DUP002", "near repeat of an earlier unit"),
    "contained": ("DUP003", "unit contained in an earlier one"),
    "overlap": ("DUP004", "unit that repeats an earlier one and adds to it"),
    "section": ("DUP005", "repeated section (a heading and its paragraphs)"),
    "document": ("DUP006", "repeated document"),
}
BASELINE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    column: int
    code: str
    unit: str
    relation: str
    jaccard: float
    doc: str
    repeats: str  # where the survivor is, "path:line"
    fingerprint: str
    survivor_fingerprint: str
    #: Where the two units are in their files: (file as named, document among the file's,
    #: start), for the incremental check to place them again after an edit.
    unit_at: tuple[str, int, int] = field(default=("", 0, 0), compare=False)
    survivor_at: tuple[str, int, int] = field(default=("", 0, 0), compare=False)

    @property
    def order(self) -> tuple[Any, ...]:
        """Findings are listed by path, line, column and code (then the rest, for ties):
        see `in_order`."""
        return (
            self.path,
            self.line,
            self.column,
            self.code,
            self.unit,
            self.doc,
            self.fingerprint,
            self.survivor_fingerprint,
            self.repeats,
        )

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.unit, self.doc, self.fingerprint, self.survivor_fingerprint)

    def line_text(self) -> str:
        return (
            f"{self.path}:{self.line}:{self.column}: {self.code} {self.unit} repeats "
            f"{self.repeats} ({self.relation}, jaccard {self.jaccard:.2f})"
        )


def _place(segment: Segment, doc: DocStats) -> tuple[str, int, int]:
    """(path, line, column) of a unit: in its file, or at its JSONL record."""
    source = doc.source
    if source is None:
        return doc.doc_id, segment.line, segment.column
    return place(doc.path or source.path, source.line, segment.line, segment.column)


def place(path: str, record_line: int, line: int, column: int) -> tuple[str, int, int]:
    """(path, line, column) of a unit at `line` and `column` of its document, which is a
    whole file or, with `record_line`, the JSONL record on that line."""
    return (path, record_line, 1) if record_line else (path, line, column)


def repeats(path: str, record_line: int, doc_id: str, line: int) -> str:
    """Where a survivor is, as a finding says it: "path:line", and in a JSONL file its
    record's id and the line within the record."""
    where = f"{path}:{record_line or line}"
    return f"{where} (id {doc_id}, line {line})" if record_line else where


def findings(result: Result, config: NormalizeConfig | None = None) -> list[Finding]:
    """Every removed duplicate of a run, in path, line and column order."""
    docs = {d.doc_id: d for d in result.documents}
    out = []
    for cluster in result.clusters:
        if cluster.boilerplate:
            continue  # reported apart, and kept unless asked otherwise: not a finding
        survivor = cluster.survivor
        s_doc = docs[survivor.doc_id]
        s_path, _, _ = _place(survivor, s_doc)
        s_line = s_doc.source.line if s_doc.source else 0
        s_where = repeats(s_path, s_line, survivor.doc_id, survivor.line)
        s_print = exact_key(normalize(survivor.text, config or NormalizeConfig())).hex()
        s_at = (s_path, s_doc.record, survivor.start)
        for member in cluster.members:
            relation = member.evidence.relation
            if relation is None:
                continue
            segment = member.segment
            doc = docs[segment.doc_id]
            path, line, column = _place(segment, doc)
            code = code_of(cluster.level, str(relation))
            out.append(
                Finding(
                    path,
                    line,
                    column,
                    code,
                    cluster.level,
                    str(relation),
                    member.evidence.jaccard,
                    segment.doc_id,
                    s_where,
                    exact_key(normalize(segment.text, config or NormalizeConfig())).hex(),
                    s_print,
                    (path, doc.record, segment.start),
                    s_at,
                )
            )
    return in_order(out)


def code_of(unit: str, relation: str) -> str:
    """A finding's code: by its unit for sections and documents, else by its relation."""
    return CODES[unit if unit in CODES else relation][0]


def in_order(found: Iterable[Finding]) -> list[Finding]:
    """Findings in the order they are listed (a key a finding, not one a comparison: 28,000
    findings sorted by comparisons took 0.3 s of an incremental check)."""
    return sorted(found, key=lambda f: f.order)


def new_findings(found: Sequence[Finding], baseline: Counter[tuple[str, ...]]) -> list[Finding]:
    """The findings beyond what the baseline counts for their fingerprints."""
    return [f for f, new in zip(found, new_marks(found, baseline), strict=True) if new]


def new_marks(found: Sequence[Finding], baseline: Counter[tuple[str, ...]]) -> list[bool]:
    """Per finding, in order, whether it is new: the baseline accepts the first findings
    of a key, as many as it counts."""
    left = Counter(baseline)
    marks = []
    for finding in found:
        accepted = left[finding.key] > 0
        if accepted:
            left[finding.key] -= 1
        marks.append(not accepted)
    return marks


@dataclass(frozen=True)
class Baseline:
    """A baseline file as read: its bytes, and its counts, parsed when first asked for (a
    check whose index has accounted for these very bytes does not parse them)."""

    name: str  # the file, for errors
    data: bytes = b""

    @classmethod
    def read(cls, path: Path) -> Baseline:
        return cls(str(path), read_bytes(path))

    @functools.cached_property
    def digest(self) -> str:
        """What tells these bytes apart ("" for no baseline)."""
        return xxhash.xxh3_128_hexdigest(self.data) if self.data else ""

    @functools.cached_property
    def counts(self) -> Counter[tuple[str, ...]]:
        """How many findings of each key (`Finding.key`) it accepts."""
        counts: Counter[tuple[str, ...]] = Counter()
        if not self.data:
            return counts
        for entry in parse_json(self.data, self.name, "dedup_baseline").get("entries", []):
            key = (entry["unit"], entry["doc"], entry["fingerprint"], entry["survivor_fingerprint"])
            counts[key] += int(entry.get("count", 1))
        return counts


#: No baseline: every finding is new.
NO_BASELINE = Baseline("")


@dataclass(frozen=True)
class Checked:
    """What a check tells: the findings the baseline does not accept, in order, and how
    many findings there are in all."""

    new: list[Finding]
    total: int

    @classmethod
    def of(cls, found: Sequence[Finding], baseline: Baseline) -> Checked:
        """From every finding of the corpus, in order."""
        return cls(new_findings(found, baseline.counts), len(found))


def render_baseline(found: Iterable[Finding]) -> str:
    """A baseline file: sorted entries, one a line, so that it diffs well."""
    counts = Counter(f.key for f in found)
    lines = [
        json.dumps(
            {"unit": u, "doc": d, "fingerprint": fp, "survivor_fingerprint": sp, "count": n},
            ensure_ascii=False,
        )
        for (u, d, fp, sp), n in sorted(counts.items())
    ]
    body = ",\n".join("  " + line for line in lines)
    return f'{{"dedup_baseline": {BASELINE_VERSION}, "entries": [\n{body}\n]}}\n'


def render_text(new: Sequence[Finding], total: int) -> str:
    lines = [f.line_text() for f in new]
    accepted = total - len(new)
    tail = f" ({accepted} more accepted by the baseline)" if accepted else ""
    lines.append(f"dedup: {len(new)} new duplicate{'s' if len(new) != 1 else ''}{tail}")
    return "\n".join(lines) + "\n"


def render_json(new: Sequence[Finding], total: int, result: Result) -> str:
    document = {
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "code": f.code,
                "unit": f.unit,
                "relation": f.relation,
                "jaccard": round(f.jaccard, 6),
                "doc": f.doc,
                "repeats": f.repeats,
                "fingerprint": f.fingerprint,
            }
            for f in new
        ],
        "baselined": total - len(new),
        "suppressed": [
            {"unit": s.level, "doc": s.doc_id, "line": s.line, "start": s.start, "end": s.end}
            for s in result.suppressed
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def render_sarif(new: Sequence[Finding], total: int) -> str:
    """SARIF 2.1.0, for code-scanning tools."""
    rules = [
        {"id": code, "name": name, "shortDescription": {"text": text}}
        for name, (code, text) in sorted(CODES.items(), key=lambda item: item[1][0])
    ]
    results = [
        {
            "ruleId": f.code,
            "level": "warning",
            "message": {
                "text": f"{f.unit} repeats {f.repeats} ({f.relation}, jaccard {f.jaccard:.2f})"
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path.replace("\\\\", "/")},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
            "partialFingerprints": {"dedupContent/v1": f"{f.fingerprint}:{f.survivor_fingerprint}"},
        }
        for f in new
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "dedup", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
