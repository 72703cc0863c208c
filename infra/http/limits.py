"""Request body size limit: answer 413 before reading an oversized body."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.errors import PayloadTooLarge
from infra.http.problems import PROBLEM_JSON, problem_bytes

DEFAULT_MAX_BODY = 1 << 20  # 1 MiB of JSON is far beyond any single CRM write


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Rejects bodies over ``max_bytes`` (per path prefix overrides, e.g. CSV import)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY, overrides: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, scope["path"], limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, scope["path"], limit)


async def _reject(send: Send, path: str, limit: int) -> None:
    body = problem_bytes(PayloadTooLarge(f"the request body exceeds {limit} bytes"), path)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
