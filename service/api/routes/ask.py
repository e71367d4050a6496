"""POST /v1/ask: one question, one grounded answer with citations."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.answering import GenerationFailedError, passages_json
from service.api.deps import AnswerQueueFullError, AnswersDep, StateDep
from service.api.errors import V1_ERRORS, declared, error_response
from service.api.schemas import AskRequest, AskResponse
from service.api.validation import checked_papers, checked_question

router = APIRouter(prefix="/v1", tags=["answers"])


def queue_full(exc: AnswerQueueFullError, retry_after_s: int) -> JSONResponse:
    return error_response(503, str(exc), headers={"Retry-After": str(retry_after_s)})


@router.post("/ask", response_model=AskResponse, responses=declared(*V1_ERRORS, 503))
async def ask(body: AskRequest, answers: AnswersDep, state: StateDep) -> AskResponse | JSONResponse:
    question = checked_question(body.question, state.settings)
    papers = checked_papers(body.papers, state.catalog)
    try:
        with state.slots.hold():
            result = await answers.ask(question, papers=papers, k=body.k)
    except AnswerQueueFullError as exc:
        return queue_full(exc, state.settings.retry_after_s)
    except GenerationFailedError as exc:
        return error_response(503, str(exc), passages=passages_json(exc.prepared.passages))
    return AskResponse(**result.as_json())
