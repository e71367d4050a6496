"""POST /v1/chat: the answer streamed as Server-Sent Events (token, citations, done, error)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from service.answering import GenerationFailedError, passages_json
from service.api.deps import AnswersDep, StateDep
from service.api.schemas import ChatRequest
from service.api.validation import checked_question

router = APIRouter(prefix="/v1", tags=["answers"])


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@router.post("/chat", response_class=StreamingResponse)
async def chat(body: ChatRequest, answers: AnswersDep, state: StateDep) -> StreamingResponse:
    question = checked_question(body.question, state.settings)
    if body.messages:
        conversation_id, history = body.conversation_id or "", [m.model_dump() for m in body.messages]
        remember: list[dict[str, str]] | None = None
    else:
        conversation_id, remember = state.conversations.history(body.conversation_id)
        history = list(remember)

    async def events() -> AsyncIterator[str]:
        try:
            async for kind, payload in answers.stream(question, papers=body.papers, k=body.k, history=history):
                if kind == "token":
                    yield sse("token", {"text": payload})
                elif kind == "citations":
                    yield sse("citations", {"citations": payload})
                else:
                    result = payload.as_json() | {"conversation_id": conversation_id}
                    if remember is not None:
                        remember.extend(
                            [{"role": "user", "content": question}, {"role": "assistant", "content": result["answer"]}]
                        )
                    yield sse("done", result)
        except GenerationFailedError as exc:
            yield sse("error", {"message": str(exc), "passages": passages_json(exc.prepared.passages)})
        except Exception as exc:  # the stream has started: report in-band, never a traceback
            yield sse("error", {"message": f"internal error ({type(exc).__name__}); see the server log"})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
