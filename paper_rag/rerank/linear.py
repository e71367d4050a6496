"""The feature reranker: a linear score over candidate features (paper_rag/rerank/features.py), trained
listwise on the synthetic questions. It reads question and passage together only through those features, but
it trains in seconds on a CPU, where a cross-encoder needs hours (bench/RESULTS.md, "Reranker")."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paper_rag.rerank.features import FEATURES, candidate_features
from paper_rag.rerank.question_filter import ties_back
from paper_rag.schema import SearchHit
from paper_rag.terms import TermStats

if TYPE_CHECKING:
    from paper_rag.retrieval import Retriever

RANKER_FILE = "ranker.json"

# One question's candidates: a FEATURES row each, and whether each is on the question's source page.
Labelled = tuple[list[list[float]], list[int]]


@dataclass(frozen=True)
class LinearRanker:
    features: tuple[str, ...]
    mean: list[float]
    std: list[float]
    weights: list[float]
    bias: float

    def raw(self, rows: Sequence[Sequence[float]]) -> list[float]:
        return [
            self.bias + sum(w * (x - m) / s for w, x, m, s in zip(self.weights, row, self.mean, self.std, strict=True))
            for row in rows
        ]

    def scores(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """Each candidate's share of the softmax over the candidates: the ranker's probability that it is the
        one on the question's page (what the listwise loss trained)."""
        raw = self.raw(rows)
        top = max(raw, default=0.0)
        exp = [math.exp(r - top) for r in raw]
        total = sum(exp) or 1.0
        return [e / total for e in exp]

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / RANKER_FILE
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, folder: Path) -> LinearRanker:
        data = json.loads((folder / RANKER_FILE).read_text())
        ranker = cls(**{**data, "features": tuple(data["features"])})
        if ranker.features != FEATURES:
            raise ValueError(
                f"{folder / RANKER_FILE} was trained on features {list(ranker.features)}, this code computes "
                f"{list(FEATURES)}: retrain with `paper-rag reranker train`."
            )
        return ranker


def fit(lists: Sequence[Labelled], *, l2: float = 1e-3, epochs: int = 300, seed: int = 0) -> LinearRanker:
    """Listwise softmax loss (the candidates on the source page against the rest), full batch, Adam."""
    import torch

    torch.manual_seed(seed)
    usable = [(rows, labels) for rows, labels in lists if rows and any(labels)]
    if not usable:
        raise ValueError("no question has its source page among its candidates: nothing to learn from")
    width = max(len(rows) for rows, _ in usable)
    x = torch.zeros(len(usable), width, len(FEATURES))
    positive = torch.zeros(len(usable), width, dtype=torch.bool)
    present = torch.zeros(len(usable), width, dtype=torch.bool)
    for i, (rows, labels) in enumerate(usable):
        x[i, : len(rows)] = torch.tensor(rows)
        positive[i, : len(rows)] = torch.tensor(labels, dtype=torch.bool)
        present[i, : len(rows)] = True
    mean, std = x[present].mean(0), x[present].std(0) + 1e-6
    layer = torch.nn.Linear(len(FEATURES), 1)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.01, weight_decay=l2)
    z = (x - mean) / std
    for _ in range(epochs):
        scores = layer(z).squeeze(-1).masked_fill(~present, -1e9)
        loss = (torch.logsumexp(scores, 1) - torch.logsumexp(scores.masked_fill(~positive, -1e9), 1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return LinearRanker(
        features=FEATURES,
        mean=[round(v, 6) for v in mean.tolist()],
        std=[round(v, 6) for v in std.tolist()],
        weights=[round(v, 6) for v in layer.weight.detach().squeeze(0).tolist()],
        bias=round(float(layer.bias.detach()), 6),
    )


@dataclass
class Question:
    """A synthetic question with its fused candidates and their features, for training and held-out scores."""

    row: dict
    candidates: list[SearchHit]
    rows: list[list[float]]

    def labelled(self) -> Labelled:
        return self.rows, [int(ties_back(self.row, [hit])) for hit in self.candidates]


def featurize(
    rows: Sequence[dict],
    retriever: Retriever,
    stats: TermStats,
    *,
    top_n: int,
    candidates: int,
    on_row: Callable[[], None] | None = None,
) -> list[Question]:
    """Each question's fused candidates (the first `top_n` of `candidates`, as the answer path reranks them)."""
    questions = []
    for row, found in zip(rows, retriever.search_many([r["question"] for r in rows], k=candidates), strict=True):
        head = found[:top_n]
        legs = retriever.legs(row["question"])
        questions.append(Question(row, head, candidate_features(row["question"], head, legs, stats)))
        if on_row:
            on_row()
    return questions
