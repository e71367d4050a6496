"""Talks to any OpenAI-compatible chat server (vLLM by default) through the `openai` SDK; the service never
imports vllm. Every failure (down, slow, an HTTP error, an error payload or a malformed line in the stream, an
empty answer) becomes one GeneratorUnavailableError that says what happened and where."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai

from paper_rag.settings import Settings

Message = dict[str, str]


class GeneratorUnavailableError(RuntimeError):
    """The generator is down, too slow, or answered with an error; the message says which and where."""


class Generator:
    def __init__(self, *, settings: Settings, http_client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = openai.AsyncOpenAI(
            base_url=settings.llm_base_url.rstrip("/"),
            api_key=settings.llm_api_key,
            timeout=httpx.Timeout(settings.llm_timeout_s, connect=5.0),
            max_retries=settings.llm_retries,
            http_client=http_client,
        )

    @property
    def model(self) -> str:
        return self._settings.llm_model

    async def served_models(self) -> list[str]:
        """Model names the server offers; raises GeneratorUnavailableError when it cannot be reached."""
        try:
            page = await self._client.models.list(timeout=5.0)
            return [entry.id async for entry in page]
        except (openai.OpenAIError, ValueError) as exc:
            raise self._unavailable(exc) from exc

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
        produced = False
        try:
            stream = await self._client.chat.completions.create(
                model=self._settings.llm_model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens or self._settings.llm_max_tokens,
                temperature=0.0 if temperature is None else temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
            async for chunk in stream:
                if usage is not None and chunk.usage is not None:
                    usage.update(chunk.usage.model_dump(include={"prompt_tokens", "completion_tokens"}))
                token = chunk.choices[0].delta.content if chunk.choices else None
                if token:
                    produced = True
                    yield token
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a stream line that is not JSON
            raise self._unavailable(exc) from exc
        if not produced:  # never let an empty reply pass for an answer (or for the model declining)
            raise GeneratorUnavailableError(f"generator at {self._settings.llm_base_url} returned an empty answer")

    def _unavailable(self, exc: Exception) -> GeneratorUnavailableError:
        where = f"generator at {self._settings.llm_base_url}"
        if isinstance(exc, openai.APITimeoutError):
            return GeneratorUnavailableError(f"{where} timed out after {self._settings.llm_timeout_s:g} s")
        if isinstance(exc, openai.APIConnectionError):
            return GeneratorUnavailableError(
                f"{where} is unreachable ({type(exc.__cause__ or exc).__name__}); "
                "start it with `paper-rag llm start` or set LLM_BASE_URL"
            )
        if isinstance(exc, openai.APIStatusError):
            return GeneratorUnavailableError(f"{where} answered HTTP {exc.status_code}: {_short(_detail(exc))}")
        if isinstance(exc, openai.APIError):  # an error payload inside the stream
            return GeneratorUnavailableError(f"{where} sent an error: {_short(exc.message)}")
        return GeneratorUnavailableError(f"{where} sent a malformed reply ({type(exc).__name__}: {_short(str(exc))})")

    async def aclose(self) -> None:
        await self._client.close()


def _detail(exc: openai.APIStatusError) -> Any:
    """The server's own message: OpenAI nests it under "error", vLLM sends it at the top."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        return inner.get("message", inner) if isinstance(inner, dict) else inner
    return body or exc.message


def _short(text: Any) -> str:
    return str(text)[:300]
