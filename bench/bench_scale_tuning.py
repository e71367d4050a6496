"""Hybrid query latency at 1M chunks, and what each tuning knob costs in recall: hnsw_ef, prefetch, int8 scalar
quantization of the dense vectors.

The chunk texts are bench_query_scaling.py's (sampled from the corpus's word frequencies, fixed seeds). Its
random unit vectors are the worst case for HNSW (at 20k of them, the default search finds 0.46 of the true
top 10), so here the dense vectors have the shape of real embeddings: 1,000 centres are the embedder's vectors
of real 150-word windows of the corpus PDFs, each with 32 sub-centres (cosine ~0.85 to it), each point drawn
around one sub-centre (cosine ~0.9); the 100 questions are the embeddings of synthetic reranker questions
(corpus/reranker_questions.jsonl, not the golden set), with the same BM25 texts as before. The shard is built
once with the service's settings. Each variant then runs the same 100 hybrid questions (dense + BM25
prefetches fused with RRF, top 10; embedding not timed). Recall@10 is the overlap of a variant's top 10 with
the exact reference: the service's query (prefetch 50) with an exact (brute-force) dense leg; the sparse leg
is exact either way. The per-leg rows say where the time goes. Then the shard is reloaded with int8 scalar
quantization (in RAM), optimized again, and the same variants run on it (quantized scores rescored with the
original vectors, or not). --pruning-only adds a probe on a kept shard: the sparse query without its terms
found in more than 50/20/10/5% of the chunks.

Usage: python bench/bench_scale_tuning.py --pdf-dir DIR [--size 1000000] [--keep DIR] [--pruning-only]
                                          [--out bench/results/scale_tuning.json]
--keep reuses (or leaves) the built shard in DIR, so a second run skips the build.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import qdrant_edge as qe

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_query_scaling import BATCH, batches, corpus_vocabulary, latency, make_questions  # noqa: E402

from paper_rag.embedder import EMBEDDING_DIM, Embedder  # noqa: E402
from paper_rag.index.base import DENSE_VECTOR, SPARSE_VECTOR  # noqa: E402
from paper_rag.index.edge import EdgeIndex, edge_config  # noqa: E402
from paper_rag.rerank.question_filter import load_rows  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402
from paper_rag.sparse import Bm25Encoder  # noqa: E402

LIMIT, RRF_K, SERVICE_PREFETCH = 10, 60, 50
EF_VALUES = (None, 512, 256, 128, 64, 32, 16)  # None: the engine's default (ef_construct)
# Query terms found in more than this share of the chunks carry little BM25 weight (IDF near 0) but have the
# longest posting lists: a probe of dropping them from the sparse query.
DF_CUTOFFS = (0.5, 0.2, 0.1, 0.05)
PREFETCH_VALUES = (50, 30, 20)


CENTRES, SUB_CENTRES, WINDOW_WORDS = 1_000, 32, 150
CENTRE_COS, POINT_COS = 0.85, 0.9
VECTOR_SEED = 13


def real_vectors(embedder: Embedder, pdf_dir: Path, questions: int) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of CENTRES random word windows of the corpus PDFs, and of the first synthetic questions."""
    import pymupdf

    words: list[str] = []
    for pdf in sorted(pdf_dir.glob("*.pdf")):
        with pymupdf.open(pdf) as doc:
            words += " ".join(page.get_text() for page in doc).split()
    rng = np.random.default_rng(VECTOR_SEED)
    starts = rng.integers(0, len(words) - WINDOW_WORDS, size=CENTRES)
    windows = [" ".join(words[s : s + WINDOW_WORDS]) for s in starts]
    asked = [r["question"] for r in load_rows(REPO / "corpus" / "reranker_questions.jsonl")][:questions]
    return embedder.embed_passages(windows), embedder.embed_passages(asked)


