"""``GET /dashboard/slo``: the deployed spec's model objectives as the System view's budget table reads them."""

from __future__ import annotations

from pathlib import Path

import httpx

from dashboard.app import create_app
from tests.integration.dashboard.conftest import TEST_LIVE, Dashboard
from tests.support.asgi_thread import served
from tests.support.databases import ProvisionedDatabase


def test_the_shipped_specs_indicators_need_a_reader(dashboard: Dashboard) -> None:
    assert httpx.get(f"{dashboard.url}/slo", timeout=30).status_code == 401
    answer = httpx.get(f"{dashboard.url}/slo", headers={"Authorization": f"Bearer {dashboard.token('t-slo')}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["spec"] == "slo.yaml"
    by_slo = {i["slo"]: i for i in body["indicators"]}
    assert by_slo["sentiment-p95"]["kind"] == "latency" and by_slo["sentiment-p95"]["le"] == "0.25"
    assert by_slo["sentiment-p95"]["budget"] == 0.05
    assert by_slo["embedding-errors"]["kind"] == "errors" and by_slo["embedding-errors"]["bad_label"] == "outcome"
    assert "resource_exhausted" in by_slo["embedding-errors"]["bad_values"]
    assert by_slo["sentiment-errors"]["objective"] == "sentiment-http,sentiment-grpc"
    assert by_slo["crm-p95"]["scrape"] == "/v1/crm/metrics" and by_slo["crm-p95"]["exclude"] == {"route": "unmatched"}
    assert by_slo["events-p95"]["labels"] == {"app": "gateway", "route": "/v1/events", "method": "POST"}
    assert by_slo["events-p95"]["le"] == "1.0"  # the ingestion lag promise, read as the answer time
    assert body["measured_by_runs_only"] == ["call-transcription", "video-call-frames", "sentiment-replica-kill"]


def test_a_broken_spec_is_reported_not_a_server_error(
    dashboard: Dashboard, migrated_database: ProvisionedDatabase, tmp_path: Path
) -> None:
    broken = tmp_path / "slo.yaml"
    broken.write_text("objectives: [{name: x, kind: model}]\n")
    settings = dashboard.settings.model_copy(update={"slo_spec": broken})
    app = create_app(settings, database_url=migrated_database.urls.app, live=TEST_LIVE)
    with served(app, name="dashboard-broken-slo") as url:
        answer = httpx.get(f"{url}/slo", headers={"Authorization": f"Bearer {dashboard.token('t-slo')}"}, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["indicators"] == [] and "model: Field required" in answer.json()["problem"]
