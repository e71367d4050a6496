"""Which synthetic questions are fit to train on; each gets a status: `kept`, or the reason it was dropped.

- `vague`: it points at "the passage" / "this paper" instead of naming what it asks about;
- `generic`: beyond the paper's own name it holds fewer than two specific terms ("What method does X use?");
- `copies_chunk`: it repeats a run of its chunk's words (a copied sentence teaches string matching);
- `duplicate`: the same question (after normalising) was already kept;
- `golden_overlap`: its terms overlap a golden-set question's (the evaluation must stay unseen);
- `golden_evidence`: its source chunk holds a golden question's evidence quote (training on the very passages
  the evaluation scores would measure memory, not ranking);
- `not_retrievable`: hybrid retrieval does not bring back its chunk's paper and page in the top k
  (consistency filtering, as in Promptagator: a question retrieval cannot tie to its source is noise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from paper_rag.schema import SearchHit
from paper_rag.terms import content_terms, tokens

_VAGUE = re.compile(
    r"\b(passage|excerpt|the text|this text|this paper|the paper|this study|the study|the article|this section|"
    r"the section|the authors?)\b",
    re.IGNORECASE,
)
# Words that say nothing about which passage answers a question.
_GENERIC_TERMS = frozenset(
    "method methods model models use used using approach approaches specific work works technique techniques "
    "propose proposed describe described paper purpose significance role main key result results way ways "
    "differ difference compare compared comparison perform performance new different".split()
)
MIN_SPECIFIC_TERMS = 2
COPY_RUN_WORDS = 8  # a run this long shared with the chunk is a copied sentence, not a question
GOLDEN_JACCARD = 0.5
RETRIEVAL_K = 10


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def save_rows(path: Path, rows: Iterable[dict]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    temporary.replace(path)


def copies_chunk(question: str, chunk_text: str, run: int = COPY_RUN_WORDS) -> bool:
    words = tokens(question)
    source = " " + " ".join(tokens(chunk_text)) + " "
    return any(" " + " ".join(words[i : i + run]) + " " in source for i in range(max(0, len(words) - run + 1)))


def is_generic(question: str, title: str) -> bool:
    own_name = set(content_terms(title))
    specific = {t for t in content_terms(question) if t not in own_name and t not in _GENERIC_TERMS}
    return len(specific) < MIN_SPECIFIC_TERMS


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def overlaps_golden(question: str, golden_terms: Sequence[set[str]]) -> bool:
    terms = set(content_terms(question))
    return any(jaccard(terms, g) >= GOLDEN_JACCARD for g in golden_terms)


def ties_back(row: dict, hits: Sequence[SearchHit]) -> bool:
    """The source paper and a page of the source chunk are among the retrieved hits."""
    return any(
        h.chunk.paper_id == row["paper_id"]
        and h.chunk.page_start <= row["page_end"]
        and h.chunk.page_end >= row["page_start"]
        for h in hits
    )


def golden_question_terms(golden_path: Path) -> list[set[str]]:
    return [set(content_terms(json.loads(line)["question"])) for line in golden_path.read_text().splitlines() if line]


def _words(text: str) -> str:
    """Lower-cased words between spaces, so a quote matches across line breaks, case and punctuation."""
    return " " + " ".join(tokens(text.lower())) + " "


def golden_evidence(golden_path: Path) -> dict[str, list[str]]:
    """Each paper's golden evidence quotes, as normalised word sequences."""
    quotes: dict[str, list[str]] = {}
    for line in golden_path.read_text().splitlines():
        for gold in json.loads(line).get("gold", []) if line else []:
            if gold.get("evidence"):
                quotes.setdefault(gold["paper_id"], []).append(_words(gold["evidence"]))
    return quotes


def holds_golden_evidence(row: dict, evidence: dict[str, list[str]]) -> bool:
    source = _words(row["chunk_text"])
    return any(quote in source for quote in evidence.get(row["paper_id"], []))


def assign_status(
    rows: list[dict],
    *,
    golden_terms: Sequence[set[str]],
    evidence: dict[str, list[str]] | None = None,
    search_many: Callable[[Sequence[str]], Iterable[Sequence[SearchHit]]],
    on_row: Callable[[], None] | None = None,
) -> list[dict]:
    """Sets `status` on every row (in place) and returns the rows."""
    seen: set[str] = set()
    for row, hits in zip(rows, search_many([r["question"] for r in rows]), strict=True):
        question = row["question"]
        normalised = " ".join(tokens(question))
        if _VAGUE.search(question):
            row["status"] = "vague"
        elif is_generic(question, row.get("title", "")):
            row["status"] = "generic"
        elif copies_chunk(question, row["chunk_text"]):
            row["status"] = "copies_chunk"
        elif normalised in seen:
            row["status"] = "duplicate"
        elif overlaps_golden(question, golden_terms):
            row["status"] = "golden_overlap"
        elif evidence and holds_golden_evidence(row, evidence):
            row["status"] = "golden_evidence"
        elif not ties_back(row, hits[:RETRIEVAL_K]):
            row["status"] = "not_retrievable"
        else:
            row["status"] = "kept"
            seen.add(normalised)
        if on_row:
            on_row()
    return rows
