"""The Markdown report, for people: totals, a table of the documents, every cluster with
excerpts, the calibration.  Every piece of corpus text in it is escaped."""

from __future__ import annotations

import re
from typing import Any

Report = dict[str, Any]

_EXCERPT = 80
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def md_escape(text: str) -> str:
    """Corpus text made inert in Markdown: one line, every ASCII punctuation escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return md_escape(flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "0.0 %"


def _lines(unit: dict[str, Any]) -> str:
    a, b = unit["line"], unit["end_line"]
    return f"{a}" if a == b else f"{a}–{b}"


def render_markdown(report: Report) -> str:
    """A Markdown summary: totals, a table per document, every cluster with excerpts."""
    stats = report["stats"]
    opts = report["options"]
    out = [
        "# dedup report",
        "",
        f"dedup {report['tool']['version']}: unit {opts.get('unit')}, "
        f"threshold {opts.get('threshold')}, {opts.get('num_perm')} permutations, "
        f"keep {opts.get('keep')}.",
        "",
        "| total | value |",
        "| --- | ---: |",
        f"| documents | {stats['documents']} |",
        f"| units | {stats['units']} |",
        f"| duplicate units | {stats['duplicate_units']} |",
        f"| clusters | {stats['clusters']} |",
        f"| characters in | {stats['chars_in']} |",
        f"| characters removed | {stats['chars_removed']} "
        f"({_share(stats['chars_removed'], stats['chars_in'])}) |",
        "",
        "## Documents",
        "",
        "| document | units | duplicates | characters | removed | share |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in report["documents"]:
        out.append(
            f"| {md_escape(d['doc'])} | {d['units']} | {d['duplicate_units']} | {d['chars_in']} | "
            f"{d['chars_removed']} | {_share(d['chars_removed'], d['chars_in'])} |"
        )
    out += ["", "## Clusters", ""]
    if not report["clusters"]:
        out += ["No duplicates found.", ""]
    for cluster in report["clusters"]:
        out += _md_cluster(cluster)
    if report["boilerplate"]:
        out += [
            "## Boilerplate",
            "",
            "Units repeated across many documents (bylines, notices); "
            f"`--boilerplate {opts.get('boilerplate')}`.",
            "",
        ]
        for cluster in report["boilerplate"]:
            out += _md_cluster(cluster)
    cal = report["calibration"]
    out += [
        "## Calibration",
        "",
        f"LSH: {cal['bands']} bands of {cal['rows']} rows; a pair at the threshold "
        f"({cal['threshold']}) is missed with probability {cal['false_negative_rate']:.4f}.",
        "",
        "| Jaccard | P(candidate) | verified pairs in bin (Jaccard) | (containment) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for (low, high), j_count, c_count in zip(
        cal["bins"][8:], cal["jaccard_histogram"][8:], cal["containment_histogram"][8:], strict=True
    ):
        probability = dict((s, p) for s, p in cal["candidate_probability"]).get(low, 0.0)
        out.append(f"| {low:.2f}–{high:.2f} | {probability:.4f} | {j_count} | {c_count} |")
    out.append("")
    return "\n".join(out)


def _md_cluster(cluster: dict[str, Any]) -> list[str]:
    s = cluster["survivor"]
    kept = s.get("text", s.get("excerpt", ""))
    copies = (
        f" (and {cluster['kept']} copies kept, one a page, over {cluster['documents']} documents)"
        if "kept" in cluster
        else ""
    )
    out = [
        f"### {cluster['id']}: {cluster['unit']}, {len(cluster['duplicates'])} duplicate(s)",
        "",
        f"Kept: {md_escape(s['doc'])}, line {_lines(s)}: {_excerpt(kept)}{copies}",
        "",
        "| duplicate | line | relation | jaccard | containment | removed | excerpt |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for d in cluster["duplicates"]:
        out.append(
            f"| {md_escape(d['doc'])} | {_lines(d)} | {d['relation']} | {d['jaccard']:.3f} | "
            f"{d['containment']:.3f} | {d['removed_chars']} | {_excerpt(d.get('text', ''))} |"
        )
    out.append("")
    return out
