"""The `paper-rag` command. Exit status: 0 done, 2 some inputs failed, 1 usage or configuration error."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.logging import RichHandler
from rich.table import Table

from cli.common import (
    EXIT_PARTIAL,
    EXIT_USAGE,
    DataDir,
    err,
    open_index_or_exit,
    out,
    require_eval_extra,
    settings_for,
)
from cli.progress import RichIngestProgress
from cli.reranker import reranker_app
from ingest.corpus import fetch_corpus
from ingest.pipeline import Ingestor, list_pdfs
from paper_rag.embedder import ModelUnavailableError
from paper_rag.retrieval import Retriever

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
corpus_app = typer.Typer(no_args_is_help=True, help="The corpus of papers: fetch the PDFs.")
app.add_typer(corpus_app, name="corpus")
llm_app = typer.Typer(no_args_is_help=True, help="The local vLLM generator: start, stop, status.")
app.add_typer(llm_app, name="llm")
app.add_typer(reranker_app, name="reranker")


@corpus_app.command("fetch")
def corpus_fetch(
    data_dir: DataDir = None,
    pdf_dir: Annotated[Path | None, typer.Option(help="Where the PDFs go (default: DATA_DIR/pdf).")] = None,
    no_arxiv: Annotated[bool, typer.Option("--no-arxiv", help="Copy from CORPUS_MIRROR only.")] = False,
) -> None:
    """Put the manifest's PDFs in the PDF dir: from arXiv when reachable, else from CORPUS_MIRROR."""
    settings = settings_for(data_dir, pdf_dir=pdf_dir)
    outcomes = fetch_corpus(
        settings,
        use_arxiv=not no_arxiv,
        on_progress=lambda o: err.print(f"{o.paper.paper_id or o.paper.short_name}: {o.status}"),
    )
    table = Table("paper", "status", "detail", title=f"corpus → {settings.resolved_pdf_dir}")
    for outcome in outcomes:
        if outcome.status in ("missing", "not-fetchable"):
            table.add_row(outcome.paper.paper_id or outcome.paper.short_name, outcome.status, outcome.detail)
    got = sum(o.status in ("present", "arxiv", "mirror") for o in outcomes)
    out.print(table)
    out.print(
        f"{got} of {len(outcomes)} papers in {settings.resolved_pdf_dir}; "
        f"{len(outcomes) - got} could not be fetched (listed above)."
    )


@app.command()
def ingest(
    data_dir: DataDir = None,
    pdf_dir: Annotated[Path | None, typer.Option(help="PDFs to ingest (default: DATA_DIR/pdf).")] = None,
    paper: Annotated[list[str] | None, typer.Option("--paper", help="Only this paper id (repeatable).")] = None,
) -> None:
    """Parse, chunk, embed and index the PDFs. Unchanged files are skipped; changed ones replaced."""
    settings = settings_for(data_dir, pdf_dir=pdf_dir)
    folder = settings.resolved_pdf_dir
    if not folder.is_dir():
        err.print(f"[red]error:[/] PDF folder {folder} does not exist: run `paper-rag corpus fetch` or pass --pdf-dir.")
        raise typer.Exit(EXIT_USAGE)
    files = list_pdfs(folder, paper)
    if not files:
        err.print(f"[red]error:[/] no PDFs to ingest in {folder}" + (f" for {paper}" if paper else ""))
        raise typer.Exit(EXIT_USAGE)
    index = open_index_or_exit(settings)
    started = time.perf_counter()
    try:
        with RichIngestProgress(err) as progress:
            outcomes = Ingestor(settings=settings, index=index, progress=progress).run(files)
    except ModelUnavailableError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    finally:
        index.close()
    seconds = time.perf_counter() - started
    table = Table("paper", "status", "pages", "chunks", "seconds", "chunks/s", "error", title="ingest")
    for o in outcomes:
        rate = f"{o.chunks / o.seconds:.1f}" if o.status == "ingested" and o.seconds else ""
        table.add_row(o.paper_id, o.status, str(o.pages), str(o.chunks), f"{o.seconds:.1f}", rate, o.error)
    written = sum(o.chunks for o in outcomes if o.status == "ingested")
    failed = [o for o in outcomes if o.status == "failed"]
    table.add_section()
    table.add_row(
        f"{len(outcomes)} files",
        f"{len(failed)} failed",
        str(sum(o.pages for o in outcomes)),
        str(sum(o.chunks for o in outcomes)),
        f"{seconds:.1f}",
        f"{written / seconds:.1f}" if written else "",
        "",
    )
    out.print(table)
    for o in failed:
        err.print(f"[red]failed:[/] {o.file}: {o.error}")
    if failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def delete(paper_id: str, data_dir: DataDir = None) -> None:
    """Remove a paper's chunks from the index."""
    settings = settings_for(data_dir)
    index = open_index_or_exit(settings)
    try:
        removed = Ingestor(settings=settings, index=index).delete(paper_id)
    finally:
        index.close()
    out.print(f"deleted {removed} chunks of {paper_id}")


