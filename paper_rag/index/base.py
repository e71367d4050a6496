"""What an index adapter offers; both adapters store the same points and answer the same queries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

import numpy as np
import qdrant_edge as qe

from paper_rag.schema import Chunk, SearchHit
from paper_rag.settings import Fusion

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "bm25"
QueryMode = Literal["hybrid", "dense", "sparse"]
UPSERT_BATCH = 256


class IndexUnavailableError(RuntimeError):
    """The index cannot be opened or reached; the message says where and what to do."""


def vector_size_mismatch(where: str, stored: int, wanted: int, remedy: str) -> IndexUnavailableError:
    return IndexUnavailableError(
        f"{where} holds {stored}-d dense vectors but the embedding model (EMBEDDING_MODEL) makes {wanted}-d "
        f"ones: {remedy}, or set COLLECTION to a new name, then run `paper-rag ingest` (or set EMBEDDING_MODEL "
        f"back to the model the index was built with)."
    )


class PaperIndex(Protocol):
    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[qe.SparseVector]) -> None: ...

    def chunks(self) -> Iterator[Chunk]: ...

    def point_ids(self, paper_id: str) -> set[str]: ...

    def delete_points(self, point_ids: Sequence[str]) -> None: ...

    def delete_paper(self, paper_id: str) -> None: ...

    def count(self, paper_id: str | None = None) -> int: ...

    def query(
        self,
        *,
        dense: list[float] | None,
        sparse: qe.SparseVector | None,
        mode: QueryMode,
        limit: int,
        prefetch: int,
        rrf_k: int,
        fusion: Fusion = "rrf",
        paper_ids: Sequence[str] | None = None,
        section_kinds: Sequence[str] | None = None,
        hnsw_ef: int | None = None,
    ) -> list[SearchHit]: ...

    def flush(self) -> None: ...

    def optimize(self) -> None: ...

    def close(self) -> None: ...
