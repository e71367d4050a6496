"""What the feature reranker knows about each hybrid candidate: where each leg ranked it and how well it matches
the question's words, numbers and names. Cheap to compute (no model pass), so all of it fits a query's budget."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from paper_rag.numbers import value_set
from paper_rag.schema import SearchHit
from paper_rag.terms import TermStats, content_terms, named_terms

# The order of the values candidate_features returns; a trained ranker stores its weights by these names.
FEATURES = (
    "fusion_rank",  # 1 / (1 + position in the fused list)
    "fusion_rrf",  # 1 / (60 + position): the flatter curve RRF itself uses
    "dense_cosine",  # cosine to the question (the lowest of the dense leg's list when it is not in it)
    "dense_rank",  # 1 / (1 + position in the dense leg)
    "bm25_share",  # BM25 score over the best BM25 score of the question
    "bm25_rank",  # 1 / (1 + position in the BM25 leg)
    "term_coverage",  # IDF-weighted share of the question's terms in the chunk (name and section included)
    "bigram_coverage",  # share of the question's adjacent term pairs that are adjacent in the chunk too
    "number_match",  # a number of the question appears in the chunk
    "question_has_number",
    "named_coverage",  # share of the question's named terms (acronyms, model names) in the chunk
    "title_coverage",  # IDF-weighted share of the question's terms in the paper's name and title
    "paper_share",  # share of the candidates from the same paper: retrieval agreeing on the paper
    "paper_best_rank",  # 1 / (1 + position of the paper's best candidate)
    "page_share",  # share of the candidates on the same page
    "length",  # log(1 + words) / 6
    "first_page",  # the chunk is on the paper's first page (abstract, introduction)
)


@dataclass(frozen=True)
class Legs:
    """Each retrieval leg's own list for the question, deeper than the fused candidates."""

    dense: Sequence[SearchHit]
    sparse: Sequence[SearchHit]


def candidate_features(
    question: str, candidates: Sequence[SearchHit], legs: Legs, stats: TermStats
) -> list[list[float]]:
    """One row of FEATURES per candidate, in the candidates' order."""
    dense = {h.chunk.chunk_id: (rank, h.score) for rank, h in enumerate(legs.dense)}
    sparse = {h.chunk.chunk_id: (rank, h.score) for rank, h in enumerate(legs.sparse)}
    dense_floor = min((h.score for h in legs.dense), default=0.0)
    best_bm25 = max((h.score for h in legs.sparse), default=0.0) or 1.0
    terms = list(dict.fromkeys(content_terms(question)))
    weight = sum(stats.idf(t) for t in terms) or 1.0
    pairs = list(zip(terms, terms[1:], strict=False))
    numbers = value_set(question)
    named = {t.lower() for t in named_terms(question)}
    papers = Counter(h.chunk.paper_id for h in candidates)
    pages = Counter((h.chunk.paper_id, h.chunk.page_start) for h in candidates)
    paper_best: dict[str, int] = {}
    for rank, hit in enumerate(candidates):
        paper_best.setdefault(hit.chunk.paper_id, rank)
    n = len(candidates) or 1
    rows = []
    for rank, hit in enumerate(candidates):
        chunk = hit.chunk
        chunk_terms = content_terms(chunk.index_text)
        present, adjacent = set(chunk_terms), set(zip(chunk_terms, chunk_terms[1:], strict=False))
        title = set(content_terms(f"{chunk.short_name} {chunk.title}"))
        dense_rank, cosine = dense.get(chunk.chunk_id, (len(legs.dense), dense_floor))
        bm25_rank, bm25 = sparse.get(chunk.chunk_id, (len(legs.sparse), 0.0))
        lowered = chunk.index_text.lower()
        rows.append(
            [
                1 / (1 + rank),
                1 / (60 + rank),
                cosine,
                1 / (1 + dense_rank),
                bm25 / best_bm25,
                1 / (1 + bm25_rank),
                sum(stats.idf(t) for t in terms if t in present) / weight,
                sum(1 for p in pairs if p in adjacent) / max(1, len(pairs)),
                1.0 if numbers and numbers & value_set(chunk.text) else 0.0,
                1.0 if numbers else 0.0,
                sum(1 for t in named if t in lowered) / max(1, len(named)),
                sum(stats.idf(t) for t in terms if t in title) / weight,
                papers[chunk.paper_id] / n,
                1 / (1 + paper_best[chunk.paper_id]),
                pages[(chunk.paper_id, chunk.page_start)] / n,
                math.log(1 + len(chunk.text.split())) / 6,
                1.0 if chunk.page_start == 1 else 0.0,
            ]
        )
    return rows
