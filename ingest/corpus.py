"""The corpus manifest (corpus/papers.tsv) and `corpus fetch`: PDFs from arXiv, else from the mirror."""

from __future__ import annotations

import csv
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from paper_rag.embedder import file_sha256
from paper_rag.manifest import is_arxiv_id
from paper_rag.settings import Settings

CHECKSUMS_FILE = "CHECKSUMS.tsv"


@dataclass(frozen=True)
class Paper:
    paper_id: str  # the arXiv id, or a slug for papers not on arXiv; "" when the manifest has none
    short_name: str
    title: str
    first_author_year: str
    tier: str

    @property
    def on_arxiv(self) -> bool:
        return is_arxiv_id(self.paper_id)

    @property
    def file_name(self) -> str:
        return f"{self.paper_id}.pdf"


def load_manifest(path: Path) -> list[Paper]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        Paper(
            paper_id=row["arxiv_id"].strip().strip("-"),
            short_name=row["short_name"].strip(),
            title=row["title"].strip(),
            first_author_year=row["first_author_year"].strip(),
            tier=row["tier"],
        )
        for row in rows
    ]


def paper_id_from_file(path: Path) -> str:
    """1706.03762v7.pdf → 1706.03762; other names are used as they are."""
    stem = path.stem
    match = re.match(r"^(\d{4}\.\d{4,5})(v\d+)?$", stem)
    return match.group(1) if match else stem


@dataclass
class FetchOutcome:
    paper: Paper
    status: str  # present | arxiv | mirror | missing | not-fetchable
    detail: str = ""


def fetch_corpus(
    settings: Settings,
    *,
    use_arxiv: bool = True,
    on_progress: Callable[[FetchOutcome], None] | None = None,
    client: httpx.Client | None = None,
) -> list[FetchOutcome]:
    """Put every manifest paper's PDF into the PDF dir; record each file's sha256 and source."""
    pdf_dir = settings.resolved_pdf_dir
    pdf_dir.mkdir(parents=True, exist_ok=True)
    checksums = _read_checksums(pdf_dir)
    outcomes: list[FetchOutcome] = []
    arxiv_reachable = use_arxiv
    http = client or httpx.Client(
        timeout=settings.fetch_timeout_s, follow_redirects=True, headers={"User-Agent": "paper-rag corpus fetch"}
    )
    for paper in load_manifest(settings.corpus_manifest):
        outcome = _fetch_one(paper, pdf_dir, settings, http, arxiv_reachable)
        if outcome.status == "missing" and "unreachable" in outcome.detail:
            arxiv_reachable = False  # one connection failure: do not wait on every remaining paper
        if outcome.status in ("arxiv", "mirror"):
            target = pdf_dir / paper.file_name
            checksums[paper.file_name] = (file_sha256(target), outcome.status, datetime.now(UTC).isoformat())
            _write_checksums(pdf_dir, checksums)
        outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)
    return outcomes


def _fetch_one(paper: Paper, pdf_dir: Path, settings: Settings, http: httpx.Client, try_arxiv: bool) -> FetchOutcome:
    if not paper.paper_id:
        return FetchOutcome(paper, "not-fetchable", "no arXiv id in the manifest")
    target = pdf_dir / paper.file_name
    if target.exists() and target.stat().st_size > 0:
        return FetchOutcome(paper, "present")
    problems = []
    if paper.on_arxiv and try_arxiv:
        error = _download_arxiv(paper, target, settings, http)
        if error is None:
            return FetchOutcome(paper, "arxiv")
        problems.append(error)
    elif not paper.on_arxiv:
        problems.append("not on arXiv")
    else:
        problems.append("arXiv not tried (unreachable earlier in this run, or --no-arxiv)")
    mirror = settings.corpus_mirror
    if mirror is not None:
        for candidate in (mirror / paper.file_name, mirror / "pdf" / paper.file_name):
            if candidate.is_file():
                shutil.copyfile(candidate, target)
                return FetchOutcome(paper, "mirror", str(candidate.parent))
        problems.append(f"not in mirror {mirror}")
    else:
        problems.append("no CORPUS_MIRROR set")
    return FetchOutcome(paper, "missing", "; ".join(problems))


def _download_arxiv(paper: Paper, target: Path, settings: Settings, http: httpx.Client) -> str | None:
    url = settings.arxiv_pdf_url.format(arxiv_id=paper.paper_id)
    error = ""
    for attempt in range(1, settings.fetch_retries + 1):
        try:
            response = http.get(url)
            if response.status_code == 200 and response.content.startswith(b"%PDF"):
                partial = target.with_suffix(".part")
                partial.write_bytes(response.content)
                partial.replace(target)
                time.sleep(settings.fetch_delay_s)
                return None
            error = f"arXiv answered HTTP {response.status_code}"
        except httpx.ConnectError as exc:
            return f"arXiv unreachable ({exc})"
        except httpx.HTTPError as exc:
            error = f"arXiv download failed ({exc})"
        time.sleep(settings.fetch_delay_s * attempt)
    return error


def _read_checksums(pdf_dir: Path) -> dict[str, tuple[str, str, str]]:
    path = pdf_dir / CHECKSUMS_FILE
    if not path.exists():
        return {}
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    return {row[0]: (row[1], row[2], row[3]) for row in rows if len(row) == 4}


def _write_checksums(pdf_dir: Path, checksums: dict[str, tuple[str, str, str]]) -> None:
    lines = ["file\tsha256\tsource\tfetched_at"]
    lines += ["\t".join((name, *values)) for name, values in sorted(checksums.items())]
    (pdf_dir / CHECKSUMS_FILE).write_text("\n".join(lines) + "\n")
