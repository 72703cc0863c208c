"""What fills a campaign's personalised block: items recommended to each recipient, from outside the CRM core.

A campaign's ``personal_block`` template may loop over ``recommendations`` (``{% for item in recommendations %}
<a href="{{ item.url }}">{{ item.title }}</a>{% endfor %}``); each item has ``title``, ``url``, ``kind`` and
``external_id``. The CRM core does not recommend anything itself (the recommender is ``streams``' and the
model ``models.marketing.recommend``, layers above it): the process that hosts the delivery worker hands it
a :data:`Personaliser`. ``vettify up``'s CRM application passes the streams' recommender
(:func:`streams.recommendations.email_recommendations`); a worker without one (``python -m crm_core.delivery``)
renders ``recommendations`` as an empty list, so a block written with ``{% if recommendations %}`` disappears.

The personaliser runs in the worker's claim transaction, inside the tenant (RLS applies), once per batch for
the recipients whose campaign's templates name ``recommendations``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg

from infra.db.tenancy import TenantContext

ITEMS_PER_MESSAGE = 3

Personaliser = Callable[
    [asyncpg.Connection, TenantContext, list[UUID], int], Awaitable[dict[UUID, list[dict[str, Any]]]]
]
"""``(conn, tenant, contact_ids, k)`` → up to ``k`` items per contact: ``title``, ``url``, ``kind``, ``external_id``."""


def wants_recommendations(campaign: asyncpg.Record) -> bool:
    """Whether any of the campaign's templates reads ``recommendations`` (then the worker asks for them)."""
    pieces = [campaign["personal_block"], campaign["html"], campaign["body"]]
    pieces += [v.get(k) for v in campaign["variants"] or [] for k in ("html", "text")]
    return any(piece and "recommendations" in piece for piece in pieces)
