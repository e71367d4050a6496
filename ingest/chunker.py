"""Paragraphs → section-aware chunks of whole sentences, sized for the embedder, with overlap.

A chunk never crosses a section boundary and never cuts a sentence (a sentence longer than a chunk, such
as a table, is cut into word windows). Each sentence keeps the page it starts and ends on, so a chunk knows
its page span exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby

from ingest.pdf_text import Paragraph
from paper_rag.schema import Chunk
from paper_rag.text import split_sentences


@dataclass(frozen=True)
class Sentence:
    text: str
    page_start: int
    page_end: int

    @property
    def words(self) -> int:
        return len(self.text.split())


def section_sentences(paragraphs: Iterable[Paragraph]) -> Iterator[Sentence]:
    """Sentences of one section in order; a paragraph carried over a page break is rejoined first."""
    pending: list[Paragraph] = []
    for paragraph in [*paragraphs, None]:
        if paragraph is not None and paragraph.continues_previous and pending:
            pending.append(paragraph)
            continue
        if pending:
            yield from _paragraph_sentences(pending)
        pending = [paragraph] if paragraph is not None else []


def _paragraph_sentences(parts: list[Paragraph]) -> Iterator[Sentence]:
    text = " ".join(p.text for p in parts)
    # Page of each character offset where a carried-over part begins.
    starts, offset = [], 0
    for part in parts:
        starts.append((offset, part.page))
        offset += len(part.text) + 1

    def page_at(position: int) -> int:
        return [page for begin, page in starts if begin <= position][-1]

    cursor = 0
    for sentence in split_sentences(text):
        begin = text.index(sentence, cursor)
        cursor = begin + len(sentence)
        yield Sentence(sentence, page_at(begin), page_at(cursor - 1))


def _windows(sentence: Sentence, size: int) -> list[Sentence]:
    words = sentence.text.split()
    if len(words) <= size:
        return [sentence]
    return [
        Sentence(" ".join(words[i : i + size]), sentence.page_start, sentence.page_end)
        for i in range(0, len(words), size)
    ]


def chunk_paper(
    paragraphs: list[Paragraph],
    *,
    paper_id: str,
    title: str,
    short_name: str = "",
    chunk_words: int,
    overlap_words: int,
) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for (section, kind), group in groupby(paragraphs, key=lambda p: (p.section, p.section_kind)):
        sentences = [piece for s in section_sentences(group) for piece in _windows(s, chunk_words)]
        for window in _pack(sentences, chunk_words, overlap_words):
            chunk = Chunk(
                paper_id=paper_id,
                title=title,
                short_name=short_name,
                section=section,
                section_kind=kind,
                page_start=window[0].page_start,
                page_end=max(s.page_end for s in window),
                text=" ".join(s.text for s in window),
                ordinal=len(chunks),
            )
            if chunk.chunk_id not in seen:  # an exact repeat (a running line missed as such) adds nothing
                seen.add(chunk.chunk_id)
                chunks.append(chunk)
    return chunks


def _pack(sentences: list[Sentence], size: int, overlap: int) -> Iterator[list[Sentence]]:
    """Greedy packing of whole sentences; each new window repeats the previous one's last sentences
    (up to `overlap` words) so a fact straddling a boundary is whole in at least one chunk."""
    window: list[Sentence] = []
    fresh = 0  # sentences in the window that no earlier chunk has emitted
    for sentence in sentences:
        if window and sum(s.words for s in window) + sentence.words > size and fresh:
            yield window
            carried: list[Sentence] = []
            for previous in reversed(window):
                if sum(s.words for s in carried) + previous.words > overlap:
                    break
                carried.insert(0, previous)
            window, fresh = carried, 0
            if sum(s.words for s in window) + sentence.words > size:
                window = []
        window.append(sentence)
        fresh += 1
    if window and fresh:
        yield window
