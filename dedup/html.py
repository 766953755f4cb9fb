"""The HTML report: a JSON report (and the texts of its documents) in, one self-contained page out.

No network, no external scripts, styles or fonts: it works opened from disk.  Every
piece of corpus text goes through `html.escape`.  The page reads well without
JavaScript (everything is shown); the small inline script only adds the filters by
relation and document and the search box.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Mapping
from typing import Any

_WORDS = re.compile(r"\S+|\s+")
_RELATIONS = ("exact", "near", "contained", "overlap", "boilerplate")

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#222}
h1,h2,h3{line-height:1.2} table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
.num{text-align:right}.bar{background:#e4572e;height:.8em;display:inline-block}
.cluster{border:1px solid #bbb;border-radius:6px;margin:1em 0;padding:.5em 1em}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.unit{white-space:pre-wrap;background:#f7f7f7;padding:.5em;border-radius:4px;font-size:14px}
del.diff{background:#fbb;text-decoration:line-through} ins.diff{background:#bfb;text-decoration:none}
.removed{background:#fdd;text-decoration:line-through;color:#900}
.doctext{white-space:pre-wrap;font-size:14px;border-left:3px solid #ccc;padding-left:1em}
.meta{color:#555;font-size:13px} .filters{position:sticky;top:0;background:#fff;padding:.5em 0;
border-bottom:1px solid #ddd} .hidden{display:none} svg text{font-size:11px}
"""

_SCRIPT = """
(function(){
  var boxes=document.querySelectorAll('.filters input[type=checkbox]');
  var doc=document.getElementById('doc-filter'), search=document.getElementById('search');
  function apply(){
    var on={}; boxes.forEach(function(b){on[b.value]=b.checked;});
    var d=doc.value, q=search.value.toLowerCase();
    document.querySelectorAll('.cluster').forEach(function(c){
      var rel=c.dataset.relations.split(' ').some(function(r){return on[r];});
      var inDoc=!d || c.dataset.docs.split('\\n').indexOf(d)>=0;
      var hit=!q || c.textContent.toLowerCase().indexOf(q)>=0;
      c.classList.toggle('hidden', !(rel && inDoc && hit));
    });
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  doc.addEventListener('change',apply); search.addEventListener('input',apply);
  document.querySelector('.filters').classList.remove('hidden');
  document.documentElement.dataset.ready='1';
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _anchor(doc: str, line: int | None = None) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]", "_", doc)
    return f"doc-{slug}" + (f"-L{line}" if line is not None else "")


def word_diff(old: str, new: str) -> tuple[str, str]:
    """Both texts as HTML, the words one lacks struck in the other (`del`) or marked (`ins`)."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        x, y = _e("".join(a[i1:i2])), _e("".join(b[j1:j2]))
        if op == "equal":
            left.append(x)
            right.append(y)
        else:
            if x:
                left.append(f'<del class="diff">{x}</del>')
            if y:
                right.append(f'<ins class="diff">{y}</ins>')
    return "".join(left), "".join(right)


def _where(unit: Mapping[str, Any]) -> str:
    lines = (
        f"{unit['line']}"
        if unit["line"] == unit["end_line"]
        else f"{unit['line']}–{unit['end_line']}"
    )
    return f'<a href="#{_anchor(unit["doc"], unit["line"])}">{_e(unit["doc"])}:{lines}</a>'


