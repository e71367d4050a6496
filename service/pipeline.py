"""The wiring of the answer pipeline from settings: one place that the HTTP app, the CLI and the evaluation
all build from."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paper_rag.catalog import IngestState
from paper_rag.embedder import Embedder
from paper_rag.index import IndexUnavailableError, PaperIndex, open_index
from paper_rag.manifest import load_manifest
from paper_rag.rerank.model import Reranker
from paper_rag.retrieval import Retriever
from paper_rag.schema import DEFAULT_SEARCH_KINDS
from paper_rag.settings import Settings
from paper_rag.terms import TermStats
from service.abstention import AbstentionGate, GateThresholds
from service.answering import AnswerService
from service.evidence import EvidenceSelector
from service.generator import Generator
from service.grounding import ClaimCheckThresholds, Grounder
from service.rewriter import QueryRewriter

log = logging.getLogger(__name__)


class SentenceVectors:
    """Embeddings of short texts, remembered (least recently used dropped past `limit`): evidence selection
    embeds the candidate passages' sentences, and the claim checks embed the same sentences again, several
    times per answer when a claim is attributed."""

    def __init__(self, embedder: Embedder, *, limit: int = 30_000) -> None:
        self._embedder = embedder
        self._limit = limit
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        computed = self._embedder.embed_passages(missing) if missing else []
        with self._lock:
            self._vectors.update(zip(missing, computed, strict=True))
            for text in texts:
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._limit:
                self._vectors.popitem(last=False)
            return np.stack([self._vectors[t] for t in texts])

    def similarity(self, claim: str, sentences: Sequence[str]) -> np.ndarray:
        vectors = self([claim, *sentences])
        return vectors[1:] @ vectors[0]


class CorpusTerms:
    """Term statistics of the indexed chunks, computed once on first use and again after an ingest."""

    def __init__(self, *, index: PaperIndex, catalog: IngestState) -> None:
        self._index = index
        self._catalog = catalog
        self._stats: TermStats | None = None
        self._version: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _catalog_version(self) -> tuple[int, int] | None:
        """The catalog file's mtime and size: an ingest rewrites it (atomically), a question does not."""
        try:
            info = self._catalog.path.stat()
        except FileNotFoundError:
            return None
        return info.st_mtime_ns, info.st_size

    def stats(self) -> TermStats:
        with self._lock:
            version = self._catalog_version()
            if self._stats is None or version != self._version:
                self._catalog.reload()
                chunks = (c.index_text for c in self._index.chunks() if c.section_kind in DEFAULT_SEARCH_KINDS)
                self._stats, self._version = TermStats(chunks), version
            return self._stats

    def ingested(self) -> set[str]:
        return set(self._catalog.papers)


@dataclass
class Pipeline:
    settings: Settings
    catalog: IngestState
    index: PaperIndex | None
    index_error: str
    answers: AnswerService | None

    def close(self) -> None:
        if self.index is not None:
            self.index.close()


def build_answer_service(settings: Settings, index: PaperIndex, catalog: IngestState) -> AnswerService:
    embedder = Embedder(settings=settings)
    sentence_vectors = SentenceVectors(embedder)
    terms = CorpusTerms(index=index, catalog=catalog)
    generator = Generator(settings=settings)

    retriever = Retriever(settings=settings, index=index, embedder=embedder)
    return AnswerService(
        settings=settings,
        retriever=retriever,
        reranker=Reranker(settings=settings, retriever=retriever, stats=terms.stats),
        generator=generator,
        rewriter=QueryRewriter(generator=generator),
        gate=AbstentionGate(
            thresholds=GateThresholds(
                min_dense=settings.abstain_min_dense_score,
                min_coverage=settings.abstain_min_coverage,
                min_named_coverage=settings.abstain_min_named_coverage,
            ),
            manifest=load_manifest(settings.corpus_manifest),
            ingested=terms.ingested,
            stats=terms.stats,
        ),
        evidence=EvidenceSelector(
            embed=sentence_vectors,
            stats=terms.stats,
            word_budget=settings.evidence_word_budget,
            max_sentences_per_passage=settings.evidence_sentences_per_passage,
            dense_weight=settings.evidence_dense_weight,
            rank_prior=settings.evidence_rank_prior,
        ),
        grounder=Grounder(
            thresholds=ClaimCheckThresholds(
                min_term_support=settings.claim_min_term_support, min_similarity=settings.claim_min_similarity
            ),
            similarity=sentence_vectors.similarity,
        ),
        warm_ups=[terms.stats],
    )


def build_pipeline(settings: Settings) -> Pipeline:
    """Open the index and wire the answer service; an unavailable index is reported, not raised."""
    catalog = IngestState(settings.ingest_state_path)
    try:
        index = open_index(settings)
    except IndexUnavailableError as exc:
        log.error("%s", exc)
        return Pipeline(settings, catalog, None, str(exc), None)
    return Pipeline(settings, catalog, index, "", build_answer_service(settings, index, catalog))
