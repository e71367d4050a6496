"""Failure paths of the API: generator down, index unavailable, API key, request size. The index is real
(one paper, ingested by the real job); the generator is a closed port, as when vLLM is not running."""

from __future__ import annotations

from fastapi.testclient import TestClient

from paper_rag.index import open_index
from service.api.app import create_app


def test_generator_down_gives_503_with_the_passages(small_settings):
    with TestClient(create_app(small_settings)) as client:
        response = client.post("/v1/ask", json={"question": "What BLEU does the big Transformer get on EN-DE?"})
        assert response.status_code == 503
        body = response.json()
        assert "unreachable" in body["detail"] and "paper-rag llm start" in body["detail"]
        assert body["passages"] and body["passages"][0]["paper_id"] == "1706.03762"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["index"]["ready"] is True and ready.json()["generator"]["ready"] is False
        events = client.post("/v1/chat", json={"question": "What BLEU does the big Transformer get?"}).text
        assert "event: error" in events and "unreachable" in events
        assert client.get("/v1/search", params={"q": "multi-head attention"}).status_code == 200


def test_index_held_by_another_process_gives_503(small_settings):
    holder = open_index(small_settings)  # the embedded engine admits one opener
    try:
        with TestClient(create_app(small_settings)) as client:
            response = client.post("/v1/ask", json={"question": "What is attention?"})
            assert response.status_code == 503 and "index is unavailable" in response.json()["detail"]
            assert client.get("/readyz").status_code == 503
            assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        holder.close()


def test_api_key_and_request_size_are_enforced(small_settings):
    settings = small_settings.model_copy(update={"api_key": "s3cret", "max_request_bytes": 2000})
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/papers").status_code == 401
        assert client.get("/v1/papers", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/healthz").status_code == 200
        big = client.post("/v1/ask", json={"question": "x" * 5000}, headers={"Authorization": "Bearer s3cret"})
        assert big.status_code == 413
