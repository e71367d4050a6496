"""GET /v1/search (retrieval only) and GET /v1/papers (what is indexed)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from paper_rag.search import ranked_search
from service.api.deps import StateDep
from service.api.errors import V1_ERRORS, declared
from service.api.schemas import PaperId
from service.api.validation import Text, checked_papers, checked_question

router = APIRouter(prefix="/v1", tags=["search"])


@router.get("/search", responses=declared(*V1_ERRORS, 503))
async def search(
    state: StateDep,
    q: Annotated[Text, Query(description="The question.")],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    paper: Annotated[list[PaperId] | None, Query(max_length=100, description="Only these paper ids.")] = None,
    rerank: Annotated[bool, Query(description="false: the fusion order, without the cross-encoder.")] = True,
) -> dict[str, Any]:
    """The order the answer path uses: hybrid candidates, then the cross-encoder (unless rerank=false)."""
    if state.answers is None:
        raise HTTPException(503, f"the index is unavailable: {state.index_error}")
    question = checked_question(q, state.settings)
    papers = checked_papers(paper, state.catalog)
    answers = state.answers
    hits = await asyncio.to_thread(
        lambda: ranked_search(
            question,
            settings=state.settings,
            retriever=answers.retriever,
            reranker=answers.reranker,
            k=k,
            paper_ids=papers,
            rerank=rerank,
        )
    )
    return {
        "question": question,
        "reranker": answers.reranker.describe() | {"applied": rerank and answers.reranker.state == "available"},
        "results": [hit.as_json() for hit in hits],
    }


@router.get("/papers", responses=declared(*V1_ERRORS))
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
