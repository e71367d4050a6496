"""POST /v1/chat: the answer streamed as Server-Sent Events (token, citations, done, error)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse

from service.answering import GenerationFailedError, passages_json
from service.api.deps import AnswerQueueFullError, AnswersDep, StateDep
from service.api.errors import V1_ERRORS, declared
from service.api.routes.ask import queue_full
from service.api.schemas import ChatRequest
from service.api.validation import checked_history, checked_papers, checked_question

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["answers"])

SSE_DESCRIPTION = """Server-Sent Events, in this order: `token` ({"text"}) as the answer is written, `citations`
({"citations"}), then `done` (the /v1/ask response plus `conversation_id`); or `error` ({"message", "passages"})."""


# One Server-Sent Event, as a client's parser yields it: the event name and its JSON-encoded data.
SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["token", "citations", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json", "description": "The event's JSON."},
    },
}


def event_stream(stream: AsyncIterator[str]) -> StreamingResponse:
    """Server-Sent Events, unbuffered by proxies."""
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def sse(event: str, data: Any) -> str:
    # ASCII-escaped: a stray surrogate in model output must not break the stream.
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=True)}\n\n"


@router.post(
    "/chat",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {"description": SSE_DESCRIPTION, "content": {"text/event-stream": {"schema": SSE_EVENT}}},
        **declared(*V1_ERRORS, 503),
    },
)
async def chat(body: ChatRequest, answers: AnswersDep, state: StateDep) -> StreamingResponse | JSONResponse:
    settings = state.settings
    question = checked_question(body.question, settings)
    papers = checked_papers(body.papers, state.catalog)
    if body.messages:
        conversation_id = body.conversation_id or ""
        history = checked_history([m.model_dump() for m in body.messages], settings)
        server_side = False
    else:
        conversation_id, history = state.conversations.history(body.conversation_id)
        server_side = True
    try:
        reservation = state.slots.reserve()  # held by the stream: released when it ends
    except AnswerQueueFullError as exc:
        return queue_full(exc, settings.retry_after_s)

    async def events() -> AsyncIterator[str]:
        try:
            async for kind, payload in answers.stream(question, papers=papers, k=body.k, history=history):
                if kind == "token":
                    yield sse("token", {"text": payload})
                elif kind == "citations":
                    yield sse("citations", {"citations": payload})
                else:
                    result = payload.as_json() | {"conversation_id": conversation_id}
                    if server_side:
                        state.conversations.remember(conversation_id, question, result["answer"])
                    yield sse("done", result)
        except GenerationFailedError as exc:
            yield sse("error", {"message": str(exc), "passages": passages_json(exc.prepared.passages)})
        except Exception as exc:  # the stream has started: report in-band, never a traceback
            log.exception("answer stream failed for /v1/chat")
            yield sse("error", {"message": f"internal error ({type(exc).__name__}); see the server log"})

    return event_stream(reservation.held_by(events()))
