"""Hybrid retrieval: one query embedded for the dense leg and BM25-encoded for the sparse leg, fused in Qdrant."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from paper_rag.embedder import Embedder
from paper_rag.index import PaperIndex, QueryMode
from paper_rag.rerank.features import Legs
from paper_rag.schema import DEFAULT_SEARCH_KINDS, SearchHit
from paper_rag.settings import Fusion, Settings
from paper_rag.sparse import Bm25Encoder

RECENT_QUERIES = 64


class Retriever:
    def __init__(self, *, settings: Settings, index: PaperIndex, embedder: Embedder | None = None) -> None:
        self._settings = settings
        self._index = index
        self._embedder = embedder or Embedder(settings=settings)
        self._bm25 = Bm25Encoder()
        self._lock = threading.Lock()
        self._recent: dict[str, list[float]] = {}

    def warm_up(self) -> None:
        self._embedder.warm_up()

    def _query_vector(self, question: str) -> list[float]:
        """The question's embedding; the last few are kept, since the answer path and the feature reranker
        search the same question more than once (hybrid, nearest chunk, each leg)."""
        with self._lock:
            vector = self._recent.get(question)
        if vector is None:
            vector = self._embedder.embed_query(question)
            with self._lock:
                self._recent[question] = vector
                while len(self._recent) > RECENT_QUERIES:
                    self._recent.pop(next(iter(self._recent)))
        return vector

    def search(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: QueryMode = "hybrid",
        paper_ids: Sequence[str] | None = None,
        all_sections: bool = False,
        prefetch: int | None = None,
        fusion: Fusion | None = None,
    ) -> list[SearchHit]:
        dense = self._query_vector(question) if mode != "sparse" else None
        return self._query(question, dense, mode, k, paper_ids, all_sections, prefetch, fusion)

    def search_many(self, questions: Sequence[str], *, k: int, batch: int = 64) -> Iterator[list[SearchHit]]:
        """Hybrid hits for many questions, embedded in batches (for offline jobs: filtering, mining)."""
        for start in range(0, len(questions), batch):
            group = questions[start : start + batch]
            for question, dense in zip(group, self._embedder.embed_passages(group).tolist(), strict=True):
                yield self._query(question, dense, "hybrid", k, None, False, None)

    def legs(self, question: str, *, paper_ids: Sequence[str] | None = None, all_sections: bool = False) -> Legs:
        """The dense and the BM25 leg's own lists (RERANK_LEG_K deep), for the feature reranker."""
        depth = self._settings.rerank_leg_k
        dense = self._query_vector(question)
        return Legs(
            dense=self._query(question, dense, "dense", depth, paper_ids, all_sections, None),
            sparse=self._query(question, None, "sparse", depth, paper_ids, all_sections, None),
        )

    @property
    def index(self) -> PaperIndex:
        return self._index

    def search_with_confidence(
        self, question: str, *, k: int, paper_ids: Sequence[str] | None = None
    ) -> tuple[list[SearchHit], float]:
        """Hybrid hits plus the best cosine similarity of any chunk to the question: RRF scores only rank,
        the cosine says whether anything in the corpus is about the question at all."""
        dense = self._query_vector(question)
        hits = self._query(question, dense, "hybrid", k, paper_ids, False, None)
        nearest = self._query(question, dense, "dense", 1, paper_ids, False, None)
        return hits, nearest[0].score if nearest else 0.0

    def _query(
        self,
        question: str,
        dense: list[float] | None,
        mode: QueryMode,
        k: int | None,
        paper_ids: Sequence[str] | None,
        all_sections: bool,
        prefetch: int | None,
        fusion: Fusion | None = None,
    ) -> list[SearchHit]:
        with self._lock:  # the embedded engine is shared by the service's worker threads
            return self._index.query(
                dense=dense,
                sparse=self._bm25.query(question) if mode != "dense" else None,
                mode=mode,
                limit=k or self._settings.search_k,
                prefetch=prefetch or self._settings.prefetch_k,
                rrf_k=self._settings.rrf_k,
                fusion=fusion or self._settings.fusion,
                paper_ids=paper_ids,
                section_kinds=None if all_sections else DEFAULT_SEARCH_KINDS,
                hnsw_ef=self._settings.hnsw_ef,
            )
