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

from crm_core.core.config import Settings
from crm_core.core.errors import VettifyError
from crm_core.db.tenancy import TenantContext, TenantContextError

SCOPES = ("crm:read", "crm:write", "crm:admin", "marketing:send", "events:write", "insights:read")
DEFAULT_TTL_S = 3600


class Unauthorized(VettifyError):
    status, code = 401, "unauthorized"


class Forbidden(VettifyError):
    status, code = 403, "forbidden"


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
        raise Unauthorized("the token has expired: get a new one") from exc
    except (jwt.PyJWTError, OSError) as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        tenant = TenantContext(tid=claims.get("tid"), mid=claims.get("mid"), whid=claims.get("whid"))  # type: ignore[arg-type]
    except TenantContextError as exc:
        raise Unauthorized(f"token carries no valid tenant: {exc}") from exc
    raw_scopes = claims.get("scopes", claims.get("scope", ""))
    scopes = raw_scopes.split() if isinstance(raw_scopes, str) else list(raw_scopes)
    roles = claims.get("roles", [])
    return Principal(
        sub=str(claims["sub"]),
        tenant=tenant,
        roles=frozenset(str(r) for r in roles),
        scopes=frozenset(str(s) for s in scopes),
    )
