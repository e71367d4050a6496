"""What every request passes before a route sees it: the API key (on /v1), and a body that is bounded in size
and in time whatever its transfer encoding (a chunked body has no Content-Length to check up front)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paper_rag.settings import Settings
from service.api.errors import error_response


def bearer_matches(authorization: str | None, api_key: str) -> bool:
    """Constant-time comparison, so the key cannot be guessed from response times."""
    expected = f"Bearer {api_key}".encode()
    return hmac.compare_digest((authorization or "").encode("utf-8", "replace"), expected)


def is_authorized(headers: Mapping[str, str], settings: Settings) -> bool:
    return settings.api_key is None or bearer_matches(headers.get("authorization"), settings.api_key)


class RequestGuard:
    """Pure ASGI middleware: checks the key, then reads the whole body (at most MAX_REQUEST_BYTES, within
    REQUEST_BODY_TIMEOUT_S) and hands the route a replay of it, so no route ever reads an unbounded body."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"].startswith("/v1/") and not is_authorized(headers, self.settings):
            detail = "missing or wrong API key: send `Authorization: Bearer <API_KEY>`"
            await self._reply(scope, receive, send, 401, detail, {"WWW-Authenticate": "Bearer"})
            return
        limit = self.settings.max_request_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._reply(scope, receive, send, 413, f"request body is {declared} bytes; the limit is {limit}")
            return
        try:
            async with asyncio.timeout(self.settings.request_body_timeout_s):
                body = await self._read_body(receive, limit)
        except TimeoutError:
            detail = f"request body not received within {self.settings.request_body_timeout_s:g} s"
            await self._reply(scope, receive, send, 408, detail)
            return
        except BodyTooLargeError:
            await self._reply(scope, receive, send, 413, f"request body over {limit} bytes")
            return
        if body is None:  # the client went away while sending
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _reply(
        scope: Scope, receive: Receive, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        # Close the connection: an unread body must not be parsed as the next request.
        response = error_response(status, detail, headers={"Connection": "close", **(headers or {})})
        await response(scope, receive, send)


class BodyTooLargeError(Exception):
    pass


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body, once, as one message; after it, the real channel (so a disconnect is still seen)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
            return message
        return await receive()

    return replay
