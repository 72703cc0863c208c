"""PostgreSQL: pool, tenancy (forced RLS), embedded server, bootstrap and the Alembic migrations of every schema."""


def rows_changed(status: str) -> int:
    """Rows an ``INSERT``/``UPDATE``/``DELETE`` changed, from asyncpg's command tag (``UPDATE 3``)."""
    return int(str(status).split()[-1])
