"""GET /healthz (the process answers) and GET /readyz (index, generator and reranker state)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.api.deps import StateDep
from service.api.errors import declared
from service.api.guards import is_authorized
from service.generator import GeneratorUnavailableError

router = APIRouter(tags=["health"])


@router.get("/healthz", responses=declared(408, 413))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "index and generator ready"},
    503: {"description": "not ready: the same report, saying which part is not and why"},
    **declared(408, 413),
}


@router.get("/readyz", responses=READY_RESPONSES)
async def readyz(state: StateDep, request: Request) -> JSONResponse:
    """Index, generator and reranker state. With API_KEY set, a caller without the key sees only the ready
    flags: no URLs, paths or errors of the machine."""
    report: dict[str, Any] = {}
    if state.index is None or state.answers is None:
        report["index"] = {"ready": False, "error": state.index_error}
    else:
        points = await asyncio.to_thread(state.index.count)
        report["index"] = {
            "ready": points > 0,
            "points": points,
            **({} if points else {"error": "index is empty: run `paper-rag ingest`"}),
        }
    if state.answers is None:
        report["generator"] = {"ready": False, "error": "no index"}
        report["reranker"] = {"state": "unavailable", "reason": "no index"}
    else:
        generator = state.answers.generator
        try:
            served = await generator.served_models()
            report["generator"] = {
                "ready": generator.model in served,
                "model": generator.model,
                "served": served,
                "url": state.settings.llm_base_url,
            }
        except GeneratorUnavailableError as exc:
            report["generator"] = {"ready": False, "model": generator.model, "error": str(exc)}
        report["reranker"] = state.answers.reranker_info
    ready = report["index"]["ready"] and report["generator"]["ready"]
    if not is_authorized(request.headers, state.settings):
        report = {
            "index": {"ready": report["index"]["ready"]},
            "generator": {"ready": report["generator"]["ready"]},
            "reranker": {"state": report["reranker"]["state"]},
        }
    return JSONResponse({"ready": ready, **report}, 200 if ready else 503)
