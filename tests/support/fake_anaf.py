"""A local HTTP server that answers like ANAF's PlatitorTvaRest v9 service.

Companies come from ``tests/fixtures/anaf/companies.json``; unknown CUIs go to
``notFound``. ``script`` queues behaviours for the next calls: ``"ok"``,
``"timeout"`` (sleeps past the client's timeout), ``"500"``, ``"503"``,
``"429"`` (with ``Retry-After``), ``"malformed"`` (broken JSON),
``"404-json"`` (HTTP 404 with a valid body, which ANAF really does) and
``"maintenance"`` (an HTML page). Every request is recorded with its time.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from infra.net import free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anaf" / "companies.json"
TVA_PATH = "/api/PlatitorTvaRest/v9/tva"


@dataclass
class RecordedCall:
    at: float
    body: Any
    status: int | None = None  # set once the answer is sent


@dataclass
class FakeAnaf:
    timeout_sleep_s: float = 2.0
    script: deque[str] = field(default_factory=deque)
    calls: list[RecordedCall] = field(default_factory=list)
    companies: dict[int, dict[str, Any]] = field(default_factory=dict)
    port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if not self.companies:
            self.companies = {c["date_generale"]["cui"]: c for c in json.loads(FIXTURES.read_text())}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _tva(self, request: Request) -> Response:
        raw = await request.body()
        behaviour = self.script.popleft() if self.script else "ok"
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = None
        call = RecordedCall(time.monotonic(), body)
        self.calls.append(call)
        response = await self._answer(behaviour, body)
        call.status = response.status_code
        return response

    async def _answer(self, behaviour: str, body: Any) -> Response:
        if behaviour == "timeout":
            await asyncio.sleep(self.timeout_sleep_s)
        if behaviour in ("500", "503"):
            return JSONResponse({"cod": int(behaviour), "message": "Eroare interna"}, status_code=int(behaviour))
        if behaviour == "429":
            return Response("Too Many Requests", status_code=429, headers={"Retry-After": "0.2"})
        if behaviour == "malformed":
            return Response('{"cod":200,"message":"SUCCESS","found":[{"date_gen', media_type="application/json")
        if behaviour == "maintenance":
            return HTMLResponse("<html><body>Sistemul este in mentenanta</body></html>")
        if not isinstance(body, list) or not body or len(body) > 100:
            return JSONResponse({"cod": 400, "message": "Lista de CUI-uri invalida (1-100 elemente)"}, status_code=400)
        found, not_found = [], []
        for item in body:
            cui, day = int(item["cui"]), item["data"]
            company = self.companies.get(cui)
            if company is None:
                not_found.append(cui)
            else:
                entry = json.loads(json.dumps(company))
                entry["date_generale"]["data"] = day
                found.append(entry)
        payload = {"cod": 200, "message": "SUCCESS", "found": found, "notFound": not_found}
        return JSONResponse(payload, status_code=404 if behaviour == "404-json" else 200)

    def start(self) -> FakeAnaf:
        self.port = free_port()
        app = Starlette(routes=[Route(TVA_PATH, self._tva, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="fake-anaf")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake ANAF server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
