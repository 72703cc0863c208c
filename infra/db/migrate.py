"""Apply, roll back and inspect Alembic migrations programmatically.

Migrations run as the schema owner (``admin_database_url``), never as the
application role. Alembic's commands are synchronous and the environment runs
its own event loop, so async callers use :func:`upgrade_async` and friends,
which run the command in a worker thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def sqlalchemy_url(dsn: str) -> str:
    """``postgresql://…`` → ``postgresql+asyncpg://…`` for SQLAlchemy."""
    for prefix in ("postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+asyncpg://" + dsn[len(prefix) :]
    if dsn.startswith("postgresql+asyncpg://"):
        return dsn
    raise ValueError(f"not a PostgreSQL DSN: {dsn.rsplit('@', maxsplit=1)[-1]!r}")


def alembic_config(dsn: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation treats '%' specially (URL-encoded passwords).
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    return config


def revisions() -> list[str]:
    """Revision ids from first to head."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/unused"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    return revisions()[-1]


def upgrade(dsn: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(dsn), revision)


def downgrade(dsn: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(dsn), revision)


async def current_revision(dsn: str) -> str | None:
    """The revision the database is at, or ``None`` for an unmigrated database."""
    engine = create_async_engine(sqlalchemy_url(dsn))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()


async def upgrade_async(dsn: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, dsn, revision)


async def downgrade_async(dsn: str, revision: str = "base") -> None:
    await asyncio.to_thread(downgrade, dsn, revision)
