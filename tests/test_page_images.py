"""GET /v1/papers/{paper_id}/pages/{page}.png?quote=: the real PDF page rendered by PyMuPDF with the quote
highlighted; validated paper and page; a quote not on the page is said so, not silently unmarked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.test_web_page import highlight_pixels

PAGE = "/v1/papers/1706.03762/pages/{}.png"
ONE_LINE = "On the WMT 2014 English-to-German translation task, the big transformer model"
# Runs over three lines of the PDF (the paragraph under "6.1 Machine Translation").
ACROSS_LINES = (
    "On the WMT 2014 English-to-German translation task, the big transformer model (Transformer (big) in Table 2) "
    "outperforms the best previously reported models (including ensembles) by more than 2.0 BLEU, establishing "
    "a new state-of-the-art BLEU score of 28.4."
)


@pytest.fixture
def client(small_settings):
    with TestClient(create_app(small_settings)) as client:
        yield client


@pytest.mark.parametrize("quote", [ONE_LINE, ACROSS_LINES])
def test_the_quote_is_highlighted_on_its_page(client, quote):
    response = client.get(PAGE.format(8), params={"quote": quote})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["x-quote-found"] in {"full", "partial"}
    x, y = map(float, response.headers["x-quote-anchor"].split(","))
    assert 0.1 < x < 0.3 and 0.4 < y < 0.7  # the paragraph under "6.1 Machine Translation", left column start
    plain = client.get(PAGE.format(8))
    assert plain.headers["x-quote-found"] == "no quote" and "x-quote-anchor" not in plain.headers
    assert highlight_pixels(response.content) > 10 * max(1, highlight_pixels(plain.content))
    if quote is ACROSS_LINES:  # three lines marked, not one
        assert highlight_pixels(response.content) > 2 * highlight_pixels(
            client.get(PAGE.format(8), params={"quote": ONE_LINE}).content
        )


def test_a_quote_that_is_not_on_the_page_is_said_so(client):
    response = client.get(PAGE.format(1), params={"quote": ONE_LINE})
    assert response.status_code == 200 and response.headers["x-quote-found"] == "none"
    assert highlight_pixels(response.content) == highlight_pixels(client.get(PAGE.format(1)).content)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/v1/papers/9999.99999/pages/1.png", "not in the index"),
        (PAGE.format(0), "no page 0"),
        (PAGE.format(16), "pages 1 to 15"),
        ("/v1/papers/..%2F..%2Fetc%2Fpasswd/pages/1.png", ""),
        ("/v1/papers/1706.03762%2F..%2F..%2Fx/pages/1.png", ""),
    ],
)
def test_unknown_papers_pages_and_paths_are_404(client, path, needle):
    response = client.get(path)
    assert response.status_code == 404 and needle in response.json()["detail"]


def test_an_overlong_quote_is_a_422(client):
    assert client.get(PAGE.format(8), params={"quote": "x" * 2001}).status_code == 422
