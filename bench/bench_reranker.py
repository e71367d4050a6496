"""Reranker time and quality per candidate count N, precision and rerank input, on questions with known pages.

Questions: the golden set's answerable questions and bench/retrieval_questions.jsonl (written independently
of the golden set). For each question the hybrid top 30 is fetched once; then for each variant the first N are
rescored and page hit@1 / hit@5 / MRR@10 computed, with the rerank time per question (p50 / p95).
Variants: N in 10 / 20 / 30; RERANK_FUSION_WEIGHT 0 / 0.5 / 1 / 2; precision fp32 / bf16 autocast;
input = index text (paper name, section, chunk) or the chunk text alone.
Usage: python bench/bench_reranker.py [--data-dir data] [--out bench/results/reranker.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paper_rag.index import open_index  # noqa: E402
from paper_rag.rerank.model import Reranker, is_feature_ranker, reorder  # noqa: E402
from paper_rag.retrieval import Retriever  # noqa: E402
from paper_rag.schema import SearchHit  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402

FUSION_WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def load_questions() -> dict[str, list[dict]]:
    golden = [json.loads(line) for line in (REPO / "eval" / "golden.jsonl").read_text().splitlines() if line]
    independent = [
        json.loads(line) for line in (REPO / "bench" / "retrieval_questions.jsonl").read_text().splitlines() if line
    ]
    return {
        "golden": [
            {"question": g["question"], "gold": [(x["paper_id"], x["page"]) for x in g["gold"]]}
            for g in golden
            if g["kind"] != "unanswerable"
        ],
        "independent": [
            {"question": q["question"], "gold": [(q["paper_id"], p) for p in q["gold_pages"]]} for q in independent
        ],
    }


def first_gold_rank(item: dict, hits: list[SearchHit]) -> int | None:
    for rank, hit in enumerate(hits[:10], start=1):
        c = hit.chunk
        if any(c.paper_id == paper and c.page_start <= page <= c.page_end for paper, page in item["gold"]):
            return rank
    return None


def summary(ranks: list[int | None], times: list[float]) -> dict:
    n = len(ranks)
    return {
        "page_hit@1": round(sum(r == 1 for r in ranks) / n, 3),
        "page_hit@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 3),
        "mrr@10": round(sum(1 / r for r in ranks if r) / n, 3),
        "rerank_ms_p50": round(float(np.percentile(times, 50)), 1) if times else None,
        "rerank_ms_p95": round(float(np.percentile(times, 95)), 1) if times else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reranker.json")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    index = open_index(settings)
    retriever = Retriever(settings=settings, index=index)
    retriever.warm_up()
    sets = load_questions()
    candidates = {name: [retriever.search(q["question"], k=30) for q in items] for name, items in sets.items()}
    index.close()
    results: dict = {"fusion": {}, "variants": []}
    for name, items in sets.items():
        results["fusion"][name] = summary(
            [first_gold_rank(q, h) for q, h in zip(items, candidates[name], strict=True)], []
        )
    print(json.dumps(results["fusion"]), flush=True)
    variants = [(20, "bf16", "index_text"), (10, "bf16", "index_text"), (30, "bf16", "index_text"),
                (20, "fp32", "index_text"), (20, "bf16", "chunk_text")]  # fmt: skip
    # The cross-encoder RERANKER_MODEL names; with the feature reranker configured, the corpus-trained student.
    model = "corpus-minilm" if is_feature_ranker(settings.reranker_model) else settings.reranker_model
    rerankers = {
        p: Reranker(settings=settings.model_copy(update={"reranker_precision": p, "reranker_model": model}))
        for p in ("fp32", "bf16")
    }
    for top_n, precision, text in variants:
        reranker = rerankers[precision]
        scored: dict[str, list[tuple[list[float], float]]] = {}
        for name, items in sets.items():
            scored[name] = []
            for item, hits in zip(items, candidates[name], strict=True):
                head = hits[:top_n]
                texts = [h.chunk.index_text if text == "index_text" else h.chunk.text for h in head]
                started = time.perf_counter()
                scores = reranker.scores(item["question"], texts)
                scored[name].append((scores, (time.perf_counter() - started) * 1000))
        for weight in FUSION_WEIGHTS if (top_n, precision, text) == variants[0] else (0.0,):
            row = {"top_n": top_n, "precision": precision, "input": text, "fusion_weight": weight}
            for name, items in sets.items():
                ranks = []
                for item, hits, (scores, _) in zip(items, candidates[name], scored[name], strict=True):
                    ranks.append(first_gold_rank(item, reorder(hits, scores, weight)))
                row[name] = summary(ranks, [ms for _, ms in scored[name]])
            results["variants"].append(row)
            print(json.dumps(row), flush=True)
    results["reranker"] = rerankers["bf16"].describe()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
