"""Sign-in tickets carry the tenant and are not API tokens."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from dashboard.login import _audience, login_link, mint_ticket
from infra.errors import Unauthorized
from infra.security import verify_token
from infra.settings import Settings


def test_a_ticket_names_the_tenant_and_is_no_api_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    ticket = mint_ticket(settings, tid="acme", mid="main", sub="ana", ttl_s=60)
    claims = jwt.decode(
        ticket, settings.jwt_secret.get_secret_value(), algorithms=["HS256"], audience=_audience(settings)
    )
    assert (claims["tid"], claims["mid"], claims["sub"]) == ("acme", "main", "ana")
    with pytest.raises(Unauthorized):
        verify_token(settings, ticket)
    assert login_link(settings, ticket) == f"http://127.0.0.1:8000/dashboard/#login={ticket}"
    with pytest.raises(ValueError, match="positive"):
        mint_ticket(settings, tid="acme", mid="main", ttl_s=0)
