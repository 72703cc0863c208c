"""Unit tests of ``infra.events.bus``."""

from __future__ import annotations

import pytest

from infra.events.bus import topic_matches


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ("crm.#", "crm.lead.created", True),
        ("crm.*", "crm.lead.created", False),
        ("crm.*.created", "crm.lead.created", True),
        ("#", "sales.order.created", True),
        ("sales.order.created", "sales.order.created", True),
        ("sales.#.created", "sales.created", True),
        ("wms.#", "sales.order.created", False),
    ],
)
def test_topic_patterns_follow_amqp_semantics(pattern: str, event: str, expected: bool) -> None:
    assert topic_matches(pattern, event) is expected
