"""Bring a PostgreSQL server to a ready state: database, migrations, login role.

Used by ``vettify up`` (embedded default) and by the test harness. Against a
server you run yourself, create the login role once as shown in the README and
run ``vettify db upgrade``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import asyncpg

from infra.db import migrate

logger = logging.getLogger(__name__)

APP_ROLE = "vettify_app"
RELAY_ROLE = "vettify_relay"
DEFAULT_LOGIN_ROLE = "vettify_api"
DEFAULT_WORKER_LOGIN = "vettify_worker_api"
WORKER_ROLE = "vettify_worker"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class DatabaseUrls:
    admin: str  # schema owner: migrations only
    app: str  # non-owner member of vettify_app: everything else
    worker: str | None = None  # member of vettify_relay and vettify_worker: background jobs


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid identifier {name!r}: use lower-case letters, digits and _")
    return name


async def ensure_database(maintenance_dsn: str, name: str) -> None:
    """``CREATE DATABASE name`` unless it exists (connects to the maintenance db)."""
    conn = await asyncpg.connect(maintenance_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{_checked_name(name)}"')
            logger.info("created database %s", name)
    finally:
        await conn.close()


async def ensure_login_role(
    admin_dsn: str, login: str = DEFAULT_LOGIN_ROLE, password: str | None = None, member_of: str = APP_ROLE
) -> None:
    """A LOGIN role that is a member of ``member_of`` and can bypass nothing.

    Without ``password`` the role relies on the server's auth rules (the embedded
    server trusts loopback connections only).
    """
    conn = await asyncpg.connect(admin_dsn)
    try:
        login = _checked_name(login)
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", login)
        if not exists:
            await conn.execute(f"CREATE ROLE {login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        if password is not None:
            # Utility statements take no bind parameters; quote_literal does the escaping.
            quoted = await conn.fetchval("SELECT quote_literal($1::text)", password)
            await conn.execute(f"ALTER ROLE {login} PASSWORD {quoted}")
        await conn.execute(f"GRANT {_checked_name(member_of)} TO {login}")
    finally:
        await conn.close()


async def prepare_embedded_database(
    server_dsn_for: DsnFactory, database: str = "vettify", login: str = DEFAULT_LOGIN_ROLE
) -> DatabaseUrls:
    """Create ``database``, migrate it to head and return owner and app DSNs."""
    await ensure_database(server_dsn_for(database="postgres"), database)
    admin = server_dsn_for(database=database)
    await migrate.upgrade_async(admin)
    await ensure_login_role(admin, login)
    await ensure_login_role(admin, DEFAULT_WORKER_LOGIN, member_of=RELAY_ROLE)
    await ensure_login_role(admin, DEFAULT_WORKER_LOGIN, member_of=WORKER_ROLE)
    return DatabaseUrls(
        admin=admin,
        app=server_dsn_for(database=database, user=login),
        worker=server_dsn_for(database=database, user=DEFAULT_WORKER_LOGIN),
    )


class DsnFactory:
    """Builds DSNs for one server: ``factory(database=..., user=...)``."""

    def __init__(self, host: str, port: int, superuser: str = "postgres") -> None:
        self.host, self.port, self.superuser = host, port, superuser

    def __call__(self, *, database: str, user: str | None = None) -> str:
        return f"postgresql://{user or self.superuser}@{self.host}:{self.port}/{database}"
