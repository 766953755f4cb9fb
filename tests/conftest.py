from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
BLOG = FIXTURES / "blog"
PAGES = BLOG / "pages"


@pytest.fixture(scope="session")
def labels() -> list[dict[str, Any]]:
    lines = (BLOG / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]
