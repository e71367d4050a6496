"""GET /v1/search (retrieval only) and GET /v1/papers (what is indexed)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from paper_rag.search import ranked_search
from service.api.deps import StateDep
from service.api.validation import checked_question

router = APIRouter(prefix="/v1", tags=["search"])


@router.get("/search")
async def search(
    state: StateDep,
    q: Annotated[str, Query(description="The question.")],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    paper: Annotated[list[str] | None, Query(description="Only these paper ids.")] = None,
    rerank: Annotated[bool, Query(description="false: the fusion order, without the cross-encoder.")] = True,
) -> dict[str, Any]:
    """The order the answer path uses: hybrid candidates, then the cross-encoder (unless rerank=false)."""
    if state.answers is None:
        raise HTTPException(503, f"the index is unavailable: {state.index_error}")
    question = checked_question(q, state.settings)
    answers = state.answers
    hits = await asyncio.to_thread(
        lambda: ranked_search(
            question,
            settings=state.settings,
            retriever=answers.retriever,
            reranker=answers.reranker,
            k=k,
            paper_ids=paper,
            rerank=rerank,
        )
    )
    return {
        "question": question,
        "reranker": answers.reranker.describe() | {"applied": rerank and answers.reranker.state == "available"},
        "results": [hit.as_json() for hit in hits],
    }


@router.get("/papers")
async def papers(state: StateDep) -> dict[str, Any]:
    state.catalog.reload()
    return {
        "papers": [
            {
                "paper_id": r.paper_id,
                "title": r.title,
                "pages": r.pages,
                "chunks": r.chunks,
                "ingested_at": r.ingested_at,
            }
            for r in sorted(state.catalog.papers.values(), key=lambda r: r.paper_id)
        ]
    }
