"""Databases for tests: a server handle and throwaway databases on it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from infra.db.bootstrap import DatabaseUrls, ensure_database
from infra.db.migrate import upgrade_async


@dataclass(frozen=True)
class PostgresServer:
    """A server the tests may create databases on, as a superuser."""

    superuser_dsn: str  # any database; the path part is replaced

    def dsn(self, database: str, user: str | None = None, password: str | None = None) -> str:
        parts = urlsplit(self.superuser_dsn)
        netloc = parts.netloc
        if user is not None:
            host = netloc.split("@")[-1]
            netloc = f"{user}:{password}@{host}" if password else f"{user}@{host}"
        return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


@dataclass(frozen=True)
class ProvisionedDatabase:
    """A database made for tests (owner DSN; ``urls.app`` once a login role exists)."""

    name: str
    urls: DatabaseUrls


async def create_test_database(server: PostgresServer, *, migrate: bool) -> ProvisionedDatabase:
    name = f"vettify_test_{secrets.token_hex(4)}"
    await ensure_database(server.dsn("postgres"), name)
    admin = server.dsn(name)
    if migrate:
        await upgrade_async(admin)
    return ProvisionedDatabase(name=name, urls=DatabaseUrls(admin=admin, app=""))


async def drop_test_database(server: PostgresServer, name: str) -> None:
    conn = await asyncpg.connect(server.dsn("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
