"""Gold-page retrieval quality on bench/retrieval_questions.jsonl: dense, BM25, hybrid, and a naive baseline.

A hit@k means one of the top k results is from the gold paper and its page span covers a gold page.
The naive baseline is BM25 (rank-bm25) over 200-word windows of raw page text: no cleaning, no sections.
Needs an index of the corpus in --data-dir (`paper-rag ingest`). Usage:
python bench/bench_retrieval_quality.py [--data-dir data] [--pdf-dir DIR] [--out bench/results/retrieval_quality.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pymupdf
from rank_bm25 import BM25Okapi

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paper_rag.index import open_index  # noqa: E402
from paper_rag.retrieval import Retriever  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402
from paper_rag.sparse import reference_tokens  # noqa: E402

K = 5


def is_hit(item: dict, paper_id: str, page_start: int, page_end: int) -> bool:
    return paper_id == item["paper_id"] and any(page_start <= g <= page_end for g in item["gold_pages"])


def hits_at(item: dict, ranked: list[tuple[str, int, int]]) -> tuple[bool, bool]:
    flags = [is_hit(item, *r) for r in ranked[:K]]
    return bool(flags and flags[0]), any(flags)


def naive_baseline(pdf_dir: Path, questions: list[dict]) -> list[tuple[bool, bool]]:
    windows: list[tuple[str, int, str]] = []
    for path in sorted(pdf_dir.glob("*.pdf")):
        with pymupdf.open(path) as doc:
            for number, page in enumerate(doc, start=1):
                words = page.get_text().split()
                windows += [(path.stem, number, " ".join(words[i : i + 200])) for i in range(0, len(words), 200)]
    scorer = BM25Okapi([reference_tokens(text) for _, _, text in windows])
    results = []
    for item in questions:
        top = np.argsort(-scorer.get_scores(reference_tokens(item["question"])))[:K]
        results.append(hits_at(item, [(windows[i][0], windows[i][1], windows[i][1]) for i in top]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--pdf-dir", type=Path, default=os.environ.get("CORPUS_MIRROR"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "retrieval_quality.json")
    args = parser.parse_args()
    questions = [json.loads(line) for line in (REPO / "bench" / "retrieval_questions.jsonl").read_text().splitlines()]
    settings = Settings(data_dir=args.data_dir)
    index = open_index(settings)
    retriever = Retriever(settings=settings, index=index)
    configs = {
        "dense": {"mode": "dense"},
        "bm25 (qdrant sparse)": {"mode": "sparse"},
        "hybrid (rrf)": {"mode": "hybrid", "fusion": "rrf"},
        "hybrid (dbsf)": {"mode": "hybrid", "fusion": "dbsf"},
        "hybrid, all sections": {"mode": "hybrid", "all_sections": True},
    }
    table: dict[str, dict[str, float]] = {}
    misses: dict[str, list[str]] = {}
    try:
        for name, options in configs.items():
            outcomes = []
            for item in questions:
                hits = retriever.search(item["question"], k=K, **options)
                outcomes.append(hits_at(item, [(h.chunk.paper_id, h.chunk.page_start, h.chunk.page_end) for h in hits]))
            table[name] = summarize(outcomes)
            misses[name] = [q["id"] for q, (_, at5) in zip(questions, outcomes, strict=True) if not at5]
    finally:
        index.close()
    if args.pdf_dir:
        table["naive: bm25 over 200-word raw page windows"] = summarize(naive_baseline(Path(args.pdf_dir), questions))
    result = {"questions": len(questions), "k": K, "gold_page_hits": table, "misses_at_5": misses}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"| configuration | gold-page hit@1 | gold-page hit@{K} |\n|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['hit@1']:.2f} | {row[f'hit@{K}']:.2f} |")


def summarize(outcomes: list[tuple[bool, bool]]) -> dict[str, float]:
    return {
        "hit@1": round(sum(a for a, _ in outcomes) / len(outcomes), 3),
        f"hit@{K}": round(sum(b for _, b in outcomes) / len(outcomes), 3),
    }


if __name__ == "__main__":
    main()
