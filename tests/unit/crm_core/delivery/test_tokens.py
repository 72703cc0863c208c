"""Tracking tokens and webhook signatures: genuine ones parse, forged, altered or stale ones do not."""

from __future__ import annotations

import time
import uuid

from crm_core.delivery.tokens import (
    TokenKind,
    TrackingToken,
    sign,
    verify,
    webhook_key,
    webhook_signature,
    webhook_signature_valid,
)
from infra.db.tenancy import TenantContext

SECRET = b"k" * 32
TENANT = TenantContext(tid="t-1", mid="m-1", whid=None)


def token(kind: TokenKind = TokenKind.CLICK, expires_in: int = 3600) -> TrackingToken:
    return TrackingToken(kind, TENANT, uuid.uuid4(), int(time.time()) + expires_in, url="https://shop.ro/a?b=1&c=2")


def test_round_trip() -> None:
    original = token()
    assert verify(sign(original, SECRET), SECRET, kind=TokenKind.CLICK) == original


def test_forged_altered_expired_or_other_kind_do_not_parse() -> None:
    good = sign(token(), SECRET)
    body, _, mac = good.partition(".")
    assert verify(sign(token(), b"other" * 8), SECRET, kind=TokenKind.CLICK) is None
    assert verify(body[:-2] + "AA." + mac, SECRET, kind=TokenKind.CLICK) is None
    assert verify(good + "x", SECRET, kind=TokenKind.CLICK) is None
    assert verify("not-a-token", SECRET, kind=TokenKind.CLICK) is None
    assert verify("Vz\U00025475M\u00ae.\u00ab", SECRET, kind=TokenKind.CLICK) is None  # non-ASCII: not ours
    assert verify(good, SECRET, kind=TokenKind.OPEN) is None
    assert verify(sign(token(expires_in=-1), SECRET), SECRET, kind=TokenKind.CLICK) is None


def test_webhook_signature() -> None:
    key = webhook_key(SECRET, TENANT)
    assert key != webhook_key(SECRET, TenantContext(tid="t-2", mid="m-1"))
    body = b'{"events": []}'
    now = int(time.time())
    header = webhook_signature(key, body, now)
    assert webhook_signature_valid(key, body, header)
    assert not webhook_signature_valid(key, body + b" ", header)
    assert not webhook_signature_valid(key, body, webhook_signature(key, body, now - 3600))
    assert not webhook_signature_valid(key, body, None)
    assert not webhook_signature_valid(key, body, "t=abc,v1=00")
