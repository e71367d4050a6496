"""Cold ingest of the corpus, unchanged re-ingest, and hybrid query latency on the real corpus.

Runs the real `paper-rag ingest` in a child process (so its peak RSS is its own) into a fresh data dir,
then again unchanged, then times 100 hybrid searches in-process: query embedding + Qdrant hybrid, and
Qdrant alone. Usage: python bench/bench_ingest.py [--pdf-dir DIR] [--out bench/results/ingest.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paper_rag.catalog import IngestState  # noqa: E402
from paper_rag.embedder import Embedder  # noqa: E402
from paper_rag.index import open_index  # noqa: E402
from paper_rag.retrieval import Retriever  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402
from paper_rag.sparse import Bm25Encoder  # noqa: E402


def timed_ingest(data_dir: Path, pdf_dir: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from cli.main import main; main()",
            "ingest",
            "--data-dir",
            str(data_dir),
            "--pdf-dir",
            str(pdf_dir),
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples_ms, 50)), 2),
        "p95_ms": round(float(np.percentile(samples_ms, 95)), 2),
    }


def query_latency(data_dir: Path, questions: list[str]) -> dict[str, dict[str, float]]:
    settings = Settings(data_dir=data_dir)
    index = open_index(settings)
    embedder, bm25 = Embedder(settings=settings), Bm25Encoder()
    retriever = Retriever(settings=settings, index=index, embedder=embedder)
    retriever.warm_up()
    end_to_end, qdrant_only = [], []
    try:
        for question in questions[:10]:
            retriever.search(question)
        for question in questions:
            started = time.perf_counter()
            retriever.search(question)
            end_to_end.append((time.perf_counter() - started) * 1000)
            dense, sparse = embedder.embed_query(question), bm25.query(question)
            started = time.perf_counter()
            index.query(
                dense=dense,
                sparse=sparse,
                mode="hybrid",
                limit=10,
                prefetch=settings.prefetch_k,
                rrf_k=settings.rrf_k,
                section_kinds=("front", "body"),
            )
            qdrant_only.append((time.perf_counter() - started) * 1000)
    finally:
        index.close()
    return {"search_with_query_embedding": percentiles(end_to_end), "qdrant_hybrid_only": percentiles(qdrant_only)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pdf-dir", type=Path, default=os.environ.get("CORPUS_MIRROR"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ingest.json")
    args = parser.parse_args()
    if args.pdf_dir is None:
        sys.exit("set CORPUS_MIRROR or pass --pdf-dir")
    questions_file = REPO / "bench" / "retrieval_questions.jsonl"
    questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines()]
    questions = (questions * 3)[:100]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        cold = timed_ingest(data_dir, args.pdf_dir)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        unchanged = timed_ingest(data_dir, args.pdf_dir)
        papers = IngestState(Settings(data_dir=data_dir).ingest_state_path).papers.values()
        pages, chunks = sum(p.pages for p in papers), sum(p.chunks for p in papers)
        latency = query_latency(data_dir, questions)
    result = {
        "cpu_cores": os.cpu_count(),
        "papers": len(papers),
        "pages": pages,
        "chunks": chunks,
        "cold_ingest_s": round(cold, 1),
        "pages_per_s": round(pages / cold, 1),
        "chunks_per_s": round(chunks / cold, 1),
        "peak_rss_mb": round(peak_rss_mb),
        "unchanged_reingest_s": round(unchanged, 1),
        "query_latency_real_corpus": latency,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
