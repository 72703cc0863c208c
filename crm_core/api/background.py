"""Starts and stops the CRM core's event plumbing with the application.

* the bus: RabbitMQ when ``VETTIFY_AMQP_URL`` is set, else in-process;
* the outbox relay, when a relay DSN is known (``VETTIFY_RELAY_DATABASE_URL``;
  ``vettify up`` creates one for the embedded database);
* the sequence runner (automations), when a worker DSN is known;
* the erasure runner (right to be forgotten) and the retention job (every ``VETTIFY_RETENTION_INTERVAL_S``),
  when a worker DSN is known;
* the lead-scoring retrainer (tenants whose last training is older than ``VETTIFY_LEAD_SCORING_RETRAIN_S``),
  when a worker DSN is known;
* the campaign delivery worker, when a worker DSN and ``VETTIFY_SMTP_URL`` are known (``vettify up`` starts a
  local SMTP sink and sets it);
* the consumer of ``sales.order.created`` / ``wms.shipment.delivered``, unless the streams' ``orders`` queue
  applies them (``VETTIFY_CRM_CONSUMES_EVENTS=false``; the engine's model application sets it): exactly one
  queue applies each order.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_core.anaf.client import AnafClient
from crm_core.delivery.personalise import Personaliser
from crm_core.delivery.worker import build_worker
from crm_core.events.consumers import CONSUMED, CrmEventConsumer
from crm_core.privacy.erasure import ErasureRunner
from crm_core.privacy.retention import RetentionRunner
from crm_core.sequences.runner import SequenceRunner
from crm_core.services.compliance import ComplianceWorker
from crm_core.services.lead_models import LeadScoringRetrainer
from infra.db.pool import create_pool
from infra.events.bus import EventBus, InProcessBus, RabbitMQBus
from infra.events.rabbitmq import RabbitMQConsumer, envelope_handler
from infra.events.relay import OutboxRelay
from infra.loops import BackgroundLoop
from infra.settings import Settings

logger = logging.getLogger(__name__)

CRM_QUEUE = "crm.core.orders"


@asynccontextmanager
async def background_services(
    settings: Settings,
    pool: asyncpg.Pool,
    worker_dsn: str | None,
    anaf: AnafClient,
    redis: Any,
    personaliser: Personaliser | None = None,
    *,
    audit_key: Ed25519PrivateKey | None = None,
) -> AsyncIterator[EventBus | InProcessBus]:
    async with contextlib.AsyncExitStack() as stack:
        bus = await _bus(settings, pool, stack)
        if worker_dsn:
            worker_pool = await create_pool(worker_dsn, settings, min_size=1, max_size=3)
            stack.push_async_callback(worker_pool.close)
            loops: list[BackgroundLoop] = [
                OutboxRelay(worker_pool, bus),
                ComplianceWorker(worker_pool, anaf, interval_s=settings.anaf_recheck_interval_s),
            ]
            loops.append(SequenceRunner(pool, worker_pool))
            if audit_key is not None:
                loops.append(ErasureRunner(pool, worker_pool, key=audit_key, redis=redis))
            loops.append(RetentionRunner(pool, worker_pool, idle_sleep_s=settings.retention_interval_s))
            loops.append(LeadScoringRetrainer(pool, worker_pool, every_s=settings.lead_scoring_retrain_s))
            if settings.smtp_url:
                delivery = build_worker(settings, pool, worker_pool, redis, personaliser=personaliser)
                stack.push_async_callback(delivery.smtp.close)
                loops.append(delivery)
            else:
                logger.warning("campaign delivery disabled: set VETTIFY_SMTP_URL (vettify up starts a local SMTP sink)")
            for loop in loops:
                loop.start()
                stack.push_async_callback(loop.stop)  # stopped in reverse order, before the pool closes
        else:
            logger.warning(
                "outbox relay, ANAF re-checks and campaign delivery disabled: set VETTIFY_WORKER_DATABASE_URL to "
                "publish crm.* events, check companies and deliver campaigns in the background"
            )
        yield bus


async def _bus(settings: Settings, pool: asyncpg.Pool, stack: contextlib.AsyncExitStack) -> EventBus | InProcessBus:
    """RabbitMQ (and the CRM's order consumer on it) when configured, else the in-process bus; closed by ``stack``."""
    consumer = CrmEventConsumer(pool)
    bus: EventBus | InProcessBus
    if settings.amqp_url:
        bus = RabbitMQBus(settings.amqp_url)
        stack.push_async_callback(bus.close)
        if settings.crm_consumes_events:
            rabbit_consumer = RabbitMQConsumer(
                settings.amqp_url,
                queues={CRM_QUEUE: CONSUMED},
                handler=envelope_handler(consumer.handle),
                in_order=True,  # a delivery that names only its order finds the account through the order's link
            )
            await rabbit_consumer.start()
            stack.push_async_callback(rabbit_consumer.stop)
        return bus
    bus = InProcessBus()
    stack.push_async_callback(bus.close)
    for event_type in CONSUMED:
        bus.subscribe(event_type, consumer.handle)
    return bus
