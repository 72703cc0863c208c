"""The one bearer-token dependency behind every protected HTTP route (CRM, models, events, insights).

Apps keep their :class:`~infra.settings.Settings` in ``app.state.settings``. ``CurrentUser`` verifies the
token once per request; ``RequireScopes(...)`` builds on it, so a route that asks for both pays one check.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from infra.security import Principal, authenticate, require_scopes
from infra.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="JWT with tid/mid/whid claims and scopes (`vettify token`)")


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


async def current_user(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Principal:
    header = None if credentials is None else f"{credentials.scheme} {credentials.credentials}"
    return authenticate(settings, header)


CurrentUser = Annotated[Principal, Depends(current_user)]


class RequireScopes:
    """Route dependency: the caller must hold every scope listed (401 without a valid token, 403 without a scope)."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes

    async def __call__(self, user: CurrentUser) -> Principal:
        return require_scopes(user, *self.scopes)
