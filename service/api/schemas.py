"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from service.answer_models import AbstainCode, Citation, Flag
from service.api.validation import Text

PaperId = Annotated[Text, StringConstraints(min_length=1, max_length=100)]


class AskRequest(BaseModel):
    question: Text = Field(
        ..., description="The question; empty, over-long or not valid UTF-8 questions are refused with 422."
    )
    papers: list[PaperId] | None = Field(
        None, max_length=100, description="Only search these paper ids (GET /v1/papers); an unknown id is a 422."
    )
    k: int | None = Field(None, ge=1, le=20, description="Passages to put in the prompt.")


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: Text = Field(..., description="At most MAX_MESSAGE_CHARS characters.")


class ChatRequest(AskRequest):
    messages: list[ChatMessage] = Field(
        default_factory=list,
        max_length=200,
        description="The conversation so far, carried by the client (oldest first); the newest HISTORY_MESSAGES "
        "are read.",
    )
    conversation_id: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Or let the server carry it: send the id it returned (letters, digits, _ and -).",
    )


class EvidenceEntry(BaseModel):
    n: int = Field(..., description="The passage number the sentences come from.")
    sentences: list[str] = Field(..., description="The passage's sentences that the model was given.")


class RerankerInfo(BaseModel):
    model: str = Field("", description="RERANKER_MODEL: corpus-minilm (trained here), a folder or a hub id.")
    state: str = Field(..., description="available, unavailable (ranked by fusion score) or not loaded.")
    precision: str | None = None
    path: str | None = Field(None, description="Where the weights were loaded from.")
    reason: str | None = Field(None, description="Why it is unavailable.")
    manifest: dict[str, Any] | None = Field(
        None, description="Training manifest: base model, data and weights sha256, steps, held-out scores."
    )


class AskResponse(BaseModel):
    answer: str = Field(..., description="The answer with [n] citation markers, or the abstention text.")
    abstained: bool
    abstain_code: AbstainCode | None = Field(None, description="Which gate declined, when one did.")
    abstain_reason: str | None = Field(None, description="Why the question was not answered, for the reader.")
    grounded: bool = Field(..., description="False when the answer's main claim failed the evidence checks.")
    scores: dict[str, float] = Field(
        ...,
        description="Gate scores (best_dense, coverage, named_coverage, rerank_top); support: share of claims passed.",
    )
    citations: list[Citation]
    flags: list[Flag]
    passages: list[dict[str, Any]] = Field(..., description="The numbered passages the citations refer to.")
    evidence: list[EvidenceEntry] = Field(..., description="The sentences of each passage put in the prompt.")
    reranker: RerankerInfo
    model: str
    search_query: str = Field(..., description="What was searched: the question, or a follow-up made standalone.")
    prompt_tokens: int | None = Field(None, description="Prompt length in tokens, as the generator counted it.")
    timings: dict[str, float]