@app.command()
def papers(data_dir: DataDir = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List what is indexed: id, title, pages, chunks, when it was ingested."""
    settings = settings_for(data_dir)
    index = open_index_or_exit(settings)
    try:
        records = sorted(Ingestor(settings=settings, index=index).state.papers.values(), key=lambda r: r.paper_id)
    finally:
        index.close()
    rows = [
        {"paper_id": r.paper_id, "title": r.title, "pages": r.pages, "chunks": r.chunks, "ingested_at": r.ingested_at}
        for r in records
    ]
    if as_json:
        print(json.dumps({"papers": rows}))
        return
    table = Table("paper", "title", "pages", "chunks", "ingested at", title=f"{len(rows)} papers indexed")
    for row in rows:
        table.add_row(row["paper_id"], row["title"], str(row["pages"]), str(row["chunks"]), row["ingested_at"])
    out.print(table)


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="The question, or - to read one question per line from stdin.")],
    k: Annotated[int | None, typer.Option("--k", min=1, max=100, help="Results to return.")] = None,
    paper: Annotated[list[str] | None, typer.Option("--paper", help="Only these paper ids.")] = None,
    all_sections: Annotated[bool, typer.Option(help="Also search references and appendices.")] = False,
    rerank: Annotated[bool, typer.Option(help="--no-rerank: the fusion order, without the reranker.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Hybrid search (dense + BM25 fused in Qdrant), then the reranker: the order answers use."""
    from paper_rag.rerank.model import Reranker
    from paper_rag.search import ranked_search

    settings = settings_for(data_dir)
    index = open_index_or_exit(settings)
    retriever = Retriever(settings=settings, index=index)
    reranker = Reranker(settings=settings, retriever=retriever)
    if rerank:
        reranker.warm_up()
    about = reranker.describe() | {"applied": rerank and reranker.state == "available"}
    questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
    try:
        for text in questions:
            if not text:
                continue
            hits = ranked_search(
                text,
                settings=settings,
                retriever=retriever,
                reranker=reranker,
                k=k or settings.search_k,
                paper_ids=paper,
                all_sections=all_sections,
                rerank=rerank,
            )
            if as_json or question == "-":
                line = {"question": text, "reranker": about, "results": [h.as_json() for h in hits]}
                print(json.dumps(line), flush=True)
                continue
            state = f"reranked by {about['model']}" if about["applied"] else f"fusion order (reranker {about['state']})"
            table = Table(
                "#", "score", "paper", "section", "page", "text", title=f"{text}\n[dim]{state}[/]", show_lines=True
            )
            for rank, hit in enumerate(hits, start=1):
                c = hit.chunk
                pages = str(c.page_start) if c.page_start == c.page_end else f"{c.page_start}-{c.page_end}"
                table.add_row(str(rank), f"{hit.score:.3f}", f"{c.paper_id}\n{c.title}", c.section, pages, c.text[:300])
            out.print(table)
    finally:
        index.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run the HTTP API and the chat page (http://HOST:PORT/, API docs at /docs)."""
    import uvicorn

    from service.api.app import create_app

    settings = settings_for(data_dir)
    err.print(f"paper-rag serving on [bold]http://{host}:{port}/[/] (API docs at /docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    paper: Annotated[list[str] | None, typer.Option("--paper", help="Only these paper ids.")] = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=20, help="Passages in the prompt.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same JSON as POST /v1/ask.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Answer one question from the papers, with citations (needs the generator: `paper-rag llm start`)."""
    import asyncio

    from service.answering import GenerationFailedError
    from service.pipeline import build_pipeline

    settings = settings_for(data_dir)
    state = build_pipeline(settings)
    if state.answers is None or state.index is None:
        err.print(f"[red]error:[/] {state.index_error}")
        raise typer.Exit(EXIT_USAGE)
    answers = state.answers

    async def run() -> dict:
        try:
            return (await answers.ask(question, papers=paper, k=k)).as_json()
        finally:
            await answers.generator.aclose()

    try:
        result = asyncio.run(run())
    except GenerationFailedError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(3) from exc
    finally:
        state.index.close()
    if as_json:
        print(json.dumps(result))
        return
    out.print(result["answer"])
    if result["abstain_reason"]:
        err.print(f"[yellow]not answered[/]: {result['abstain_reason']}")
    elif not result["grounded"]:
        err.print("[yellow]not verified[/]: the answer's main claim did not pass the checks against its passages")
    for citation in result["citations"]:
        out.print(
            f"  [{citation['n']}] {citation['title']} ({citation['paper_id']}), {citation['section']}, "
            f"p. {citation['page']}"
        )
    for flag in result["flags"]:
        err.print(f"[yellow]{flag['type']}[/]: {flag.get('message') or flag.get('sentence', '')}")


@app.command("eval")
def evaluate(
    golden: Annotated[Path | None, typer.Option(help="Golden set (default: eval/golden.jsonl).")] = None,
    configs: Annotated[str, typer.Option(help="Retrieval configurations, comma-separated.")] = (
        "dense,bm25,rank-bm25,hybrid,hybrid-dbsf,hybrid+rerank,hybrid+rerank-untrained"
    ),
    judge_url: Annotated[str | None, typer.Option(help="OpenAI-compatible judge URL (default: LLM_BASE_URL).")] = None,
    judge_model: Annotated[str | None, typer.Option(help="Judge model name (default: LLM_MODEL).")] = None,
    no_ragas: Annotated[bool, typer.Option("--no-ragas", help="Skip the ragas judge.")] = False,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Score retrieval only: no answers, no generator needed.")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
    per_kind: Annotated[
        int | None, typer.Option(min=1, help="Only the first N questions of each kind (a stratified sample).")
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder (default: eval/reports/<run>).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the golden set through the real pipeline; write results.json, questions.csv, report.md/html."""
    require_eval_extra()
    from eval.harness import DEFAULT_GOLDEN
    from eval.harness import evaluate as run_evaluation
    from eval.runner import RETRIEVAL_CONFIGS

    chosen = [c.strip() for c in configs.split(",") if c.strip()]
    unknown = set(chosen) - set(RETRIEVAL_CONFIGS)
    if unknown:
        err.print(f"[red]error:[/] unknown configurations {sorted(unknown)}; choose from {list(RETRIEVAL_CONFIGS)}")
        raise typer.Exit(EXIT_USAGE)
    report = run_evaluation(
        settings_for(data_dir),
        golden=golden or DEFAULT_GOLDEN,
        configs=chosen,
        judge_url=judge_url,
        judge_model=judge_model,
        use_ragas=not no_ragas and not retrieval_only,
        answers_too=not retrieval_only,
        limit=limit,
        per_kind=per_kind,
        out=out_dir,
    )
    out.print((report / "report.md").read_text())
    out.print(f"report: {report}/report.html")


@llm_app.command("start")
def llm_start(data_dir: DataDir = None) -> None:
    """Prepare the local model if needed, start vLLM, and wait until it serves."""
    from service.llm_server import LlmServerError, start
    from service.local_model import ModelSetupError

    settings = settings_for(data_dir)
    err.print(f"starting vLLM on {settings.llm_base_url} (1.5–3 min on CPU); log: {settings.data_dir}/logs/vllm.log")
    try:
        current = start(settings)
    except (LlmServerError, ModelSetupError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    out.print(f"vLLM ready: {settings.llm_model} at {settings.llm_base_url} (pid {current.pid})")


@llm_app.command("stop")
def llm_stop(data_dir: DataDir = None) -> None:
    """Stop the local vLLM server started by `llm start`."""
    from service.llm_server import stop

    out.print("stopped" if stop(settings_for(data_dir)) else "not running")


@llm_app.command("status")
def llm_status(data_dir: DataDir = None) -> None:
    """Is the local vLLM running, and does it serve the configured model?"""
    from service.llm_server import status

    settings = settings_for(data_dir)
    current = status(settings)
    out.print(
        f"running: {current.running} (pid {current.pid}); serving {settings.llm_model}: {current.ready}; "
        f"log: {current.log}"
    )
    if not current.ready:
        raise typer.Exit(EXIT_PARTIAL)


def main() -> None:
    """Entry point: usage errors exit 1 (click's default is 2, which here means 'some inputs failed')."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=err)])
    for noisy in ("httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        code = app(standalone_mode=False)  # returns typer.Exit's code instead of raising it
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
