"""The ranking the answer path uses, for callers that only search (CLI, /v1/search, evaluation)."""

from __future__ import annotations

from collections.abc import Sequence

from paper_rag.rerank.model import Reranker
from paper_rag.retrieval import Retriever
from paper_rag.schema import SearchHit
from paper_rag.settings import Settings


def ranked_search(
    question: str,
    *,
    settings: Settings,
    retriever: Retriever,
    reranker: Reranker,
    k: int,
    paper_ids: Sequence[str] | None = None,
    all_sections: bool = False,
    rerank: bool = True,
) -> list[SearchHit]:
    """Hybrid candidates, then the reranker over the first RERANK_TOP_N; with rerank=False the fusion order."""
    if not rerank:
        return retriever.search(question, k=k, paper_ids=paper_ids, all_sections=all_sections)
    candidates = retriever.search(
        question, k=max(k, settings.rerank_candidates), paper_ids=paper_ids, all_sections=all_sections
    )
    return reranker.rerank(question, candidates, paper_ids=paper_ids, all_sections=all_sections)[:k]