def _cluster(cluster: Mapping[str, Any], boilerplate: bool) -> str:
    survivor = cluster["survivor"]
    relations = {d["relation"] for d in cluster["duplicates"]} | (
        {"boilerplate"} if boilerplate else set()
    )
    docs = sorted({survivor["doc"], *(d["doc"] for d in cluster["duplicates"])})
    parts = [
        f'<section class="cluster" id="{_e(cluster["id"])}" data-relations="{_e(" ".join(sorted(relations)))}" '
        f'data-docs="{_e(chr(10).join(docs))}">',
        f"<h3>{_e(cluster['id'])}: {_e(cluster['unit'])}{' (boilerplate)' if boilerplate else ''}, "
        f"kept at {_where(survivor)}</h3>",
    ]
    if "kept" in cluster:
        parts.append(
            f'<p class="meta">{cluster["kept"]} more copies kept, one a page, over '
            f"{cluster['documents']} documents</p>"
        )
    for dup in cluster["duplicates"]:
        kept, removed = word_diff(survivor["text"], dup["text"])
        parts.append(
            f'<p class="meta">{_where(dup)}: {_e(dup["relation"])}, jaccard {dup["jaccard"]:.3f}, '
            f"containment {dup['containment']:.3f}, {dup['removed_chars']} characters removed</p>"
            f'<div class="pair"><div class="unit survivor">{kept}</div>'
            f'<div class="unit member">{removed}</div></div>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def _document(doc: Mapping[str, Any], text: str) -> str:
    """The original text, removed spans struck through, one anchor per line."""
    out: list[str] = []
    position = 0
    for start, end in doc["removed"]:
        out.append(_e(text[position:start]))
        out.append(f'<span class="removed">{_e(text[start:end])}</span>')
        position = end
    out.append(_e(text[position:]))
    body = "".join(out)
    lines = body.split("\n")
    anchored = "\n".join(
        f'<span id="{_anchor(doc["doc"], n)}"></span>{line}' for n, line in enumerate(lines, 1)
    )
    return (
        f'<section class="document" id="{_anchor(doc["doc"])}"><h3>{_e(doc["doc"])}</h3>'
        f'<p class="meta">{doc["chars_removed"]} of {doc["chars_in"]} characters removed</p>'
        f'<div class="doctext">{anchored}</div></section>'
    )


def _calibration(cal: Mapping[str, Any]) -> str:
    """An SVG chart: candidate probability (line) and verified pairs per Jaccard bin (bars)."""
    width, height, left, bottom = 520, 180, 40, 150
    counts = cal["jaccard_histogram"]
    peak = max(counts) or 1
    bars = []
    for i, count in enumerate(counts):
        x = left + i * (width - left) / 20
        h = (bottom - 10) * count / peak
        bars.append(
            f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{(width - left) / 20 - 2:.1f}" '
            f'height="{h:.1f}" fill="#9ecae1"><title>{count} pairs</title></rect>'
        )
    points = " ".join(
        f"{left + s * (width - left):.1f},{bottom - p * (bottom - 10):.1f}"
        for s, p in cal["candidate_probability"]
    )
    tx = left + cal["threshold"] * (width - left)
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="calibration">'
        + "".join(bars)
        + f'<polyline points="{points}" fill="none" stroke="#e4572e" stroke-width="2"/>'
        f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="10" y2="{bottom}" stroke="#333" stroke-dasharray="4"/>'
        f'<text x="{left}" y="{bottom + 15}">0</text><text x="{width - 10}" y="{bottom + 15}">1</text>'
        f'<text x="{tx + 3:.1f}" y="20">threshold {cal["threshold"]}</text></svg>'
        f'<p class="meta">{cal["bands"]} bands of {cal["rows"]} rows: a pair at the threshold is missed '
        f"with probability {cal['false_negative_rate']:.4f}. Bars: verified pairs per Jaccard bin; "
        f"line: probability of becoming a candidate.</p>"
    )


def render_html(report: Mapping[str, Any], texts: Mapping[str, str]) -> str:
    """The report as one self-contained HTML page."""
    stats = report["stats"]
    docs = report["documents"]
    rows = []
    for d in docs:
        share = d["chars_removed"] / d["chars_in"] if d["chars_in"] else 0.0
        rows.append(
            f'<tr><td><a href="#{_anchor(d["doc"])}">{_e(d["doc"])}</a></td><td class="num">{d["units"]}</td>'
            f'<td class="num">{d["duplicate_units"]}</td><td class="num">{d["chars_removed"]}</td>'
            f'<td><span class="bar" style="width:{200 * share:.1f}px"></span> {100 * share:.1f} %</td></tr>'
        )
    relation_boxes = "".join(
        f'<label><input type="checkbox" value="{r}" checked> {r}</label> ' for r in _RELATIONS
    )
    doc_options = "".join(f'<option value="{_e(d["doc"])}">{_e(d["doc"])}</option>' for d in docs)
    clusters = [_cluster(c, False) for c in report["clusters"]]
    clusters += [_cluster(c, True) for c in report.get("boilerplate", [])]
    documents = [_document(d, texts[d["doc"]]) for d in docs if d["doc"] in texts]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dedup report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body>
<h1>dedup report</h1>
<p class="meta">dedup {_e(report["tool"]["version"])}, unit {_e(report["options"].get("unit"))},
threshold {_e(report["options"].get("threshold"))}</p>
<h2>Summary</h2>
<table><tr><th>documents</th><th>units</th><th>duplicate units</th><th>clusters</th>
<th>boilerplate clusters</th><th>characters removed</th></tr>
<tr><td class="num">{stats["documents"]}</td><td class="num">{stats["units"]}</td>
<td class="num">{stats["duplicate_units"]}</td><td class="num">{stats["clusters"]}</td>
<td class="num">{stats.get("boilerplate_clusters", 0)}</td>
<td class="num">{stats["chars_removed"]} of {stats["chars_in"]}</td></tr></table>
<table><tr><th>document</th><th>units</th><th>duplicates</th><th>removed</th><th>share removed</th></tr>
{"".join(rows)}</table>
<h2>Calibration</h2>
{_calibration(report["calibration"])}
<h2>Clusters</h2>
<div class="filters hidden">{relation_boxes}
<select id="doc-filter"><option value="">every document</option>{doc_options}</select>
<input id="search" type="search" placeholder="search the text"></div>
{"".join(clusters) or "<p>No duplicates found.</p>"}
<h2>Documents</h2>
{"".join(documents) or '<p class="meta">No document lost any text.</p>'}
<script>{_SCRIPT}</script>
</body></html>
"""
