"""Request metrics of an HTTP app in the Prometheus format: per route template (``/v1/crm/accounts/{account_id}``,
never the id, so the series stay few), method and status class, a count and a latency histogram.

What the SLO rules of the CRM and the event and insight routes read (``serve/slo/rules.py``); the model
routes have their own, per model (``serve/metrics.py``). Time runs from the request's arrival until its
response has started: what a client waits for the first byte.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "unmatched"  # no route: one series for every path that is not the app's (scanners, typos)


class HttpMetrics:
    def __init__(self, app: str, registry: CollectorRegistry | None = None) -> None:
        self.app = app
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "vettify_http_requests",
            "HTTP requests per app, route template, method and status class",
            ["app", "route", "method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vettify_http_request_seconds",
            "Time to the response's start per app, route template and method",
            ["app", "route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def route_of(scope: Scope) -> str:
    """The matched route's template with every prefix it was included under, and the mount prefix (Serve's
    ``route_prefix`` arrives as ``root_path``). FastAPI ≥ 0.16x matches included routers in place and keeps
    the included route's full template in its per-request context; older versions copy the route with it."""
    route = scope.get("route")
    included = (
        scope.get("fastapi", {}).get("effective_route_context") if isinstance(scope.get("fastapi"), dict) else None
    )
    path = getattr(included, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return str(scope.get("root_path", "")).rstrip("/") + path


class HttpMetricsMiddleware:
    """Counts and times every HTTP request except the scrape of the metrics themselves."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, skip: tuple[str, ...] = ("/metrics",)) -> None:
        self.app, self.metrics, self.skip = app, metrics, skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(self.skip):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        async def timed(message: Message) -> None:
            nonlocal observed
            if message["type"] == "http.response.start" and not observed:
                observed = True
                self._observe(scope, int(message["status"]), time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, timed)
        except BaseException:
            if not observed:  # no response began: the server's failure (or the client went away)
                self._observe(scope, 500, time.perf_counter() - started)
            raise

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route, method = route_of(scope), scope["method"]
        self.metrics.requests.labels(self.metrics.app, route, method, f"{status // 100}xx").inc()
        self.metrics.latency.labels(self.metrics.app, route, method).observe(seconds)
