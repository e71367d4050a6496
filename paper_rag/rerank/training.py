"""Train the cross-encoder on the synthetic questions: hard negatives from the hybrid index, listwise loss.

Each training example is a question, its source chunk (the positive) and chunks hybrid retrieval ranks
high for it that are not on the source pages (hard negatives). The model scores all of them and the loss
is the cross-entropy of the positive among them (InfoNCE), which is what reranking needs: the right
passage above the near misses. A slice of the source chunks is held out; on its questions the manifest
records page hit@1 and MRR of the fusion order, the untrained base and the trained model.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paper_rag.rerank.model import MANIFEST, WEIGHTS, load_cross_encoder, reorder, rerank_text
from paper_rag.rerank.question_filter import ties_back
from paper_rag.schema import Chunk, SearchHit

DEV_SHARE = 0.1


@dataclass
class Example:
    question: str
    positive: str
    negatives: list[str]


@dataclass
class DevQuestion:
    row: dict
    candidates: list[SearchHit]


def source_chunk(row: dict, short_names: dict[str, str]) -> Chunk:
    return Chunk(
        paper_id=row["paper_id"],
        title=row["title"],
        short_name=short_names.get(row["paper_id"], ""),
        section=row["section"],
        section_kind="body",
        page_start=row["page_start"],
        page_end=row["page_end"],
        text=row["chunk_text"],
        ordinal=0,
    )


def is_dev(row: dict) -> bool:
    """Held out by source chunk, so no dev question shares a chunk with a training one."""
    return int(row["chunk_sha1"][:8], 16) % 1000 < DEV_SHARE * 1000


def build_examples(
    rows: Sequence[dict],
    search_many: Callable[[Sequence[str]], Iterable[Sequence[SearchHit]]],
    short_names: dict[str, str],
    *,
    negatives: int = 3,
    on_row: Callable[[], None] | None = None,
) -> tuple[list[Example], list[DevQuestion]]:
    """Training examples from the non-dev rows, and the dev rows with their fused candidates."""
    rng = random.Random(0)
    examples, dev = [], []
    train_rows: list[dict] = []
    for row, found in zip(rows, search_many([r["question"] for r in rows]), strict=True):
        hits = list(found)
        if on_row:
            on_row()
        if is_dev(row):
            dev.append(DevQuestion(row, hits))
            continue
        wrong = [h for h in hits if not ties_back(row, [h])]
        if len(wrong) < 2:
            continue
        # The hardest near miss, one from further down, and chunks of other papers. With hard negatives only,
        # the loss stayed at chance (ln 4) for 150 steps: the fresh head first needs the easy contrast.
        chosen = [rerank_text(wrong[0]), rerank_text(rng.choice(wrong[1:]))]
        positive = SearchHit(source_chunk(row, short_names), 0.0)
        examples.append(Example(row["question"], rerank_text(positive), chosen))
        train_rows.append(row)
    # Easy negatives: source chunks of questions about other papers.
    pool = [(e.positive, row["paper_id"]) for e, row in zip(examples, train_rows, strict=True)]
    for example, row in zip(examples, train_rows, strict=True):
        others = [text for text, paper in pool if paper != row["paper_id"]]
        missing = negatives - len(example.negatives)
        if others and missing > 0:
            example.negatives += rng.sample(others, min(missing, len(others)))
    width = min(len(e.negatives) for e in examples) if examples else 0
    for example in examples:  # one width per batch: as many negatives for every question
        del example.negatives[width:]
    return examples, dev


def page_rank(row: dict, ranked: Sequence[SearchHit]) -> int | None:
    for rank, hit in enumerate(ranked, start=1):
        if ties_back(row, [hit]):
            return rank
    return None


def dev_scores(dev: Sequence[DevQuestion], order: Callable[[DevQuestion], Sequence[SearchHit]]) -> dict[str, float]:
    ranks = [page_rank(d.row, order(d)) for d in dev]
    n = len(ranks) or 1
    return {
        "page_hit@1": round(sum(r == 1 for r in ranks) / n, 3),
        "page_hit@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 3),
        "mrr@10": round(sum(1 / r for r in ranks if r is not None and r <= 10) / n, 3),
        "questions": len(ranks),
    }


def rank_with(model: Any, dev_question: DevQuestion, top_n: int) -> list[SearchHit]:
    head = dev_question.candidates[:top_n]
    scores = model.predict([(dev_question.row["question"], rerank_text(h)) for h in head], show_progress_bar=False)
    return reorder(dev_question.candidates, [float(s) for s in scores])


def student(model: Any, layers: int) -> None:
    """Keep `layers` of the encoder's layers, evenly spaced (a shallower, faster student of the base)."""
    import torch

    encoder = model[0].auto_model.base_model.encoder
    total = len(encoder.layer)
    if layers >= total:
        return
    keep = [round(i * (total - 1) / max(layers - 1, 1)) for i in range(layers)] if layers > 1 else [0]
    keep = sorted(set(keep))
    encoder.layer = torch.nn.ModuleList([encoder.layer[i] for i in keep])
    model[0].auto_model.config.num_hidden_layers = len(keep)


@dataclass
class TrainConfig:
    layers: int = 3
    epochs: int = 1
    questions_per_step: int = 4
    # 5e-5 (the usual fine-tuning rate) left the loss at ln(4) after 378 steps: the fresh head on a bi-encoder
    # needs a higher rate; 3e-4 learned within a few dozen steps on a sample (bench/RESULTS.md).
    learning_rate: float = 2e-4
    warmup_share: float = 0.05
    max_length: int = 256
    bf16: bool = False
    seed: int = 0


def new_model(base_path: str, config: TrainConfig) -> Any:
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(base_path, num_labels=1, max_length=config.max_length, device="cpu", local_files_only=True)
    student(model, config.layers)
    return model


def fit(
    model: Any, examples: Sequence[Example], config: TrainConfig, *, on_step: Callable[[float], None] | None = None
) -> int:
    """Listwise training; returns the number of optimizer steps taken."""
    import torch

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    per_step = config.questions_per_step
    total_steps = config.epochs * ((len(examples) + per_step - 1) // per_step)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    warmup = max(1, int(total_steps * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
    )
    model.train()
    steps = 0
    for _ in range(config.epochs):
        order = list(examples)
        rng.shuffle(order)
        for start in range(0, len(order), per_step):
            batch = order[start : start + per_step]
            width = 1 + len(batch[0].negatives)
            pairs = [(e.question, text) for e in batch for text in [e.positive, *e.negatives]]
            features = model.preprocess(pairs)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                scores = model(features)["scores"].float().view(len(batch), width)
            loss = torch.nn.functional.cross_entropy(scores, torch.zeros(len(batch), dtype=torch.long))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            steps += 1
            if on_step:
                on_step(float(loss.detach()))
    model.eval()
    return steps


def data_sha256(rows: Sequence[dict]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def save_fp16(model: Any, out_dir: Path) -> str:
    """Save the model with float16 weights (half the size; loaded back as float32); returns their sha256."""
    from safetensors.torch import load_file, save_file

    from paper_rag.embedder import file_sha256

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    weights = out_dir / WEIGHTS
    tensors = {k: (v.half() if v.is_floating_point() else v) for k, v in load_file(str(weights)).items()}
    save_file(tensors, str(weights), metadata={"format": "pt"})
    return file_sha256(weights)


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def check_saved(out_dir: Path, max_length: int) -> Any:
    """Load what was written the way the service will, so a broken save fails here."""
    return load_cross_encoder(str(out_dir), max_length=max_length)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 1)
