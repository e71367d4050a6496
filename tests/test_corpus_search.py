"""Search over the whole real corpus, ingested once per session through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from paper_rag.index.edge import EdgeIndex
from paper_rag.settings import Settings
from paper_rag.sparse import Bm25Encoder, reference_tokens
from tests.conftest import REPO, run_cli

QUESTIONS = [json.loads(line) for line in (REPO / "bench" / "retrieval_questions.jsonl").read_text().splitlines()]


def test_papers_lists_the_whole_corpus(corpus_data_dir: Path):
    result = run_cli("papers", "--json", "--data-dir", str(corpus_data_dir))
    assert result.returncode == 0, result.stderr
    papers = {p["paper_id"]: p for p in json.loads(result.stdout)["papers"]}
    assert len(papers) == 29
    assert papers["1706.03762"]["title"] == "Attention Is All You Need"
    assert papers["1706.03762"]["pages"] == 15 and papers["1706.03762"]["chunks"] > 30


def test_search_json_finds_the_transformer_bleu(corpus_data_dir: Path):
    result = run_cli(
        "search",
        "What BLEU did the big Transformer get on WMT 2014 English-German?",
        "--json",
        "--k",
        "5",
        "--data-dir",
        str(corpus_data_dir),
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert len(results) == 5
    assert set(results[0]) >= {"paper_id", "title", "section", "page_start", "page_end", "score", "text"}
    top = results[0]
    assert top["paper_id"] == "1706.03762" and "28.4" in top["text"] and top["page_start"] in (1, 8)


def test_search_reads_questions_from_stdin_and_filters_by_paper(corpus_data_dir: Path):
    questions = "How are LoRA's A and B matrices initialised?\nWhat does DAPO stand for?\n"
    result = run_cli(
        "search", "-", "--k", "3", "--paper", "2106.09685", "--data-dir", str(corpus_data_dir), stdin=questions
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == questions.split("\n")[:2]
    assert all(r["paper_id"] == "2106.09685" for line in lines for r in line["results"])
    assert all(r["section_kind"] in ("front", "body") for line in lines for r in line["results"])


def test_qdrant_bm25_leg_agrees_with_rank_bm25(corpus_data_dir: Path):
    """rank-bm25 (BM25Okapi) is the reference scorer: compare top-10 sets on the benchmark's real questions."""
    index = EdgeIndex(path=Settings(data_dir=corpus_data_dir).shard_dir)
    try:
        chunks = list(index.chunks())
        reference = BM25Okapi([reference_tokens(c.index_text) for c in chunks])
        encoder = Bm25Encoder()
        overlaps = []
        for item in QUESTIONS:
            hits = index.query(
                dense=None, sparse=encoder.query(item["question"]), mode="sparse", limit=10, prefetch=10, rrf_k=60
            )
            scores = reference.get_scores(reference_tokens(item["question"]))
            top = {chunks[i].chunk_id for i in np.argsort(-scores)[:10]}
            overlaps.append(len(top & {h.chunk.chunk_id for h in hits}) / 10)
    finally:
        index.close()
    mean = sum(overlaps) / len(overlaps)
    print(
        f"\nBM25 top-10 overlap, Qdrant sparse leg vs rank-bm25, {len(overlaps)} questions: mean {mean:.2f}, "
        f"min {min(overlaps):.1f}"
    )
    assert len(overlaps) >= 20
    # Tokenizers differ (Qdrant stems, the reference does not), so the sets are close, not equal.
    assert mean >= 0.5


def test_hybrid_search_finds_the_gold_paper_for_most_questions(corpus_data_dir: Path):
    stdin = "".join(f"{item['question']}\n" for item in QUESTIONS)
    result = run_cli("search", "-", "--k", "5", "--all-sections", "--data-dir", str(corpus_data_dir), stdin=stdin)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line)["results"] for line in result.stdout.splitlines()]
    assert len(answers) == len(QUESTIONS)
    paper_hits = [
        item["paper_id"] in {r["paper_id"] for r in results} for item, results in zip(QUESTIONS, answers, strict=True)
    ]
    print(f"\ngold paper in hybrid top 5: {sum(paper_hits)}/{len(paper_hits)}")
    assert sum(paper_hits) >= 0.8 * len(paper_hits)
