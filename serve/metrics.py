"""Prometheus metrics of the gateway, per model: requests, latency, items, batch sizes, in-flight.

The gateway exposes them at ``/metrics`` in the Prometheus text format. They
live in the gateway replica's process; with several gateway replicas, scrape
each replica (or Ray's own metrics export, which Serve also feeds) rather than
the load-balanced URL.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from infra.http.metrics import LATENCY_BUCKETS

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vettify_model_requests", "Requests per model and outcome", ["model", "outcome"], registry=self.registry
        )
        self.items = Counter(
            "vettify_model_items", "Items (texts, rows) scored per model", ["model"], registry=self.registry
        )
        self.latency = Histogram(
            "vettify_model_request_seconds",
            "Gateway-observed latency per model call",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_items = Histogram(
            "vettify_model_batch_items",
            "Items in the dynamic batch a request ran in",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.inflight = Gauge(
            "vettify_model_inflight_requests",
            "Requests waiting for or running in a model deployment (queue depth seen by this gateway)",
            ["model"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        """This replica's metrics: the models' and, in the same registry, the HTTP routes' (``infra.http.metrics``)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
