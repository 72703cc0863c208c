"""Unit tests of ``streams.sources.rabbitmq``."""

from __future__ import annotations

from streams.schemas import CONSUMED
from streams.sources.rabbitmq import GROUPS


def test_every_consumed_type_belongs_to_exactly_one_queue_group() -> None:
    routed = [t for types in GROUPS.values() for t in types]
    assert sorted(routed) == sorted(CONSUMED)
