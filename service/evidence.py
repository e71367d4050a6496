"""Evidence selection: from the ranked passages, the sentences that answer the question, grouped under their
passage number. The prompt carries these, not whole chunks: shorter (prompt length is most of the first-token
time on a CPU) and less for a small model to be distracted by."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from paper_rag.schema import SearchHit
from paper_rag.terms import TermStats, content_terms
from paper_rag.text import split_sentences

# A sentence that opens like this leans on the one before it ("This", "However", ...): keep both.
_LEANS_BACK = re.compile(
    r"^(this|these|that|those|it|its|they|their|such|thus|hence|however|therefore|here|in contrast|instead|"
    r"moreover|furthermore|also|as a result|as shown|similarly|finally|then)\b",
    re.I,
)
_TABLE_ROW = re.compile(r"(?:\d[\d.,%]*\s+){3,}")


@dataclass(frozen=True)
class EvidencePassage:
    """One passage's selected sentences (in reading order), numbered as the prompt and citations number it."""

    n: int
    hit: SearchHit
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def passage_units(text: str) -> list[str]:
    """Sentences of a passage; a table row (a run of numbers) stays one unit, never split inside."""
    units: list[str] = []
    for line in text.split("\n"):
        if _TABLE_ROW.search(line):
            units.append(line.strip())
        else:
            units.extend(split_sentences(line))
    return [u for u in units if u]


def lexical_overlap(question_terms: Sequence[str], text: str, stats: TermStats) -> float:
    """IDF-weighted share of the question's terms that the text contains."""
    wanted = set(question_terms)
    if not wanted:
        return 0.0
    present = wanted & set(content_terms(text))
    return sum(stats.idf(t) for t in present) / sum(stats.idf(t) for t in wanted)


class EvidenceSelector:
    """Scores every sentence of the candidate passages against the question (IDF-weighted term overlap and
    embedding similarity), keeps the best within a word budget, and the sentence before any kept sentence
    that cannot be read alone."""

    def __init__(
        self,
        *,
        embed: Callable[[Sequence[str]], np.ndarray],
        stats: Callable[[], TermStats],
        word_budget: int,
        max_sentences_per_passage: int,
        dense_weight: float,
        rank_prior: float,
    ) -> None:
        self._embed = embed
        self._stats = stats
        self.word_budget = word_budget
        self.per_passage = max_sentences_per_passage
        self.dense_weight = dense_weight
        self.rank_prior = rank_prior

    def select(self, question: str, passages: Sequence[SearchHit]) -> list[EvidencePassage]:
        units = [passage_units(hit.chunk.text) for hit in passages]
        flat = [(p, i, sentence) for p, sentences in enumerate(units) for i, sentence in enumerate(sentences)]
        if not flat:
            return []
        lexical, dense = self.similarities(question, [sentence for _, _, sentence in flat])
        scores = (1 - self.dense_weight) * lexical + self.dense_weight * dense
        # A passage ranked higher by retrieval is more likely the right one.
        prior = np.array([self.rank_prior / (1 + p) for p, _, _ in flat])
        order = np.argsort(-(scores + prior))
        chosen: dict[int, set[int]] = {}
        words = 0
        for position in order:
            p, i, sentence = flat[position]
            picked = chosen.setdefault(p, set())
            if len(picked) >= self.per_passage or i in picked:
                continue
            wanted = {i}
            if i > 0 and (_LEANS_BACK.match(sentence) or len(sentence.split()) < 8):
                wanted.add(i - 1)
            cost = sum(len(units[p][j].split()) for j in wanted - picked)
            if words and words + cost > self.word_budget:
                continue
            picked |= wanted
            words += cost
            if words >= self.word_budget:
                break
        selected = [(p, sorted(picked)) for p, picked in sorted(chosen.items()) if picked]
        return [
            EvidencePassage(n, passages[p], tuple(units[p][i] for i in indices))
            for n, (p, indices) in enumerate(selected, start=1)
        ]

    def similarities(self, question: str, sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per sentence: IDF-weighted share of the question's terms it holds, and its cosine to the question."""
        stats = self._stats()
        terms = content_terms(question)
        lexical = np.array([lexical_overlap(terms, s, stats) for s in sentences])
        if self.dense_weight <= 0:
            return lexical, np.zeros(len(sentences))
        vectors = self._embed([question, *sentences])
        return lexical, vectors[1:] @ vectors[0]
