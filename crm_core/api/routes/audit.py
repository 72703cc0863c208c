"""/v1/crm/audit: signed CSV export and the public key to verify it."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from crm_core.api.deps import Admins, ConnDep, CurrentUser
from crm_core.services.audit_export import export_audit, key_id, public_pem
from infra.errors import InvalidInput

router = APIRouter(prefix="/audit", tags=["audit"])

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


@router.get(
    "/export",
    dependencies=[Admins],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV; signature in X-Vettify-Signature"}},
)
async def export(
    request: Request,
    conn: ConnDep,
    user: CurrentUser,
    since: Annotated[datetime | None, Query(description="Inclusive; default 30 days ago.")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive; default now.")] = None,
) -> Response:
    """Lead conversions, stage changes, campaign sends and every other audited change, as CSV.

    `X-Vettify-Signature` carries the Ed25519 signature file (JSON, base64); check it with
    `vettify audit verify` and the key from `GET /v1/crm/audit/public-key`.
    """
    end = until or datetime.now(UTC)
    for value in (since, end):
        if value is not None and (value.tzinfo is None or not EARLIEST <= value <= LATEST):
            raise InvalidInput(
                "since and until need a timezone and a year from 2000 to 9998, e.g. 2026-11-01T00:00:00Z",
                fields=["since", "until"],
            )
    start = since or end - timedelta(days=30)
    if start >= end:
        raise InvalidInput("since must be before until", fields=["since", "until"])
    signed = await export_audit(conn, tenant=user.tenant, key=request.app.state.audit_key, since=start, until=end)
    return Response(
        signed.csv_bytes,
        media_type="text/csv; charset=utf-8",
        headers={
            "X-Vettify-Signature": base64.b64encode(signed.signature_json).decode(),
            "Content-Disposition": f'attachment; filename="audit-{user.tenant.tid}-{end:%Y%m%d}.csv"',
        },
    )


@router.get("/public-key", response_class=PlainTextResponse)
async def public_key(request: Request) -> PlainTextResponse:
    """The PEM public key that verifies audit exports (key id in X-Vettify-Key-Id)."""
    key = request.app.state.audit_key
    return PlainTextResponse(public_pem(key).decode(), headers={"X-Vettify-Key-Id": key_id(key)})
