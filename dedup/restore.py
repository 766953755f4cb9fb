"""Restoring: a cleaned text and the report's removed spans in, the original text out.

The report records, per document, every span `clean` cut and its exact text,
so the original is the cleaned text with each piece put back where it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from dedup.errors import DedupError


def restore(
    cleaned: str, removed: Sequence[tuple[int, int]], texts: Sequence[str], doc_id: str = ""
) -> str:
    """The original of `cleaned`, given the spans removed from it and their texts.

    >>> restore("A\\n\\nC\\n", [(1, 4)], ["\\n\\nB"])
    'A\\n\\nB\\n\\nC\\n'
    """
    if len(removed) != len(texts):
        raise DedupError(f"{doc_id}: the report lists {len(removed)} spans but {len(texts)} texts")
    out: list[str] = []
    position = 0  # in the cleaned text
    shift = 0  # characters put back so far
    for (start, end), text in sorted(zip(removed, texts, strict=True)):
        if end - start != len(text) or not position <= start - shift <= len(cleaned):
            raise DedupError(f"{doc_id}: removed span [{start}, {end}) does not fit the report")
        out.append(cleaned[position : start - shift])
        out.append(text)
        position = start - shift
        shift += end - start
    out.append(cleaned[position:])
    return "".join(out)
