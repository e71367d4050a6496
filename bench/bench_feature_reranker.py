"""The feature reranker against the fusion order and its untrained control, per candidate count N, with the
time it adds per question (the legs' searches plus the features; the hybrid search itself is not counted).

Questions: the golden set's answerable questions, bench/retrieval_questions.jsonl (written independently of
the golden set) and the held-out synthetic questions (10% of the source chunks, never trained on).
Usage: python bench/bench_feature_reranker.py [--data-dir data] [--out bench/results/feature_reranker.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_reranker import first_gold_rank, load_questions, summary  # noqa: E402
from paper_rag.index import open_index  # noqa: E402
from paper_rag.rerank.model import Reranker, reorder  # noqa: E402
from paper_rag.rerank.question_filter import load_rows  # noqa: E402
from paper_rag.rerank.training import is_dev  # noqa: E402
from paper_rag.retrieval import Retriever  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402


def synthetic_dev(settings: Settings) -> list[dict]:
    rows = [r for r in load_rows(settings.reranker_questions) if r.get("status") == "kept" and is_dev(r)]
    return [
        {"question": r["question"], "gold": [(r["paper_id"], p) for p in range(r["page_start"], r["page_end"] + 1)]}
        for r in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "feature_reranker.json")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    index = open_index(settings)
    retriever = Retriever(settings=settings, index=index)
    retriever.warm_up()
    reranker = Reranker(settings=settings, retriever=retriever)
    reranker.warm_up()
    trained = reranker.feature_ranker
    if trained is None:
        raise SystemExit(f"the feature reranker is unavailable: {reranker.reason}")
    alike = replace(trained, weights=[1.0] * len(trained.weights), bias=0.0)
    sets = load_questions() | {"synthetic_dev": synthetic_dev(settings)}
    described = reranker.describe()
    # The committed result must not name this machine's checkout.
    described["path"] = os.path.relpath(described["path"], REPO)
    results: dict = {"reranker": described, "rows": []}
    for name, items in sets.items():
        candidates = [retriever.search(q["question"], k=settings.rerank_candidates) for q in items]
        fusion = summary([first_gold_rank(q, hits) for q, hits in zip(items, candidates, strict=True)], [])
        results["rows"].append({"set": name, "order": "fusion", **fusion})
        print(json.dumps(results["rows"][-1]), flush=True)
        for label, ranker in (("trained", trained), ("untrained (weights alike)", alike)):
            for top_n in (10, 20, 30):
                ranks, times = [], []
                for item, hits in zip(items, candidates, strict=True):
                    started = time.perf_counter()
                    scores = reranker.feature_scores(item["question"], hits[:top_n], ranker=ranker)
                    times.append((time.perf_counter() - started) * 1000)
                    ranks.append(first_gold_rank(item, reorder(hits, scores)))
                results["rows"].append({"set": name, "order": label, "top_n": top_n, **summary(ranks, times)})
                print(json.dumps(results["rows"][-1]), flush=True)
    index.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
