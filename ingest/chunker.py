"""Paragraphs → section-aware chunks of whole sentences, sized for the embedder, with overlap.

A chunk never crosses a section boundary and never cuts a sentence (a sentence longer than a chunk, such
as a table, is cut into windows); a table or figure caption stays with the sentence after it (a table's
rows) and is repeated before each window of a table too long for one chunk. Each sentence keeps the page
it starts and ends on, so a chunk knows its page span exactly. Sizes are word pieces of the embedding
model's own tokenizer, counted on what is embedded (`Chunk.index_text`: the title and section prefix,
[CLS] and [SEP] included), so no chunk is longer than the model reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import TYPE_CHECKING

from ingest.pdf_text import CAPTION, Paragraph
from paper_rag.embedder import PACKAGED_MODEL, load_tokenizer, model_info
from paper_rag.schema import Chunk, SectionKind
from paper_rag.text import split_sentences

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Bump when a change here changes the chunks of an unchanged PDF: the ingest fingerprint records it.
CHUNKER_VERSION = 2  # 2: sized in word pieces (1: in words)


@dataclass(frozen=True)
class Sentence:
    text: str
    page_start: int
    page_end: int
    tokens: int = 0  # word pieces, without special tokens


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


def count_tokens(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], *, special: bool = False) -> list[int]:
    """Word pieces of each text, in one batched call of the fast tokenizer; `special` adds [CLS]/[SEP]."""
    if not texts:
        return []
    # verbose=False: texts longer than the model reads are expected here, no warning wanted.
    encoded = tokenizer(list(texts), add_special_tokens=special, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def _windows(sentence: Sentence, size: int, tokenizer: PreTrainedTokenizerBase) -> list[Sentence]:
    """A sentence longer than `size` word pieces cut into windows of at most `size`, at the start of a
    whitespace-separated word unless one word alone is longer than a window."""
    if sentence.tokens <= size:
        return [sentence]
    text = sentence.text
    spans = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]
    windows, start = [], 0
    while start < len(spans):
        end = min(start + size, len(spans))
        if end < len(spans):
            end = next((i for i in range(end, start, -1) if text[spans[i][0] - 1].isspace()), end)
        piece = text[spans[start][0] : spans[end - 1][1]]
        windows.append(Sentence(piece, sentence.page_start, sentence.page_end, end - start))
        start = end
    return windows


def _units(sentences: list[Sentence], size: int, tokenizer: PreTrainedTokenizerBase) -> list[Sentence]:
    """What the packer places whole: sentences of at most `size` word pieces, each caption joined to the
    sentence after it (the rows of a table come out as one sentence after their caption)."""
    units: list[Sentence] = []
    position = 0
    while position < len(sentences):
        sentence = sentences[position]
        following = sentences[position + 1] if position + 1 < len(sentences) else None
        if following is None or not CAPTION.match(sentence.text) or sentence.tokens > size // 2:
            units.extend(_windows(sentence, size, tokenizer))
            position += 1
            continue
        for piece in _windows(following, size - sentence.tokens, tokenizer):
            text = f"{sentence.text} {piece.text}"
            units.append(Sentence(text, sentence.page_start, piece.page_end, sentence.tokens + piece.tokens))
        position += 2
    return units


def chunk_paper(
    paragraphs: list[Paragraph],
    *,
    paper_id: str,
    title: str,
    short_name: str = "",
    chunk_tokens: int,
    overlap_tokens: int,
    embedding_model: str = PACKAGED_MODEL,
) -> list[Chunk]:
    tokenizer = load_tokenizer(embedding_model)
    limit = min(chunk_tokens, model_info(embedding_model).max_seq_length)
    sections = [
        (section, kind, list(section_sentences(group)))
        for (section, kind), group in groupby(paragraphs, key=lambda p: (p.section, p.section_kind))
    ]
    counts = iter(count_tokens(tokenizer, [s.text for _, _, sentences in sections for s in sentences]))
    sections = [(section, kind, [replace(s, tokens=next(counts)) for s in ss]) for section, kind, ss in sections]

    def chunk(section: str, kind: SectionKind, window: list[Sentence], ordinal: int) -> Chunk:
        return Chunk(
            paper_id=paper_id,
            title=title,
            short_name=short_name,
            section=section,
            section_kind=kind,
            page_start=window[0].page_start,
            page_end=max(s.page_end for s in window),
            text=" ".join(s.text for s in window),
            ordinal=ordinal,
        )

    # What each chunk of a section adds to its sentences: the title and section prefix, [CLS] and [SEP].
    empty = [Sentence("", 0, 0)]
    prefixes = count_tokens(tokenizer, [chunk(s, k, empty, 0).index_text for s, k, _ in sections], special=True)
    # Word pieces add up over the spaces that join the prefix and the sentences (so for WordPiece the
    # packing is exact); the lengths are measured anyway, and a tokenizer for which they do not add up
    # makes the paper be packed again a little tighter.
    slack = 0
    while True:
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for (section, kind, sentences), prefix in zip(sections, prefixes, strict=True):
            size = limit - slack - prefix
            if size < 1:
                raise ValueError(f"{paper_id}: title and section {section!r} leave no room in {limit} word pieces")
            for window in _pack(_units(sentences, size, tokenizer), size, overlap_tokens):
                candidate = chunk(section, kind, window, len(chunks))
                if candidate.chunk_id not in seen:  # an exact repeat (a running line missed as such) adds nothing
                    seen.add(candidate.chunk_id)
                    chunks.append(candidate)
        excess = max(count_tokens(tokenizer, [c.index_text for c in chunks], special=True), default=0) - limit
        if excess <= 0:
            return chunks
        slack += excess


def _pack(sentences: list[Sentence], size: int, overlap: int) -> Iterator[list[Sentence]]:
    """Greedy packing of whole sentences; each new window repeats the previous one's last sentences
    (up to `overlap` word pieces) so a fact straddling a boundary is whole in at least one chunk."""
    window: list[Sentence] = []
    fresh = 0  # sentences in the window that no earlier chunk has emitted
    for sentence in sentences:
        if window and sum(s.tokens for s in window) + sentence.tokens > size and fresh:
            yield window
            carried: list[Sentence] = []
            for previous in reversed(window):
                if sum(s.tokens for s in carried) + previous.tokens > overlap:
                    break
                carried.insert(0, previous)
            window, fresh = carried, 0
            if sum(s.tokens for s in window) + sentence.tokens > size:
                window = []
        window.append(sentence)
        fresh += 1
    if window and fresh:
        yield window
