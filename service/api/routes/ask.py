"""POST /v1/ask: one question, one grounded answer with citations."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.answering import GenerationFailedError, passages_json
from service.api.deps import AnswersDep, StateDep
from service.api.schemas import AskRequest, AskResponse
from service.api.validation import checked_question

router = APIRouter(prefix="/v1", tags=["answers"])


@router.post("/ask", response_model=AskResponse, responses={503: {"description": "generator down or slow"}})
async def ask(body: AskRequest, answers: AnswersDep, state: StateDep) -> AskResponse | JSONResponse:
    question = checked_question(body.question, state.settings)
    try:
        result = await answers.ask(question, papers=body.papers, k=body.k)
    except GenerationFailedError as exc:
        return JSONResponse({"detail": str(exc), "passages": passages_json(exc.prepared.passages)}, 503)
    return AskResponse(**result.as_json())
