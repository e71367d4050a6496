"""Hostile and malformed requests: bodies of any transfer encoding bounded, conversations bounded, text that is
not valid UTF-8 or holds only control characters refused, auth that works with CORS, errors in one shape.
The index is real (one paper); the generator is down unless a test says otherwise."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from paper_rag.settings import Settings
from service.api.app import create_app
from service.api.deps import Conversations
from service.api.guards import RequestGuard
from tests.conftest import run_cli

KEY = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def client(small_settings):
    with TestClient(create_app(small_settings)) as client:
        yield client


def raw_json(client: TestClient, path: str, text: str) -> httpx.Response:
    """POST a body exactly as written (json.dumps would refuse a lone surrogate; a client can still send it)."""
    return client.post(path, content=text.encode(), headers={"Content-Type": "application/json"})


def assert_error(response: httpx.Response, status: int, *needles: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str), body  # one shape for every error: a sentence, not a list
    for needle in needles:
        assert needle in body["detail"], body


def test_a_chunked_body_over_the_limit_is_refused_like_a_declared_one(client, small_settings):
    limit = small_settings.max_request_bytes

    def chunks():  # no Content-Length: the transfer is chunked
        for _ in range(limit // 1000 + 10):
            yield b'{"question": "' + b"x" * 1000

    assert_error(client.post("/v1/ask", content=chunks()), 413, f"over {limit} bytes")
    declared = client.post("/v1/ask", content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
    assert_error(declared, 413, f"limit is {limit}")
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_body_that_never_finishes_gets_408():
    async def scenario() -> list[dict]:
        async def app(scope, receive, send):  # pragma: no cover - never reached
            raise AssertionError("the route must not run")

        async def receive():
            if not sent:
                sent.append(1)
                return {"type": "http.request", "body": b"{", "more_body": True}
            await asyncio.sleep(60)

        sent: list[int] = []
        replies: list[dict] = []

        async def send(message):
            replies.append(message)

        guard = RequestGuard(app, Settings(request_body_timeout_s=0.2))
        scope = {"type": "http", "path": "/v1/ask", "method": "POST", "headers": [], "query_string": b""}
        await guard(scope, receive, send)
        return replies

    replies = asyncio.run(scenario())
    assert replies[0]["status"] == 408
    assert b"not received within 0.2 s" in replies[1]["body"]


def test_conversation_text_is_bounded(client, small_settings):
    long = "word " * (small_settings.max_message_chars // 5 + 1)
    body = {"question": "And the big one?", "messages": [{"role": "user", "content": long}]}
    assert_error(client.post("/v1/chat", json=body), 422, "messages.0.content", "limit is")
    assert_error(client.post("/v1/chat", json={"question": "Hi?", "conversation_id": "x" * 65}), 422)
    assert_error(client.post("/v1/chat", json={"question": "Hi?", "conversation_id": "../../etc"}), 422)


def test_server_side_conversations_keep_only_the_newest_turns():
    conversations = Conversations(limit=2, keep=4)
    cid, history = conversations.history(None)
    assert history == []
    for n in range(10):
        conversations.remember(cid, f"question {n}", f"answer {n}")
    _, history = conversations.history(cid)
    assert [m["content"] for m in history] == ["question 8", "answer 8", "question 9", "answer 9"]
    conversations.history("b"), conversations.history("c")
    assert cid not in conversations.turns and len(conversations.turns) == 2


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/chat"])
def test_a_lone_surrogate_is_a_422_naming_the_field(client, path):
    assert_error(raw_json(client, path, '{"question": "What is \\ud800 attention?"}'), 422, "question", "surrogate")
    papers = '{"question": "What is attention?", "papers": ["\\udfff"]}'
    assert_error(raw_json(client, path, papers), 422, "papers.0", "surrogate")


def test_a_question_of_control_characters_is_empty(client):
    assert_error(client.post("/v1/ask", json={"question": "\u0000\u0000\u0001 \u0007"}), 422, "question is empty")
    assert_error(client.get("/v1/search", params={"q": "\x00\x00"}), 422, "question is empty")


def test_an_unknown_paper_id_is_named(client):
    response = client.post("/v1/ask", json={"question": "What is attention?", "papers": ["1706.03762", "9999.0"]})
    assert_error(response, 422, "'9999.0'", "/v1/papers")
    assert "1706.03762" not in response.json()["detail"]
    assert_error(client.get("/v1/search", params={"q": "attention", "paper": "nope"}), 422, "'nope'")
    # A known paper passes the check (and then meets the stopped generator).
    assert client.post("/v1/ask", json={"question": "What is attention?", "papers": ["1706.03762"]}).status_code == 503


def test_validation_errors_are_one_sentence_in_the_documented_shape(client):
    assert_error(client.post("/v1/ask", json={"question": "Hi there", "k": 0}), 422, "k:")
    assert_error(client.post("/v1/ask", content=b"{not json", headers={"Content-Type": "application/json"}), 422)
    spec = client.get("/openapi.json").json()
    ask = spec["paths"]["/v1/ask"]["post"]["responses"]
    assert {"401", "408", "413", "422", "503"} <= set(ask)
    assert ask["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "text/event-stream" in spec["paths"]["/v1/chat"]["post"]["responses"]["200"]["content"]
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_cors_preflight_passes_and_a_401_carries_cors_headers(small_settings):
    origin = "http://page.example"
    settings = small_settings.model_copy(update={"api_key": "s3cret", "cors_origins": [origin]})
    with TestClient(create_app(settings)) as client:
        preflight = client.options(
            "/v1/ask",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == origin
        refused = client.get("/v1/papers", headers={"Origin": origin})
        assert_error(refused, 401, "Authorization: Bearer")
        assert refused.headers["access-control-allow-origin"] == origin  # the page can read why
        assert client.get("/v1/papers", headers={"Origin": origin, **KEY}).status_code == 200
        # A wrong key of the same length, or no "Bearer", is refused too.
        assert client.get("/v1/papers", headers={"Authorization": "Bearer s3creT"}).status_code == 401
        assert client.get("/v1/papers", headers={"Authorization": "s3cret"}).status_code == 401


def test_readyz_shows_an_unauthenticated_caller_only_the_flags(small_settings):
    settings = small_settings.model_copy(update={"api_key": "s3cret"})
    with TestClient(create_app(settings)) as client:
        public = client.get("/readyz").json()
        assert public == {
            "ready": False,
            "index": {"ready": True},
            "generator": {"ready": False},
            "reranker": {"state": public["reranker"]["state"]},
        }
        assert "127.0.0.1" not in json.dumps(public)
        private = client.get("/readyz", headers=KEY).json()
        assert "unreachable" in private["generator"]["error"] and private["index"]["points"] > 0


def test_a_full_answer_queue_gives_503_with_retry_after(small_settings):
    settings = small_settings.model_copy(update={"max_pending_answers": 1, "retry_after_s": 7})
    with TestClient(create_app(settings)) as client:
        slots = client.app.state.paper_rag.slots
        with slots.hold():  # one answer in progress
            for path in ("/v1/ask", "/v1/chat"):
                busy = client.post(path, json={"question": "What is multi-head attention?"})
                assert_error(busy, 503, "answers are in progress")
                assert busy.headers["retry-after"] == "7"
            assert client.get("/v1/search", params={"q": "attention"}).status_code == 200  # search is not queued
        # Freed again: the next answer goes ahead (and meets the stopped generator).
        assert_error(client.post("/v1/ask", json={"question": "What is multi-head attention?"}), 503, "unreachable")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"API_KEY": ""}, "API_KEY is set but empty"),
        ({"API_KEY": "  "}, "API_KEY is set but empty"),
        ({"CORS_ORIGINS": "[http://x"}, "CORS_ORIGINS"),
    ],
)
def test_bad_service_settings_are_named_without_a_traceback(env, message):
    result = run_cli("serve", "--port", "9", env=env, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cors_origins_may_be_a_plain_comma_separated_list(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "http://x, https://y.example")
    assert Settings().cors_origins == ["http://x", "https://y.example"]
    monkeypatch.setenv("CORS_ORIGINS", '["http://z"]')
    assert Settings().cors_origins == ["http://z"]
