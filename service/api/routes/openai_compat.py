"""OpenAI-compatible Chat Completions (`POST /v1/chat/completions`, `GET /v1/models`) over the full RAG pipeline,
so any OpenAI client or chat app can ask the papers. The last user message is the question, the earlier ones
the conversation; the reply's text carries the [n] markers and a references list, and the structured answer
(citations, flags, abstention, passages) travels in the extra `paper_rag` field (and the final stream chunk)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from paper_rag.manifest import is_arxiv_id
from service.answering import AnswerResult, GenerationFailedError, Sampling, passages_json
from service.api.deps import AnswerQueueFullError, AnswersDep, StateDep
from service.api.errors import V1_ERRORS, declared, error_response
from service.api.routes.chat import event_stream
from service.api.schemas import PaperId
from service.api.validation import Text, checked_history, checked_papers, checked_question
from service.prompting import page_span

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai-compatible"])
MODEL_ID = "paper-rag"


class TextPart(BaseModel):
    type: Literal["text"]
    text: Text


class CompletionMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content)
        return self.content or ""


class PaperRagOptions(BaseModel):
    papers: list[PaperId] | None = Field(None, max_length=100, description="Only search these paper ids.")
    k: int | None = Field(None, ge=1, le=20, description="Passages to put in the prompt.")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(MODEL_ID, max_length=200, description="Any value: every request is answered by paper-rag.")
    messages: list[CompletionMessage] = Field(..., min_length=1, max_length=200)
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2, description="Passed to the generator (default 0).")
    max_tokens: int | None = Field(None, ge=1, le=4096, description="Most tokens of the answer.")
    max_completion_tokens: int | None = Field(None, ge=1, le=4096, description="Same as max_tokens.")
    paper_rag: PaperRagOptions | None = Field(None, description="paper-rag's own options (`extra_body` in SDKs).")


def arxiv_link(paper_id: str) -> str | None:
    return f"https://arxiv.org/abs/{paper_id}" if is_arxiv_id(paper_id) else None


def with_references(result: AnswerResult) -> str:
    """The answer text with a references list of what it cites, so a plain chat client shows the sources."""
    answer = result.grounded.answer
    cited = {c.n: c for c in result.grounded.citations}
    if not cited:
        return answer
    lines = []
    for n, c in sorted(cited.items()):
        link = arxiv_link(c.paper_id)
        lines.append(f"[{n}] {c.title}, {c.section}, {page_span(c.page, c.page_end)}" + (f". {link}" if link else ""))
    return answer + "\n\nReferences:\n" + "\n".join(lines)


def completion_error(status: int, message: str, **extra: Any) -> JSONResponse:
    """The service's error shape plus OpenAI's `error` object, which SDKs read."""
    kind = {401: "authentication_error", 422: "invalid_request_error", 503: "service_unavailable"}.get(status)
    return error_response(status, message, error={"message": message, "type": kind, "code": status}, **extra)


def stream_error(message: str, passages: list[dict[str, Any]]) -> str:
    """An error after the stream started, as OpenAI streams send it: an `error` object in a data line."""
    data = {
        "error": {"message": message, "type": "service_unavailable", "code": 503},
        "paper_rag": {"passages": passages},
    }
    return f"data: {json.dumps(data, ensure_ascii=True)}\n\n"


@router.get("/models", responses=declared(*V1_ERRORS))
async def models() -> dict[str, Any]:
    """The one model this API serves: the RAG pipeline, whatever generator is behind it."""
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "paper-rag"}],
    }


@router.post(
    "/chat/completions",
    response_model=None,
    responses={
        200: {
            "description": "A chat.completion, or with `stream: true` chat.completion.chunk events ending in "
            "`data: [DONE]`; the structured answer is in `paper_rag` (of the final chunk when streaming).",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/event-stream": {"schema": {"type": "object", "properties": {"data": {"type": "string"}}}},
            },
        },
        **declared(*V1_ERRORS, 503),
    },
)
async def chat_completions(
    body: ChatCompletionRequest, answers: AnswersDep, state: StateDep
) -> JSONResponse | StreamingResponse:
    settings = state.settings
    turns = [{"role": m.role, "content": m.text} for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise HTTPException(422, "messages: the last message must be the user's question")
    question = checked_question(turns[-1]["content"], settings)
    history = checked_history(turns[:-1], settings)
    options = body.paper_rag or PaperRagOptions()
    papers = checked_papers(options.papers, state.catalog)
    sampling = Sampling(temperature=body.temperature, max_tokens=body.max_completion_tokens or body.max_tokens)
    # Options the pipeline does not use (top_p, stop, tools, ...) are accepted and named in `paper_rag.ignored`;
    # so are system messages: the answer prompt is the service's own.
    ignored = sorted(body.model_extra or {})
    if any(m.role in ("system", "developer") for m in body.messages):
        ignored.append("system messages")
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def extra(result: AnswerResult) -> dict[str, Any]:
        return result.as_json() | {"ignored": ignored}

    def usage(result: AnswerResult) -> dict[str, int]:
        prompt, completion = result.prompt_tokens or 0, result.completion_tokens or 0
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    try:
        reservation = state.slots.reserve()  # released when the answer (or its stream) ends
    except AnswerQueueFullError as exc:
        return completion_error(503, str(exc), headers={"Retry-After": str(settings.retry_after_s)})
    if not body.stream:
        try:
            result = await answers.ask(question, papers=papers, k=options.k, history=history, sampling=sampling)
        except GenerationFailedError as exc:
            return completion_error(503, str(exc), passages=passages_json(exc.prepared.passages))
        finally:
            reservation.release()
        message = {"role": "assistant", "content": with_references(result)}
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                "usage": usage(result),
                "paper_rag": extra(result),
            }
        )

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **more,
        }
        return f"data: {json.dumps(data, ensure_ascii=True)}\n\n"

    async def events() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            stream = answers.stream(question, papers=papers, k=options.k, history=history, sampling=sampling)
            async for kind, payload in stream:
                if kind == "token":
                    yield chunk({"content": payload})
                elif kind == "done":
                    references = with_references(payload)[len(payload.grounded.answer) :]
                    if references:
                        yield chunk({"content": references})
                    yield chunk({}, "stop", usage=usage(payload), paper_rag=extra(payload))
        except GenerationFailedError as exc:
            yield stream_error(str(exc), passages_json(exc.prepared.passages))
        except Exception as exc:  # the stream has started: report in-band, never a traceback
            log.exception("answer stream failed for /v1/chat/completions")
            yield stream_error(f"internal error ({type(exc).__name__}); see the server log", [])
        yield "data: [DONE]\n\n"

    return event_stream(reservation.held_by(events()))
