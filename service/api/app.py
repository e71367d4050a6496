"""The FastAPI application: built by create_app(settings); models load once, at start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from paper_rag.settings import Settings
from service.api.deps import AppState
from service.api.routes import ask, chat, health, search
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
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        authorized = request.headers.get("authorization") == f"Bearer {settings.api_key}"
        if request.url.path.startswith("/v1/") and settings.api_key and not authorized:
            return JSONResponse({"detail": "missing or wrong API key (Authorization: Bearer <API_KEY>)"}, 401)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_request_bytes:
            return JSONResponse({"detail": f"request body over {settings.max_request_bytes} bytes"}, 413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"detail": problems}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server log"}, 500)

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(STATIC / "index.html")

    # The page's vendored KaTeX (math typesetting), served from the package: nothing comes from a CDN.
    app.mount("/static/vendor", StaticFiles(directory=STATIC / "vendor"), name="vendor")

    for router in (ask.router, chat.router, search.router, health.router):
        app.include_router(router)
    return app
