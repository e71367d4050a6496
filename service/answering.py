"""The answer pipeline: (rewrite a follow-up) → hybrid retrieval → rerank → per-paper cap → abstain or
generate → ground the answer in the passages it cites."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from paper_rag.retrieval import Retriever
from paper_rag.schema import SearchHit
from paper_rag.settings import Settings
from service.generator import Generator, GeneratorUnavailableError, Message
from service.grounding import GroundedAnswer, ground
from service.prompting import NOT_IN_CORPUS, answer_messages, rewrite_messages
from service.reranker import Reranker


@dataclass
class Prepared:
    question: str
    search_query: str
    passages: list[SearchHit]
    best_dense_score: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def abstain(self) -> bool:
        return not self.passages


@dataclass
class AnswerResult:
    prepared: Prepared
    grounded: GroundedAnswer
    reranker: str
    model: str
    timings: dict[str, float]

    def as_json(self) -> dict[str, Any]:
        return {
            "answer": self.grounded.answer,
            "abstained": self.grounded.abstained,
            "citations": self.grounded.citations,
            "passages": passages_json(self.prepared.passages),
            "flags": self.grounded.flags,
            "reranker": self.reranker,
            "model": self.model,
            "search_query": self.prepared.search_query,
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }


class GenerationFailedError(RuntimeError):
    """Generation failed after retrieval worked: carries the passages so the client still gets them."""

    def __init__(self, message: str, prepared: Prepared) -> None:
        super().__init__(message)
        self.prepared = prepared


def passages_json(passages: Sequence[SearchHit]) -> list[dict[str, Any]]:
    return [{"n": n, **hit.as_json()} for n, hit in enumerate(passages, start=1)]


def cap_per_paper(hits: Sequence[SearchHit], *, limit: int, cap: int) -> list[SearchHit]:
    """Best hits first, at most `cap` from any one paper, so a comparison question sees both papers."""
    chosen: list[SearchHit] = []
    per_paper: dict[str, int] = {}
    for hit in hits:
        if per_paper.get(hit.chunk.paper_id, 0) < cap:
            chosen.append(hit)
            per_paper[hit.chunk.paper_id] = per_paper.get(hit.chunk.paper_id, 0) + 1
        if len(chosen) == limit:
            break
    return chosen


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class AnswerService:
    def __init__(self, *, settings: Settings, retriever: Retriever, reranker: Reranker, generator: Generator) -> None:
        self._settings = settings
        self.retriever = retriever
        self.reranker = reranker
        self.generator = generator

    def warm_up(self) -> None:
        """Load the embedder and try the reranker now, not on the first question."""
        self.retriever.warm_up()
        self.reranker.warm_up()

    @property
    def reranker_state(self) -> str:
        return self.reranker.state

    async def prepare(
        self,
        question: str,
        *,
        papers: Sequence[str] | None = None,
        k: int | None = None,
        history: Sequence[Message] = (),
    ) -> Prepared:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        search_query = await self._standalone(question, history) if history else question
        if history:
            timings["rewrite_ms"] = _ms(started)
        retrieve_started = time.perf_counter()
        hits, best = await asyncio.to_thread(
            self.retriever.search_with_confidence, search_query, k=self._settings.rerank_candidates, paper_ids=papers
        )
        timings["retrieve_ms"] = _ms(retrieve_started)
        rerank_started = time.perf_counter()
        ranked = await asyncio.to_thread(self.reranker.rerank, search_query, hits)
        timings["rerank_ms"] = _ms(rerank_started)
        passages = cap_per_paper(ranked, limit=k or self._settings.answer_passages, cap=self._settings.per_paper_cap)
        if best < self._settings.abstain_min_dense_score:
            passages = []  # nothing in the corpus is about this question: do not ask the model
        return Prepared(question, search_query, passages, best, timings)

    async def _standalone(self, question: str, history: Sequence[Message]) -> str:
        """A follow-up rewritten with the conversation; falls back to the last question + the follow-up."""
        last_user = next((m["content"] for m in reversed(history) if m["role"] == "user"), "")
        try:
            rewritten = (await self.generator.complete(rewrite_messages(history, question), max_tokens=64)).strip()
        except GeneratorUnavailableError:
            rewritten = ""
        rewritten = rewritten.splitlines()[0].strip().strip('"') if rewritten else ""
        return rewritten if 8 <= len(rewritten) <= 400 else f"{last_user} {question}".strip()

    async def ask(
        self,
        question: str,
        *,
        papers: Sequence[str] | None = None,
        k: int | None = None,
        history: Sequence[Message] = (),
    ) -> AnswerResult:
        result: AnswerResult | None = None
        async for kind, payload in self.stream(question, papers=papers, k=k, history=history):
            if kind == "done":
                result = payload
        assert result is not None
        return result

    async def stream(
        self,
        question: str,
        *,
        papers: Sequence[str] | None = None,
        k: int | None = None,
        history: Sequence[Message] = (),
    ) -> AsyncIterator[tuple[str, Any]]:
        """Events: ("token", str)…, ("citations", list), ("done", AnswerResult). Raises GenerationFailedError."""
        started = time.perf_counter()
        prepared = await self.prepare(question, papers=papers, k=k, history=history)
        timings = dict(prepared.timings)
        if prepared.abstain:
            grounded = GroundedAnswer(answer=NOT_IN_CORPUS, abstained=True)
            yield "token", NOT_IN_CORPUS
            timings["generate_ms"] = 0.0
        else:
            generate_started = time.perf_counter()
            parts: list[str] = []
            try:
                async for token in self.generator.stream(answer_messages(question, prepared.passages)):
                    if not parts:
                        timings["first_token_ms"] = _ms(started)
                    parts.append(token)
                    yield "token", token
            except GeneratorUnavailableError as exc:
                raise GenerationFailedError(str(exc), prepared) from exc
            timings["generate_ms"] = _ms(generate_started)
            grounded = ground("".join(parts), prepared.passages, question)
        timings["total_ms"] = _ms(started)
        yield "citations", grounded.citations
        yield "done", AnswerResult(prepared, grounded, self.reranker_state, self.generator.model, timings)
