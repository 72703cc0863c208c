"""``GET /metrics`` of the CRM app: requests and latency per route template, what the SLO rules read."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_requests_are_counted_per_route_template_and_status_class(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    created = await api.post("/v1/crm/accounts", json={"name": "Metrici SRL"}, headers=tenant_headers)
    assert created.status_code == 201
    for _ in range(3):
        assert (await api.get(f"/v1/crm/accounts/{created.json()['id']}", headers=tenant_headers)).status_code == 200
    assert (await api.get(f"/v1/crm/accounts/{uuid.uuid4()}", headers=tenant_headers)).status_code == 404
    assert (await api.get("/v1/crm/no-such-thing", headers=tenant_headers)).status_code == 404

    page = await api.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    samples = _samples(page.text)
    route = "/v1/crm/accounts/{item_id}"

    def count(code: str, path: str = route) -> float:
        labels = frozenset({"app": "crm", "route": path, "method": "GET", "code": code}.items())
        return samples.get(("vettify_http_requests_total", labels), 0.0)

    assert count("2xx") >= 3 and count("4xx") >= 1  # ids never become labels
    assert count("4xx", "unmatched") >= 1
    timed = frozenset({"app": "crm", "route": route, "method": "GET"}.items())
    assert samples[("vettify_http_request_seconds_count", timed)] >= 4
    assert not any(dict(labels).get("route") == "/metrics" for _, labels in samples)  # the scrape is not counted
