"""The ingest job: PDFs → chunks → dense + BM25 vectors → Qdrant, one paper at a time, crash-safe.

Crash safety comes from three facts: point ids are derived from content (re-writing a chunk overwrites
it, never duplicates it); a paper's stale points are found by scrolling its paper_id, not from memory;
and a paper is recorded as done only after its points are flushed. A run killed at any moment leaves a
paper either recorded and complete, or unrecorded and redone by the next run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.chunker import CHUNKER_VERSION, chunk_paper
from ingest.corpus import Paper, load_manifest, paper_id_from_file
from ingest.pdf_text import PARSER_VERSION, PdfError, parse_pdf
from paper_rag.catalog import Fingerprint, IngestState, PaperRecord, fingerprint_changes
from paper_rag.embedder import Embedder, file_sha256, model_info
from paper_rag.index import PaperIndex
from paper_rag.schema import Chunk
from paper_rag.settings import Settings
from paper_rag.sparse import Bm25Encoder

log = logging.getLogger(__name__)
EMBED_BATCH = 64


@dataclass
class FileOutcome:
    file: Path
    paper_id: str
    status: str  # ingested | unchanged | failed
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0
    error: str = ""
    reason: str = ""  # why an already-ingested paper was ingested again


class IngestProgress:
    """Hooks for a progress display; the default shows nothing."""

    def file_started(self, path: Path, index: int, total: int) -> None: ...

    def embedding_started(self, paper_id: str, chunks: int) -> None: ...

    def embedded(self, count: int) -> None: ...

    def file_done(self, outcome: FileOutcome) -> None: ...


def ingest_fingerprint(settings: Settings) -> Fingerprint:
    """Everything besides the PDF's bytes that shapes a paper's points."""
    model = model_info(settings.embedding_model)
    return {
        "parser_version": PARSER_VERSION,
        "chunker_version": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "embedding_model": settings.embedding_model,
        "embedding_weights": model.weights,
        "max_seq_length": model.max_seq_length,
        "vector_size": model.dimension,
    }


def list_pdfs(pdf_dir: Path, paper_ids: list[str] | None = None) -> list[Path]:
    files = sorted(p for p in pdf_dir.glob("*") if p.is_file() and p.suffix.lower() == ".pdf")
    if paper_ids:
        files = [p for p in files if paper_id_from_file(p) in paper_ids]
    return files


class Ingestor:
    def __init__(
        self,
        *,
        settings: Settings,
        index: PaperIndex,
        embedder: Embedder | None = None,
        progress: IngestProgress | None = None,
    ) -> None:
        self._settings = settings
        self._index = index
        self._embedder = embedder or Embedder(settings=settings)
        self._bm25 = Bm25Encoder()
        self._progress = progress or IngestProgress()
        self._state = IngestState(settings.ingest_state_path)
        self._papers = {p.paper_id: p for p in _manifest_or_empty(settings.corpus_manifest)}
        self._fingerprint: Fingerprint | None = None  # computed on the first file: it resolves the model

    @property
    def fingerprint(self) -> Fingerprint:
        if self._fingerprint is None:
            self._fingerprint = ingest_fingerprint(self._settings)
        return self._fingerprint

    def run(self, files: list[Path]) -> list[FileOutcome]:
        outcomes = []
        for number, path in enumerate(files, start=1):
            self._progress.file_started(path, number, len(files))
            started = time.perf_counter()
            outcome = self._ingest_file(path)
            outcome.seconds = time.perf_counter() - started
            self._progress.file_done(outcome)
            outcomes.append(outcome)
        if any(o.status == "ingested" for o in outcomes):
            self._index.optimize()
        return outcomes

    def _ingest_file(self, path: Path) -> FileOutcome:
        paper_id = paper_id_from_file(path)
        try:
            sha256 = file_sha256(path)
        except OSError as exc:
            return FileOutcome(path, paper_id, "failed", error=f"cannot read file: {exc}")
        known = self._state.papers.get(paper_id)
        reason = self._reingest_reason(known, sha256) if known else ""
        if known and not reason:
            return FileOutcome(path, paper_id, "unchanged", pages=known.pages, chunks=known.chunks)
        if reason:
            log.info("%s: ingesting again: %s", paper_id, reason)
        try:
            parsed = parse_pdf(path)
        except PdfError as exc:
            log.warning("%s: %s", path, exc)
            return FileOutcome(path, paper_id, "failed", error=str(exc))
        paper = self._papers.get(paper_id)
        title = paper.title if paper else (parsed.metadata_title or paper_id)
        chunks = chunk_paper(
            parsed.paragraphs,
            paper_id=paper_id,
            title=title,
            short_name=paper.short_name if paper else "",
            chunk_tokens=self._settings.chunk_tokens,
            overlap_tokens=self._settings.chunk_overlap_tokens,
            embedding_model=self._settings.embedding_model,
        )
        if not chunks:
            return FileOutcome(
                path, paper_id, "failed", pages=parsed.pages, error="no text chunks found", reason=reason
            )
        self._write(paper_id, chunks)
        self._state.record(
            PaperRecord(
                paper_id=paper_id,
                title=title,
                file=path.name,
                sha256=sha256,
                pages=parsed.pages,
                chunks=len(chunks),
                ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
                fingerprint=self.fingerprint,
            )
        )
        return FileOutcome(path, paper_id, "ingested", pages=parsed.pages, chunks=len(chunks), reason=reason)

    def _reingest_reason(self, known: PaperRecord, sha256: str) -> str:
        """Why a recorded paper must be ingested again; "" when its points are current."""
        if known.sha256 != sha256:
            return "the file changed"
        changes = fingerprint_changes(known.fingerprint, self.fingerprint)
        if changes:
            return f"settings changed: {changes}"
        indexed = self._index.count(known.paper_id)
        if indexed != known.chunks:
            return f"the index holds {indexed} of its {known.chunks} chunks"
        return ""

    def _write(self, paper_id: str, chunks: list[Chunk]) -> None:
        """Upsert the new chunks, then delete whatever else the index holds for this paper."""
        self._progress.embedding_started(paper_id, len(chunks))
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            texts = [c.index_text for c in batch]
            dense = self._embedder.embed_passages(texts)
            self._index.upsert(batch, dense, [self._bm25.document(t) for t in texts])
            self._progress.embedded(len(batch))
        stale = self._index.point_ids(paper_id) - {c.chunk_id for c in chunks}
        self._index.delete_points(sorted(stale))
        self._index.flush()

    def delete(self, paper_id: str) -> int:
        removed = self._index.count(paper_id)
        self._index.delete_paper(paper_id)
        self._index.flush()
        self._state.forget(paper_id)
        return removed

    @property
    def state(self) -> IngestState:
        return self._state


def _manifest_or_empty(path: Path) -> list[Paper]:
    try:
        return load_manifest(path)
    except FileNotFoundError:
        log.warning("corpus manifest %s not found: titles come from the PDFs' metadata", path)
        return []
