"""Starts and stops the CRM core's event plumbing with the application.

* the bus: RabbitMQ when ``VETTIFY_AMQP_URL`` is set, else in-process;
* the outbox relay, when a relay DSN is known (``VETTIFY_RELAY_DATABASE_URL``;
  ``vettify up`` creates one for the embedded database);
* the consumer of ``sales.order.created`` / ``wms.shipment.delivered``, unless the streams' ``orders`` queue
  applies them (``VETTIFY_CRM_CONSUMES_EVENTS=false``; the engine's model application sets it): exactly one
  queue applies each order.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from crm_core.anaf.client import AnafClient
from crm_core.events.consumers import CONSUMED, CrmEventConsumer
from crm_core.services.compliance import ComplianceWorker
from infra.db.pool import create_pool
from infra.events.bus import EventBus, InProcessBus, RabbitMQBus
from infra.events.rabbitmq import RabbitMQConsumer, envelope_handler
from infra.events.relay import OutboxRelay
from infra.settings import Settings

logger = logging.getLogger(__name__)

CRM_QUEUE = "crm.core.orders"


@asynccontextmanager
async def background_services(
    settings: Settings, pool: asyncpg.Pool, worker_dsn: str | None, anaf: AnafClient
) -> AsyncIterator[EventBus | InProcessBus]:
    consumer = CrmEventConsumer(pool)
    bus: EventBus | InProcessBus
    rabbit_consumer: RabbitMQConsumer | None = None
    if settings.amqp_url:
        bus = RabbitMQBus(settings.amqp_url)
        if settings.crm_consumes_events:
            rabbit_consumer = RabbitMQConsumer(
                settings.amqp_url,
                queues={CRM_QUEUE: CONSUMED},
                handler=envelope_handler(consumer.handle),
                in_order=True,  # a delivery that names only its order finds the account through the order's link
            )
            await rabbit_consumer.start()
    else:
        bus = InProcessBus()
        for event_type in CONSUMED:
            bus.subscribe(event_type, consumer.handle)
    worker_pool: asyncpg.Pool | None = None
    relay: OutboxRelay | None = None
    compliance: ComplianceWorker | None = None
    if worker_dsn:
        worker_pool = await create_pool(worker_dsn, settings, min_size=1, max_size=3)
        relay = OutboxRelay(worker_pool, bus)
        relay.start()
        compliance = ComplianceWorker(worker_pool, anaf, interval_s=settings.anaf_recheck_interval_s)
        compliance.start()
    else:
        logger.warning(
            "outbox relay and ANAF re-checks disabled: set VETTIFY_WORKER_DATABASE_URL to publish crm.* events "
            "and check companies in the background"
        )
    try:
        yield bus
    finally:
        if compliance is not None:
            await compliance.stop()
        if relay is not None:
            await relay.stop()
        if worker_pool is not None:
            await worker_pool.close()
        if rabbit_consumer is not None:
            await rabbit_consumer.stop()
        await bus.close()
