"""Talks to any OpenAI-compatible chat server (vLLM by default) over HTTP; the service never imports vllm."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from paper_rag.settings import Settings

Message = dict[str, str]


class GeneratorUnavailableError(RuntimeError):
    """The generator is down, too slow, or answered with an error; the message says which and where."""


class Generator:
    def __init__(self, *, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = client or httpx.AsyncClient(
            base_url=settings.llm_base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {settings.llm_api_key}"},
            timeout=httpx.Timeout(settings.llm_timeout_s, connect=5.0),
        )

    @property
    def model(self) -> str:
        return self._settings.llm_model

    async def served_models(self) -> list[str]:
        """Model names the server offers; raises GeneratorUnavailableError when it cannot be reached."""
        try:
            response = await self._client.get("/models", timeout=5.0)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from exc
        return [entry["id"] for entry in response.json().get("data", [])]

    async def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> str:
        return "".join([token async for token in self.stream(messages, max_tokens=max_tokens)])

    async def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        usage: dict[str, int] | None = None,
    ) -> AsyncIterator[str]:
        """The answer's tokens as they come (greedy unless `temperature` is given); `usage`, when given,
        receives the server's token counts."""
        body: dict[str, Any] = {
            "model": self._settings.llm_model,
            "messages": messages,
            "max_tokens": max_tokens or self._settings.llm_max_tokens,
            "temperature": 0.0 if temperature is None else temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        try:
            async with self._client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code != 200:
                    detail = (await response.aread()).decode(errors="replace")[:300]
                    raise GeneratorUnavailableError(
                        f"generator at {self._settings.llm_base_url} answered HTTP {response.status_code}: {detail}"
                    )
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    chunk = json.loads(data)
                    if usage is not None and chunk.get("usage"):
                        usage.update(chunk["usage"])
                    choices = chunk.get("choices") or [{}]
                    token = (choices[0].get("delta") or {}).get("content")
                    if token:
                        yield token
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> GeneratorUnavailableError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "is unreachable"
        return GeneratorUnavailableError(
            f"generator at {self._settings.llm_base_url} {kind} ({type(exc).__name__}); "
            "start it with `paper-rag llm start` or set LLM_BASE_URL"
        )

    async def aclose(self) -> None:
        await self._client.aclose()
