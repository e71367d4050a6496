"""The chat page in headless Chromium (Debian's chromium), against the live service: ask, wait for the
streamed answer, check the citation chips render and open the cited passage; then ask about a paper the
corpus lacks and check the page says why it did not answer. The screenshots are kept in test-artifacts/ for
people to look at."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import REPO, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "test-artifacts"
KEYED_PORT = 8766
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)


def highlight_pixels(png: bytes) -> int:
    """Pixels of the highlighter's yellow (text under it included: dark yellow, not grey)."""
    import numpy as np
    import pymupdf

    pixmap = pymupdf.Pixmap(png)
    rgb = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width, pixmap.n)[..., :3]
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return int(((r > 180) & (g > 180) & (b < 110)).sum())


def launch_chromium(playwright):
    """Debian's headless Chromium, with nothing that reaches the network on its own."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )


@needs_chromium
def test_chat_page_renders_answer_with_citation_chips(live_service):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(live_service)
        page.wait_for_selector("#status.ready", timeout=60_000)
        assert page.locator("#papers option").count() == 29
        page.fill("#question", "What BLEU score does the big Transformer achieve on WMT 2014 English-to-German?")
        page.click("#send")
        page.wait_for_selector(".msg.assistant .meta", timeout=300_000)
        answer = page.inner_text(".msg.assistant .body")
        assert "28.4" in answer
        chips = page.locator(".msg.assistant .chip")
        assert chips.count() >= 1
        chips.first.click()
        passage = page.inner_text("#passage")
        assert "Attention Is All You Need" in passage and "page" in passage
        assert page.locator("#passage a[href*='arxiv.org/pdf/1706.03762']").count() == 1
        # The cited page, scrolled to the quote highlighted in yellow: counted in the screenshot of what is shown.
        page.wait_for_function("document.querySelector('#passage img.page')?.naturalWidth > 0", timeout=60_000)
        page.wait_for_function("document.querySelector('#passage .page-frame').scrollTop > 0", timeout=10_000)
        shown = page.locator("#passage .page-frame").screenshot(path=str(ARTIFACTS / "cited-page.png"))
        assert highlight_pixels(shown) > 200, "no highlighted text visible on the cited page"
        page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=True)
        # Math is typeset by the vendored KaTeX (served by the app, no CDN); a price is not math.
        rendered = page.evaluate(r"() => renderMarkdown('Scaled by $\\frac{1}{\\sqrt{d_k}}$, at $5 and $10.', [])")
        assert 'class="katex"' in rendered, rendered
        assert r"\frac{1}{\sqrt{d_k}}" in rendered  # KaTeX keeps the TeX source as a MathML annotation
        assert "$5 and $10." in rendered
        assert "<br>" not in rendered  # the \sqrt SVG path keeps its newlines (a <br> there erased the sign)
        page.eval_on_selector("#passage", "(el, html) => { el.innerHTML = html; }", rendered)
        page.locator("#passage").screenshot(path=str(ARTIFACTS / "math.png"))
        # A paper the corpus lacks: the page shows the service's reason for not answering, not a made-up answer.
        page.fill("#question", "What success rate did Tree of Thoughts reach on the Game of 24?")
        page.click("#send")
        second = page.locator(".msg.assistant").nth(1)
        second.locator(".meta").wait_for(timeout=300_000)
        notice = second.locator(".abstain-reason")
        assert notice.is_visible(), second.inner_text()
        assert "Tree of Thoughts" in notice.inner_text()
        page.screenshot(path=str(ARTIFACTS / "chat-page-abstain.png"), full_page=True)
        browser.close()


@needs_chromium
def test_page_asks_for_the_api_key_and_keeps_it_for_the_tab(small_settings, tmp_path):
    """With API_KEY set the page asks for the key once, sends it on every call (papers, status, answers), keeps
    it across a reload of the tab, and asks again when a key is refused. The generator is down here."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    data_dir = tmp_path / "data"
    shutil.copytree(small_settings.data_dir, data_dir, ignore=shutil.ignore_patterns("pdf"))
    env = {"API_KEY": "s3cret", "LLM_BASE_URL": small_settings.llm_base_url}
    with serving(data_dir, KEYED_PORT, env) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 600})
        page.goto(base)
        page.wait_for_selector("#keyform:not([hidden])", timeout=30_000)
        assert page.locator("#papers option").count() == 0
        page.fill("#apikey", "wrong")
        page.click("#keyform button")
        page.wait_for_selector("#keyform:not([hidden])", timeout=30_000)
        assert "refused" in page.get_attribute("#apikey", "placeholder")
        page.fill("#apikey", "s3cret")
        page.click("#keyform button")
        page.wait_for_function("document.querySelectorAll('#papers option').length === 1", timeout=30_000)
        assert page.locator("#keyform").is_hidden()
        page.fill("#question", "What is multi-head attention?")
        page.click("#send")
        page.wait_for_selector(".msg.assistant .flags", timeout=120_000)
        reply = page.inner_text(".msg.assistant .body")
        assert "unreachable" in reply and "API key" not in reply, reply  # got past the key, met the stopped model
        page.screenshot(path=str(ARTIFACTS / "chat-page-api-key.png"), full_page=True)
        page.reload()
        page.wait_for_function("document.querySelectorAll('#papers option').length === 1", timeout=30_000)
        assert page.locator("#keyform").is_hidden()
        browser.close()
