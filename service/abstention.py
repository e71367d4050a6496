"""The gates before the model: decline, with a reason, a question the corpus cannot answer.

1. off_topic: no chunk is about the question at all (best dense cosine below a threshold);
2. not_ingested: the question names a paper of the manifest that is not indexed, and no retrieved passage
   mentions it: say which paper would answer and how to add it;
3. low_coverage: the retrieved passages do not contain the question's key terms (IDF-weighted), or miss a
   name the question cannot be answered without (a model, dataset or method: "Mixtral", "H800").
Each gate's score goes into the answer (`scores`) so an evaluation run can recalibrate the thresholds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from paper_rag.manifest import ManifestPaper, alias_pattern, fold, papers_named
from paper_rag.schema import SearchHit
from paper_rag.terms import TermStats, content_terms, named_terms
from service.answer_models import Abstention
from service.evidence import lexical_overlap


@dataclass(frozen=True)
class GateThresholds:
    min_dense: float
    min_coverage: float
    min_named_coverage: float


def mentions(text: str, term: str) -> bool:
    """The term as a whole word, case-insensitively; a plural 's' is ignored, and so is a suffix after a hyphen
    ("Megatron" is in "Megatron-LM"). A hyphenated name is there when its parts are ("BERT-Base" in
    "BERT Base"), unless a part is a bare number: "GPT-4" is not "GPT" and "4"."""
    stem = term[:-1] if len(term) > 3 and term.endswith("s") else term
    if re.search(rf"(?<![\w-]){re.escape(stem)}s?(?!\w)", text, re.I):
        return True
    parts = [part for part in term.split("-") if part]
    return len(parts) > 1 and not any(p.isdigit() for p in parts) and all(mentions(text, p) for p in parts)


class AbstentionGate:
    def __init__(
        self,
        *,
        thresholds: GateThresholds,
        manifest: Sequence[ManifestPaper],
        ingested: Callable[[], Collection[str]],
        stats: Callable[[], TermStats],
    ) -> None:
        self._thresholds = thresholds
        self._manifest = list(manifest)
        self._ingested = ingested
        self._stats = stats

    def check(
        self, question: str, candidates: Sequence[SearchHit], best_dense: float
    ) -> tuple[Abstention | None, dict[str, float]]:
        """The abstention (or None) and the scores it was decided on."""
        texts = fold(" ".join(hit.chunk.index_text for hit in candidates))
        named = papers_named(question, self._manifest)
        ingested = set(self._ingested())
        covered_names = {
            word.lower() for match in named if match.paper.arxiv_id in ingested for word in match.alias.split()
        }
        terms = [t for t in content_terms(question) if t not in covered_names]
        names = [n for n in named_terms(fold(question)) if n.lower() not in covered_names]
        scores = {
            "best_dense": round(best_dense, 4),
            "coverage": round(lexical_overlap(terms, texts, self._stats()), 4),
            "named_coverage": round(sum(mentions(texts, n) for n in names) / len(names), 4) if names else 1.0,
        }
        t = self._thresholds
        if best_dense < t.min_dense:
            return Abstention(code="off_topic", reason="Nothing in the corpus is about this question."), scores
        missing = [
            m.paper
            for m in named
            if m.paper.arxiv_id not in ingested
            and not any(alias_pattern(alias).search(texts) for alias in m.paper.aliases)
        ]
        if missing:
            return Abstention(code="not_ingested", reason=not_ingested_reason(missing)), scores
        if scores["named_coverage"] < t.min_named_coverage or scores["coverage"] < t.min_coverage:
            absent = [n for n in names if not mentions(texts, n)]
            detail = f" ({', '.join(absent)} not found)" if absent else ""
            reason = f"The passages found do not cover what the question asks about{detail}."
            return Abstention(code="low_coverage", reason=reason), scores
        return None, scores


def not_ingested_reason(papers: Sequence[ManifestPaper]) -> str:
    names = " or ".join(p.describe() for p in papers)
    how = (
        "`paper-rag corpus fetch` then `paper-rag ingest` can add it"
        if all(p.on_arxiv for p in papers)
        else "add its PDF to the PDF folder and run `paper-rag ingest`"
    )
    return f"The corpus does not include {names}, which would answer this; {how}."
