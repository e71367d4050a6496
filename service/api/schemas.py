"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class AskRequest(BaseModel):
    question: str = Field(..., description="The question; empty or over-long questions are refused with 422.")
    papers: list[str] | None = Field(None, description="Only search these paper ids.")
    k: int | None = Field(None, ge=1, le=20, description="Passages to put in the prompt.")


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class ChatRequest(AskRequest):
    messages: list[ChatMessage] = Field(
        default_factory=list, description="The conversation so far, carried by the client (oldest first)."
    )
    conversation_id: str | None = Field(None, description="Or let the server carry it: send the id it returned.")


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    citations: list[dict[str, Any]]
    passages: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    reranker: str
    model: str
    search_query: str
    timings: dict[str, float]
