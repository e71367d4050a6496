"""Scores for one question: retrieval against gold pages, and answer checks against the golden item."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from paper_rag.text import normalize_for_match

Ranked = Sequence[dict[str, Any]]  # search results as JSON: paper_id, page_start, page_end, text


def _is_gold_page(result: dict[str, Any], gold: Sequence[dict[str, Any]]) -> bool:
    return any(
        result["paper_id"] == g["paper_id"] and result["page_start"] <= g["page"] <= result["page_end"] for g in gold
    )


def _is_gold_paper(result: dict[str, Any], gold: Sequence[dict[str, Any]]) -> bool:
    return any(result["paper_id"] == g["paper_id"] for g in gold)


def retrieval_scores(results: Ranked, gold: Sequence[dict[str, Any]]) -> dict[str, float]:
    """hit@1/5/10 by paper and by page, MRR@10 and nDCG@10 (binary relevance: the result covers a gold page)."""
    relevant = [_is_gold_page(r, gold) for r in results[:10]]
    # For nDCG a gold page counts once: later chunks from an already-found page add no gain.
    found: set[tuple[str, int]] = set()
    gains = []
    for result in results[:10]:
        new = {(g["paper_id"], g["page"]) for g in gold if _is_gold_page(result, [g])} - found
        gains.append(bool(new))
        found |= new
    scores = {}
    for k in (1, 5, 10):
        scores[f"paper_hit@{k}"] = float(any(_is_gold_paper(r, gold) for r in results[:k]))
        scores[f"page_hit@{k}"] = float(any(relevant[:k]))
    first = next((i for i, hit in enumerate(relevant) if hit), None)
    scores["mrr@10"] = 0.0 if first is None else 1.0 / (first + 1)
    dcg = sum(1.0 / math.log2(i + 2) for i, gain in enumerate(gains) if gain)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len({(g["paper_id"], g["page"]) for g in gold}), 10)))
    scores["ndcg@10"] = dcg / ideal if ideal else 0.0
    return scores


# Citation markers: [1], [2][3], [1, 2], [1-3].
_CITATION = re.compile(r"\[\d+(?:\s*[,;\u2013-]\s*\d+)*\]")
# A trailing list of sources: a line "References", "**Sources:**", "References: [1] ..." and all after it.
_REFERENCES = re.compile(r"^[#*\s]*(?:references|sources)\b[*\s]*(?::|$)", re.IGNORECASE | re.MULTILINE)
_UNIT = r"(?:[kmgt]?b|[km]|%)(?![a-z])"  # after lowercasing: GB, MB, TB, KB, B, M, K, %
_NUMBER_START = r"(?<!\d)(?<!\d[.,])"
# A number ends where no digit, decimal part or letter follows; a unit may follow ("16" matches "16GB", not "16x").
_NUMBER_END = rf"(?![.,]\d)(?=$|[^a-z0-9]|{_UNIT})"


def _match_text(text: str) -> str:
    """Lowercased, whitespace-normalised text with "48 GB" written "48gb"."""
    return re.sub(rf"(\d) (?={_UNIT})", r"\1", normalize_for_match(text))


def answer_body(answer: str) -> str:
    """The answer without citation markers and without a trailing references/sources list, ready for matching."""
    return _match_text(_CITATION.sub("", _REFERENCES.split(answer, maxsplit=1)[0]))


def contains(body: str, term: str) -> bool:
    """`term` in an `answer_body`: words as substrings, numbers as whole numbers ("8" is not in "28.4" or "2017")."""
    term = _match_text(term)
    if not re.search(r"\d", term):
        return term in body
    start = _NUMBER_START if term[0].isdigit() else ""
    end = _NUMBER_END if term[-1].isdigit() else ""
    return re.search(start + re.escape(term) + end, body) is not None


def answer_scores(item: dict[str, Any], answer: dict[str, Any]) -> dict[str, float | None]:
    """must_contain accuracy, citation validity and precision, abstention outcome. None = not applicable."""
    unanswerable = item["kind"] == "unanswerable"
    abstained = bool(answer["abstained"])
    body = answer_body(answer["answer"])
    must = item.get("must_contain") or []
    scores: dict[str, float | None] = {
        "must_contain": None if unanswerable else float(all(contains(body, m) for m in must)),
        "abstained": float(abstained),
        "correct_abstention": float(abstained) if unanswerable else None,
        "false_abstention": None if unanswerable else float(abstained),
    }
    citations = answer.get("citations") or []
    invalid = sum(1 for f in answer.get("flags", []) if f["type"] == "invalid_citation")
    scores["citation_validity"] = (len(citations) / (len(citations) + invalid)) if citations or invalid else None
    if unanswerable or not citations:
        scores["citation_precision"] = None
    else:
        # A citation is precise when its passage holds a gold evidence quote (or sits on a gold page).
        passages = {p["n"]: p for p in answer.get("passages", [])}
        evidence = [normalize_for_match(g["evidence"]) for g in item["gold"]]
        precise = 0
        for citation in citations:
            passage = passages.get(citation["n"], {})
            holds = any(e in normalize_for_match(passage.get("text", "")) for e in evidence)
            precise += holds or _is_gold_page(passage, item["gold"]) if passage else 0
        scores["citation_precision"] = precise / len(citations)
    return scores


def mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    return sum(present) / len(present) if present else None
