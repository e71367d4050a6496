"""Soak: many concurrent clients for minutes against a real `paper-rag serve` on loopback, with the real local
generator, while one hostile client sends oversized, chunked, slow and malformed requests.

Clients mix /v1/search, /v1/ask and /v1/chat on questions written independently of the golden set
(bench/retrieval_questions.jsonl) plus off-topic ones; a 503 with Retry-After (the answer queue is full) is
back-pressure: the client waits as told and goes on. A prober times /healthz every 250 ms throughout.
Reported: throughput, p50/p95/p99 per endpoint, replies by status, /healthz latency, and the server's RSS at
start, peak and end.

Needs an ingested DATA_DIR and the generator running (`paper-rag llm start`). Usage:
python bench/soak.py [--data-dir data] [--clients 50] [--seconds 300] [--port 8790] [--out bench/results/soak.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.serving import served  # noqa: E402

OFF_TOPIC = ["How do I bake sourdough bread at home?", "What is the tallest mountain in Africa?"]
MIX = (("search", 0.6), ("ask", 0.2), ("chat", 0.2))


def questions() -> list[str]:
    rows = [json.loads(line) for line in (REPO / "bench" / "retrieval_questions.jsonl").read_text().splitlines()]
    return [row["question"] for row in rows] + OFF_TOPIC


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"n": len(values), "p50": round(p50, 1), "p95": round(p95, 1), "p99": round(p99, 1)}


class Record:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, endpoint: str, status: str, ms: float) -> None:
        self.statuses[endpoint][status] += 1
        if status == "200":
            self.latency[endpoint].append(ms)


async def user(client: httpx.AsyncClient, pool: list[str], record: Record, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        endpoint = rng.choices([m for m, _ in MIX], [w for _, w in MIX])[0]
        question = rng.choice(pool)
        started = time.perf_counter()
        try:
            if endpoint == "search":
                response = await client.get("/v1/search", params={"q": question, "k": 10})
                status = str(response.status_code)
            elif endpoint == "ask":
                response = await client.post("/v1/ask", json={"question": question})
                status = str(response.status_code)
            else:
                async with client.stream("POST", "/v1/chat", json={"question": question}) as response:
                    body = (await response.aread()).decode()
                status = str(response.status_code)
                if status == "200" and "event: done" not in body:
                    status = "200-error-event"
        except httpx.HTTPError as exc:
            response, status = None, type(exc).__name__
        record.add(endpoint, status, (time.perf_counter() - started) * 1000)
        if response is not None and response.status_code == 503 and "retry-after" in response.headers:
            await asyncio.sleep(float(response.headers["retry-after"]))


async def hostile(client: httpx.AsyncClient, record: Record, deadline: float) -> None:
    """Oversized (declared and chunked), slow, malformed and invalid requests, in a loop."""

    async def chunked(total: int):
        for _ in range(total // 65536):
            yield b"x" * 65536

    async def trickle():
        yield b'{"question": "'
        await asyncio.sleep(15)
        yield b'x"}'

    attacks = {
        "1MB-declared": lambda: client.post("/v1/ask", content=b"x" * 1_000_000),
        "50MB-chunked": lambda: client.post("/v1/ask", content=chunked(50_000_000)),
        "slow-body": lambda: client.post("/v1/ask", content=trickle(), headers={"Content-Type": "application/json"}),
        "bad-json": lambda: client.post("/v1/ask", content=b"{nope", headers={"Content-Type": "application/json"}),
        "surrogate": lambda: client.post(
            "/v1/ask", content=b'{"question": "\\ud800?"}', headers={"Content-Type": "application/json"}
        ),
        "nul-question": lambda: client.post("/v1/ask", json={"question": "\u0000" * 100}),
        "huge-turns": lambda: client.post(
            "/v1/chat", json={"question": "and?", "messages": [{"role": "user", "content": "word " * 12000}]}
        ),
        "long-word": lambda: client.get("/v1/search", params={"q": "a" * 1999}),
    }
    while time.monotonic() < deadline:
        for name, send in attacks.items():
            started = time.perf_counter()
            try:
                status = str((await send()).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            record.add(f"hostile:{name}", status, (time.perf_counter() - started) * 1000)


async def probe(client: httpx.AsyncClient, samples: list[float], deadline: float) -> None:
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            await client.get("/healthz", timeout=30)
            samples.append((time.perf_counter() - started) * 1000)
        except httpx.HTTPError:
            samples.append(30_000.0)
        await asyncio.sleep(0.25)


async def soak(base: str, clients: int, seconds: float, pid: int) -> dict:
    pool = questions()
    record, health, rss = Record(), [], {"start": rss_mb(pid)}
    peak = rss["start"]
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 10)
    timeout = httpx.Timeout(300.0)
    async with (
        httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as shared,
        httpx.AsyncClient(base_url=base, timeout=60) as attacker,
        httpx.AsyncClient(base_url=base, timeout=30) as prober,
    ):
        tasks = [asyncio.create_task(user(shared, pool, record, deadline, seed)) for seed in range(clients)]
        tasks += [
            asyncio.create_task(hostile(attacker, record, deadline)),
            asyncio.create_task(probe(prober, health, deadline)),
        ]
        started = time.monotonic()
        while not all(t.done() for t in tasks):
            await asyncio.sleep(2)
            peak = max(peak, rss_mb(pid))
            done = sum(sum(c.values()) for c in record.statuses.values())
            print(f"\r{time.monotonic() - started:5.0f} s  {done} replies", end="", file=sys.stderr, flush=True)
        await asyncio.gather(*tasks)
    print(file=sys.stderr)
    elapsed = time.monotonic() - started
    rss |= {"peak": peak, "end": rss_mb(pid)}
    users = [e for e in record.statuses if not e.startswith("hostile:")]
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "throughput_rps": {e: round(sum(record.statuses[e].values()) / elapsed, 2) for e in users},
        "latency_ms_200": {e: percentiles(record.latency[e]) for e in users},
        "statuses": {e: dict(c) for e, c in sorted(record.statuses.items())},
        "healthz_ms": percentiles(health),
        "rss_mb": {k: round(v, 1) for k, v in rss.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR", "data")))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "soak.json")
    args = parser.parse_args()
    log = args.out.parent / "soak-serve.log"
    # /readyz: the generator must be up too (`paper-rag llm start`).
    with served(args.data_dir, args.port, log=log, ready="/readyz", wait_s=180) as server:
        result = asyncio.run(soak(f"http://127.0.0.1:{args.port}", args.clients, args.seconds, server.pid))
    # What the server sent, from its access log: a client still writing a refused body sees only a reset.
    access = re.findall(r'"(?:GET|POST) (/[^ ?]*)[^"]*" (\d{3})', log.read_text())
    result["server_statuses"] = {f"{path} {status}": n for (path, status), n in sorted(Counter(access).items())}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
