"""JWT bearer tokens: who is calling, for which tenant, with which scopes.

Embedded default: HS256 with ``VETTIFY_JWT_SECRET``. Production: RS256 verified
with a PEM public key (``VETTIFY_JWT_PUBLIC_KEY_PATH``) or a JWKS endpoint
(``VETTIFY_JWT_JWKS_URL``). Claims: ``sub``, ``tid``, ``mid``, optional
``whid``, ``roles`` (list) and ``scope`` (space-separated, OAuth 2 style) or
``scopes`` (list); ``iss``, ``aud`` and ``exp`` are always checked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jwt

from infra.db.tenancy import TenantContext, TenantContextError
from infra.errors import Forbidden, Unauthorized
from infra.settings import Settings

SCOPES = (
    "crm:read",
    "crm:write",
    "crm:admin",
    "marketing:send",
    "pricing:approve",
    "events:write",
    "insights:read",
)
DEFAULT_TTL_S = 3600


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    tenant: TenantContext
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has(self, scope: str) -> bool:
        """``crm:admin`` implies every ``crm:*`` scope."""
        return scope in self.scopes or (scope.startswith("crm:") and "crm:admin" in self.scopes)


def mint_token(
    settings: Settings,
    *,
    sub: str,
    tid: str,
    mid: str,
    whid: str | None = None,
    scopes: Iterable[str] = ("crm:read", "crm:write"),
    roles: Iterable[str] = (),
    ttl_s: int = DEFAULT_TTL_S,
) -> str:
    """An HS256 token for the embedded default and for tests (``vettify token``)."""
    if ttl_s <= 0:
        raise ValueError(f"the lifetime must be a positive number of seconds, not {ttl_s}: the token would be expired")
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)}; known: {', '.join(SCOPES)}")
    TenantContext(tid=tid, mid=mid, whid=whid)  # validates the ids
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "tid": tid,
        "mid": mid,
        "scope": " ".join(sorted(set(scopes))),
        "roles": sorted(set(roles)),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if whid is not None:
        claims["whid"] = whid
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


def _key_and_algorithms(settings: Settings, token: str) -> tuple[Any, list[str]]:
    if settings.jwt_jwks_url:
        return _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key, ["RS256"]
    if settings.jwt_public_key_path:
        return settings.jwt_public_key_path.read_text(), ["RS256"]
    return settings.jwt_secret.get_secret_value(), ["HS256"]


def verify_token(settings: Settings, token: str) -> Principal:
    """Decode and check a bearer token; any problem is :class:`Unauthorized`."""
    try:
        key, algorithms = _key_and_algorithms(settings, token)
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
            leeway=30,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired: get a new one", auth_error="invalid_token") from exc
    except (jwt.PyJWTError, OSError) as exc:
        raise Unauthorized(f"invalid token: {exc}", auth_error="invalid_token") from exc
    return principal_from_claims(claims)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; anything else is :class:`Unauthorized`."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>' (mint a dev token with `vettify token`)")
    return token.strip()


def authenticate(settings: Settings, authorization: str | None, *scopes: str) -> Principal:
    """The caller of a request with this ``Authorization`` header, holding every scope listed.

    No or a bad token is :class:`Unauthorized` (401), a missing scope :class:`Forbidden` (403). The one
    check behind every protected route and gRPC method.
    """
    return require_scopes(verify_token(settings, bearer_token(authorization)), *scopes)


def require_scopes(principal: Principal, *scopes: str) -> Principal:
    """``principal`` if it holds every scope listed, else :class:`Forbidden` naming the missing ones."""
    missing = [scope for scope in scopes if not principal.has(scope)]
    if missing:
        raise Forbidden(f"this operation needs scope(s) {', '.join(missing)}", missing_scopes=missing)
    return principal


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        tenant = TenantContext(tid=claims.get("tid"), mid=claims.get("mid"), whid=claims.get("whid"))  # type: ignore[arg-type]
    except TenantContextError as exc:
        raise Unauthorized(f"token carries no valid tenant: {exc}", auth_error="invalid_token") from exc
    raw_scopes = claims.get("scopes", claims.get("scope", ""))
    scopes = raw_scopes.split() if isinstance(raw_scopes, str) else list(raw_scopes)
    roles = claims.get("roles", [])
    return Principal(
        sub=str(claims["sub"]),
        tenant=tenant,
        roles=frozenset(str(r) for r in roles),
        scopes=frozenset(str(s) for s in scopes),
    )
