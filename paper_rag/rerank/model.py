"""The reranker that reorders hybrid candidates; when it cannot be loaded it says so, never silently.

`RERANKER_MODEL` names one of two kinds:
- a cross-encoder: `corpus-minilm` (the default; trained by `paper-rag reranker train --kind cross-encoder`,
  from DATA_DIR/models/reranker, else a committed copy: none is committed yet), a hub id or a folder;
- `corpus-features` (opt-in): a linear ranker over candidate features (leg ranks and scores, term, number and
  name matches), trained on this corpus's synthetic questions by `paper-rag reranker train`; read from
  DATA_DIR/models/feature-reranker when one was trained there, else the copy committed in the repository.
A folder with a `manifest.json` (what training writes) has its weights' sha256 checked before loading.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paper_rag.embedder import bf16_wanted, file_sha256
from paper_rag.rerank.features import candidate_features
from paper_rag.rerank.linear import RANKER_FILE, LinearRanker
from paper_rag.schema import DEFAULT_SEARCH_KINDS, SearchHit
from paper_rag.settings import PROJECT_ROOT, Settings
from paper_rag.terms import TermStats

if TYPE_CHECKING:
    from paper_rag.retrieval import Retriever

log = logging.getLogger(__name__)

CORPUS_RERANKER = "corpus-minilm"
COMMITTED_RERANKER = PROJECT_ROOT / "models" / "reranker"
CORPUS_FEATURES = "corpus-features"
COMMITTED_FEATURES = PROJECT_ROOT / "models" / "feature-reranker"
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"


class RerankerUnavailableError(RuntimeError):
    pass


def trained_reranker_dir(settings: Settings) -> Path:
    return settings.data_dir / "models" / "reranker"


def trained_features_dir(settings: Settings) -> Path:
    return settings.data_dir / "models" / "feature-reranker"


def is_feature_ranker(name_or_path: str) -> bool:
    return name_or_path == CORPUS_FEATURES or (Path(name_or_path) / RANKER_FILE).is_file()


def resolve_reranker(settings: Settings) -> str:
    """The folder (or hub id) `RERANKER_MODEL` names."""
    corpus = {
        CORPUS_RERANKER: (trained_reranker_dir(settings), COMMITTED_RERANKER, WEIGHTS, " --kind cross-encoder"),
        CORPUS_FEATURES: (trained_features_dir(settings), COMMITTED_FEATURES, RANKER_FILE, ""),
    }
    if settings.reranker_model not in corpus:
        return settings.reranker_model
    trained, committed, weights, option = corpus[settings.reranker_model]
    for folder in (trained, committed):
        if (folder / weights).exists():
            return str(folder)
    raise RerankerUnavailableError(
        f"no trained reranker in {trained} or {committed}: "
        f"run `paper-rag reranker train{option}`, or set RERANKER_MODEL to a hub id or folder."
    )


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def check_weights(folder: Path, manifest: dict[str, Any], weights: str = WEIGHTS) -> None:
    expected = manifest.get("weights_sha256")
    actual = file_sha256(folder / weights)
    if expected != actual:
        raise RerankerUnavailableError(
            f"{folder / weights} has sha256 {actual}, its manifest says {expected}: the weights are damaged "
            "or were replaced; retrain with `paper-rag reranker train` or restore the file."
        )


def load_cross_encoder(name_or_path: str, *, max_length: int) -> Any:
    """A CrossEncoder on CPU in float32 (weights may be stored as float16), offline."""
    import torch
    from sentence_transformers import CrossEncoder

    return CrossEncoder(
        name_or_path,
        device="cpu",
        local_files_only=True,
        max_length=max_length,
        model_kwargs={"dtype": torch.float32},
    )


def rerank_text(hit: SearchHit) -> str:
    """What the cross-encoder reads for a candidate: the same text the index embeds (name, section, chunk)."""
    return hit.chunk.index_text


class Reranker:
    """warm_up() tries to load the ranker RERANKER_MODEL names; `state` is then "available" or "unavailable".

    The feature ranker reads each retrieval leg's own list, so it needs the `retriever`; `stats` gives the
    corpus term statistics (default: counted once from the retriever's index)."""

    def __init__(
        self,
        *,
        settings: Settings,
        retriever: Retriever | None = None,
        stats: Callable[[], TermStats] | None = None,
    ) -> None:
        self._settings = settings
        self._retriever = retriever
        self._stats = stats
        self._model: Any = None
        self._ranker: LinearRanker | None = None
        self.kind = "features" if is_feature_ranker(settings.reranker_model) else "cross-encoder"
        self.state = "not loaded"
        self.reason = ""
        self.path = ""
        self.manifest: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self.state != "not loaded":
            return
        try:
            self.path = resolve_reranker(self._settings)
            folder = Path(self.path)
            self.manifest = read_manifest(folder) if folder.is_dir() else None
            if self.kind == "features":
                self._load_features(folder)
            else:
                if self.manifest is not None:
                    check_weights(folder, self.manifest)
                self._model = load_cross_encoder(self.path, max_length=self._settings.rerank_max_tokens)
            self.state = "available"
            log.info("reranker %s (%s) loaded from %s", self._settings.reranker_model, self.kind, self.path)
        except Exception as exc:  # any loading failure means: rank by fusion, and say so
            self.state, self.reason = "unavailable", f"{type(exc).__name__}: {str(exc)[:300]}"
            log.warning(
                "reranker %s unavailable, ranking by fusion score: %s", self._settings.reranker_model, self.reason
            )

    def _load_features(self, folder: Path) -> None:
        if self._retriever is None:
            raise RerankerUnavailableError("the feature reranker reads the retrieval legs: give it the retriever")
        if self.manifest is None:
            raise RerankerUnavailableError(f"{folder} has no {MANIFEST}: retrain with `paper-rag reranker train`")
        check_weights(folder, self.manifest, RANKER_FILE)
        self._ranker = LinearRanker.load(folder)
        if self._stats is None:
            index = self._retriever.index
            counted = TermStats(c.index_text for c in index.chunks() if c.section_kind in DEFAULT_SEARCH_KINDS)
            self._stats = lambda: counted

    def describe(self) -> dict[str, Any]:
        """What /readyz, answers and search results say about the reranker in use."""
        info: dict[str, Any] = {"model": self._settings.reranker_model, "kind": self.kind, "state": self.state}
        if self.state == "available" and self.kind == "cross-encoder":
            info["precision"] = "bf16" if self.uses_bf16 else "fp32"
        if self.path:
            info["path"] = self.path
        if self.reason:
            info["reason"] = self.reason
        if self.manifest:
            keys = (
                "kind", "base_model", "trained_at", "data_sha256", "questions", "steps", "scores", "weights_sha256"
            )  # fmt: skip
            info["manifest"] = {k: self.manifest[k] for k in keys if k in self.manifest}
        return info

    @property
    def uses_bf16(self) -> bool:
        return bf16_wanted(self._settings.reranker_precision)

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """The cross-encoder's score of each passage for the question."""
        import torch

        self.warm_up()
        if self._model is None:
            raise RerankerUnavailableError(self.reason or "the reranker in use is not a cross-encoder")
        # One forward pass at a time: on a few cores two at once only thrash.
        with self._lock, torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.uses_bf16):
            values = self._model.predict(
                [(question, text) for text in texts], batch_size=len(texts) or 1, show_progress_bar=False
            )
        return [float(v) for v in values]

    def feature_scores(
        self,
        question: str,
        head: Sequence[SearchHit],
        *,
        paper_ids: Sequence[str] | None = None,
        all_sections: bool = False,
        ranker: LinearRanker | None = None,
    ) -> list[float]:
        """The feature ranker's probability for each candidate, from the legs searched with the same filters
        (`ranker`: other weights over the same features, e.g. the evaluation's untrained control)."""
        self.warm_up()
        if self._ranker is None or self._retriever is None or self._stats is None:
            raise RerankerUnavailableError(self.reason or "the reranker in use is not the feature ranker")
        legs = self._retriever.legs(question, paper_ids=paper_ids, all_sections=all_sections)
        return (ranker or self._ranker).scores(candidate_features(question, head, legs, self._stats()))

    @property
    def feature_ranker(self) -> LinearRanker | None:
        return self._ranker

    def rerank(
        self,
        question: str,
        hits: Sequence[SearchHit],
        *,
        top_n: int | None = None,
        paper_ids: Sequence[str] | None = None,
        all_sections: bool = False,
    ) -> list[SearchHit]:
        """The first `top_n` hits (default RERANK_TOP_N) reordered, the rest after them in fusion order; all in
        fusion order (unchanged) when the model is unavailable. Each reranked hit's score is the reranker's.
        `paper_ids` and `all_sections` are the filters the hits were searched with."""
        self.warm_up()
        if self.state != "available" or not hits:
            return list(hits)
        head = hits[: top_n or self._settings.rerank_top_n]
        if self.kind == "features":
            scores = self.feature_scores(question, head, paper_ids=paper_ids, all_sections=all_sections)
        else:
            scores = self.scores(question, [rerank_text(h) for h in head])
        return reorder(hits, scores, self._settings.rerank_fusion_weight)


