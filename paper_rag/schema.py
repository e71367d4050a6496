"""The chunk: the unit that is embedded, indexed, retrieved and cited."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Literal

SectionKind = Literal["front", "body", "appendix", "references"]
# Kinds searched unless a caller asks for everything: references and appendices would crowd out the body.
DEFAULT_SEARCH_KINDS: tuple[SectionKind, ...] = ("front", "body")

_CHUNK_NAMESPACE = uuid.UUID("5b0f7a36-8e7e-4c1e-9a63-2f1f3c6d1a10")


@dataclass(frozen=True)
class Chunk:
    paper_id: str
    title: str
    section: str
    section_kind: SectionKind
    page_start: int
    page_end: int
    text: str
    ordinal: int  # position in the paper, for reading neighbouring chunks in order
    short_name: str = ""

    @property
    def chunk_id(self) -> str:
        """Stable id from paper id + content: re-ingesting unchanged text yields the same point id."""
        digest = hashlib.sha1(f"{self.section}\n{self.page_start}\n{self.text}".encode()).hexdigest()
        return str(uuid.uuid5(_CHUNK_NAMESPACE, f"{self.paper_id}:{digest}"))

    @property
    def index_text(self) -> str:
        """What the embedder and BM25 see: the paper's name and section give context to a bare passage."""
        name = f"{self.short_name}: {self.title}" if self.short_name else self.title
        return f"{name}. {self.section}. {self.text}" if self.section else f"{name}. {self.text}"

    def payload(self) -> dict[str, Any]:
        return asdict(self) | {"chunk_id": self.chunk_id}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Chunk:
        fields = {k: payload[k] for k in cls.__dataclass_fields__ if k in payload}
        return cls(**fields)


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float

    def as_json(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "paper_id": c.paper_id,
            "title": c.title,
            "section": c.section,
            "section_kind": c.section_kind,
            "page_start": c.page_start,
            "page_end": c.page_end,
            "score": round(self.score, 6),
            "text": c.text,
        }
