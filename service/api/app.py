"""The FastAPI application: built by create_app(settings); models load once, at start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from paper_rag.settings import Settings
from service.api.deps import AnswerSlots, AppState, Conversations
from service.api.errors import error_response
from service.api.guards import RequestGuard
from service.api.routes import ask, chat, health, openai_compat, pages, search
from service.pipeline import build_pipeline

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parents[1] / "static"


def build_state(settings: Settings) -> AppState:
    pipeline = build_pipeline(settings)
    return AppState(
        settings=settings,
        catalog=pipeline.catalog,
        index=pipeline.index,
        index_error=pipeline.index_error,
        answers=pipeline.answers,
        conversations=Conversations(keep=settings.history_messages),
        slots=AnswerSlots(settings.max_pending_answers),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.worker_threads:
            # Fewer threads holding the GIL at once leave the event loop (and /healthz) more of it.
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(settings.worker_threads))
        state = build_state(settings)
        app.state.paper_rag = state
        if state.answers is not None:
            await asyncio.to_thread(state.answers.warm_up)
        yield
        if state.answers is not None:
            await state.answers.generator.aclose()
        if state.index is not None:
            state.index.close()

    app = FastAPI(
        title="paper-rag",
        description="Answers about AI research papers, every claim cited to paper, section and page.",
        version="0.1.0",
        lifespan=lifespan,
    )
    # Added first, so it runs inside CORS: a preflight is answered without a key, and a 401 carries CORS headers.
    app.add_middleware(RequestGuard, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return error_response(422, problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the server log")

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(STATIC / "index.html")

    # The page's vendored KaTeX (math typesetting), served from the package: nothing comes from a CDN.
    app.mount("/static/vendor", StaticFiles(directory=STATIC / "vendor"), name="vendor")

    for router in (ask.router, chat.router, openai_compat.router, search.router, pages.router, health.router):
        app.include_router(router)
    app.openapi = lambda: openapi_document(app, settings)  # type: ignore[method-assign]
    return app


def openapi_document(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's document plus the bearer-key scheme on every /v1 operation (required when API_KEY is set)."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        document.setdefault("components", {})["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "The API_KEY setting, when it is set."}
        }
        for path, operations in document["paths"].items():
            if path.startswith("/v1/"):
                for operation in operations.values():
                    operation["security"] = [{"apiKey": []}] if settings.api_key else [{}, {"apiKey": []}]
        app.openapi_schema = document
    return app.openapi_schema
