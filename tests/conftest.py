"""Shared fixtures: the real corpus (../shared/corpus/pdf beside the checkout, or CORPUS_MIRROR) and one
session-wide index of all of it, built by the real ingest job with the real embedder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
CORPUS_PDF_DIR = Path(os.environ.get("CORPUS_MIRROR", REPO.parent / "shared" / "corpus" / "pdf"))


def corpus_pdf(paper_id: str) -> Path:
    path = CORPUS_PDF_DIR / f"{paper_id}.pdf"
    if not path.exists():
        pytest.skip(f"corpus PDF {path} not present (set CORPUS_MIRROR)")
    return path


def run_cli(*args: str, stdin: str | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run `paper-rag` as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture
def pdf_folder(tmp_path: Path):
    """A PDF folder to fill with copies of corpus papers."""

    def make(*paper_ids: str) -> Path:
        folder = tmp_path / "pdf"
        folder.mkdir(exist_ok=True)
        for paper_id in paper_ids:
            shutil.copyfile(corpus_pdf(paper_id), folder / f"{paper_id}.pdf")
        return folder

    return make


@pytest.fixture(scope="session")
def corpus_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA_DIR holding the whole real corpus, ingested once per test session through the CLI."""
    if not CORPUS_PDF_DIR.is_dir():
        pytest.skip(f"corpus folder {CORPUS_PDF_DIR} not present (set CORPUS_MIRROR)")
    data_dir = tmp_path_factory.mktemp("corpus-data")
    result = run_cli("ingest", "--data-dir", str(data_dir), "--pdf-dir", str(CORPUS_PDF_DIR), timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return data_dir
