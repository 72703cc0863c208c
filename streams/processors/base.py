"""What a processor is, the context it gets, and the one place the exactly-once order lives.

:meth:`Processor.process` runs every event the same way: skip a redelivery that already committed →
analyse (model calls, concurrently with other events) → wait for the key's turn → in one tenant
transaction: claim the event id in the ledger, check the account it names, write the rows and the
``crm.*`` outbox events. Subclasses fill in :meth:`~Processor.analyze` and :meth:`~Processor.write`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

import asyncpg

from crm_core.privacy.settings import DEFAULTS as DEFAULT_PRIVACY
from crm_core.privacy.settings import PrivacySettings, SettingsCache
from infra.db.tenancy import tenant_transaction
from infra.errors import InvalidEvent, InvalidInput, cause_of
from infra.events.envelope import Envelope
from models.reach.scorer import ReachScorer
from streams import store
from streams.models import ModelClient
from streams.ordering import Ticket

__all__ = ["Context", "InvalidEvent", "Outcome", "Processor", "model_verdicts"]

P = TypeVar("P")  # the event's payload model
A = TypeVar("A")  # what analysis produced for the write


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


@dataclass
class Context:
    """Shared by every processor of one :class:`streams.core.StreamProcessor`."""

    pool: asyncpg.Pool
    models: ModelClient
    redis: Any = None  # redis.asyncio.Redis: the churn feature store
    media_root: Path | None = None
    max_media_bytes: int = 50 * 1024 * 1024
    voice_profile_by_tenant: dict[str, str] = field(default_factory=dict)  # tid -> Whisper profile
    privacy: SettingsCache | None = None  # each tenant's redaction settings; None: the defaults for everyone
    reach: ReachScorer | None = None  # scores each post's engagement at publish; None: not scored

    async def privacy_settings(self, tid: str, mid: str) -> PrivacySettings:
        return DEFAULT_PRIVACY if self.privacy is None else await self.privacy.get(tid, mid)


class Processor(ABC, Generic[P, A]):
    """One kind of event in, rows and ``crm.*`` events out, exactly once in effect."""

    analyze_in_turn: ClassVar[bool] = False
    """True when analysis reads what earlier events of the same key wrote (a session's journey): it then waits
    for the key's turn first, instead of running concurrently with them."""

    def __init__(self, context: Context) -> None:
        self.context = context

    @abstractmethod
    def ordering_key(self, event: Envelope, payload: P) -> tuple[str, ...]:
        """Events with equal keys commit in arrival order."""

    @abstractmethod
    async def analyze(self, event: Envelope, payload: P) -> A:
        """The model work, outside any transaction. A model's verdict that the input is bad is a dead letter."""

    @abstractmethod
    async def write(self, conn: asyncpg.Connection, event: Envelope, payload: P, analysis: A) -> None:
        """Rows and outbox events, inside the event's tenant transaction, after its claim."""

    def account_of(self, payload: P) -> UUID | None:
        """The account the event names, which must exist in its tenant (``None``: nothing to check)."""
        account_id = getattr(payload, "account_id", None)
        return account_id if isinstance(account_id, UUID) else None

    async def process(self, event: Envelope, payload: P, source: str, turn: Ticket) -> Outcome:
        tenant = store.tenant_of(event)
        if self.analyze_in_turn:
            await turn.wait()
        async with tenant_transaction(self.context.pool, tenant, readonly=True) as conn:
            if await store.seen(conn, event):  # a redelivery: skip the models too
                return Outcome.DUPLICATE
        with model_verdicts():
            analysis = await self.analyze(event, payload)
        await turn.wait()
        async with tenant_transaction(self.context.pool, tenant) as conn:
            if not await store.claim(conn, event, source):
                return Outcome.DUPLICATE
            await store.require_account(conn, event, self.account_of(payload))
            await self.write(conn, event, payload, analysis)
        return Outcome.STORED


@contextmanager
def model_verdicts() -> Iterator[None]:
    """Inside: a model's verdict that the input is bad becomes an :class:`InvalidEvent` (a dead letter)."""
    try:
        yield
    except InvalidEvent:
        raise
    except Exception as exc:
        cause = cause_of(exc)  # through a Serve handle or in-process
        if isinstance(cause, InvalidInput):
            raise InvalidEvent(f"the model rejected the input: {str(cause).splitlines()[0]}") from exc
        raise
