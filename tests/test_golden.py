"""The golden evaluation set is well-formed and every gold evidence quote is on its page of the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.golden_check import check_golden, load_golden
from tests.conftest import CORPUS_PDF_DIR

GOLDEN = Path(__file__).resolve().parents[1] / "eval" / "golden.jsonl"


def test_golden_set_is_valid_against_corpus() -> None:
    if not CORPUS_PDF_DIR.is_dir():
        pytest.skip(f"corpus folder {CORPUS_PDF_DIR} not present (set CORPUS_MIRROR)")
    assert check_golden(load_golden(GOLDEN), CORPUS_PDF_DIR) == []
