"""The OpenAI-compatible endpoint, driven by the official `openai` Python client: against the live service (real
uvicorn, real vLLM, the whole corpus) streaming and not, and against a keyed service for a wrong API key."""

from __future__ import annotations

import re
import shutil

import openai
import pytest

from tests.conftest import serving
from tests.test_service import without_citations

BLEU_QUESTION = "What BLEU score does the big Transformer achieve on the WMT 2014 English-to-German task?"
KEYED_PORT = 8767


def client_for(base: str, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=300)


def test_models_lists_paper_rag(live_service):
    assert [m.id for m in client_for(live_service).models.list()] == ["paper-rag"]


def test_a_cited_answer_with_references_and_the_structured_answer_beside_it(live_service):
    reply = client_for(live_service).chat.completions.create(
        model="paper-rag", messages=[{"role": "user", "content": BLEU_QUESTION}], top_p=0.5
    )
    text = reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop" and reply.object == "chat.completion"
    assert "28.4" in text and re.search(r"\[\d+\]", text), text
    assert "\n\nReferences:\n" in text and "https://arxiv.org/abs/1706.03762" in text, text
    extra = reply.model_extra["paper_rag"]
    assert not extra["abstained"] and extra["citations"], extra
    assert all(f"[{c['n']}]" in text.split("References:")[0] for c in extra["citations"])
    assert "top_p" in extra["ignored"]
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_streaming_ends_with_the_structured_answer_and_done(live_service):
    stream = client_for(live_service).chat.completions.create(
        model="paper-rag",
        stream=True,
        max_tokens=80,
        messages=[
            {"role": "user", "content": BLEU_QUESTION},
            {"role": "assistant", "content": "The big Transformer reaches 28.4 BLEU on English-to-German [1]."},
            {"role": "user", "content": "And on English-to-French?"},
        ],
        extra_body={"paper_rag": {"papers": ["1706.03762"]}},
    )
    chunks = list(stream)  # the SDK stops at `data: [DONE]`
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    extra = final.model_extra["paper_rag"]
    assert "french" in extra["search_query"].lower()  # the conversation made the follow-up standalone
    assert {p["paper_id"] for p in extra["passages"]} == {"1706.03762"}  # the paper filter held
    streamed, _, references = text.partition("\n\nReferences:\n")
    if extra["abstained"]:  # the small model's answer failed its checks: withheld, with the reason
        assert extra["abstain_reason"] and not extra["citations"], extra
    else:  # the final answer is the streamed one with its citations checked, and its references follow
        assert without_citations(streamed) == without_citations(extra["answer"])
        assert references.count("\n") + 1 == len({c["n"] for c in extra["citations"]}), references


def test_unknown_paper_is_a_422_the_sdk_raises(live_service):
    with pytest.raises(openai.UnprocessableEntityError, match="9999.99999"):
        client_for(live_service).chat.completions.create(
            model="paper-rag",
            messages=[{"role": "user", "content": "What is attention?"}],
            extra_body={"paper_rag": {"papers": ["9999.99999"]}},
        )


def test_a_wrong_key_is_refused_and_a_down_generator_is_a_503(small_settings, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(small_settings.data_dir, data_dir, ignore=shutil.ignore_patterns("pdf"))
    env = {"API_KEY": "s3cret", "LLM_BASE_URL": small_settings.llm_base_url}
    with serving(data_dir, KEYED_PORT, env) as base:
        with pytest.raises(openai.AuthenticationError):
            client_for(base, "wrong").models.list()
        with pytest.raises(openai.AuthenticationError):
            client_for(base, "wrong").chat.completions.create(
                model="paper-rag", messages=[{"role": "user", "content": "What is multi-head attention?"}]
            )
        keyed = client_for(base, "s3cret")
        assert [m.id for m in keyed.models.list()] == ["paper-rag"]
        with pytest.raises(openai.InternalServerError, match="unreachable") as caught:
            keyed.chat.completions.create(
                model="paper-rag", messages=[{"role": "user", "content": "What is multi-head attention?"}]
            )
        assert caught.value.status_code == 503
        body = caught.value.response.json()
        assert body["error"]["message"] == body["detail"] and body["passages"]
