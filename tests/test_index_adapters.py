"""The two index adapters hold the same points and answer the same queries the same way.

The server adapter runs against qdrant-client's local mode, a stand-in for a Qdrant server that speaks the
same client API; the embedded adapter is the real Qdrant engine in-process."""

from __future__ import annotations

import pytest
from qdrant_client import QdrantClient

from ingest.chunker import chunk_paper
from ingest.pdf_text import parse_pdf
from paper_rag.embedder import Embedder
from paper_rag.index.edge import EdgeIndex
from paper_rag.index.server import ServerIndex
from paper_rag.settings import Settings
from paper_rag.sparse import Bm25Encoder
from tests.conftest import corpus_pdf

QUESTIONS = [
    "What BLEU score does the big Transformer reach on WMT 2014 English-to-German?",
    "How many parameters does the generator have in a GAN?",
    "why scale the dot products by one over square root of d_k",
    "minimax game between the generator and the discriminator",
    "label smoothing value used during training",
]


@pytest.fixture(scope="module")
def both_indexes(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("adapters"))
    chunks = [
        chunk
        for paper_id in ("1706.03762", "1406.2661")
        for chunk in chunk_paper(
            parse_pdf(corpus_pdf(paper_id)).paragraphs,
            paper_id=paper_id,
            title=paper_id,
            chunk_tokens=256,
            overlap_tokens=40,
        )
    ]
    embedder, bm25 = Embedder(settings=settings), Bm25Encoder()
    dense = embedder.embed_passages([c.index_text for c in chunks])
    sparse = [bm25.document(c.index_text) for c in chunks]
    edge = EdgeIndex(path=settings.shard_dir)
    server = ServerIndex(client=QdrantClient(path=str(settings.data_dir / "local-qdrant")), collection="papers")
    for index in (edge, server):
        index.upsert(chunks, dense, sparse)
        index.flush()
    yield edge, server, embedder, bm25, len(chunks)
    edge.close()
    server.close()


def ranked(index, embedder, bm25, question, mode, fusion="rrf", hnsw_ef=None):
    hits = index.query(
        dense=embedder.embed_query(question),
        sparse=bm25.query(question),
        mode=mode,
        limit=10,
        prefetch=50,
        rrf_k=60,
        fusion=fusion,
        hnsw_ef=hnsw_ef,
    )
    return [h.chunk.chunk_id for h in hits], [round(h.score, 4) for h in hits]


def test_same_points_in_both(both_indexes):
    edge, server, _, _, total = both_indexes
    assert edge.count() == server.count() == total
    assert edge.point_ids("1406.2661") == server.point_ids("1406.2661")


@pytest.mark.parametrize(
    ("mode", "fusion"), [("sparse", "rrf"), ("dense", "rrf"), ("hybrid", "rrf"), ("hybrid", "dbsf")]
)
def test_same_ranking_in_both(both_indexes, mode, fusion):
    edge, server, embedder, bm25, _ = both_indexes
    for question in QUESTIONS:
        edge_ids, edge_scores = ranked(edge, embedder, bm25, question, mode, fusion)
        server_ids, server_scores = ranked(server, embedder, bm25, question, mode, fusion)
        assert len(edge_ids) == 10
        # Same scores rank by rank; equal scores (frequent under RRF) may come in either order.
        assert edge_scores == pytest.approx(server_scores, abs=2e-3), (question, mode, fusion)
        assert len(set(edge_ids) & set(server_ids)) >= 8, (question, mode, fusion)
        if mode == "hybrid":  # RRF scores are at most 2 / (60 + 1); DBSF sums per-leg normalized scores (~1 at top)
            assert (max(edge_scores) > 0.5) == (fusion == "dbsf"), (question, fusion, edge_scores)


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_hnsw_ef_reaches_both_engines(both_indexes, mode):
    # A corpus this small is searched exactly (no HNSW graph below the indexing threshold), so a narrow ef
    # must not change the answer: each engine takes the setting and still ranks as without it.
    edge, server, embedder, bm25, _ = both_indexes
    for index in (edge, server):
        for question in QUESTIONS[:2]:
            assert ranked(index, embedder, bm25, question, mode, hnsw_ef=4) == ranked(
                index, embedder, bm25, question, mode
            ), (question, mode)


def test_filters_work_in_both(both_indexes):
    edge, server, embedder, bm25, _ = both_indexes
    for index in (edge, server):
        hits = index.query(
            dense=embedder.embed_query(QUESTIONS[0]),
            sparse=bm25.query(QUESTIONS[0]),
            mode="hybrid",
            limit=10,
            prefetch=50,
            rrf_k=60,
            paper_ids=["1406.2661"],
            section_kinds=["body"],
        )
        assert hits and all(h.chunk.paper_id == "1406.2661" and h.chunk.section_kind == "body" for h in hits)


def test_bm25_leg_finds_the_exact_number(both_indexes):
    edge, server, embedder, bm25, _ = both_indexes
    for index in (edge, server):
        hits = index.query(
            dense=None, sparse=bm25.query("28.4 BLEU English-to-German"), mode="sparse", limit=3, prefetch=50, rrf_k=60
        )
        assert any("28.4" in h.chunk.text and h.chunk.paper_id == "1706.03762" for h in hits)
