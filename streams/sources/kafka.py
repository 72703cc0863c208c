"""Kafka source (faust-streaming): one topic per consumed event type, offsets committed after the write.

The faust app declares every topic up front (``partitions`` each) and runs one
agent over all of them with ``concurrency`` actors. Acks are manual
(``stream.noack()``): an event is acked only after the core stored,
deduplicated or dead-lettered it, and faust commits only offsets below which
every event is acked. A transient failure is retried in place with backoff
(the partition waits: Kafka's order is kept); a worker that dies or stops mid-
event never commits that offset, so the event is read again after a restart and
the ledger makes the second read a no-op if the first one committed.

Producers key messages by the entity whose order matters (account, brand,
session) so that those events share a partition.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.trace import SpanKind

from infra import tracing
from streams.core import StreamProcessor
from streams.schemas import CONSUMED

logger = logging.getLogger(__name__)


class KafkaSource:
    def __init__(
        self,
        bootstrap: str,
        processor: StreamProcessor,
        *,
        app_id: str = "vettify-streams",
        topics: Sequence[str] = tuple(CONSUMED),
        partitions: int = 4,
        concurrency: int = 64,
        retry_delay_s: float = 1.0,
        max_retry_delay_s: float = 30.0,
        fast_rebalance: bool = False,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        """``fast_rebalance``: short session/rebalance timeouts (tests, one-process demos).

        ``fetch_max_wait_ms``: how long the broker may hold a fetch for more data. faust fixes it at
        1.5 s, which brokers that wait out the whole interval (tansu does) turn into 0.7 s of lag.
        """
        import faust

        self.processor = processor
        self.retry_delay_s = retry_delay_s
        self.max_retry_delay_s = max_retry_delay_s
        self.handled: dict[str, int] = {}
        options: dict[str, Any] = {
            "broker": f"kafka://{bootstrap}",
            "web_enabled": False,
            "store": "memory://",
            # faust keeps a folder per app; by default in the working directory, which is nobody's to fill
            "datadir": str(Path(tempfile.gettempdir()) / f"vettify-faust-{app_id}"),
            "topic_allow_declare": True,
            "topic_disable_leader": True,
            "consumer_auto_offset_reset": "earliest",
            "broker_commit_interval": 0.5,
            "producer_acks": -1,
        }
        if fast_rebalance:
            options.update(broker_rebalance_timeout=3, broker_session_timeout=6, broker_heartbeat_interval=1)
        self.app = faust.App(app_id, **options)
        self.app.transport.Consumer = _consumer_class(fetch_max_wait_ms)  # type: ignore[misc]
        self.topic = self.app.topic(
            *topics, key_serializer="raw", value_serializer="raw", partitions=partitions, internal=False
        )
        self.app.agent(self.topic, concurrency=concurrency, name=f"{app_id}.events")(self._agent)

    async def _agent(self, stream: Any) -> None:
        quiet = stream.noack()
        async for event in quiet.events():
            await self._process(event)
            await quiet.ack(event)

    async def _process(self, event: Any) -> None:
        if not tracing.is_on():
            await self._process_until_done(event)
            return
        message = event.message
        attributes = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": message.topic,
            "messaging.destination.partition.id": str(message.partition),
            "messaging.kafka.offset": int(message.offset),
        }
        parent = tracing.context_from(dict(message.headers or {}))  # the producer's traceparent, if it sent one
        with tracing.span(f"process {message.topic}", kind=SpanKind.CONSUMER, parent=parent, attributes=attributes):
            await self._process_until_done(event)

    async def _process_until_done(self, event: Any) -> None:
        delay = self.retry_delay_s
        source = f"kafka:{event.message.topic}"
        while True:
            try:
                result = await self.processor.handle_raw(event.value, source)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # transient: the partition waits, nothing is skipped
                logger.warning(
                    "kafka event at %s[%d]@%d failed, retrying in %.1fs: %s",
                    event.message.topic,
                    event.message.partition,
                    event.message.offset,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay_s)
                continue
            self.handled[result.outcome.value] = self.handled.get(result.outcome.value, 0) + 1
            return

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()


def _consumer_class(fetch_max_wait_ms: int) -> Any:
    """faust's aiokafka consumer with a shorter fetch wait (faust hard-codes it)."""
    from faust.transport.drivers import aiokafka as driver

    class Thread(driver.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read when the consumer starts its fetcher
            return consumer

    class Consumer(driver.Consumer):
        def _new_consumer_thread(self) -> Any:
            return Thread(self, loop=self.loop, beacon=self.beacon)

    return Consumer
