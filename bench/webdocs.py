"""What the default run removes from real web pages: the HTML documentation Debian installs
(the Debian Reference and the Developer's Reference, in French by default), each page made
text by Python's HTML parser as a crawler would: its navigation, table of contents, table
captions and cross-references around the prose.

    apt-get install debian-reference-fr developers-reference-fr
    python bench/webdocs.py
    python bench/webdocs.py --show 40      # and 40 removals that are no exact copy, to read

No labels: the script prints what was removed, by level and relation (as
`bench/manpages.py` does), and with `--show` a sample of the near, contained and overlap
removals, where a rule goes wrong on text nobody here wrote.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from manpages import summary

_DOCS = {
    "fr": [
        "/usr/share/doc/debian-reference-fr/docs/*.fr.html",
        "/usr/share/doc/developers-reference-fr/docs/*.html",
    ],
    "en": [
        "/usr/share/doc/debian-reference-en/docs/*.en.html",
        "/usr/share/doc/developers-reference/docs/*.html",
    ],
}
#: Elements that end a block of text: a paragraph break before and after them.
_BLOCKS = {
    "p", "div", "li", "pre", "tr", "dt", "dd", "table", "ul", "ol", "br", "title",
    "blockquote", "section", "article", "header", "footer", "nav", "caption",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip


class _Text(html.parser.HTMLParser):
    """A page's text: blocks apart by blank lines, headings marked as Markdown's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("script", "style")
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        if re.fullmatch(r"h[1-6]", tag):
            self.parts.append("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("script", "style")
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def page_text(path: Path) -> str:
    """The text of one HTML page, a paragraph a block, spaces inside a block collapsed."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    blocks = (" ".join(block.split()) for block in re.split(r"\n\s*\n", "".join(parser.parts)))
    return "\n\n".join(block for block in blocks if block)


def corpus(lang: str, path: Path) -> int:
    """Write every installed page of `lang` as a JSONL record; return how many."""
    pages = sorted(p for pattern in _DOCS[lang] for p in Path("/").glob(pattern.lstrip("/")))
    with path.open("w", encoding="utf-8") as out:
        for page in pages:
            record = {"id": str(page), "text": page_text(page)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=sorted(_DOCS), default="fr")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--show", type=int, default=0, help="print this many removals to read")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dedup-webdocs-") as folder:
        path = Path(folder) / f"{args.lang}.jsonl"
        pages = corpus(args.lang, path)
        if not pages:
            print(f"no pages: apt-get install debian-reference-{args.lang} (see --help)")
            return 1
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "dedup", "scan", "-q", str(path), "--report"]
        command += [str(report), "--threshold", str(args.threshold)]
        subprocess.run(command, check=True)
        summary(args.lang, pages, path, report, args.threshold, args.show, every=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
