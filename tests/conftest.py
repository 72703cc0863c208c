"""Session-scoped real services for the whole suite.

Servers start on first use and stop at the end of the session. PostgreSQL is an
embedded, non-durable server unless ``VETTIFY_TEST_DATABASE_URL`` points at one
you run (a superuser DSN; each session creates and drops its own databases).
A server that cannot start fails the tests that need it, with the reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infra import tracing
from infra.db.bootstrap import RELAY_ROLE, WORKER_ROLE, DatabaseUrls, ensure_login_role
from infra.db.embedded import EmbeddedPostgres, EmbeddedPostgresError
from infra.db.pool import create_pool
from infra.local_servers import RunningServer, ServiceStartError, start_rabbitmq, start_redis, start_tansu
from infra.settings import Settings
from tests.support.databases import (
    PostgresServer,
    ProvisionedDatabase,
    create_test_database,
    drop_test_database,
)

TEST_LOGIN_ROLE = "vettify_test_app"
TEST_WORKER_ROLE = "vettify_test_worker"


# --- Tracing --------------------------------------------------------------------
# The whole suite runs with tracing on, as a deployment with a collector would, sampling no new traces: only a
# request that sends a sampled traceparent is recorded. Spans made in this process land in SPANS; the Serve
# stack's processes export theirs over OTLP to the session's collector (tests/integration/conftest.py).
SPANS = InMemorySpanExporter()


def pytest_configure(config: pytest.Config) -> None:
    tracing.configure(exporter=SPANS, sample_ratio=0.0, batched=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests are unit or integration by the folder they live in."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        elif "unit" in parts:
            item.add_marker(pytest.mark.unit)


# --- PostgreSQL -----------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    external = os.environ.get("VETTIFY_TEST_DATABASE_URL")
    if external:
        yield PostgresServer(external)
        return
    server = EmbeddedPostgres(data_dir=tmp_path_factory.mktemp("pg") / "data", durable=False)
    try:
        server.start()
    except (EmbeddedPostgresError, OSError) as exc:
        pytest.fail(f"PostgreSQL (embedded) could not start: {exc}", pytrace=False)
    try:
        yield PostgresServer(server.dsn)
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def migrated_database(postgres_server: PostgresServer) -> AsyncIterator[ProvisionedDatabase]:
    """One database at migration head for the session, with a non-owner login role."""
    db = await create_test_database(postgres_server, migrate=True)
    password = secrets.token_urlsafe(16)
    await ensure_login_role(db.urls.admin, TEST_LOGIN_ROLE, password=password)
    await ensure_login_role(db.urls.admin, TEST_WORKER_ROLE, password=password, member_of=RELAY_ROLE)
    await ensure_login_role(db.urls.admin, TEST_WORKER_ROLE, password=password, member_of=WORKER_ROLE)
    urls = DatabaseUrls(
        admin=db.urls.admin,
        app=postgres_server.dsn(db.name, user=TEST_LOGIN_ROLE, password=password),
        worker=postgres_server.dsn(db.name, user=TEST_WORKER_ROLE, password=password),
    )
    yield ProvisionedDatabase(name=db.name, urls=urls)
    await drop_test_database(postgres_server, db.name)


@pytest.fixture
async def empty_database(postgres_server: PostgresServer) -> AsyncIterator[ProvisionedDatabase]:
    """A fresh database with no migrations applied, dropped afterwards."""
    db = await create_test_database(postgres_server, migrate=False)
    yield db
    await drop_test_database(postgres_server, db.name)


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("vettify-data"), db_pool_min_size=1)


@pytest.fixture(scope="session")
async def app_pool(migrated_database: ProvisionedDatabase, test_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Pool connected as the application (non-owner) role: RLS applies."""
    pool = await create_pool(migrated_database.urls.app, test_settings, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def worker_pool(migrated_database: ProvisionedDatabase, test_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Background-jobs pool: cross-tenant on crm.outbox and the compliance columns only."""
    assert migrated_database.urls.worker is not None
    pool = await create_pool(migrated_database.urls.worker, test_settings, max_size=2)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def admin_pool(migrated_database: ProvisionedDatabase, test_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Superuser/owner pool for seeding and inspection (bypasses RLS)."""
    pool = await create_pool(migrated_database.urls.admin, test_settings, max_size=3)
    yield pool
    await pool.close()


# --- Redis, RabbitMQ, Kafka protocol ----------------------------------------
def _started(start: Callable[[Path], RunningServer], workdir: Path) -> RunningServer:
    try:
        server = start(workdir)
    except ServiceStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = _started(start_redis, tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = _started(start_rabbitmq, tmp_path_factory.mktemp("rabbitmq"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = _started(start_tansu, tmp_path_factory.mktemp("tansu"))
    yield server
    server.stop()
