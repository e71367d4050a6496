"""After generation: citations [n] mapped to passages, and the checks a reader needs to trust the answer.

- a citation to a passage that does not exist is removed from the answer and reported;
- an answer sentence with no citation is flagged;
- a number in the answer that appears in none of the passages it cites is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from paper_rag.schema import SearchHit
from paper_rag.text import split_sentences
from service.prompting import NOT_IN_CORPUS

_CITATION = re.compile(r"\[(\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\]")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\.\d+)?%?")
_ABSTAIN = re.compile(r"corpus does not say|not (?:in|contained in) the (?:corpus|passages)|passages do not", re.I)


@dataclass
class GroundedAnswer:
    answer: str
    abstained: bool
    citations: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)


def _numbers(text: str) -> set[str]:
    return {n.rstrip("%").replace(",", "") for n in _NUMBER.findall(text)}


def best_quote(passage_text: str, sentence: str) -> str:
    """The passage sentence sharing the most words with the answer sentence: what the citation chip shows."""
    words = set(re.findall(r"\w+", sentence.lower()))
    candidates = split_sentences(passage_text) or [passage_text]
    return max(candidates, key=lambda s: len(words & set(re.findall(r"\w+", s.lower()))))[:400]


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def infer_citation(claim: str, passages: Sequence[SearchHit]) -> int | None:
    """The passage holding most of an uncited sentence's content words, if it holds at least 60% of them."""
    words = _content_words(claim)
    if len(words) < 3:
        return None
    overlaps = [len(words & _content_words(hit.chunk.text)) / len(words) for hit in passages]
    best = max(range(len(passages)), key=overlaps.__getitem__)
    return best + 1 if overlaps[best] >= 0.6 else None


def ground(answer: str, passages: Sequence[SearchHit], question: str = "") -> GroundedAnswer:
    answer = answer.strip()
    if not answer or _ABSTAIN.search(answer):
        return GroundedAnswer(answer=NOT_IN_CORPUS, abstained=True)
    flags: list[dict[str, Any]] = []

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= len(passages)]
        for n in numbers:
            if n not in valid:
                flags.append(
                    {
                        "type": "invalid_citation",
                        "citation": n,
                        "message": f"cited passage [{n}] does not exist; citation removed",
                    }
                )
        return "".join(f"[{n}]" for n in valid)

    answer = _CITATION.sub(keep_valid, answer)
    citations: dict[int, dict[str, Any]] = {}
    for sentence in split_sentences(answer):
        cited = [int(n) for group in _CITATION.findall(sentence) for n in re.split(r"\s*[,;]\s*", group)]
        claim = _CITATION.sub("", sentence).strip()
        if not cited and re.search(r"\w", claim):
            inferred = infer_citation(claim, passages)
            if inferred is None:
                flags.append({"type": "uncited_sentence", "sentence": claim})
                continue
            cited = [inferred]
            flags.append(
                {
                    "type": "citation_inferred",
                    "citation": inferred,
                    "sentence": claim,
                    "message": f"the model gave no citation; passage [{inferred}] holds most of its words",
                }
            )
        if not cited:
            continue
        for n in cited:
            if n not in citations:
                chunk = passages[n - 1].chunk
                citations[n] = {
                    "n": n,
                    "paper_id": chunk.paper_id,
                    "title": chunk.title,
                    "section": chunk.section,
                    "page": chunk.page_start,
                    "page_end": chunk.page_end,
                    "quote": best_quote(chunk.text, claim),
                }
        supported = _numbers(question).union(*(_numbers(passages[n - 1].chunk.text) for n in cited))
        for number in sorted(_numbers(claim) - supported):
            flags.append(
                {
                    "type": "unsupported_number",
                    "number": number,
                    "sentence": claim,
                    "message": f"{number} appears in none of the cited passages {cited}",
                }
            )
    return GroundedAnswer(
        answer=answer, abstained=False, citations=[citations[n] for n in sorted(citations)], flags=flags
    )
