"""PostgreSQL: pool, tenancy (forced RLS), embedded server, bootstrap and the Alembic migrations of every schema."""
