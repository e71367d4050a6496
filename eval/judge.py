"""ragas 0.4 metrics with the judge on any OpenAI-compatible endpoint. A local judge fails to parse now and
then: each failure and each NaN is recorded per metric, never dropped."""

from __future__ import annotations

import asyncio
import math
import os
from typing import Any

from paper_rag.embedder import resolve_model_path
from paper_rag.settings import Settings

METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")


class RagasJudge:
    def __init__(
        self, *, settings: Settings, base_url: str | None = None, model: str | None = None, timeout_s: float = 300
    ) -> None:
        os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
        from openai import AsyncOpenAI
        from ragas.embeddings.base import embedding_factory
        from ragas.llms.base import llm_factory
        from ragas.metrics.collections import AnswerRelevancy, ContextPrecision, ContextRecall, Faithfulness

        self.base_url = base_url or settings.llm_base_url
        self.model = model or settings.llm_model
        self.name = f"{self.model}@{self.base_url}"
        self._timeout_s = timeout_s
        client = AsyncOpenAI(base_url=self.base_url, api_key=settings.llm_api_key, timeout=timeout_s)
        llm = llm_factory(self.model, client=client, max_tokens=512)
        embeddings = embedding_factory("huggingface", model=str(resolve_model_path(settings.embedding_model)))
        self._metrics = {
            "faithfulness": Faithfulness(llm=llm),
            "answer_relevancy": AnswerRelevancy(llm=llm, embeddings=embeddings),
            "context_precision": ContextPrecision(llm=llm),
            "context_recall": ContextRecall(llm=llm),
        }

    async def score(self, item: dict[str, Any], answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """{metric: {"value": float} | {"error": str} | {"skipped": str}} for one answered question."""
        if answer["abstained"]:
            return {name: {"skipped": "abstained"} for name in METRICS}
        contexts = [p["text"] for p in answer["passages"]]
        arguments = {
            "faithfulness": {
                "user_input": item["question"],
                "response": answer["answer"],
                "retrieved_contexts": contexts,
            },
            "answer_relevancy": {"user_input": item["question"], "response": answer["answer"]},
            "context_precision": {
                "user_input": item["question"],
                "reference": item["reference_answer"],
                "retrieved_contexts": contexts,
            },
            "context_recall": {
                "user_input": item["question"],
                "retrieved_contexts": contexts,
                "reference": item["reference_answer"],
            },
        }
        scores: dict[str, dict[str, Any]] = {}
        for name, metric in self._metrics.items():
            try:
                result = await asyncio.wait_for(metric.ascore(**arguments[name]), self._timeout_s)
                value = float(result.value)
                scores[name] = {"value": value} if not math.isnan(value) else {"error": "NaN"}
            except Exception as exc:  # parse failures, timeouts, server errors: all counted, none dropped
                scores[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        return scores
