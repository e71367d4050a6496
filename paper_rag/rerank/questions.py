"""Synthetic training questions: the configured LLM writes, for body chunks, questions that the chunk answers.

Generation is slow on CPU (seconds per chunk), so it is resumable: every answer is appended to one JSONL
file as it arrives, and a rerun skips the chunks already in it. Chunks are visited in a fixed pseudo-random
order, so any prefix of the run is a uniform sample of the corpus. Filtering is a separate pass
(`paper_rag.rerank.question_filter`) so the LLM is needed only here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from paper_rag.rerank.question_filter import load_rows
from paper_rag.schema import Chunk
from paper_rag.settings import Settings

# What readers ask, in the mix the issue names: results and table numbers, mechanisms, comparisons.
QUESTION_KINDS = {
    "number": "a question whose answer is a number stated in the excerpt (a score, size, setting or count)",
    "mechanism": "a question about how or why something described in the excerpt works",
    "comparison": "a question about how two things compared in the excerpt differ",
    "fact": "a question about a specific method, model or dataset named in the excerpt",
}
# Numbers a result would report; years (citations) are not results.
log = logging.getLogger(__name__)
MAX_FAILURES_IN_A_ROW = 5
_DIGITS = re.compile(r"\b(?!(?:19|20)\d\d\b)\d+(?:\.\d+)?%?")


@dataclass
class GeneratedQuestion:
    question: str
    kind: str
    paper_id: str
    title: str
    section: str
    page_start: int
    page_end: int
    chunk_sha1: str  # of the source chunk's text: the provenance survives re-chunking as page + text
    chunk_text: str
    model: str
    status: str = "unfiltered"  # set by the filter pass: kept, or why it was dropped

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def _key(paper_id: str, text: str) -> str:
    return hashlib.sha1(f"{paper_id}\n{text}".encode()).hexdigest()


def chunk_key(chunk: Chunk) -> str:
    return _key(chunk.paper_id, chunk.text)


def sample_order(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Body chunks in a fixed pseudo-random order (by hash), long enough to hold an answer."""
    body = [c for c in chunks if c.section_kind == "body" and len(c.text.split()) >= 40]
    return sorted(body, key=chunk_key)


def kinds_for(chunk: Chunk) -> list[str]:
    """Two question kinds per chunk: a number question where the chunk reports numbers, else a fact one."""
    numbers = len(_DIGITS.findall(chunk.text))
    first = "number" if numbers >= 3 else "fact"
    second = "comparison" if int(chunk_key(chunk), 16) % 2 else "mechanism"
    return [first, second]


def build_messages(chunk: Chunk, kinds: list[str]) -> list[dict[str, str]]:
    name = chunk.short_name or chunk.title
    asks = "\n".join(f"{n}. {QUESTION_KINDS[k]}" for n, k in enumerate(kinds, start=1))
    user = (
        f"Excerpt from {chunk.title}, section {chunk.section}:\n\n{chunk.text}\n\n"
        f"Write {len(kinds)} questions a researcher might ask about {name} that this excerpt answers:\n{asks}\n"
        "Each question names what it asks about (the method, model, dataset or result) so it can be understood "
        "alone. Never write 'passage', 'excerpt', 'text' or 'this paper'. Do not copy a sentence. "
        "Write only the numbered questions."
    )
    return [
        {"role": "system", "content": "You write short, specific questions about research papers."},
        {"role": "user", "content": user},
    ]


_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•]|Q\d*[:.])\s*")


def parse_questions(reply: str, kinds: list[str]) -> list[tuple[str, str]]:
    """(question, kind) pairs from the model's numbered lines; lines that are not questions are dropped."""
    lines = [_NUMBERING.sub("", line).strip().strip('"') for line in reply.splitlines()]
    questions = [line for line in lines if line.endswith("?") and 4 <= len(line.split()) <= 40]
    return [(q, kinds[min(i, len(kinds) - 1)]) for i, q in enumerate(questions[: len(kinds)])]


def done_keys(path: Path) -> set[str]:
    """Keys of the chunks that already have questions in `path`."""
    return {_key(row["paper_id"], row["chunk_text"]) for row in load_rows(path)}


class QuestionWriter:
    """Calls the OpenAI-compatible server with several chunks in flight (the server batches them)."""

    def __init__(self, settings: Settings, *, concurrency: int = 6, temperature: float = 0.4) -> None:
        self._settings = settings
        self._concurrency = concurrency
        self._temperature = temperature
        self._failures_in_a_row = 0
        self._client = httpx.Client(
            base_url=settings.llm_base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {settings.llm_api_key}"},
            timeout=httpx.Timeout(settings.llm_timeout_s, connect=5.0),
        )

    def questions_for(self, chunk: Chunk) -> list[GeneratedQuestion]:
        kinds = kinds_for(chunk)
        body = {
            "model": self._settings.llm_model,
            "messages": build_messages(chunk, kinds),
            "max_tokens": 40 * len(kinds),
            "temperature": self._temperature,
            "seed": int(chunk_key(chunk)[:8], 16),
        }
        response = self._client.post("/chat/completions", json=body)
        response.raise_for_status()
        reply = response.json()["choices"][0]["message"]["content"] or ""
        return [
            GeneratedQuestion(
                question=q,
                kind=kind,
                paper_id=chunk.paper_id,
                title=chunk.title,
                section=chunk.section,
                page_start=chunk.page_start,
                page_end=chunk.page_end,
                chunk_sha1=hashlib.sha1(chunk.text.encode()).hexdigest(),
                chunk_text=chunk.text,
                model=self._settings.llm_model,
            )
            for q, kind in parse_questions(reply, kinds)
        ]

    def run(
        self, chunks: list[Chunk], out: Path, *, on_chunk: Callable[[int], None] | None = None
    ) -> Iterator[GeneratedQuestion]:
        """Append each chunk's questions to `out` as soon as they arrive; yields them too."""
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = threading.Lock()
        with ThreadPoolExecutor(self._concurrency) as pool, out.open("a") as handle:
            for questions in pool.map(self._safe_questions, chunks):
                with lock:
                    for q in questions:
                        handle.write(q.as_json() + "\n")
                    handle.flush()
                if on_chunk:
                    on_chunk(len(questions))
                yield from questions

    def _safe_questions(self, chunk: Chunk) -> list[GeneratedQuestion]:
        """One chunk's questions; a failed request is skipped (a rerun retries it) unless the server is down."""
        try:
            questions = self.questions_for(chunk)
            self._failures_in_a_row = 0
            return questions
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            self._failures_in_a_row += 1
            where = f"{chunk.paper_id} p.{chunk.page_start} at {self._settings.llm_base_url}"
            if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                raise RuntimeError(
                    f"question generation failed {self._failures_in_a_row} times in a row (last: {where}: {exc}). "
                    "Start the model with `paper-rag llm start`; rerunning resumes where this stopped."
                ) from exc
            log.warning("no questions for %s (skipped, a rerun retries it): %s", where, exc)
            return []
