"""Server mode: a Qdrant server or cluster through qdrant-client (QDRANT_URL)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import qdrant_edge as qe
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from paper_rag.embedder import PACKAGED_MODEL, model_info
from paper_rag.index.base import (
    DENSE_VECTOR,
    SPARSE_VECTOR,
    UPSERT_BATCH,
    IndexUnavailableError,
    QueryMode,
    vector_size_mismatch,
)
from paper_rag.schema import Chunk, SearchHit
from paper_rag.settings import Fusion


def _sparse(vector: qe.SparseVector) -> qm.SparseVector:
    return qm.SparseVector(indices=list(vector.indices), values=list(vector.values))


def _filter(paper_ids: Sequence[str] | None, section_kinds: Sequence[str] | None) -> qm.Filter | None:
    must: list[qm.Condition] = []
    if paper_ids:
        must.append(qm.FieldCondition(key="paper_id", match=qm.MatchAny(any=list(paper_ids))))
    if section_kinds:
        must.append(qm.FieldCondition(key="section_kind", match=qm.MatchAny(any=list(section_kinds))))
    return qm.Filter(must=must) if must else None


def _paper_filter(paper_id: str) -> qm.Filter:
    return qm.Filter(must=[qm.FieldCondition(key="paper_id", match=qm.MatchValue(value=paper_id))])


class ServerIndex:
    def __init__(self, *, client: QdrantClient, collection: str, vector_size: int | None = None) -> None:
        """vector_size: the embedding model's (open_index passes it); None: the packaged model's for a new
        collection, and no check of an existing one."""
        self._client = client
        self._collection = collection
        size = vector_size if vector_size is not None else model_info(PACKAGED_MODEL).dimension
        stored: int | None = None
        try:
            if client.collection_exists(collection):
                vectors = client.get_collection(collection).config.params.vectors
                params = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
                stored = params.size if params is not None else None
            else:
                client.create_collection(
                    collection,
                    vectors_config={DENSE_VECTOR: qm.VectorParams(size=size, distance=qm.Distance.COSINE)},
                    sparse_vectors_config={SPARSE_VECTOR: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
                )
                for field in ("paper_id", "section_kind"):
                    client.create_payload_index(collection, field, qm.PayloadSchemaType.KEYWORD)
        except Exception as exc:  # connection errors come in several types; report them all the same way
            raise IndexUnavailableError(f"cannot reach Qdrant collection {collection!r}: {exc}") from exc
        if vector_size is not None and stored is not None and stored != vector_size:
            remedy = f"delete the collection on the server (DELETE /collections/{collection})"
            raise vector_size_mismatch(f"Qdrant collection {collection!r}", stored, vector_size, remedy)

    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[qe.SparseVector]) -> None:
        points = [
            qm.PointStruct(
                id=chunk.chunk_id,
                vector={DENSE_VECTOR: vector.tolist(), SPARSE_VECTOR: _sparse(bm25)},
                payload=chunk.payload(),
            )
            for chunk, vector, bm25 in zip(chunks, dense, sparse, strict=True)
        ]
        for start in range(0, len(points), UPSERT_BATCH):
            self._client.upsert(self._collection, points[start : start + UPSERT_BATCH], wait=True)

    def chunks(self) -> Iterator[Chunk]:
        offset = None
        while True:
            records, offset = self._client.scroll(self._collection, limit=1024, offset=offset, with_payload=True)
            yield from (Chunk.from_payload(record.payload or {}) for record in records)
            if offset is None:
                return

    def point_ids(self, paper_id: str) -> set[str]:
        ids: set[str] = set()
        offset = None
        while True:
            records, offset = self._client.scroll(
                self._collection, scroll_filter=_paper_filter(paper_id), limit=1024, offset=offset, with_payload=False
            )
            ids.update(str(record.id) for record in records)
            if offset is None:
                return ids

    def delete_points(self, point_ids: Sequence[str]) -> None:
        if point_ids:
            self._client.delete(self._collection, qm.PointIdsList(points=list(point_ids)), wait=True)

    def delete_paper(self, paper_id: str) -> None:
        self._client.delete(self._collection, qm.FilterSelector(filter=_paper_filter(paper_id)), wait=True)

    def count(self, paper_id: str | None = None) -> int:
        where = _paper_filter(paper_id) if paper_id else None
        return self._client.count(self._collection, count_filter=where, exact=True).count

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
    ) -> list[SearchHit]:
        where = _filter(paper_ids, section_kinds)
        sparse_query = _sparse(sparse) if sparse is not None else None
        dense_params = qm.SearchParams(hnsw_ef=hnsw_ef) if hnsw_ef else None
        if mode == "hybrid":
            response = self._client.query_points(
                self._collection,
                prefetch=[
                    qm.Prefetch(query=dense, using=DENSE_VECTOR, limit=prefetch, filter=where, params=dense_params),
                    qm.Prefetch(query=sparse_query, using=SPARSE_VECTOR, limit=prefetch, filter=where),
                ],
                query=qm.RrfQuery(rrf=qm.Rrf(k=rrf_k)) if fusion == "rrf" else qm.FusionQuery(fusion=qm.Fusion.DBSF),
                query_filter=where,
                limit=limit,
                with_payload=True,
            )
        else:
            response = self._client.query_points(
                self._collection,
                query=dense if mode == "dense" else sparse_query,
                using=DENSE_VECTOR if mode == "dense" else SPARSE_VECTOR,
                query_filter=where,
                search_params=dense_params if mode == "dense" else None,
                limit=limit,
                with_payload=True,
            )
        return [SearchHit(Chunk.from_payload(p.payload or {}), p.score) for p in response.points]

    def flush(self) -> None:
        """The server persists each acknowledged write (wait=True); nothing to do."""

    def optimize(self) -> None:
        """The server optimizes segments in the background; nothing to do."""

    def close(self) -> None:
        self._client.close()
