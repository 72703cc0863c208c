"""JWT verification: HS256 default, RS256 with a configured public key, claim checks."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.db.tenancy import TenantContext
from infra.errors import Unauthorized
from infra.security import Principal, mint_token, verify_token
from infra.settings import Settings


def test_hs256_round_trip(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    token = mint_token(settings, sub="u1", tid="acme", mid="ro", whid="cluj", scopes=("crm:read", "marketing:send"))
    principal = verify_token(settings, token)
    assert principal.tenant == TenantContext(tid="acme", mid="ro", whid="cluj")
    assert principal.scopes == {"crm:read", "marketing:send"}


def test_unknown_scopes_cannot_be_minted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scopes"):
        mint_token(Settings(data_dir=tmp_path), sub="u", tid="t", mid="m", scopes=("crm:everything",))


def test_admin_implies_crm_scopes_but_not_marketing() -> None:
    admin = Principal(sub="a", tenant=TenantContext(tid="t", mid="m"), scopes=frozenset({"crm:admin"}))
    assert admin.has("crm:write")
    assert not admin.has("marketing:send")


def _rs256_settings(tmp_path: Path) -> tuple[Settings, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = tmp_path / "public.pem"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return Settings(data_dir=tmp_path, jwt_public_key_path=public), key


def _claims(settings: Settings, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "idp-user",
        "tid": "acme",
        "mid": "ro",
        "scopes": ["crm:read"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return claims


def test_rs256_tokens_from_an_identity_provider(tmp_path: Path) -> None:
    settings, key = _rs256_settings(tmp_path)
    token = jwt.encode(_claims(settings), key, algorithm="RS256")
    assert verify_token(settings, token).scopes == {"crm:read"}


@pytest.mark.parametrize(
    "overrides", [{"aud": "someone-else"}, {"iss": "evil"}, {"exp": int(time.time()) - 3600}, {"tid": ""}]
)
def test_rs256_claims_are_enforced(tmp_path: Path, overrides: dict[str, object]) -> None:
    settings, key = _rs256_settings(tmp_path)
    with pytest.raises(Unauthorized):
        verify_token(settings, jwt.encode(_claims(settings, **overrides), key, algorithm="RS256"))


def test_hs256_token_is_refused_when_rs256_is_configured(tmp_path: Path) -> None:
    settings, _ = _rs256_settings(tmp_path)
    forged = jwt.encode(_claims(settings), "any-shared-secret-0123456789abcdef", algorithm="HS256")
    with pytest.raises(Unauthorized):
        verify_token(settings, forged)
