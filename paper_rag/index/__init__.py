"""The Qdrant index behind one small interface: the embedded engine (default) or a Qdrant server."""

from __future__ import annotations

from paper_rag.embedder import ModelUnavailableError, model_info
from paper_rag.index.base import DENSE_VECTOR, SPARSE_VECTOR, IndexUnavailableError, PaperIndex, QueryMode
from paper_rag.settings import Settings

__all__ = ["DENSE_VECTOR", "SPARSE_VECTOR", "IndexUnavailableError", "PaperIndex", "QueryMode", "open_index"]


def open_index(settings: Settings) -> PaperIndex:
    """QDRANT_URL set: a Qdrant server through qdrant-client. Otherwise the in-process engine under DATA_DIR.
    The dense vector size is the embedding model's, read from its folder (the model itself is not loaded)."""
    try:
        vector_size = model_info(settings.embedding_model).dimension
    except ModelUnavailableError as exc:
        raise IndexUnavailableError(f"cannot tell the index's vector size: {exc}") from exc
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from paper_rag.index.server import ServerIndex

        client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=30)
        return ServerIndex(client=client, collection=settings.collection, vector_size=vector_size)
    from paper_rag.index.edge import EdgeIndex

    return EdgeIndex(path=settings.shard_dir, vector_size=vector_size)
