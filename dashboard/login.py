"""One-time sign-in links for the dashboard (``vettify dashboard-login``).

The link carries a *ticket* in its URL fragment (never sent to a server or written to a proxy log): a
short-lived JWT signed like the engine's tokens but for another audience (``<jwt_audience>:dashboard-login``),
so it is useless as an API token. The page posts it once to ``/dashboard/session``; the first redemption
records its ``jti`` in Redis (``SET NX`` for the ticket's remaining life) and answers a bearer token with
the dashboard's scopes (read-only); a second redemption of the same link is refused.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import redis.asyncio as aioredis

from infra.db.tenancy import TenantContext
from infra.errors import Unauthorized
from infra.security import mint_token
from infra.settings import Settings

DASHBOARD_SCOPES = ("insights:read", "crm:read")
TICKET_TTL_S = 600
SESSION_TTL_S = 8 * 3600
USED_KEY = "vettify:dashboard:ticket:{jti}"


def _audience(settings: Settings) -> str:
    return f"{settings.jwt_audience}:dashboard-login"


def mint_ticket(
    settings: Settings,
    *,
    tid: str,
    mid: str,
    whid: str | None = None,
    sub: str = "dashboard",
    ttl_s: int = TICKET_TTL_S,
    session_ttl_s: int = SESSION_TTL_S,
) -> str:
    """A ticket for one sign-in of ``sub`` into tenant ``tid``/``mid``, valid ``ttl_s`` seconds."""
    if ttl_s <= 0 or session_ttl_s <= 0:
        raise ValueError("lifetimes must be positive numbers of seconds")
    TenantContext(tid=tid, mid=mid, whid=whid)  # validates the ids
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "tid": tid,
        "mid": mid,
        "session_ttl": session_ttl_s,
        "iss": settings.jwt_issuer,
        "aud": _audience(settings),
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if whid is not None:
        claims["whid"] = whid
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def login_link(settings: Settings, ticket: str) -> str:
    return f"{settings.public_url.rstrip('/')}/dashboard/#login={ticket}"


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: int
    tid: str
    mid: str
    sub: str


async def redeem(settings: Settings, redis: aioredis.Redis, ticket: str) -> Session:
    """The session a ticket opens, once; expired, forged or used tickets are :class:`Unauthorized`."""
    try:
        claims = jwt.decode(
            ticket,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=_audience(settings),
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "jti", "tid", "mid"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized(
            "this sign-in link has expired: ask for a new one (`vettify dashboard-login`)", auth_error="invalid_token"
        ) from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"this sign-in link is not valid: {exc}", auth_error="invalid_token") from exc
    remaining = max(1, int(claims["exp"]) - int(time.time()))
    first = await redis.set(USED_KEY.format(jti=claims["jti"]), b"1", nx=True, ex=remaining)
    if not first:
        raise Unauthorized(
            "this sign-in link was already used: ask for a new one (`vettify dashboard-login`)",
            auth_error="invalid_token",
        )
    ttl = int(claims.get("session_ttl") or SESSION_TTL_S)
    token = mint_token(
        settings,
        sub=str(claims["sub"]),
        tid=str(claims["tid"]),
        mid=str(claims["mid"]),
        whid=claims.get("whid"),
        scopes=DASHBOARD_SCOPES,
        ttl_s=ttl,
    )
    return Session(
        token=token, expires_at=int(time.time()) + ttl, tid=claims["tid"], mid=claims["mid"], sub=claims["sub"]
    )