def around(rng: np.random.Generator, centres: np.ndarray, cosine: float) -> np.ndarray:
    """Unit vectors at about `cosine` to the given unit centres (isotropic noise)."""
    scale = np.sqrt(1 / cosine**2 - 1) / np.sqrt(centres.shape[1])
    points = centres + rng.standard_normal(centres.shape, dtype=np.float32) * scale
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def clustered_vectors(centres: np.ndarray, size: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(VECTOR_SEED)
    subs = around(rng, np.repeat(centres, SUB_CENTRES, axis=0), CENTRE_COS)
    for start in range(0, size, BATCH):
        n = min(BATCH, size - start)
        yield around(rng, subs[rng.integers(0, len(subs), size=n)], POINT_COS).astype(np.float32)


def build(path: Path, vocab, size: int, centres: np.ndarray) -> float:
    enc = Bm25Encoder()
    index = EdgeIndex(path=path)
    started = time.perf_counter()
    for (chunks, _random), dense in zip(batches(vocab, size), clustered_vectors(centres, size), strict=True):
        index.upsert(chunks, dense, [enc.document(c.text) for c in chunks])
        if (chunks[-1].ordinal + 1) % 100_000 == 0:
            print(f"  {chunks[-1].ordinal + 1:,} upserted, {time.perf_counter() - started:.0f} s", flush=True)
    index.optimize()
    assert index.count() == size, f"{index.count()} points, expected {size}"
    index.close()
    return time.perf_counter() - started


def hybrid(dense, sparse, *, prefetch: int, params: qe.SearchParams | None) -> qe.QueryRequest:
    return qe.QueryRequest(
        limit=LIMIT,
        prefetches=[
            qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(dense, using=DENSE_VECTOR), params=params),
            qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(sparse, using=SPARSE_VECTOR)),
        ],
        query=qe.Fusion.Rrf(k=RRF_K),  # type: ignore[arg-type]  # the stub omits it
    )


def single(vector, using: str, *, params: qe.SearchParams | None) -> qe.QueryRequest:
    return qe.QueryRequest(limit=LIMIT, query=qe.Query.Nearest(vector, using=using), params=params)


def ids(points) -> list:
    return [p.id for p in points]


def recall(shard: qe.EdgeShard, requests: list[qe.QueryRequest], truth: list[list]) -> float:
    """Mean share of the reference top 10 that each request's top 10 holds."""
    found = [ids(shard.query(r)) for r in requests]
    return round(float(np.mean([len(set(f) & set(t)) / LIMIT for f, t in zip(found, truth, strict=True)])), 3)


def run_variants(shard: qe.EdgeShard, queries: list, label: str, quantized: bool) -> list[dict]:
    exact = qe.SearchParams(exact=True)
    reference = [ids(shard.query(hybrid(d, s, prefetch=SERVICE_PREFETCH, params=exact))) for d, s in queries]
    dense_reference = [ids(shard.query(single(d, DENSE_VECTOR, params=exact))) for d, _ in queries]
    rows = []

    def record(name: str, make, truth: list[list] | None, **knobs) -> None:
        stats = latency(lambda i: shard.query(make(*queries[i])), len(queries))
        row = {"index": label, "query": name, **knobs, **stats}
        if truth is not None:
            row["recall@10"] = recall(shard, [make(*q) for q in queries], truth)
        rows.append(row)
        print(f"  {row}", flush=True)

    quantization = [None]
    if quantized:
        quantization = [
            qe.QuantizationSearchParams(rescore=True),
            qe.QuantizationSearchParams(rescore=False),
            qe.QuantizationSearchParams(rescore=True, oversampling=2.0),
        ]
    record("sparse leg only", lambda d, s: single(s, SPARSE_VECTOR, params=None), None)
    record("dense leg, exact", lambda d, s: single(d, DENSE_VECTOR, params=exact), None)
    for q in quantization:
        q_name = "" if q is None else f"rescore={q.rescore}, oversampling={q.oversampling}"
        for ef in EF_VALUES:
            params = qe.SearchParams(hnsw_ef=ef, quantization=q)
            record("dense leg", lambda d, s, p=params: single(d, DENSE_VECTOR, params=p), dense_reference,
                   hnsw_ef=ef, quantization=q_name)  # fmt: skip
            for prefetch in PREFETCH_VALUES:
                record("hybrid", lambda d, s, p=params, n=prefetch: hybrid(d, s, prefetch=n, params=p), reference,
                       hnsw_ef=ef, prefetch=prefetch, quantization=q_name)  # fmt: skip
    return rows


def document_frequencies(vocab, size: int) -> dict[int, int]:
    """How many synthetic chunks hold each BM25 term id (the same texts the shard was built from)."""
    enc = Bm25Encoder()
    df: dict[int, int] = {}
    for chunks, _random in batches(vocab, size):
        for chunk in chunks:
            for term in enc.document(chunk.text).indices:
                df[term] = df.get(term, 0) + 1
    return df


