"""Shared fixtures: the real corpus (../shared/corpus/pdf beside the checkout, or CORPUS_MIRROR) and one
session-wide index of all of it, built by the real ingest job with the real embedder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
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


def run_cli(
    *args: str, stdin: str | None = None, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `paper-rag` as a user would, in a fresh process (with `env` added to the environment)."""
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
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


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory: pytest.TempPathFactory):
    """Settings of a DATA_DIR holding one real paper, ingested by the real job; the generator is a closed port,
    as when vLLM is not running."""
    from ingest.pipeline import Ingestor, list_pdfs
    from paper_rag.index import open_index
    from paper_rag.settings import Settings

    data_dir = tmp_path_factory.mktemp("small")
    (data_dir / "pdf").mkdir()
    (data_dir / "pdf" / "1706.03762.pdf").write_bytes(corpus_pdf("1706.03762").read_bytes())
    settings = Settings(data_dir=data_dir, llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=5)
    index = open_index(settings)
    Ingestor(settings=settings, index=index).run(list_pdfs(settings.resolved_pdf_dir))
    index.close()
    return settings


@pytest.fixture(scope="session")
def tiny_reranker(corpus_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer reranker student trained through the CLI on one paper's committed synthetic questions (plumbing:
    its order is not better than fusion, so the live service keeps the default, which finds none)."""
    rows = [json.loads(line) for line in (REPO / "corpus" / "reranker_questions.jsonl").read_text().splitlines()]
    kept = [r for r in rows if r["status"] == "kept"]
    paper = Counter(r["paper_id"] for r in kept).most_common(1)[0][0]
    questions = tmp_path_factory.mktemp("reranker") / "questions.jsonl"
    questions.write_text(
        "".join(json.dumps(r | {"status": "unfiltered"}) + "\n" for r in kept if r["paper_id"] == paper)
    )
    env = {"RERANKER_QUESTIONS": str(questions), "DATA_DIR": str(corpus_data_dir)}
    filtered = run_cli("reranker", "filter", env=env)
    assert filtered.returncode == 0 and "kept" in filtered.stdout, filtered.stderr[-2000:]
    model_dir = questions.parent / "reranker"
    trained = run_cli(
        "reranker",
        "train",
        "--kind",
        "cross-encoder",
        "--layers",
        "1",
        "--limit",
        "24",
        "--out",
        str(model_dir),
        env=env,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    return model_dir


# --- the answering service: a real vLLM and a real uvicorn ---------------------------------------------------

LLM_PORT = 8019
SERVICE_PORT = 8765


def wait_for(url: str, seconds: float, *, process: subprocess.Popen | None = None) -> None:
    import time

    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process serving {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} not ready after {seconds} s")


@pytest.fixture(scope="session")
def llm_env() -> dict[str, str]:
    """The real local vLLM (CPU build) serving the real model, started once for the session."""
    from paper_rag.settings import Settings
    from service import llm_server

    env = {
        "LLM_BASE_URL": f"http://127.0.0.1:{LLM_PORT}/v1",
        "LLM_PORT": str(LLM_PORT),
        "LLM_MODEL_PATH": str(REPO / "data" / "models" / "qwen2.5-coder-0.5b-instruct"),
        "VLLM_PYTHON": str(REPO / ".venv-vllm" / "bin" / "python"),
    }
    settings = Settings(data_dir=REPO / "data" / "test-llm", **{k.lower(): v for k, v in env.items()})
    llm_server.start(settings, wait_s=900)
    yield env
    llm_server.stop(settings)


@contextmanager
def serving(data_dir: Path, port: int, env: dict[str, str]) -> Iterator[str]:
    """`paper-rag serve` in its own process on `data_dir`, with `env` added; yields its base URL."""
    log = (data_dir / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cli.main import main; main()",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", 180, process=process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def live_service(corpus_data_dir: Path, llm_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The service on a copy of the corpus index (the embedded engine is one-process), with the real generator."""
    data_dir = tmp_path_factory.mktemp("service") / "data"
    shutil.copytree(corpus_data_dir, data_dir, ignore=shutil.ignore_patterns("pdf"))
    # CORPUS_MIRROR: where the page images' PDFs are (this copy of DATA_DIR leaves the PDFs out).
    with serving(data_dir, SERVICE_PORT, llm_env | {"CORPUS_MIRROR": str(CORPUS_PDF_DIR)}) as base:
        yield base
