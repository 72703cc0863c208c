"""Signed, expiring tracking tokens: open pixel, click redirect, unsubscribe.

A token is ``base64url(json).base64url(hmac-sha256)[:22 bytes]``. It names the tenant, the delivery and, for a
click, the URL taken from that message's own content: the server signed it when it rendered the message, so a
click redirects only to links the message contained (no open redirect). A forged, altered or expired token
does not parse: the routes answer 404 and reveal nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import orjson

from infra.db.tenancy import TenantContext, TenantContextError

MAC_BYTES = 16


class TokenKind(StrEnum):
    OPEN = "o"
    CLICK = "c"
    UNSUBSCRIBE = "u"


@dataclass(frozen=True, slots=True)
class TrackingToken:
    kind: TokenKind
    tenant: TenantContext
    delivery_id: UUID
    expires_at: int
    url: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest()[:MAC_BYTES])


def sign(token: TrackingToken, secret: bytes) -> str:
    payload = {
        "k": token.kind.value,
        "t": token.tenant.tid,
        "m": token.tenant.mid,
        "w": token.tenant.whid,
        "d": token.delivery_id.hex,
        "e": token.expires_at,
    }
    if token.url is not None:
        payload["u"] = token.url
    body = _b64(orjson.dumps(payload))
    return f"{body}.{_mac(secret, body)}"


def verify(text: str, secret: bytes, *, kind: TokenKind, now: float | None = None) -> TrackingToken | None:
    """The token if it is genuine, of ``kind`` and not expired; otherwise ``None`` (the caller answers 404)."""
    if len(text) > 4096 or not text.isascii():
        return None
    body, _, mac = text.partition(".")
    if not body or not mac or not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    try:
        payload = orjson.loads(_unb64(body))
        parsed = TrackingToken(
            kind=TokenKind(payload["k"]),
            tenant=TenantContext(tid=payload["t"], mid=payload["m"], whid=payload.get("w")),
            delivery_id=UUID(hex=payload["d"]),
            expires_at=int(payload["e"]),
            url=payload.get("u"),
        )
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError, TenantContextError):
        return None
    if parsed.kind is not kind or parsed.expires_at < (now if now is not None else time.time()):
        return None
    return parsed


SIGNATURE_TOLERANCE_S = 300


def webhook_key(secret: bytes, tenant: TenantContext) -> str:
    """The HMAC key a provider signs a tenant's bounce/complaint webhooks with (shown to the tenant's admins)."""
    scope = f"webhook:{tenant.tid}:{tenant.mid}:{tenant.whid or ''}".encode()
    return hmac.new(secret, scope, hashlib.sha256).hexdigest()


def webhook_signature(key: str, body: bytes, timestamp: int) -> str:
    """``X-Vettify-Signature`` value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``."""
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_signature_valid(key: str, body: bytes, header: str | None, *, now: float | None = None) -> bool:
    """A genuine signature made within :data:`SIGNATURE_TOLERANCE_S` (replays of old bodies are refused too)."""
    if not header:
        return False
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_TOLERANCE_S:
        return False
    expected = webhook_signature(key, body, timestamp).partition(",v1=")[2]
    return hmac.compare_digest(expected, fields.get("v1", ""))