def pruned(sparse: qe.SparseVector, df: dict[int, int], size: int, cutoff: float) -> qe.SparseVector:
    """The query without its terms in more than `cutoff` of the chunks (its rarest term is always kept)."""
    terms = sorted(zip(sparse.indices, sparse.values, strict=True), key=lambda t: df.get(t[0], 0))
    kept = [t for i, t in enumerate(terms) if i == 0 or df.get(t[0], 0) <= cutoff * size]
    return qe.SparseVector(indices=[t[0] for t in kept], values=[t[1] for t in kept])


def pruning_rows(shard: qe.EdgeShard, queries: list, df: dict[int, int], size: int) -> list[dict]:
    exact = qe.SearchParams(exact=True)
    reference = [ids(shard.query(hybrid(d, s, prefetch=SERVICE_PREFETCH, params=exact))) for d, s in queries]
    sparse_reference = [ids(shard.query(single(s, SPARSE_VECTOR, params=None))) for _, s in queries]
    rows = []
    for cutoff in DF_CUTOFFS:
        cut = [(d, pruned(s, df, size, cutoff)) for d, s in queries]
        terms = float(np.mean([len(s.indices) for _, s in cut]))
        for name, make, truth in (
            ("sparse leg, common terms dropped", lambda d, s: single(s, SPARSE_VECTOR, params=None), sparse_reference),
            ("hybrid, common terms dropped", lambda d, s: hybrid(d, s, prefetch=SERVICE_PREFETCH, params=None),
             reference),
        ):  # fmt: skip
            requests = [make(*q) for q in cut]
            stats = latency(lambda i, r=requests: shard.query(r[i]), len(requests))
            row = {"index": "hnsw, float32", "query": name, "df_cutoff": cutoff, "query_terms": round(terms, 2),
                   **stats, "recall@10": recall(shard, requests, truth)}  # fmt: skip
            rows.append(row)
            print(f"  {row}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdf-dir", type=Path, default=os.environ.get("CORPUS_MIRROR"))
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="Folder for the shard, kept after the run (and reused).")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale_tuning.json")
    parser.add_argument("--pruning-only", action="store_true", help="Only the common-term probe, on a --keep shard; "
                        "its rows are added to --out.")  # fmt: skip
    args = parser.parse_args()
    if args.pdf_dir is None:
        sys.exit("set CORPUS_MIRROR or pass --pdf-dir")
    vocab, vocab_info = corpus_vocabulary(args.pdf_dir)
    enc = Bm25Encoder()
    centres, asked = real_vectors(Embedder(settings=Settings()), args.pdf_dir, args.queries)
    texts = [text for text, _random in make_questions(vocab, args.queries)]
    queries = [(dense, enc.query(text)) for text, dense in zip(texts, asked.tolist(), strict=True)]
    queries_all = [len(s.indices) for _, s in queries]
    path = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-")) / "shard"
    if args.pruning_only:
        report = json.loads(args.out.read_text())
        report["mean_query_terms"] = round(float(np.mean(queries_all)), 2)
        shard = qe.EdgeShard.load(str(path))
        report["rows"] = [r for r in report["rows"] if "df_cutoff" not in r]
        report["rows"] += pruning_rows(shard, queries, document_frequencies(vocab, args.size), args.size)
        shard.close()
        args.out.write_text(json.dumps(report, indent=1) + "\n")
        return
    report: dict = {"what": __doc__.split("\n\n")[0], "size": args.size, "cpu_cores": os.cpu_count(),
                    "vocabulary": vocab_info, "queries": args.queries, "rows": []}  # fmt: skip
    try:
        if not (path / "edge_config.json").exists():
            print(f"building {args.size:,} chunks in {path} ...", flush=True)
            report["build_s"] = round(build(path, vocab, args.size, centres), 1)
        shard = qe.EdgeShard.load(str(path))
        report["rows"] += run_variants(shard, queries, "hnsw, float32", quantized=False)
        shard.close()
        print("adding int8 scalar quantization ...", flush=True)
        started = time.perf_counter()
        int8 = qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
        config = edge_config(EMBEDDING_DIM, int8)
        shard = qe.EdgeShard.load(str(path), config)
        shard.optimize()
        report["quantize_s"] = round(time.perf_counter() - started, 1)
        report["rows"] += run_variants(shard, queries, "hnsw, int8 scalar quantization", quantized=True)
        shard.close()
    finally:
        report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
        if args.keep is None:
            shutil.rmtree(path.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
