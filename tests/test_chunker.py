"""Chunks fit the embedder: sized with its own tokenizer on what is embedded (title and section prefix,
[CLS]/[SEP] included), while staying whole sentences with exact page spans, within one section."""

from __future__ import annotations

import itertools
from itertools import groupby

import pytest

from ingest.chunker import chunk_paper, count_tokens, section_sentences
from ingest.corpus import load_manifest
from ingest.pdf_text import Paragraph, parse_pdf
from paper_rag.embedder import PACKAGED_MODEL, Embedder, load_tokenizer, model_info
from paper_rag.settings import Settings
from tests.conftest import corpus_pdf

SETTINGS = Settings()


def test_model_info_read_from_the_folder_matches_the_loaded_model():
    info = model_info(PACKAGED_MODEL)
    assert (info.dimension, info.max_seq_length) == (384, 256)
    Embedder(settings=SETTINGS).warm_up()  # raises when the loaded model disagrees with the folder's config


# The Transformer paper (tables after captions), BERT (a long title, appendices), InstructGPT (long, many
# tables and a long appendix).
@pytest.mark.parametrize("paper_id", ["1706.03762", "1810.04805", "2203.02155"])
def test_real_paper_chunks_fit_the_model_and_keep_sentences_and_pages(paper_id):
    paper = next(p for p in load_manifest(SETTINGS.corpus_manifest) if p.paper_id == paper_id)
    paragraphs = parse_pdf(corpus_pdf(paper_id)).paragraphs
    chunks = chunk_paper(
        paragraphs,
        paper_id=paper_id,
        title=paper.title,
        short_name=paper.short_name,
        chunk_tokens=SETTINGS.chunk_tokens,
        overlap_tokens=SETTINGS.chunk_overlap_tokens,
    )
    tokenizer = load_tokenizer(PACKAGED_MODEL)
    limit = model_info(PACKAGED_MODEL).max_seq_length
    lengths = count_tokens(tokenizer, [c.index_text for c in chunks], special=True)
    assert max(lengths) <= limit  # nothing is cut off when embedded
    assert sorted(lengths)[len(lengths) // 2] > 0.8 * limit  # and chunks are filled, not merely small
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))

    # Every sentence that fits in a chunk is whole in a chunk of its own section, whose page span holds it.
    by_section = {section: [c for c in chunks if c.section == section] for section in {c.section for c in chunks}}
    checked = 0
    for (section, _), group in groupby(paragraphs, key=lambda p: (p.section, p.section_kind)):
        sentences = list(section_sentences(group))
        for sentence, tokens in zip(sentences, count_tokens(tokenizer, [s.text for s in sentences]), strict=True):
            if tokens > limit // 2:  # a table: cut into windows, checked below
                continue
            holding = [c for c in by_section[section] if sentence.text in c.text]
            assert any(c.page_start <= sentence.page_start and sentence.page_end <= c.page_end for c in holding), (
                section,
                sentence,
            )
            checked += 1
    assert checked > 100

    # Overlap: many chunks begin with the last sentence(s) of the one before them.
    overlapping = sum(b.section == a.section and b.text[:60] in a.text for a, b in itertools.pairwise(chunks))
    assert overlapping > len(chunks) // 4


def test_table_caption_stays_with_its_rows():
    chunks = chunk_paper(
        parse_pdf(corpus_pdf("1706.03762")).paragraphs,
        paper_id="1706.03762",
        title="Attention Is All You Need",
        short_name="Transformer",
        chunk_tokens=SETTINGS.chunk_tokens,
        overlap_tokens=SETTINGS.chunk_overlap_tokens,
    )
    # Table 2 is longer than one chunk after its caption: both windows of its rows start with the caption.
    table = [c for c in chunks if c.text.startswith("Table 2:")]
    assert len(table) == 2
    assert "ByteNet [18] 23.75" in table[0].text and "Transformer (big) 28.4 41.8" in table[1].text
    assert all(c.page_start == c.page_end == 8 for c in table)


def test_sentence_longer_than_a_chunk_is_cut_into_token_windows_in_order():
    rows = " ".join(f"model-{i} {i}.{i % 7} ±0.{i % 3} 1.{i}·10^{i % 5}" for i in range(300))
    paragraphs = [
        Paragraph(page=3, text="Results on the benchmark follow.", section="4 Results", section_kind="body"),
        Paragraph(page=3, text=rows, section="4 Results", section_kind="body"),
        Paragraph(page=4, text="We conclude here.", section="5 Conclusion", section_kind="body"),
    ]
    chunks = chunk_paper(paragraphs, paper_id="x", title="A Paper", chunk_tokens=128, overlap_tokens=20)
    lengths = count_tokens(load_tokenizer(PACKAGED_MODEL), [c.index_text for c in chunks], special=True)
    assert max(lengths) <= 128 and len(chunks) > 10
    table = [c for c in chunks if c.section == "4 Results" and "model-" in c.text]
    rebuilt = " ".join(c.text.removeprefix("Results on the benchmark follow. ") for c in table)
    assert rebuilt.split() == rows.split()  # every word once, in order, none split
    assert chunks[-1].section == "5 Conclusion" and chunks[-1].page_start == 4
