"""`corpus fetch` plumbing: arXiv answers are simulated (httpx.MockTransport); the mirror is a real folder."""

from __future__ import annotations

import httpx

from ingest.corpus import fetch_corpus, load_manifest
from paper_rag.settings import Settings

MANIFEST = (
    "arxiv_id\tshort_name\ttitle\tfirst_author_year\ttier\tpdf_in_mirror\n"
    "1706.03762\tTransformer\tAttention Is All You Need\tVaswani, 2017\tT1\tyes\n"
    "2106.09685\tLoRA\tLoRA\tHu, 2021\tT1\tyes\n"
    "radford2018-gpt1\tGPT-1\tImproving Language Understanding\tRadford, 2018\tT1\tyes\n"
    "-\tLlama 4\tLlama 4\tMeta, 2025\tT1\tno\n"
)


def settings_for(tmp_path, mirror=None) -> Settings:
    manifest = tmp_path / "papers.tsv"
    manifest.write_text(MANIFEST)
    return Settings(data_dir=tmp_path / "data", corpus_manifest=manifest, corpus_mirror=mirror, fetch_delay_s=0)


def test_manifest_reads_the_real_corpus_list():
    papers = load_manifest(Settings().corpus_manifest)
    assert len(papers) == 77
    assert sum(p.on_arxiv for p in papers) >= 70
    assert {p.paper_id for p in papers if not p.on_arxiv} == {"", "radford2018-gpt1"}


def test_arxiv_download_with_retry_and_checksums(tmp_path):
    calls: list[str] = []

    def arxiv(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("2106.09685") and calls.count(request.url.path) == 1:
            return httpx.Response(503)
        return httpx.Response(200, content=b"%PDF-1.5 fake paper " + request.url.path.encode())

    settings = settings_for(tmp_path)
    outcomes = fetch_corpus(settings, client=httpx.Client(transport=httpx.MockTransport(arxiv)))
    status = {o.paper.short_name: o.status for o in outcomes}
    assert status == {"Transformer": "arxiv", "LoRA": "arxiv", "GPT-1": "missing", "Llama 4": "not-fetchable"}
    assert calls.count("/pdf/2106.09685") == 2
    checksums = (settings.resolved_pdf_dir / "CHECKSUMS.tsv").read_text()
    assert "1706.03762.pdf\t" in checksums and "\tarxiv\t" in checksums
    again = fetch_corpus(settings, client=httpx.Client(transport=httpx.MockTransport(arxiv)))
    assert [o.status for o in again][:2] == ["present", "present"]


def test_unreachable_arxiv_falls_back_to_the_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "1706.03762.pdf").write_bytes(b"%PDF-1.5 mirrored")
    (mirror / "radford2018-gpt1.pdf").write_bytes(b"%PDF-1.5 gpt1")

    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("name resolution failed", request=request)

    outcomes = fetch_corpus(settings_for(tmp_path, mirror), client=httpx.Client(transport=httpx.MockTransport(offline)))
    by_name = {o.paper.short_name: o for o in outcomes}
    assert by_name["Transformer"].status == "mirror"
    assert by_name["GPT-1"].status == "mirror"
    assert by_name["LoRA"].status == "missing"
    assert "not in mirror" in by_name["LoRA"].detail
