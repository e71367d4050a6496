"""`paper-rag reranker …`: write synthetic questions with the LLM, filter them, train the cross-encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, err, open_index_or_exit, out, require_eval_extra, settings_for
from cli.progress import progress_bar
from paper_rag.embedder import file_sha256
from paper_rag.index import PaperIndex
from paper_rag.rerank.model import reorder
from paper_rag.retrieval import Retriever
from paper_rag.schema import Chunk
from paper_rag.settings import Settings

reranker_app = typer.Typer(no_args_is_help=True, help="The cross-encoder reranker: training data and training.")


def _index_chunks(settings: Settings) -> list[Chunk]:
    index = open_index_or_exit(settings)
    try:
        return list(index.chunks())
    finally:
        index.close()


@reranker_app.command("questions")
def questions(
    limit: Annotated[
        int, typer.Option(help="Chunks to write questions for in this run (resumes after the last).")
    ] = 200,
    concurrency: Annotated[int, typer.Option(help="Requests in flight; the server batches them.")] = 6,
    data_dir: DataDir = None,
) -> None:
    """Have the configured LLM write questions for body chunks; appends to RERANKER_QUESTIONS."""
    from paper_rag.rerank.questions import QuestionWriter, chunk_key, done_keys, sample_order

    settings = settings_for(data_dir)
    path = settings.reranker_questions
    done = done_keys(path)
    todo = [c for c in sample_order(_index_chunks(settings)) if chunk_key(c) not in done][:limit]
    out.print(f"{len(done)} chunks already have questions in {path}; writing for {len(todo)} more")
    written = 0
    with progress_bar(out) as bars:
        task = bars.add_task("chunks", total=len(todo))
        try:
            for _ in QuestionWriter(settings, concurrency=concurrency).run(
                todo, path, on_chunk=lambda n: bars.advance(task)
            ):
                written += 1
        except RuntimeError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from exc
    out.print(f"wrote {written} questions to {path}")


def _open_retriever(settings: Settings) -> tuple[PaperIndex, Retriever]:
    """Hybrid search over the index as the answer path runs it (the index is opened for the caller to close)."""
    index = open_index_or_exit(settings)
    retriever = Retriever(settings=settings, index=index)
    retriever.warm_up()
    return index, retriever


@reranker_app.command("filter")
def filter_questions(data_dir: DataDir = None) -> None:
    """Mark each synthetic question kept or dropped (vague, copies its chunk, duplicate, golden overlap, chunk
    holding golden evidence, not retrievable); rewrites RERANKER_QUESTIONS with the status of every question."""
    from collections import Counter

    require_eval_extra()  # the golden set it checks overlaps against is read by the evaluation harness

    from eval.harness import DEFAULT_GOLDEN
    from paper_rag.rerank.question_filter import (
        RETRIEVAL_K,
        assign_status,
        golden_evidence,
        golden_question_terms,
        load_rows,
        save_rows,
    )

    settings = settings_for(data_dir)
    rows = load_rows(settings.reranker_questions)
    index, retriever = _open_retriever(settings)
    try:
        with progress_bar(out) as bars:
            task = bars.add_task("questions", total=len(rows))
            assign_status(
                rows,
                golden_terms=golden_question_terms(DEFAULT_GOLDEN),
                evidence=golden_evidence(DEFAULT_GOLDEN),
                search_many=lambda questions: retriever.search_many(questions, k=RETRIEVAL_K),
                on_row=lambda: bars.advance(task),
            )
    finally:
        index.close()
    save_rows(settings.reranker_questions, rows)
    counts = Counter(r["status"] for r in rows)
    out.print(", ".join(f"{status} {n}" for status, n in counts.most_common()) + f" of {len(rows)}")


@reranker_app.command("train")
def train(
    kind: Annotated[
        str,
        typer.Option(
            help="features: the linear feature ranker (seconds; the default RERANKER_MODEL); cross-encoder: a "
            "MiniLM CrossEncoder student (hours on a CPU)."
        ),
    ] = "features",
    layers: Annotated[
        int, typer.Option(help="Cross-encoder: encoder layers kept from the base (6 = all; 3 = a 2x faster student).")
    ] = 3,
    epochs: Annotated[int, typer.Option(min=1, help="Cross-encoder: passes over the questions.")] = 1,
    limit: Annotated[int | None, typer.Option(help="Train on the first N kept questions only.")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Default: DATA_DIR/models/feature-reranker (features) or DATA_DIR/models/reranker."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Train the reranker on the kept synthetic questions, with candidates from the hybrid index."""
    if kind not in ("features", "cross-encoder"):
        err.print(f"[red]error:[/] --kind must be features or cross-encoder, not {kind!r}")
        raise typer.Exit(2)
    settings = settings_for(data_dir)
    rows = _kept_questions(settings, limit)
    if kind == "features":
        _train_features(settings, rows, out_dir)
    else:
        _train_cross_encoder(settings, rows, out_dir, layers=layers, epochs=epochs)


def _kept_questions(settings: Settings, limit: int | None) -> list[dict]:
    from paper_rag.rerank.question_filter import load_rows

    rows = [r for r in load_rows(settings.reranker_questions) if r.get("status") == "kept"][:limit]
    if not rows:
        err.print(
            f"[red]error:[/] no kept questions in {settings.reranker_questions}: run "
            "`paper-rag reranker questions` and `paper-rag reranker filter` first."
        )
        raise typer.Exit(1)
    return rows


