"""Every error the API sends has one JSON shape, `{"detail": "what went wrong and what to do"}` (a 503 after
retrieval adds the passages), and every status a route can send is declared in the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    detail: str = Field(..., description="What went wrong and, where it helps, what to do about it.")
    passages: list[dict[str, Any]] | None = Field(
        None, description="On a 503 after retrieval worked: the passages found, so the reader still has them."
    )


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: text that cannot be UTF-8 (a lone surrogate) still renders."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return SafeJSONResponse({"detail": detail, **extra}, status, headers=headers)


def declared(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: these error statuses, each with the shared body."""
    return {status: {"model": ErrorBody, "description": ERROR_MEANINGS[status]} for status in statuses}


ERROR_MEANINGS = {
    401: "missing or wrong API key (only when the API_KEY setting is set)",
    404: "unknown paper or page",
    408: "the request body did not arrive in time",
    413: "request body over MAX_REQUEST_BYTES",
    422: "invalid request: which field and why",
    503: "index or generator unavailable, or too many answers in progress (then with Retry-After)",
}
# What any /v1 route can send besides its own statuses.
V1_ERRORS = (401, 408, 413, 422)
