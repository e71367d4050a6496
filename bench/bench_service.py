"""Service latency: per-stage timings over real questions with the local vLLM, the abstain threshold's
evidence, and 10 concurrent clients on /v1/search for 60 s through a real uvicorn.

Needs an ingested DATA_DIR and the generator running (`paper-rag llm start`). Usage:
python bench/bench_service.py [--data-dir data] [--questions 30] [--search-only] [--out bench/results/service.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.serving import served  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402
from service.pipeline import build_pipeline  # noqa: E402

OFF_TOPIC = [
    "How do I bake sourdough bread at home?",
    "What is the capital of Australia?",
    "Who won the 2018 football World Cup?",
    "How many moons does Jupiter have?",
    "What is a good stretching routine for runners?",
    "How do I change a flat bicycle tyre?",
    "What is the boiling point of water at high altitude?",
    "Recommend a novel set in Victorian London.",
    "How do vaccines train the immune system?",
    "What is the tallest mountain in Africa?",
    "How should I water a cactus?",
    "What causes the northern lights?",
]
NEAR_DOMAIN_NOT_IN_CORPUS = [
    "What MMLU score does Llama 4 Maverick report?",
    "What features did Scaling Monosemanticity extract from Claude 3 Sonnet?",
    "How many parameters does GPT-4 have?",
    "What is the context length of Gemini 1.5 Pro?",
]


def stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(values, 50)), 1),
        "p95": round(float(np.percentile(values, 95)), 1),
        "n": len(values),
    }


async def stage_latency(settings: Settings, questions: list[str]) -> dict:
    state = build_pipeline(settings)
    assert state.answers is not None and state.index is not None
    answers = state.answers
    await asyncio.to_thread(answers.warm_up)
    timings: dict[str, list[float]] = {"retrieve_ms": [], "rerank_ms": [], "first_token_ms": [], "total_ms": []}
    abstained = 0
    try:
        for question in questions:
            result = await answers.ask(question)
            abstained += result.grounded.abstained
            for key in timings:
                if key in result.timings:
                    timings[key].append(result.timings[key])
        scores = {}
        for name, group in (
            ("benchmark_questions", questions),
            ("off_topic", OFF_TOPIC),
            ("near_domain_not_in_corpus", NEAR_DOMAIN_NOT_IN_CORPUS),
        ):
            best = [(await answers.prepare(q)).scores["best_dense"] for q in group]
            scores[name] = {
                "min": round(min(best), 3),
                "max": round(max(best), 3),
                "mean": round(float(np.mean(best)), 3),
            }
    finally:
        await answers.generator.aclose()
        state.index.close()
    return {
        "stages_ms": {k: stats(v) for k, v in timings.items() if v},
        "abstained": abstained,
        "best_dense_score": scores,
        "abstain_threshold": settings.abstain_min_dense_score,
    }


def search_load(base: str, questions: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            i = offset
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    response = http.get("/v1/search", params={"q": questions[i % len(questions)], "k": 10})
                    ok = response.status_code == 200
                except httpx.HTTPError as exc:
                    ok, response = False, exc
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    (latencies.append(elapsed) if ok else errors.append(str(response)))
                i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(latencies) + len(errors),
        "throughput_rps": round(len(latencies) / wall, 1),
        "latency_ms": stats(latencies),
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--search-only", action="store_true", help="Only the /v1/search load (no generator needed).")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "service.json")
    args = parser.parse_args()
    questions_file = REPO / "bench" / "retrieval_questions.jsonl"
    questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines()]
    settings = Settings(data_dir=args.data_dir)
    result: dict = {"cpu_cores": os.cpu_count()}
    if not args.search_only:
        result["model"] = settings.llm_model
        result["answers"] = asyncio.run(stage_latency(settings, questions[: args.questions]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with served(args.data_dir, args.port, log=args.out.parent / "service-serve.log"):
        base = f"http://127.0.0.1:{args.port}"
        httpx.get(f"{base}/v1/search", params={"q": "warm up"}, timeout=60)
        result["search_under_load"] = search_load(base, questions, args.clients, args.seconds)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
