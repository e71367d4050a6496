"""Parsing real arXiv PDFs: sentences come back whole, on the right page, under the right section."""

from __future__ import annotations

from collections import Counter

import pymupdf
import pytest

from ingest.chunker import chunk_paper
from ingest.pdf_text import PdfError, _join_hyphenated, parse_pdf
from paper_rag.text import fix_ligatures, normalize_for_match
from tests.conftest import corpus_pdf

# (paper, page, a heading the section path must contain, a sentence from that page). Six of the ten papers
# are set in two columns (BERT, RoBERTa, Megatron-LM, Longformer, RLAIF, KTO).
SAMPLES = [
    (
        "1810.04805",
        3,
        "3 BERT",
        "Each downstream task has separate fine-tuned models, even though they are "
        "initialized with the same pre-trained parameters.",
    ),
    (
        "1907.11692",
        2,
        "2 Background",
        "M and N are constrained such that M + N < T, where T is a parameter that "
        "controls the maximum sequence length during training.",
    ),
    ("1907.11692", 7, "5 RoBERTa", "We consider a limited hyperparameter sweep for each task, with batch sizes"),
    (
        "1909.08053",
        8,
        "5.3 Bi-directional Transformer Results Using BERT",
        "Using the architecture change in Figure 7(b), we consider three different cases as detailed in Table 4.",
    ),
    (
        "2004.05150",
        3,
        "2 Related Work",
        "All of these approaches suffer from information loss due to truncation "
        "or cascading errors from the two stage approach.",
    ),
    (
        "2004.05150",
        6,
        "5 Pretraining and Finetuning",
        "Note that our attention pattern can be plugged into any "
        "pretrained transformer model without the need to change the model architecture.",
    ),
    (
        "2309.00267",
        2,
        "1 Introduction",
        "Finally, we conduct scaling experiments to quantify the trade-offs "
        "between the size of the LLM labeler and the number of preference examples used in training",
    ),
    (
        "2309.00267",
        9,
        "8 Conclusion",
        "While this work highlights the potential of RLAIF, we note some limitations of these findings.",
    ),
    (
        "2402.01306",
        1,
        "1 Introduction",
        "it significantly lags behind DPO at the 30B model scale and suffers from "
        "hyperparameter sensitivity, making it difficult to use.",
    ),
    (
        "1706.03762",
        6,
        "3.5 Positional Encoding",
        "We chose the sinusoidal version because it may allow the model "
        "to extrapolate to sequence lengths longer than the ones encountered during training.",
    ),
    ("1706.03762", 8, "6.1 Machine Translation", "establishing a new state-of-the-art BLEU score of 28.4."),
    (
        "2106.09685",
        8,
        "5 EMPIRICAL EXPERIMENTS",
        "Separately, we investigate the performance of different "
        "adaptation approaches in the low-data regime in Section F.3.",
    ),
    (
        "2305.14314",
        3,
        "2 Background",
        "It often means taking a data type with more bits and converting it to "
        "fewer bits, for example from 32-bit floats to 8-bit Integers.",
    ),
    (
        "2205.14135",
        10,
        "5 Limitations and Future Directions",
        "Using multiple GPUs adds an additional layer to IO analysis—accounting for data transfer between GPUs.",
    ),
]


@pytest.mark.parametrize(("paper_id", "page", "section", "sentence"), SAMPLES)
def test_sentence_is_recovered_whole_with_page_and_section(paper_id, page, section, sentence):
    path = corpus_pdf(paper_id)
    with pymupdf.open(path) as doc:  # the sentence really is on that page of the PDF
        assert normalize_for_match(sentence) in normalize_for_match(doc[page - 1].get_text())
    chunks = chunk_paper(parse_pdf(path).paragraphs, paper_id=paper_id, title="t", chunk_tokens=256, overlap_tokens=40)
    holding = [c for c in chunks if normalize_for_match(sentence) in normalize_for_match(c.text)]
    assert holding, f"no chunk holds the sentence intact: {sentence!r}"
    assert any(c.page_start <= page <= c.page_end and section in c.section for c in holding), [
        (c.page_start, c.page_end, c.section) for c in holding
    ]


def test_references_and_appendix_are_tagged():
    chunks = chunk_paper(
        parse_pdf(corpus_pdf("1810.04805")).paragraphs, paper_id="b", title="t", chunk_tokens=256, overlap_tokens=40
    )
    kinds = {c.section_kind for c in chunks}
    assert {"front", "body", "references", "appendix"} <= kinds
    references = [c for c in chunks if c.section_kind == "references"]
    assert all(c.page_start >= 10 for c in references)
    assert any("Devlin" in c.text or "Peters" in c.text for c in references)


def test_running_headers_and_page_numbers_are_dropped():
    parsed = parse_pdf(corpus_pdf("2106.09685"))  # LoRA: "Published as a conference paper at ICLR 2022"
    assert not any(p.text.strip() == str(p.page) for p in parsed.paragraphs)
    headers = [p for p in parsed.paragraphs if "Published as a conference paper" in p.text]
    assert len(headers) <= 1


def test_table_rows_are_kept_after_their_caption():
    chunks = chunk_paper(
        parse_pdf(corpus_pdf("1706.03762")).paragraphs, paper_id="t", title="t", chunk_tokens=256, overlap_tokens=40
    )
    table = [c for c in chunks if "Table 2:" in c.text and "Transformer (big)" in c.text]
    assert table and table[0].page_start <= 8 <= table[0].page_end
    assert "28.4 41.8" in table[0].text


def test_words_set_with_a_larger_first_letter_stay_whole():
    """RoBERTa spells out its name with enlarged initials; extracting image blocks too made PyMuPDF split them
    ("R obustly o ptimized"), which BM25 and the embedder then read as other words."""
    page_six = " ".join(p.text for p in parse_pdf(corpus_pdf("1907.11692")).paragraphs if p.page == 6)
    assert "RoBERTa for Robustly optimized BERT approach" in page_six


def test_ligature_control_codes_are_mapped():
    assert fix_ligatures("e\x1ecient e\x1bort \ufb01ne-tuning \x1cnal") == "efficient effort fine-tuning final"


def test_join_of_line_end_hyphens_keeps_real_compounds():
    vocabulary = Counter({"multi-head": 3, "computation": 2})
    assert _join_hyphenated("a multi-", "head attention", vocabulary) == "a multi-head attention"
    assert _join_hyphenated("the compu-", "tation is", vocabulary) == "the computation is"
    assert _join_hyphenated("the pre-", "training", Counter()) == "the pretraining"
    assert _join_hyphenated("see Section", "Two", vocabulary) == "see Section Two"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty file"), (b"hello, I am a text file\n", "not a PDF"), (b"%PDF-1.7\n1 0 obj <<", "corrupt")],
)
def test_bad_files_raise_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(PdfError, match=reason):
        parse_pdf(path)
