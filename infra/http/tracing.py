"""HTTP ingress spans: W3C ``traceparent`` in, a server span per request, ``traceparent`` out.

Ray Serve's proxy does not hand its trace context to an ASGI app's code, so each app reads the caller's
``traceparent`` itself (or starts a trace), and answers with the ``traceparent`` of its server span: a client
that sent none learns the trace id to look up. Under direct ingress (HAProxy mode) Serve's replica opens a span
of its own for the request first; the server span then hangs under it (:func:`infra.tracing.ingress_parent`).
Handle calls made inside the request carry the context on to the replicas they reach. Off
(:func:`infra.tracing.is_on`), the middleware only passes the request through.

FastAPI's own telemetry is turned off in the engine's apps (:data:`FASTAPI_TELEMETRY`): it would start a
second server span per request, and with no ``traceparent`` a root one.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import tracing
from infra.http.correlation import CORR_HEADER as CORR

CORR_HEADER = CORR.encode()

FASTAPI_TELEMETRY: Any = {"tracing": False}
"""``FastAPI(telemetry=…)`` for the engine's apps: spans come from :class:`TracingMiddleware`."""


class TracingMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.is_on():
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v for k, v in scope["headers"] if k in (b"traceparent", b"tracestate")}
        method = scope.get("method", "GET")
        prefix = scope.get("root_path", "")  # an app mounted under a route prefix (the CRM: /v1/crm)
        path = _under(prefix, scope.get("path", ""))
        attributes: dict[str, str | int | float | bool] = {
            "http.request.method": method,
            "url.path": path,
            "vettify.app": self.service,
        }
        with tracing.span(
            f"{method} {path}",
            kind=SpanKind.SERVER,
            parent=tracing.ingress_parent(headers),
            attributes=attributes,
        ) as span:
            assert span is not None
            traceparent = tracing.current_traceparent() or ""

            async def send_with_traceparent(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message.get("status", 200))
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                    response_headers = message.setdefault("headers", [])
                    for key, value in response_headers:
                        if key == CORR_HEADER:  # the correlation middleware's id: logs and traces meet
                            span.set_attribute("vettify.corr_id", value.decode("latin-1"))
                    response_headers.append((b"traceparent", traceparent.encode()))
                await send(message)

            try:
                await self.app(scope, receive, send_with_traceparent)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None)
                if template:
                    route_template = _full_route(path, template)
                    span.update_name(f"{method} {route_template}")
                    span.set_attribute("http.route", route_template)


def _under(prefix: str, path: str) -> str:
    """``path`` as the client sent it: ASGI servers differ on whether ``path`` already holds ``root_path``."""
    return path if not prefix or path.startswith(prefix) else f"{prefix}{path}"


def _full_route(path: str, template: str) -> str:
    """The matched route's template with the prefixes it was mounted or included under (``/v1/crm/leads/{id}``).

    The route knows only its own part; the prefix is what the request path has before it. A template
    with a ``{…:path}`` parameter spans any number of segments and is returned as it is.
    """
    if ":path}" in template:
        return template
    segments = [part for part in path.split("/") if part]
    own = [part for part in template.split("/") if part]
    prefix = segments[: max(len(segments) - len(own), 0)]
    return "/" + "/".join([*prefix, *own]) if prefix or own else "/"
