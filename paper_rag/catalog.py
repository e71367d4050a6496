"""The catalog of what is indexed: one record per paper, written atomically after its points are durable."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

# The settings that shape a paper's points (parser and chunker versions and sizes, embedding model and
# weights, vector size); a paper ingested under another fingerprint is ingested again.
Fingerprint = dict[str, str | int]


@dataclass
class PaperRecord:
    paper_id: str
    title: str
    file: str
    sha256: str
    pages: int
    chunks: int
    ingested_at: str
    fingerprint: Fingerprint | None = None  # None: written before fingerprints were recorded


def fingerprint_changes(recorded: Fingerprint | None, current: Fingerprint) -> str:
    """What differs, in words ("chunk_tokens 160 -> 256"); "" when nothing does."""
    if recorded is None:
        return "no settings fingerprint recorded (ingested by an older version)"
    keys = [*current, *(k for k in recorded if k not in current)]
    return ", ".join(
        f"{k} {recorded.get(k, '(none)')} -> {current.get(k, '(none)')}"
        for k in keys
        if recorded.get(k) != current.get(k)
    )


class IngestState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.papers: dict[str, PaperRecord] = {}
        self.reload()

    def reload(self) -> None:
        """Re-read the file (another process may have ingested since)."""
        if self.path.exists():
            raw = json.loads(self.path.read_text())
            self.papers = {pid: PaperRecord(**record) for pid, record in raw.get("papers", {}).items()}

    def record(self, record: PaperRecord) -> None:
        self.papers[record.paper_id] = record
        self.save()

    def forget(self, paper_id: str) -> None:
        self.papers.pop(paper_id, None)
        self.save()

    def save(self) -> None:
        """Write to a temporary file and rename it over the old one: a crash leaves old or new, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        payload = {"papers": {pid: asdict(r) for pid, r in sorted(self.papers.items())}}
        temporary.write_text(json.dumps(payload, indent=1))
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
