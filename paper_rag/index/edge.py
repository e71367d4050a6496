"""The embedded default: the real Qdrant engine in-process (qdrant-edge), stored under DATA_DIR."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as qe

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

_KEYWORD_FIELDS = ("paper_id", "section_kind")


def _filter(paper_ids: Sequence[str] | None, section_kinds: Sequence[str] | None) -> qe.Filter | None:
    must: list = []
    if paper_ids:
        must.append(qe.FieldCondition(key="paper_id", match=qe.MatchAny(any=list(paper_ids))))
    if section_kinds:
        must.append(qe.FieldCondition(key="section_kind", match=qe.MatchAny(any=list(section_kinds))))
    return qe.Filter(must=must) if must else None


def _paper_filter(paper_id: str) -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition(key="paper_id", match=qe.MatchValue(paper_id))])


def _stored_vector_size(config_file: Path) -> int | None:
    try:
        return int(json.loads(config_file.read_text())["vectors"][DENSE_VECTOR]["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable here: the engine's own load reports what is wrong


def edge_config(size: int, quantization: qe.ScalarQuantizationConfig | None = None) -> qe.EdgeConfig:
    """The shard's layout: cosine dense vectors of `size`, a BM25 sparse vector with IDF, optional quantization."""
    return qe.EdgeConfig(
        vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=size, distance=qe.Distance.Cosine)},
        sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        quantization_config=quantization,
    )


class EdgeIndex:
    def __init__(self, *, path: Path, vector_size: int | None = None) -> None:
        """vector_size: the embedding model's (open_index passes it); None: the packaged model's for a new
        shard, and no check of an existing one."""
        self._path = path
        config_file = path / "edge_config.json"
        stored = _stored_vector_size(config_file) if config_file.exists() else None
        if vector_size is not None and stored is not None and stored != vector_size:
            raise vector_size_mismatch(f"the Qdrant shard at {path}", stored, vector_size, f"delete {path}")
        size = vector_size if vector_size is not None else model_info(PACKAGED_MODEL).dimension
        config = edge_config(size)
        try:
            if config_file.exists():
                self._shard = qe.EdgeShard.load(str(path))
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._shard = qe.EdgeShard.create(str(path), config)
                for field in _KEYWORD_FIELDS:
                    self._shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
        except Exception as exc:  # the engine raises plain exceptions; say which shard and why
            hint = (
                " (another process holds it: stop that `paper-rag` process, or run a Qdrant server and set QDRANT_URL)"
                if "WouldBlock" in str(exc)
                else ""
            )
            raise IndexUnavailableError(f"cannot open the Qdrant shard at {path}: {exc}{hint}") from exc

    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[qe.SparseVector]) -> None:
        points = [
            qe.Point(
                id=chunk.chunk_id, vector={DENSE_VECTOR: vector.tolist(), SPARSE_VECTOR: bm25}, payload=chunk.payload()
            )
            for chunk, vector, bm25 in zip(chunks, dense, sparse, strict=True)
        ]
        for start in range(0, len(points), UPSERT_BATCH):
            self._shard.update(qe.UpdateOperation.upsert_points(points[start : start + UPSERT_BATCH]))

    def chunks(self) -> Iterator[Chunk]:
        offset = None
        while True:
            records, offset = self._shard.scroll(qe.ScrollRequest(offset=offset, limit=1024, with_payload=True))
            yield from (Chunk.from_payload(record.payload or {}) for record in records)
            if offset is None:
                return

    def point_ids(self, paper_id: str) -> set[str]:
        ids: set[str] = set()
        offset = None
        while True:
            records, offset = self._shard.scroll(
                qe.ScrollRequest(offset=offset, limit=1024, filter=_paper_filter(paper_id), with_payload=False)
            )
            ids.update(str(record.id) for record in records)
            if offset is None:
                return ids

    def delete_points(self, point_ids: Sequence[str]) -> None:
        if point_ids:
            self._shard.update(qe.UpdateOperation.delete_points(list(point_ids)))

    def delete_paper(self, paper_id: str) -> None:
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(_paper_filter(paper_id)))

    def count(self, paper_id: str | None = None) -> int:
        request = qe.CountRequest(filter=_paper_filter(paper_id) if paper_id else None, exact=True)
        return self._shard.count(request)

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
        dense_query = qe.Query.Nearest(dense, using=DENSE_VECTOR) if dense is not None else None
        sparse_query = qe.Query.Nearest(sparse, using=SPARSE_VECTOR) if sparse is not None else None
        dense_params = qe.SearchParams(hnsw_ef=hnsw_ef) if hnsw_ef else None
        if mode == "hybrid":
            request = qe.QueryRequest(
                limit=limit,
                prefetches=[
                    qe.Prefetch(limit=prefetch, query=dense_query, filter=where, params=dense_params),
                    qe.Prefetch(limit=prefetch, query=sparse_query, filter=where),
                ],
                query=qe.Fusion.Rrf(k=rrf_k) if fusion == "rrf" else qe.Fusion.Dbsf(),  # type: ignore[arg-type]  # stub omits them
                filter=where,
                with_payload=True,
            )
        else:
            request = qe.QueryRequest(
                limit=limit,
                query=dense_query if mode == "dense" else sparse_query,
                filter=where,
                params=dense_params if mode == "dense" else None,
                with_payload=True,
            )
        return [SearchHit(Chunk.from_payload(p.payload or {}), p.score) for p in self._shard.query(request)]

    def flush(self) -> None:
        self._shard.flush()

    def optimize(self) -> None:
        """Merge segments and build the HNSW / payload indexes; the embedded engine has no background optimizer."""
        self._shard.optimize()

    def close(self) -> None:
        self._shard.flush()
        self._shard.close()
