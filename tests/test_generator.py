"""The generator client (the openai SDK): every way a server can fail mid-answer becomes one clear
GeneratorUnavailableError, never an empty answer. Plumbing: the server here is an httpx mock transport that
replies what a broken server would; the real vLLM is exercised by the service and eval tests."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from paper_rag.settings import Settings
from service.generator import Generator, GeneratorUnavailableError

SETTINGS = Settings(llm_base_url="http://generator.test/v1", llm_retries=0, llm_timeout_s=5)


def sse(*lines: str) -> bytes:
    return "".join(f"data: {line}\n\n" for line in lines).encode()


def chunk(content: str | None = None, usage: dict | None = None) -> str:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}, "finish_reason": None}]
    body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices}
    return json.dumps(body | ({"usage": usage} if usage else {}))


def answer(reply: httpx.Response) -> tuple[str, dict]:
    async def run() -> tuple[str, dict]:
        usage: dict = {}
        transport = httpx.MockTransport(lambda request: reply)
        generator = Generator(settings=SETTINGS, http_client=httpx.AsyncClient(transport=transport))
        try:
            text = "".join([t async for t in generator.stream([{"role": "user", "content": "q"}], usage=usage)])
        finally:
            await generator.aclose()
        return text, usage

    return asyncio.run(run())


def event_stream(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def test_a_good_stream_gives_tokens_and_usage():
    usage = {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
    text, got = answer(event_stream(sse(chunk("Yes"), chunk(" [1]."), chunk(usage=usage), "[DONE]")))
    assert text == "Yes [1]." and got == {"prompt_tokens": 12, "completion_tokens": 2}


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (
            event_stream(sse(chunk("Par"), json.dumps({"error": {"message": "engine died"}}))),
            "sent an error: engine died",
        ),
        (event_stream(sse(chunk("Par"), "{not json")), "malformed reply"),
        (event_stream(sse(chunk(usage={"prompt_tokens": 1, "completion_tokens": 0}), "[DONE]")), "empty answer"),
        (httpx.Response(500, json={"error": {"message": "out of memory"}}), "answered HTTP 500: out of memory"),
        (httpx.Response(400, json={"error": {"message": "prompt too long"}}), "answered HTTP 400: prompt too long"),
    ],
)
def test_each_broken_reply_is_a_clear_error(reply, says):
    with pytest.raises(GeneratorUnavailableError, match="generator at http://generator.test/v1") as caught:
        answer(reply)
    assert says in str(caught.value)


def test_a_closed_port_says_how_to_start_the_generator():
    generator = Generator(settings=SETTINGS.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1"}))

    async def run() -> None:
        try:
            await generator.served_models()
        finally:
            await generator.aclose()

    with pytest.raises(GeneratorUnavailableError, match="unreachable .*paper-rag llm start"):
        asyncio.run(run())