def _train_features(settings: Settings, rows: list[dict], out_dir: Path | None) -> None:
    import time

    from paper_rag.rerank import linear, training
    from paper_rag.rerank.model import MANIFEST, trained_features_dir
    from paper_rag.schema import DEFAULT_SEARCH_KINDS
    from paper_rag.terms import TermStats

    target = out_dir or trained_features_dir(settings)
    started = time.perf_counter()
    index, retriever = _open_retriever(settings)
    try:
        stats = TermStats(c.index_text for c in index.chunks() if c.section_kind in DEFAULT_SEARCH_KINDS)
        with progress_bar(out) as bars:
            task = bars.add_task("candidates and features", total=len(rows))
            questions = linear.featurize(
                rows,
                retriever,
                stats,
                top_n=settings.rerank_top_n,
                candidates=settings.rerank_candidates,
                on_row=lambda: bars.advance(task),
            )
    finally:
        index.close()
    train_set = [q for q in questions if not training.is_dev(q.row)]
    dev = [q for q in questions if training.is_dev(q.row)]
    ranker = linear.fit([q.labelled() for q in train_set])
    weights = ranker.save(target)

    def by_ranker(q: linear.Question) -> list:
        return reorder(q.candidates, ranker.scores(q.rows))

    dev_questions = [training.DevQuestion(q.row, q.candidates) for q in dev]
    scored = {id(d): q for d, q in zip(dev_questions, dev, strict=True)}
    scores = {
        "fusion": training.dev_scores(dev_questions, lambda d: d.candidates),
        "trained": training.dev_scores(dev_questions, lambda d: by_ranker(scored[id(d)])),
    }
    manifest = {
        "kind": "features",
        "base_model": "linear over paper_rag/rerank/features.py",
        "features": list(ranker.features),
        "trained_at": training.now(),
        "seconds": training.elapsed(started),
        "questions_file": settings.reranker_questions.name,
        "data_sha256": training.data_sha256(rows),
        "questions": len(rows),
        "train_questions": len(train_set),
        "rerank_top_n": settings.rerank_top_n,
        "scores": scores,
        "weights_sha256": file_sha256(weights),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    out.print(f"trained in {manifest['seconds']} s, wrote {target}; held-out scores: {scores}")


def _train_cross_encoder(
    settings: Settings, rows: list[dict], out_dir: Path | None, *, layers: int, epochs: int
) -> None:
    import time

    from ingest.corpus import load_manifest
    from paper_rag.embedder import cpu_has_fast_bf16, resolve_model_path
    from paper_rag.rerank import training
    from paper_rag.rerank.model import trained_reranker_dir

    target = out_dir or trained_reranker_dir(settings)
    config = training.TrainConfig(
        layers=layers, epochs=epochs, bf16=cpu_has_fast_bf16(), max_length=settings.rerank_max_tokens
    )
    base = str(resolve_model_path(settings.embedding_model))
    short_names = {p.paper_id: p.short_name for p in load_manifest(settings.corpus_manifest)}
    started = time.perf_counter()
    index, retriever = _open_retriever(settings)
    try:
        with progress_bar(out) as bars:
            task = bars.add_task("mining hard negatives", total=len(rows))
            examples, dev = training.build_examples(
                rows,
                lambda questions: retriever.search_many(questions, k=settings.rerank_candidates),
                short_names,
                on_row=lambda: bars.advance(task),
            )
    finally:
        index.close()
    top_n = settings.rerank_top_n
    model = training.new_model(base, config)
    scores = {
        "fusion": training.dev_scores(dev, lambda d: d.candidates),
        "untrained_base": training.dev_scores(dev, lambda d: training.rank_with(model, d, top_n)),
    }
    out.print(f"{len(examples)} training examples, {len(dev)} held-out questions; before: {scores}")
    with progress_bar(out) as bars:
        steps_total = epochs * ((len(examples) + config.questions_per_step - 1) // config.questions_per_step)
        task = bars.add_task("training", total=steps_total)
        losses: list[float] = []

        def on_step(loss: float) -> None:
            losses.append(loss)
            recent = sum(losses[-50:]) / len(losses[-50:])
            bars.update(task, advance=1, description=f"training (loss {recent:.3f})")
            if len(losses) % 50 == 0:  # also readable when the output is a log file
                bars.console.log(f"step {len(losses)}: mean loss of the last 50 steps {recent:.3f}")

        steps = training.fit(model, examples, config, on_step=on_step)
    weights_sha256 = training.save_fp16(model, target)
    saved = training.check_saved(target, settings.rerank_max_tokens)
    scores["trained"] = training.dev_scores(dev, lambda d: training.rank_with(saved, d, top_n))
    manifest = {
        "base_model": settings.embedding_model,
        "layers": layers,
        "trained_at": training.now(),
        "seconds": training.elapsed(started),
        "questions_file": settings.reranker_questions.name,
        "data_sha256": training.data_sha256(rows),
        "questions": len(rows),
        "examples": len(examples),
        "negatives_per_question": len(examples[0].negatives) if examples else 0,
        "steps": steps,
        "loss_first_50": round(sum(losses[:50]) / max(1, len(losses[:50])), 3),
        "loss_last_50": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 3),
        "config": vars(config),
        "rerank_top_n": top_n,
        "scores": scores,
        "weights_sha256": weights_sha256,
    }
    training.write_manifest(target, manifest)
    out.print(f"trained in {manifest['seconds']} s, wrote {target}; held-out scores: {scores}")
