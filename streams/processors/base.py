"""What a processor is, and the context it gets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from crm_core.events.consumers import InvalidEvent
from crm_core.events.envelope import Envelope
from models.errors import InvalidInput
from streams.models import ModelClient
from streams.ordering import Ticket

__all__ = ["Context", "InvalidEvent", "Outcome", "Processor", "model_error", "model_verdicts"]


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


class Processor(Protocol):
    def ordering_key(self, event: Envelope, payload: Any) -> tuple[str, ...]:
        """Events with equal keys commit in arrival order."""
        ...

    async def process(self, event: Envelope, payload: Any, source: str, turn: Ticket) -> Outcome:
        """Analyse, then ``await turn.wait()``, then write (claim + rows + outbox) in one transaction."""
        ...


@contextmanager
def model_verdicts() -> Iterator[None]:
    """Inside: a model's verdict that the input is bad becomes an :class:`InvalidEvent` (a dead letter)."""
    try:
        yield
    except InvalidEvent:
        raise
    except Exception as exc:
        invalid = model_error(exc)
        if invalid is not None:
            raise invalid from exc
        raise


def model_error(exc: BaseException) -> InvalidEvent | None:
    """A model's verdict that the input is bad (through a Serve handle or in-process), as an InvalidEvent."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, InvalidInput):
        return InvalidEvent(f"the model rejected the input: {str(cause).splitlines()[0]}")
    return None
