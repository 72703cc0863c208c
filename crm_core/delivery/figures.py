"""A campaign's figures per variant: delivery states, unique human opens and clicks, unsubscribes, conversions.

A conversion is a ``sales.order.created`` on the clicking contact's account within the window after that
contact's first click (each order counted once, for the variant clicked first); revenue sums those orders in
the campaign's currency. Machine opens (prefetchers) are reported apart and never in ``unique_opens``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from infra.db.tenancy import TenantContext

STATES_SQL = """
SELECT variant, count(*) AS recipients,
       count(*) FILTER (WHERE state = 'sent') AS sent,
       count(*) FILTER (WHERE state IN ('queued', 'sending', 'deferred')) AS pending,
       count(*) FILTER (WHERE state = 'deferred') AS deferred,
       count(*) FILTER (WHERE state = 'bounced') AS bounced,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       count(*) FILTER (WHERE state = 'suppressed') AS suppressed
FROM crm.email_deliveries WHERE tid = $1 AND mid = $2 AND campaign_id = $3
GROUP BY variant
"""

EVENTS_SQL = """
SELECT variant,
       count(DISTINCT delivery_id) FILTER (WHERE kind = 'delivered') AS delivered,
       count(DISTINCT delivery_id) FILTER (WHERE kind = 'opened' AND NOT machine) AS unique_opens,
       count(DISTINCT delivery_id) FILTER (WHERE kind = 'opened' AND machine) AS machine_opens,
       count(DISTINCT delivery_id) FILTER (WHERE kind = 'clicked') AS unique_clicks,
       count(DISTINCT delivery_id) FILTER (WHERE kind = 'unsubscribed') AS unsubscribes,
       count(DISTINCT delivery_id) FILTER (WHERE kind = 'complained') AS complaints
FROM crm.email_events WHERE tid = $1 AND mid = $2 AND campaign_id = $3
GROUP BY variant
"""

CONVERSIONS_SQL = """
WITH first_click AS (
    SELECT DISTINCT ON (e.contact_id) e.contact_id, e.variant, e.occurred_at AS clicked_at
    FROM crm.email_events e
    WHERE e.tid = $1 AND e.mid = $2 AND e.campaign_id = $3 AND e.kind = 'clicked'
    ORDER BY e.contact_id, e.occurred_at
), converted AS (
    SELECT DISTINCT ON (a.id) fc.variant, a.payload ->> 'total' AS total, a.payload ->> 'currency' AS currency
    FROM first_click fc
    JOIN crm.contacts c ON c.tid = $1 AND c.mid = $2 AND c.id = fc.contact_id AND c.account_id IS NOT NULL
    JOIN crm.activities a ON a.tid = $1 AND a.mid = $2 AND a.account_id = c.account_id
        AND a.kind = 'sales.order.created'
        AND a.occurred_at >= fc.clicked_at AND a.occurred_at < fc.clicked_at + make_interval(days => $4)
    ORDER BY a.id, fc.clicked_at
)
SELECT variant, count(*) AS conversions,
       COALESCE(sum(total::numeric) FILTER (WHERE COALESCE(currency, 'RON') = $5), 0) AS revenue
FROM converted GROUP BY variant
"""


@dataclass
class VariantFigures:
    variant: str
    recipients: int = 0
    sent: int = 0
    delivered: int = 0
    pending: int = 0
    deferred: int = 0
    bounced: int = 0
    failed: int = 0
    suppressed: int = 0
    unique_opens: int = 0
    machine_opens: int = 0
    unique_clicks: int = 0
    unsubscribes: int = 0
    complaints: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)

    def add(self, other: VariantFigures) -> None:
        for name, value in asdict(other).items():
            if name != "variant":
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["revenue"] = str(self.revenue)
        sent = self.sent or 0
        data["open_rate"] = round(self.unique_opens / sent, 4) if sent else None
        data["click_rate"] = round(self.unique_clicks / sent, 4) if sent else None
        data["conversion_rate"] = round(self.conversions / sent, 4) if sent else None
        return data


@dataclass
class CampaignFigures:
    campaign_id: UUID
    currency: str
    conversion_window_days: int
    total: VariantFigures
    variants: list[VariantFigures] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": str(self.campaign_id),
            "currency": self.currency,
            "conversion_window_days": self.conversion_window_days,
            "total": self.total.as_dict(),
            "variants": [v.as_dict() for v in self.variants],
        }


async def campaign_figures(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    currency: str,
    window_days: int,
) -> CampaignFigures:
    per: dict[str, VariantFigures] = {}

    def slot(variant: str) -> VariantFigures:
        return per.setdefault(variant, VariantFigures(variant=variant))

    for sql, args in (
        (STATES_SQL, ()),
        (EVENTS_SQL, ()),
        (CONVERSIONS_SQL, (window_days, currency)),
    ):
        for row in await conn.fetch(sql, tenant.tid, tenant.mid, campaign_id, *args):
            target = slot(row["variant"])
            for key, value in dict(row).items():
                if key != "variant":
                    setattr(target, key, value)
    total = VariantFigures(variant="*")
    for figures in per.values():
        total.add(figures)
    return CampaignFigures(campaign_id, currency, window_days, total, sorted(per.values(), key=lambda v: v.variant))
