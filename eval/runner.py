"""Runs the golden set through the real pipeline: retrieval for each configuration, answers from the
service's answer pipeline, ragas scores from a judge; every result cached so a crash redoes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi
from rich.console import Console
from rich.progress import track

from eval.judge import RagasJudge
from paper_rag.index import PaperIndex
from paper_rag.rerank.model import Reranker, reorder, rerank_text
from paper_rag.retrieval import Retriever
from paper_rag.schema import DEFAULT_SEARCH_KINDS, SearchHit
from paper_rag.search import ranked_search
from paper_rag.settings import Settings
from paper_rag.sparse import reference_tokens
from service.answering import AnswerService, GenerationFailedError

# "hybrid" is the service's own search (FUSION, default RRF); "hybrid-dbsf" the same legs fused by DBSF.
# "hybrid+rerank" is the answer path's order; "hybrid+rerank-untrained" the same reranker untrained, to show what
# training on the corpus adds: for the feature ranker every feature weighed alike, for a cross-encoder the same
# student with its base weights and a fresh head.
RETRIEVAL_CONFIGS = ("dense", "bm25", "rank-bm25", "hybrid", "hybrid-dbsf", "hybrid+rerank", "hybrid+rerank-untrained")
PIPELINE = "answers"  # the cache name of the full answer pipeline's results
Search = Callable[[str], list[SearchHit]]


class ResultCache:
    """One JSON line per (question, configuration), appended as soon as it is computed."""

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{name}.jsonl"
        self.rows: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.rows[row["key"]] = row

    @staticmethod
    def key(item: dict[str, Any]) -> str:
        return hashlib.sha1(f"{item['id']}\n{item['question']}".encode()).hexdigest()[:16]

    def get(self, item: dict[str, Any]) -> dict[str, Any] | None:
        return self.rows.get(self.key(item))

    def put(self, item: dict[str, Any], row: dict[str, Any]) -> None:
        row = {"key": self.key(item), "id": item["id"], **row}
        self.rows[row["key"]] = row
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")


PROGRESS = Console(stderr=True)  # the same bars (rich) as the rest of the CLI


def retrieval_searchers(
    settings: Settings, index: PaperIndex, retriever: Retriever, reranker: Reranker
) -> dict[str, Search | str]:
    """Each configuration's search function, or the reason it cannot run."""
    chunks = [c for c in index.chunks() if c.section_kind in DEFAULT_SEARCH_KINDS]
    reference = BM25Okapi([reference_tokens(c.index_text) for c in chunks])

    def rank_bm25(question: str) -> list[SearchHit]:
        scores = reference.get_scores(reference_tokens(question))
        return [SearchHit(chunks[i], float(scores[i])) for i in np.argsort(-scores)[:10]]

    def reranked(question: str) -> list[SearchHit]:
        return ranked_search(question, settings=settings, retriever=retriever, reranker=reranker, k=10)

    reranker.warm_up()
    untrained: list[Any] = []  # loaded on first use

    def reranked_untrained(question: str) -> list[SearchHit]:
        hits = retriever.search(question, k=settings.rerank_candidates)
        head = hits[: settings.rerank_top_n]
        if reranker.feature_ranker is not None:
            alike = replace(reranker.feature_ranker, weights=[1.0] * len(reranker.feature_ranker.weights), bias=0.0)
            return reorder(hits, reranker.feature_scores(question, head, ranker=alike))[:10]
        if not untrained:
            untrained.append(untrained_reranker(settings, reranker))
        scores = untrained[0].predict([(question, rerank_text(h)) for h in head], show_progress_bar=False)
        return reorder(hits, [float(s) for s in scores])[:10]

    return {
        "dense": lambda q: retriever.search(q, k=10, mode="dense"),
        "bm25": lambda q: retriever.search(q, k=10, mode="sparse"),
        "rank-bm25": rank_bm25,
        "hybrid": lambda q: retriever.search(q, k=10),
        "hybrid-dbsf": lambda q: retriever.search(q, k=10, fusion="dbsf"),
        "hybrid+rerank": reranked
        if reranker.state == "available"
        else "reranker unavailable: " + reranker.reason.splitlines()[0],
        "hybrid+rerank-untrained": reranked_untrained,
    }


def untrained_reranker(settings: Settings, trained: Reranker) -> Any:
    """The trained reranker's architecture (as many layers) from the embedder's weights, with a seeded fresh
    head: the control row for the gain of training."""
    import torch

    from paper_rag.embedder import resolve_model_path
    from paper_rag.rerank.training import TrainConfig, new_model

    layers = int((trained.manifest or {}).get("layers", 6))
    torch.manual_seed(0)
    model = new_model(str(resolve_model_path(settings.embedding_model)), TrainConfig(layers=layers))
    model.eval()
    return model


def cache_name(config: str, reranker: Reranker, settings: Settings) -> str:
    """Rerank results depend on the weights and rerank settings too: a change starts a new cache."""
    if "rerank" not in config:
        return config
    about = reranker.describe() | {"top_n": settings.rerank_top_n, "max_tokens": settings.rerank_max_tokens}
    weights = json.dumps(about, sort_keys=True)
    return f"{config}-{hashlib.sha1(weights.encode()).hexdigest()[:8]}"


def run_retrieval(items: Sequence[dict[str, Any]], name: str, search: Search, cache: ResultCache) -> Iterator[dict]:
    for item in track(items, description=f"retrieval: {name}", console=PROGRESS):
        row = cache.get(item)
        if row is None:
            started = time.perf_counter()
            hits = search(item["question"])
            row = {"results": [h.as_json() for h in hits], "ms": (time.perf_counter() - started) * 1000}
            cache.put(item, row)
        yield row


async def run_answers(
    items: Sequence[dict[str, Any]], answers: AnswerService, cache: ResultCache, judge: RagasJudge | None
) -> list[dict[str, Any]]:
    rows = []
    for item in track(items, description="answers", console=PROGRESS):
        row = cache.get(item)
        if row is None:
            try:
                row = {"answer": (await answers.ask(item["question"])).as_json(), "error": ""}
            except GenerationFailedError as exc:
                row = {"answer": None, "error": str(exc)}
            cache.put(item, row)
        if judge is not None and row["answer"] is not None and judge.name not in row.get("ragas", {}):
            row.setdefault("ragas", {})[judge.name] = await judge.score(item, row["answer"])
            cache.put(item, row)
        rows.append(row)
    return rows


def run_answers_sync(
    items: Sequence[dict[str, Any]], answers: AnswerService, cache: ResultCache, judge: RagasJudge | None
) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        try:
            return await run_answers(items, answers, cache, judge)
        finally:
            await answers.generator.aclose()

    return asyncio.run(run())
