"""`paper-rag eval`: golden set → retrieval ablation + answers + ragas → eval/reports/<run>/."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.golden_check import load_golden
from eval.judge import RagasJudge
from eval.metrics import answer_scores, retrieval_scores
from eval.report import summarize, write_reports
from eval.runner import (
    PIPELINE,
    RETRIEVAL_CONFIGS,
    ResultCache,
    cache_name,
    retrieval_searchers,
    run_answers_sync,
    run_retrieval,
)
from paper_rag.settings import PROJECT_ROOT, Settings
from service.pipeline import build_pipeline

DEFAULT_GOLDEN = PROJECT_ROOT / "eval" / "golden.jsonl"


def select_questions(
    items: Sequence[dict[str, Any]], *, limit: int | None = None, per_kind: int | None = None
) -> list[dict[str, Any]]:
    """The first `per_kind` questions of each kind (golden-set order kept), then the first `limit` of those."""
    chosen = list(items)
    if per_kind:
        seen: Counter[str] = Counter()
        chosen = []
        for item in items:
            seen[item["kind"]] += 1
            if seen[item["kind"]] <= per_kind:
                chosen.append(item)
    return chosen[:limit] if limit else chosen


def evaluate(
    settings: Settings,
    *,
    golden: Path = DEFAULT_GOLDEN,
    configs: Sequence[str] = RETRIEVAL_CONFIGS,
    judge_url: str | None = None,
    judge_model: str | None = None,
    use_ragas: bool = True,
    answers_too: bool = True,
    limit: int | None = None,
    per_kind: int | None = None,
    out: Path | None = None,
) -> Path:
    items = select_questions(load_golden(golden), limit=limit, per_kind=per_kind)
    state = build_pipeline(settings)
    if state.answers is None or state.index is None:
        raise RuntimeError(f"index unavailable: {state.index_error}")
    answers = state.answers
    # Cached results are reused only for the same index and golden set.
    fingerprint = hashlib.sha1(f"{golden.read_bytes()!r}{settings.ingest_state_path.read_bytes()!r}".encode())
    cache_dir = settings.data_dir / "eval-cache" / fingerprint.hexdigest()[:12]
    try:
        answers.warm_up()
        searchers = retrieval_searchers(settings, state.index, answers.retriever, answers.reranker)
        retrieval: dict[str, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        for name in configs:
            search = searchers[name]
            if isinstance(search, str):
                skipped[name] = search
                continue
            rows = run_retrieval(
                items, name, search, ResultCache(cache_dir, cache_name(name, answers.reranker, settings))
            )
            retrieval[name] = {
                item["id"]: {"ms": row["ms"], "scores": retrieval_scores(row["results"], item["gold"])}
                for item, row in zip(items, rows, strict=True)
            }
        judge = RagasJudge(settings=settings, base_url=judge_url, model=judge_model) if use_ragas else None
        # Answers depend on every setting (model, thresholds, budgets): a changed setting starts a new cache.
        answer_key = settings.model_dump_json() + json.dumps(answers.reranker_info, sort_keys=True)
        answer_cache = f"{PIPELINE}-{hashlib.sha1(answer_key.encode()).hexdigest()[:8]}"
        answer_rows = (
            run_answers_sync(items, answers, ResultCache(cache_dir, answer_cache), judge)
            if answers_too
            else [{"answer": None, "error": None} for _ in items]
        )
    finally:
        state.index.close()
    questions = []
    for item, row in zip(items, answer_rows, strict=True):
        answer = row["answer"]
        questions.append(
            {
                **item,
                "retrieval": {name: per[item["id"]]["scores"] for name, per in retrieval.items()},
                "answer": answer,
                "error": row["error"],
                "answer_scores": answer_scores(item, answer) if answer else None,
                "ragas": (row.get("ragas") or {}).get(judge.name) if judge else None,
            }
        )
    summary = summarize(questions, retrieval, skipped, judge.name if judge else None)
    summary["run"] = {
        "questions": len(items),
        "limit": limit,
        "per_kind": per_kind,
        "golden": golden.name,
        "model": settings.llm_model,
        "reranker": answers.reranker_info,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = out or PROJECT_ROOT / "eval" / "reports" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    write_reports(out, questions, summary)
    return out
