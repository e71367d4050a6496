"""How the chat page shows an answer's abstention, unsupported sentences and failed grounding, without a
service: Playwright serves service/static/index.html and answers /readyz, /v1/papers and /v1/chat with
canned responses (a canned SSE stream per question). Fast; the live page test is in test_web_page.py.
Screenshots go to test-artifacts/abstain.png and test-artifacts/unsupported.png."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO
from tests.test_web_page import ARTIFACTS, launch_chromium, needs_chromium

STATIC = REPO / "service" / "static"
ORIGIN = "http://paper-rag.test"

ABSTAINED = {
    "answer": "The papers in the corpus do not answer this question.",
    "abstained": True,
    "abstain_code": "not_ingested",
    "abstain_reason": "The corpus does not include the Tree of Thoughts paper (arXiv 2305.10601); "
    "`paper-rag corpus fetch` can add it.",
    "grounded": False,
    "citations": [],
    "flags": [],
    "scores": {"best_dense": 0.412, "coverage": 0.25},
}

CLAIM = "It was trained for 12 days on a single GPU [2], far less than $O(n^2)$ models need."
UNSUPPORTED = {
    "answer": "The big Transformer reaches **28.4** BLEU on WMT 2014 English-to-German [1]. " + CLAIM,
    "abstained": False,
    "abstain_code": None,
    "abstain_reason": None,
    "grounded": False,
    "citations": [
        {
            "n": n,
            "paper_id": "1706.03762",
            "title": "Attention Is All You Need",
            "section": section,
            "page": page,
            "page_end": page,
            "quote": quote,
        }
        for n, section, page, quote in [
            (1, "6.1 Machine Translation", 8, "establishing a new state-of-the-art BLEU score of 28.4"),
            (2, "5.2 Hardware and Schedule", 7, "The big models were trained for 300,000 steps (3.5 days)."),
        ]
    ],
    "flags": [
        {"type": "citation_inferred", "message": "Citation [1] was attached by the service.", "citation": 1},
        {
            "type": "unsupported_claim",
            "message": "Passage [2] says 3.5 days on 8 P100 GPUs, not 12 days on one GPU.",
            "sentence": CLAIM,
            "citation": 2,
        },
        {
            "type": "unsupported_number",
            "message": "The number 12 appears in none of the cited passages.",
            "sentence": CLAIM,
            "citation": 2,
            "number": "12",
        },
        {
            "type": "unsupported_claim",
            "message": 'Untrusted <img src=x onerror="window.pwned=1"> text stays text.',
            "sentence": "A sentence the answer does not contain.",
        },
    ],
    "scores": {"best_dense": 0.71, "coverage": 0.9, "support": 0.31},
}

ANSWERS = {"Tree of Thoughts on the Game of 24?": ABSTAINED, "How long was the big Transformer trained?": UNSUPPORTED}


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def chat_stream(question: str) -> str:
    done = ANSWERS[question] | {"conversation_id": "c1", "model": "canned", "timings": {"total_ms": 1234.0}}
    tokens = [done["answer"][i : i + 20] for i in range(0, len(done["answer"]), 20)]
    return "".join(sse("token", {"text": t}) for t in tokens) + sse("done", done)


def handle(route) -> None:
    url = urlsplit(route.request.url)
    if f"{url.scheme}://{url.netloc}" != ORIGIN:
        route.abort()
    elif url.path == "/":
        route.fulfill(path=STATIC / "index.html", content_type="text/html; charset=utf-8")
    elif url.path.startswith("/static/vendor/") and (STATIC / url.path.removeprefix("/static/")).is_file():
        route.fulfill(path=STATIC / url.path.removeprefix("/static/"))
    elif url.path == "/readyz":
        ready = {
            "ready": True,
            "generator": {"model": "canned"},
            "reranker": {"model": "canned", "state": "available"},
            "index": {"ready": True},
        }
        route.fulfill(json=ready)
    elif url.path == "/v1/papers":
        route.fulfill(json={"papers": [{"paper_id": "1706.03762", "title": "Attention Is All You Need"}]})
    elif url.path == "/v1/chat":
        question = route.request.post_data_json["question"]
        route.fulfill(body=chat_stream(question), content_type="text/event-stream")
    else:
        route.fulfill(status=404, body="not found")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def ask(browser, question: str):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.route("**/*", handle)
    page.goto(ORIGIN + "/")
    page.wait_for_selector("#status.ready", timeout=10_000)
    page.fill("#question", question)
    page.click("#send")
    page.wait_for_selector(".msg.assistant .meta", timeout=10_000)
    return page, page.locator(".msg.assistant .body")


@needs_chromium
def test_abstained_answer_shows_the_reason(browser):
    page, answer = ask(browser, "Tree of Thoughts on the Game of 24?")
    notice = answer.locator(".abstain-reason")
    assert notice.is_visible()
    assert notice.inner_text().startswith("Not answered:")
    assert "Tree of Thoughts paper (arXiv 2305.10601)" in notice.inner_text()
    assert notice.locator("code").inner_text() == "paper-rag corpus fetch"  # the reason's backticks
    assert "do not answer this question" in answer.locator(".answer").inner_text()
    assert answer.locator(".unverified").count() == 0  # declining is not an unverified answer
    assert "not answered (paper not ingested)" in answer.locator(".meta").inner_text()
    assert "best_dense 0.412" in answer.locator(".scores").text_content()  # folded by default
    page.screenshot(path=str(ARTIFACTS / "abstain.png"))
    page.close()


@needs_chromium
def test_unsupported_sentence_is_marked_and_answer_unverified(browser):
    page, answer = ask(browser, "How long was the big Transformer trained?")
    badge = answer.locator(".unverified")
    assert badge.is_visible()
    assert "not verified against the passages" in badge.inner_text()
    assert answer.locator(".abstain-reason").count() == 0

    marks = answer.locator(".answer .unsupported")
    assert marks.count() >= 1 and marks.first.is_visible()
    marked = "".join(marks.all_inner_texts())
    assert "It was trained for 12 days on a single GPU" in marked and "models need." in marked
    assert "28.4" not in marked  # the supported sentence is left alone
    tooltip = marks.first.get_attribute("title")
    assert "3.5 days on 8 P100 GPUs" in tooltip and "number 12" in tooltip  # both flags of the sentence
    assert answer.locator(".answer .chip").count() == 2  # chips and math survive the marking
    assert answer.locator(".answer .katex").count() == 1

    flags = answer.locator(".flags li")
    assert flags.count() == 3  # citation_inferred is not shown
    texts = flags.all_inner_texts()
    assert texts[0].startswith("⚠ Not supported by the cited passages: Passage [2] says 3.5 days")
    assert texts[1].startswith("⚠ Number not found in the cited passages: The number 12")
    assert "A sentence the answer does not contain." in texts[2]  # not in the answer: quoted in the list
    assert '<img src=x onerror="window.pwned=1">' in texts[2]
    assert page.locator(".msg img").count() == 0 and page.evaluate("window.pwned") is None

    answer.locator(".chip").nth(1).click()
    assert "5.2 Hardware and Schedule" in page.inner_text("#passage")
    page.screenshot(path=str(ARTIFACTS / "unsupported.png"))
    page.close()
