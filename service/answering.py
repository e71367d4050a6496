"""The answer pipeline: (rewrite a follow-up) → hybrid retrieval → rerank → per-paper cap → gates (off topic,
paper not ingested, low coverage) → evidence sentences → generate → check every claim against its evidence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paper_rag.rerank.model import Reranker
from paper_rag.retrieval import Retriever
from paper_rag.schema import SearchHit
from paper_rag.settings import Settings
from service.abstention import AbstentionGate
from service.answer_models import Abstention
from service.evidence import EvidencePassage, EvidenceSelector
from service.generator import Generator, GeneratorUnavailableError, Message
from service.grounding import GroundedAnswer, Grounder
from service.prompting import NOT_IN_CORPUS, answer_messages
from service.rewriter import QueryRewriter


@dataclass
class Prepared:
    """Everything decided before the model is asked."""

    question: str
    search_query: str
    candidates: list[SearchHit]
    evidence: list[EvidencePassage]
    abstention: Abstention | None
    scores: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passages(self) -> list[tuple[int, SearchHit]]:
        """The numbered passages shown with the answer: the evidence's, or the candidates' when declined."""
        if self.evidence:
            return [(p.n, p.hit) for p in self.evidence]
        if self.abstention is not None and self.abstention.code == "off_topic":
            return []
        return list(enumerate(self.candidates, start=1))


@dataclass
class AnswerResult:
    prepared: Prepared
    grounded: GroundedAnswer
    reranker: dict[str, Any]
    model: str
    prompt_tokens: int | None
    timings: dict[str, float]
    completion_tokens: int | None = None

    def as_json(self) -> dict[str, Any]:
        g = self.grounded
        return {
            "answer": g.answer,
            "abstained": g.abstained,
            "abstain_code": g.abstention.code if g.abstention else None,
            "abstain_reason": g.abstention.reason if g.abstention else None,
            "grounded": g.grounded,
            "scores": self.prepared.scores | {"support": round(g.support, 4)},
            "citations": [c.model_dump() for c in g.citations],
            "flags": [f.model_dump(exclude_none=True) for f in g.flags],
            "passages": passages_json(self.prepared.passages),
            "evidence": [{"n": p.n, "sentences": list(p.sentences)} for p in self.prepared.evidence],
            "reranker": self.reranker,
            "model": self.model,
            "search_query": self.prepared.search_query,
            "prompt_tokens": self.prompt_tokens,
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }


@dataclass(frozen=True)
class Sampling:
    """A client's generation options (None: the service's own, greedy and LLM_MAX_TOKENS)."""

    temperature: float | None = None
    max_tokens: int | None = None


class GenerationFailedError(RuntimeError):
    """Generation failed after retrieval worked: carries the passages so the client still gets them."""

    def __init__(self, message: str, prepared: Prepared) -> None:
        super().__init__(message)
        self.prepared = prepared


def passages_json(passages: Sequence[tuple[int, SearchHit]]) -> list[dict[str, Any]]:
    return [{"n": n, **hit.as_json()} for n, hit in passages]


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
    def __init__(
        self,
        *,
        settings: Settings,
        retriever: Retriever,
        reranker: Reranker,
        generator: Generator,
        rewriter: QueryRewriter,
        gate: AbstentionGate,
        evidence: EvidenceSelector,
        grounder: Grounder,
        warm_ups: Sequence[Callable[[], object]] = (),
    ) -> None:
        self._settings = settings
        self.retriever = retriever
        self.reranker = reranker
        self.generator = generator
        self.rewriter = rewriter
        self.gate = gate
        self.evidence = evidence
        self.grounder = grounder
        self._warm_ups = warm_ups

    def warm_up(self) -> None:
        """Load the embedder, try the reranker and count the corpus terms now, not on the first question."""
        self.retriever.warm_up()
        self.reranker.warm_up()
        for warm in self._warm_ups:
            warm()

    @property
    def reranker_info(self) -> dict[str, Any]:
        return self.reranker.describe()

    async def prepare(
        self,
        question: str,
        *,
        papers: Sequence[str] | None = None,
        k: int | None = None,
        history: Sequence[Message] = (),
    ) -> Prepared:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        search_query = await self.rewriter.standalone(question, history)
        if history:
            timings["rewrite_ms"] = _ms(started)
        started = time.perf_counter()
        hits, best = await asyncio.to_thread(
            self.retriever.search_with_confidence, search_query, k=self._settings.rerank_candidates, paper_ids=papers
        )
        timings["retrieve_ms"] = _ms(started)
        started = time.perf_counter()
        ranked = await asyncio.to_thread(self.reranker.rerank, search_query, hits, paper_ids=papers)
        timings["rerank_ms"] = _ms(started)
        candidates = cap_per_paper(ranked, limit=k or self._settings.answer_passages, cap=self._settings.per_paper_cap)
        started = time.perf_counter()
        abstention, scores = await asyncio.to_thread(self.gate.check, search_query, candidates, best)
        if self.reranker.state == "available" and ranked:
            # The reranker's probability that its best passage answers the question.
            scores["rerank_top"] = round(ranked[0].score, 4)
            if abstention is None and ranked[0].score < self._settings.abstain_min_rerank_score:
                reason = "No passage found answers this question (the reranker scores them all low)."
                abstention = Abstention(code="off_topic", reason=reason)
        evidence: list[EvidencePassage] = []
        if abstention is None:
            evidence = await asyncio.to_thread(self.evidence.select, search_query, candidates)
            if not evidence:
                abstention = Abstention(code="low_coverage", reason="No passage sentence matches the question.")
        timings["evidence_ms"] = _ms(started)
        return Prepared(question, search_query, candidates, evidence, abstention, scores, timings)

    async def ask(
        self,
        question: str,
        *,
        papers: Sequence[str] | None = None,
        k: int | None = None,
        history: Sequence[Message] = (),
        sampling: Sampling | None = None,
    ) -> AnswerResult:
        result: AnswerResult | None = None
        async for kind, payload in self.stream(question, papers=papers, k=k, history=history, sampling=sampling):
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
        sampling: Sampling | None = None,
    ) -> AsyncIterator[tuple[str, Any]]:
        """Events: ("token", str)…, ("citations", list), ("done", AnswerResult). Raises GenerationFailedError."""
        started = time.perf_counter()
        prepared = await self.prepare(question, papers=papers, k=k, history=history)
        timings = dict(prepared.timings)
        usage: dict[str, int] = {}
        if prepared.abstention is not None:
            grounded = GroundedAnswer(answer=NOT_IN_CORPUS, abstention=prepared.abstention)
            yield "token", NOT_IN_CORPUS
            timings["generate_ms"] = 0.0
        else:
            generate_started = time.perf_counter()
            parts: list[str] = []
            # The generator sees the standalone question: a bare follow-up ("and on French?") means nothing.
            messages = answer_messages(prepared.search_query, prepared.evidence)
            try:
                sampling = sampling or Sampling()
                tokens = self.generator.stream(
                    messages, usage=usage, max_tokens=sampling.max_tokens, temperature=sampling.temperature
                )
                async for token in tokens:
                    if not parts:
                        timings["first_token_ms"] = _ms(started)
                    parts.append(token)
                    yield "token", token
            except GeneratorUnavailableError as exc:
                raise GenerationFailedError(str(exc), prepared) from exc
            timings["generate_ms"] = _ms(generate_started)
            check_started = time.perf_counter()
            grounded = await asyncio.to_thread(
                self.grounder.ground, "".join(parts), prepared.evidence, prepared.search_query
            )
            timings["check_ms"] = _ms(check_started)
        timings["total_ms"] = _ms(started)
        yield "citations", [c.model_dump() for c in grounded.citations]
        yield (
            "done",
            AnswerResult(
                prepared,
                grounded,
                self.reranker_info,
                self.generator.model,
                usage.get("prompt_tokens"),
                timings,
                usage.get("completion_tokens"),
            ),
        )
