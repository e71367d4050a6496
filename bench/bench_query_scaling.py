"""How hybrid query latency grows with index size: qdrant-edge, qdrant-client local mode, rank-bm25.

Synthetic chunks: 90-130 words each, sampled from the real corpus's word frequencies (a Zipf-like unigram
distribution read from the PDFs with PyMuPDF), with random unit-length 384-d dense vectors (fixed seeds). Each
engine and size is built in a fresh child process, so build time (upsert + optimize; for rank-bm25 the BM25Okapi
constructor) and peak RSS (ru_maxrss, interpreter and imports included) are its own. Then 100 questions of 6-10
words with random dense vectors are timed after 10 warm-up queries. Query embedding is not timed: the BM25 query
vector (or rank-bm25 tokens) and the dense vector are prepared before the clock starts.

- qdrant-edge: the project's embedded engine, hybrid (dense + BM25 prefetches fused with RRF).
- qdrant-client local mode: the same hybrid query through ServerIndex (a pure-Python stand-in for a server).
- rank-bm25: the lexical leg only, get_scores + top-10 argpartition.

Usage: python bench/bench_query_scaling.py --pdf-dir DIR [--sizes 10000 100000 1000000] [--queries 100]
                                           [--out bench/results/query_scaling.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paper_rag.embedder import EMBEDDING_DIM  # noqa: E402
from paper_rag.schema import Chunk  # noqa: E402
from paper_rag.sparse import Bm25Encoder, reference_tokens  # noqa: E402

BATCH = 2_000
WARMUP = 10
LIMIT, PREFETCH, RRF_K = 10, 50, 60
CHUNK_WORDS = (90, 130)
QUESTION_WORDS = (6, 10)
DATA_SEED, QUERY_SEED = 7, 11
# Both pure-Python engines keep every point as Python objects and score by looping over the corpus in Python.
PYTHON_ENGINE_MAX = 100_000
SKIP_REASON = {
    "qdrant-client-local": "qdrant-client local mode keeps every point as Python objects and pickles each into "
    "SQLite (it warns above 20k points); 1M points would take hours to load and many GB of RAM on this 2-core, "
    "24 GB machine",
    "rank-bm25": "rank-bm25 keeps a Python dict per document and scores each query term with a Python loop over "
    "all documents; at 1M the index would need several GB and each query seconds",
}
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Vocabulary:
    words: np.ndarray  # str array, most frequent first
    probs: np.ndarray


def corpus_vocabulary(pdf_dir: Path) -> tuple[Vocabulary, dict[str, int]]:
    import pymupdf

    counts: Counter[str] = Counter()
    pdfs = sorted(pdf_dir.glob("*.pdf"))
    for pdf in pdfs:
        with pymupdf.open(pdf) as doc:
            for page in doc:
                counts.update(_WORD.findall(page.get_text().lower()))
    common = [(w, c) for w, c in counts.most_common() if c >= 2]  # one-off words are mostly extraction noise
    freq = np.array([c for _, c in common], dtype=np.float64)
    vocab = Vocabulary(np.array([w for w, _ in common]), freq / freq.sum())
    return vocab, {"pdfs": len(pdfs), "distinct_words": len(common), "corpus_tokens": int(freq.sum())}


def sample_texts(vocab: Vocabulary, rng: np.random.Generator, n: int, words: tuple[int, int]) -> list[str]:
    lengths = rng.integers(words[0], words[1] + 1, size=n)
    ids = rng.choice(len(vocab.words), size=(n, words[1]), p=vocab.probs)
    return [" ".join(row[:k]) for row, k in zip(vocab.words[ids], lengths, strict=True)]


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    dense = rng.standard_normal((n, EMBEDDING_DIM), dtype=np.float32)
    return dense / np.linalg.norm(dense, axis=1, keepdims=True)


def batches(vocab: Vocabulary, size: int) -> Iterator[tuple[list[Chunk], np.ndarray]]:
    """The same synthetic corpus for every engine, generated BATCH chunks at a time."""
    rng = np.random.default_rng(DATA_SEED)
    for start in range(0, size, BATCH):
        n = min(BATCH, size - start)
        texts = sample_texts(vocab, rng, n, CHUNK_WORDS)
        chunks = [
            Chunk(
                paper_id=f"syn-{(start + i) // 50:06d}",
                title="Synthetic paper",
                section="Body",
                section_kind="body",
                page_start=1,
                page_end=1,
                text=text,
                ordinal=start + i,
            )
            for i, text in enumerate(texts)
        ]
        yield chunks, unit_vectors(rng, n)


def make_questions(vocab: Vocabulary, n: int) -> list[tuple[str, list[float]]]:
    rng = np.random.default_rng(QUERY_SEED)
    texts = sample_texts(vocab, rng, n, QUESTION_WORDS)
    return list(zip(texts, unit_vectors(rng, n).tolist(), strict=True))


def latency(run_query: Callable[[int], object], n: int) -> dict[str, float]:
    """Warm up on the first WARMUP queries, then time all n; run_query(i) runs query i."""
    for i in range(min(WARMUP, n)):
        run_query(i)
    samples = []
    for i in range(n):
        started = time.perf_counter()
        run_query(i)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(float(np.percentile(samples, 50)), 3),
        "p95_ms": round(float(np.percentile(samples, 95)), 3),
        "mean_ms": round(float(np.mean(samples)), 3),
    }


def bench_qdrant(engine: str, vocab: Vocabulary, size: int, questions: list[tuple[str, list[float]]]) -> dict:
    """qdrant-edge or qdrant-client local mode: timed upserts + optimize, then timed hybrid queries."""
    enc = Bm25Encoder()
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
    if engine == "qdrant-edge":
        from paper_rag.index.edge import EdgeIndex

        index = EdgeIndex(path=tmp / "shard")
    else:
        from qdrant_client import QdrantClient

        from paper_rag.index.server import ServerIndex

        index = ServerIndex(client=QdrantClient(path=str(tmp)), collection="bench")
    try:
        build = prep = 0.0
        for chunks, dense in batches(vocab, size):
            started = time.perf_counter()
            sparse = [enc.document(c.text) for c in chunks]
            prep += time.perf_counter() - started
            started = time.perf_counter()
            index.upsert(chunks, dense, sparse)
            build += time.perf_counter() - started
            if (chunks[-1].ordinal + 1) % 100_000 == 0:
                print(f"  {engine} {size}: {chunks[-1].ordinal + 1} upserted, {build:.0f} s", flush=True)
        started = time.perf_counter()
        index.optimize()
        optimize = time.perf_counter() - started
        assert index.count() == size, f"{index.count()} points, expected {size} (chunk id collision?)"
        queries = [(dense, enc.query(text)) for text, dense in questions]

        def run(i: int) -> object:
            dense, sparse = queries[i]
            hits = index.query(dense=dense, sparse=sparse, mode="hybrid", limit=LIMIT, prefetch=PREFETCH, rrf_k=RRF_K)
            assert len(hits) == LIMIT
            return hits

        stats = latency(run, len(queries))
    finally:
        index.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "build_s": round(build + optimize, 2),
        "optimize_s": round(optimize, 2),
        "sparse_encode_s": round(prep, 2),
        **stats,
    }


def bench_rank_bm25(vocab: Vocabulary, size: int, questions: list[tuple[str, list[float]]]) -> dict:
    from rank_bm25 import BM25Okapi

    started = time.perf_counter()
    corpus = [reference_tokens(c.text) for chunks, _ in batches(vocab, size) for c in chunks]
    prep = time.perf_counter() - started
    started = time.perf_counter()
    bm25 = BM25Okapi(corpus)
    build = time.perf_counter() - started
    del corpus
    queries = [reference_tokens(text) for text, _ in questions]

    def run(i: int) -> np.ndarray:
        scores = bm25.get_scores(queries[i])
        top = np.argpartition(scores, -LIMIT)[-LIMIT:]
        return top[np.argsort(scores[top])[::-1]]

    return {"build_s": round(build, 2), "tokenize_s": round(prep, 2), **latency(run, len(queries))}


def measure(engine: str, vocab: Vocabulary, size: int, questions: list[tuple[str, list[float]]]) -> dict:
    """Runs in a fresh child process: one engine at one size, plus that process's peak RSS."""
    if engine == "rank-bm25":
        result = bench_rank_bm25(vocab, size, questions)
    else:
        result = bench_qdrant(engine, vocab, size, questions)
    return result | {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def markdown(rows: list[dict]) -> str:
    lines = [
        "| engine | size | build s | p50 ms | p95 ms | mean ms | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['engine']} | {r['size']:,} | skipped | | | | |")
        else:
            lines.append(
                f"| {r['engine']} | {r['size']:,} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} "
                f"| {r['mean_ms']:.2f} | {r['peak_rss_mb']:,} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdf-dir", type=Path, default=os.environ.get("CORPUS_MIRROR"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "query_scaling.json")
    args = parser.parse_args()
    if args.pdf_dir is None:
        sys.exit("set CORPUS_MIRROR or pass --pdf-dir")
    vocab, vocab_info = corpus_vocabulary(args.pdf_dir)
    questions = make_questions(vocab, args.queries)
    report = {
        "what": "hybrid query latency vs index size on synthetic chunks; query embedding not timed",
        "cpu_cores": os.cpu_count(),
        "vocabulary": vocab_info,
        "chunk_words": list(CHUNK_WORDS),
        "question_words": list(QUESTION_WORDS),
        "queries": args.queries,
        "warmup_queries": WARMUP,
        "query": {"mode": "hybrid (rank-bm25: lexical only)", "limit": LIMIT, "prefetch": PREFETCH, "rrf_k": RRF_K},
        "results": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    spawn = multiprocessing.get_context("spawn")
    for size in sorted(args.sizes):
        for engine in ("qdrant-edge", "qdrant-client-local", "rank-bm25"):
            row: dict = {"engine": engine, "size": size}
            if engine != "qdrant-edge" and size > PYTHON_ENGINE_MAX:
                row["skipped"] = SKIP_REASON[engine]
            else:
                print(f"{engine} {size:,} ...", flush=True)
                with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                    row |= pool.submit(measure, engine, vocab, size, questions).result()
                print(f"  {row}", flush=True)
            report["results"].append(row)
            args.out.write_text(json.dumps(report, indent=2) + "\n")  # partial results survive a long run
    print(markdown(report["results"]))


if __name__ == "__main__":
    main()
