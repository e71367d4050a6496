"""Fusion of the dense and BM25 legs, compared on gold pages: Qdrant's RRF and DBSF, and client-side weighted
variants (the sparse leg weighted up) over the same top-50 legs, on both question sets.

Usage: python bench/bench_fusion.py [--data-dir data] [--out bench/results/fusion.json]
(needs an ingested DATA_DIR not held by another process: copy data/qdrant and the ingest state if it is).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.golden_check import load_golden  # noqa: E402
from eval.metrics import retrieval_scores  # noqa: E402
from paper_rag.index import open_index  # noqa: E402
from paper_rag.retrieval import Retriever  # noqa: E402
from paper_rag.schema import SearchHit  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402

LEG = 50
METRICS = ("paper_hit@1", "page_hit@1", "page_hit@5", "page_hit@10", "mrr@10", "ndcg@10")


def fuse(legs: list[tuple[float, list[SearchHit], list[float]]]) -> list[SearchHit]:
    """Top 10 by the weighted sum of each leg's per-hit contributions (weight, hits, contribution per hit)."""
    scores: dict[str, float] = defaultdict(float)
    hits = {}
    for weight, leg, contributions in legs:
        for hit, contribution in zip(leg, contributions, strict=True):
            scores[hit.chunk.chunk_id] += weight * contribution
            hits[hit.chunk.chunk_id] = hit
    return [hits[c] for c in sorted(scores, key=lambda c: -scores[c])[:10]]


def weighted_rrf(dense: list[SearchHit], sparse: list[SearchHit], k: int, sparse_weight: float) -> list[SearchHit]:
    def ranks(leg: list[SearchHit]) -> list[float]:
        return [1 / (k + rank + 1) for rank in range(len(leg))]

    return fuse([(1.0, dense, ranks(dense)), (sparse_weight, sparse, ranks(sparse))])


def weighted_dbsf(dense: list[SearchHit], sparse: list[SearchHit], sparse_weight: float) -> list[SearchHit]:
    """Qdrant's DBSF (each leg's scores scaled by mean +- 3 sd) with a weight on the sparse leg."""

    def normalized(leg: list[SearchHit]) -> list[float]:
        values = np.array([h.score for h in leg])
        low, high = values.mean() - 3 * values.std(), values.mean() + 3 * values.std()
        return list((values - low) / (high - low))

    return fuse([(1.0, dense, normalized(dense)), (sparse_weight, sparse, normalized(sparse))])


def question_sets() -> dict[str, list[dict]]:
    bench = [json.loads(line) for line in (REPO / "bench" / "retrieval_questions.jsonl").read_text().splitlines()]
    return {
        "bench48": [
            {"question": b["question"], "gold": [{"paper_id": b["paper_id"], "page": p} for p in b["gold_pages"]]}
            for b in bench
        ],
        "golden_answerable": [g for g in load_golden(REPO / "eval" / "golden.jsonl") if g["kind"] != "unanswerable"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fusion.json")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    index = open_index(settings)
    retriever = Retriever(settings=settings, index=index)
    Fuse = Callable[[str, list[SearchHit], list[SearchHit]], list[SearchHit]]
    configs: dict[str, Fuse] = {
        "dense": lambda q, d, s: d[:10],
        "bm25": lambda q, d, s: s[:10],
        "qdrant rrf k=60 (default)": lambda q, d, s: retriever.search(q, fusion="rrf"),
        "qdrant dbsf": lambda q, d, s: retriever.search(q, fusion="dbsf"),
        "rrf k=10": lambda q, d, s: weighted_rrf(d, s, 10, 1.0),
        "rrf k=60, bm25 x2": lambda q, d, s: weighted_rrf(d, s, 60, 2.0),
        "rrf k=60, bm25 x3": lambda q, d, s: weighted_rrf(d, s, 60, 3.0),
        "dbsf, bm25 x1.5": lambda q, d, s: weighted_dbsf(d, s, 1.5),
        "dbsf, bm25 x2": lambda q, d, s: weighted_dbsf(d, s, 2.0),
    }
    result: dict[str, dict] = {}
    try:
        for set_name, items in question_sets().items():
            legs = {
                item["question"]: (
                    retriever.search(item["question"], k=LEG, mode="dense", prefetch=LEG),
                    retriever.search(item["question"], k=LEG, mode="sparse", prefetch=LEG),
                )
                for item in items
            }
            table = {}
            for name, fuse in configs.items():
                per_metric = defaultdict(list)
                for item in items:
                    hits = fuse(item["question"], *legs[item["question"]])
                    for metric, value in retrieval_scores([h.as_json() for h in hits], item["gold"]).items():
                        per_metric[metric].append(value)
                table[name] = {m: round(float(np.mean(per_metric[m])), 3) for m in METRICS}
            result[set_name] = {"questions": len(items), "scores": table}
            print(f"\n{set_name} ({len(items)} questions)\n| fusion | " + " | ".join(METRICS) + " |")
            print("|---" * (len(METRICS) + 1) + "|")
            for name, row in table.items():
                print(f"| {name} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + " |")
    finally:
        index.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
