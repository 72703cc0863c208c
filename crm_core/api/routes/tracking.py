"""What recipients' mail clients call: the open pixel, click redirects and the unsubscribe page (no sign-in).

A token that is forged, altered, expired or names a delivery that does not exist gets 404 with nothing else.
``POST /t/u/{token}`` is RFC 8058 one-click unsubscribe (what Gmail's and Apple's unsubscribe buttons send);
``GET /t/u/{token}`` shows a page with a button that posts it, so a link scanner that follows the link
unsubscribes nobody.
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_core.api.deps import PoolDep
from crm_core.delivery import tracking
from crm_core.delivery.tokens import TokenKind, TrackingToken, verify
from infra.db.tenancy import tenant_transaction
from infra.errors import NotFound

router = APIRouter(prefix="/t", tags=["tracking"], include_in_schema=True)

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Referrer-Policy": "no-referrer"}
UserAgent = Annotated[str | None, Header(alias="User-Agent")]


def _token(request: Request, text: str, kind: TokenKind) -> TrackingToken:
    token = verify(text, request.app.state.delivery_config.secret, kind=kind)
    if token is None:
        raise NotFound("not found")
    return token


async def _delivery(conn: asyncpg.Connection, token: TrackingToken) -> tracking.Delivery:
    found = await tracking.delivery(conn, token.tenant, token.delivery_id)
    if found is None:
        raise NotFound("not found")
    return found


@router.get("/o/{token}.gif", response_class=Response, summary="Open pixel")
async def open_pixel(token: str, request: Request, pool: PoolDep, user_agent: UserAgent = None) -> Response:
    parsed = _token(request, token, TokenKind.OPEN)
    async with tenant_transaction(pool, parsed.tenant) as conn:
        delivery = await _delivery(conn, parsed)
        await tracking.record_open(conn, parsed.tenant, delivery, user_agent=user_agent, now=datetime.now(UTC))
    return Response(PIXEL_GIF, media_type="image/gif", headers=NO_STORE)


@router.get("/c/{token}", response_class=RedirectResponse, status_code=302, summary="Click redirect")
async def click(token: str, request: Request, pool: PoolDep, user_agent: UserAgent = None) -> RedirectResponse:
    parsed = _token(request, token, TokenKind.CLICK)
    if not parsed.url:
        raise NotFound("not found")
    async with tenant_transaction(pool, parsed.tenant) as conn:
        delivery = await _delivery(conn, parsed)
        await tracking.record_click(
            conn, parsed.tenant, delivery, url=parsed.url, user_agent=user_agent, now=datetime.now(UTC)
        )
    return RedirectResponse(parsed.url, status_code=302, headers=NO_STORE)


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width"><title>{title}</title></head><body style="font-family:sans-serif;max-width:32rem;
margin:4rem auto;padding:0 1rem"><h1>{title}</h1><p>{text}</p>{form}</body></html>"""


@router.get("/u/{token}", response_class=HTMLResponse, summary="Unsubscribe page")
async def unsubscribe_page(token: str, request: Request, pool: PoolDep) -> HTMLResponse:
    parsed = _token(request, token, TokenKind.UNSUBSCRIBE)
    async with tenant_transaction(pool, parsed.tenant, readonly=True) as conn:
        delivery = await _delivery(conn, parsed)
    form = (  # no action: the form posts back to this very URL, whatever prefix a proxy mounted the app under
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    text = f"Stop marketing e-mail to {html.escape(delivery.email or 'this address')}?"
    return HTMLResponse(PAGE.format(title="Unsubscribe", text=text, form=form), headers=NO_STORE)


@router.post("/u/{token}", response_class=HTMLResponse, summary="One-click unsubscribe (RFC 8058)")
async def unsubscribe(token: str, request: Request, pool: PoolDep) -> HTMLResponse:
    parsed = _token(request, token, TokenKind.UNSUBSCRIBE)
    async with tenant_transaction(pool, parsed.tenant) as conn:
        delivery = await _delivery(conn, parsed)
        await tracking.unsubscribe(conn, parsed.tenant, delivery, source="one_click", now=datetime.now(UTC))
    text = f"{html.escape(delivery.email or 'This address')} will get no more marketing e-mail from us."
    return HTMLResponse(PAGE.format(title="You are unsubscribed", text=text, form=""), headers=NO_STORE)
