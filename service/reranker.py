"""Cross-encoder reranking behind a small interface; when the model cannot be loaded it says so, never silently."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from paper_rag.schema import SearchHit
from paper_rag.settings import Settings

log = logging.getLogger(__name__)


class Reranker:
    """warm_up() tries to load the CrossEncoder offline; `state` is then "available" or "unavailable"."""

    def __init__(self, *, settings: Settings) -> None:
        self._settings = settings
        self._model = None
        self.state = "not loaded"
        self.reason = ""

    def warm_up(self) -> None:
        if self.state != "not loaded":
            return
        try:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self._settings.reranker_model, device="cpu", local_files_only=True)
            self.state = "available"
        except Exception as exc:  # any loading failure means: rank by fusion, and say so
            self.state, self.reason = "unavailable", f"{type(exc).__name__}: {str(exc)[:200]}"
            log.warning(
                "reranker %s unavailable, ranking by fusion score: %s", self._settings.reranker_model, self.reason
            )

    def rerank(self, question: str, hits: Sequence[SearchHit]) -> list[SearchHit]:
        """Hits by cross-encoder score; in fusion order (unchanged) when the model is unavailable."""
        self.warm_up()
        if self._model is None or not hits:
            return list(hits)
        scores = self._model.predict([(question, hit.chunk.text) for hit in hits], show_progress_bar=False)
        ranked = sorted(zip(hits, scores, strict=True), key=lambda pair: -float(pair[1]))
        return [SearchHit(hit.chunk, float(score)) for hit, score in ranked]