def reorder(hits: Sequence[SearchHit], scores: Sequence[float], fusion_weight: float = 0.0) -> list[SearchHit]:
    """The first len(scores) hits (fusion order) reordered by their cross-encoder scores (blended with the fusion
    order by `fusion_weight`) and scored by them; the rest after them, in fusion order."""
    head, tail = hits[: len(scores)], hits[len(scores) :]
    # The tail's fusion scores are not comparable with the cross-encoder's: it is scored just below the lowest.
    floor = min(scores, default=0.0) - 1.0
    return [SearchHit(head[i].chunk, scores[i]) for i in blended_order(scores, fusion_weight)] + [
        SearchHit(hit.chunk, floor - i * 1e-3) for i, hit in enumerate(tail)
    ]


def blended_order(scores: Sequence[float], fusion_weight: float, k: int = 60) -> list[int]:
    """Candidate indices (given in fusion order) by 1/(k + rerank rank) + w/(k + fusion rank): w = 0 is the
    cross-encoder's order alone; w > 0 lets the fusion order break the cross-encoder's near-ties."""
    by_score = sorted(range(len(scores)), key=lambda i: -scores[i])
    rerank_rank = {index: rank for rank, index in enumerate(by_score, start=1)}
    combined = {i: 1 / (k + rerank_rank[i]) + fusion_weight / (k + i + 1) for i in range(len(scores))}
    return sorted(combined, key=lambda i: -combined[i])
