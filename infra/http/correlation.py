"""Per-request correlation id (``x-corr-id``), available to services and logs."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORR_HEADER = "x-corr-id"
_corr_id: ContextVar[str | None] = ContextVar("corr_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current_corr_id() -> str | None:
    return _corr_id.get()


def new_corr_id() -> str:
    return uuid.uuid4().hex


class CorrelationIdMiddleware:
    """Reads ``x-corr-id`` (or makes one), exposes it, and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(CORR_HEADER.encode(), b"").decode("latin-1")
        corr_id = incoming if _VALID.match(incoming) else new_corr_id()
        token = _corr_id.set(corr_id)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((CORR_HEADER.encode(), corr_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _corr_id.reset(token)
