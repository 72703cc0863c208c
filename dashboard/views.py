"""The dashboard's views. Adding one is one entry here plus one ES module in ``static/views/``.

A view module exports ``mount(ctx, section)`` (draw it; ``ctx`` is the page's API client, live-event
bus and safe DOM helpers, see ``static/app.js``) and may export ``refresh()`` (called on ``resync``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    key: str
    title: str
    summary: str

    @property
    def script(self) -> str:
        return f"views/{self.key}.js"


VIEWS: tuple[View, ...] = (
    View("overview", "Overview", "Mentions per minute, sentiment per brand, spikes, calls, at-risk accounts."),
    View("mentions", "Mentions", "New mentions as they arrive, and mentions similar to one or to your text."),
    View("brands", "Brands", "Crisis alerts, share of voice against competitors, topics with emerging ones first."),
    View("calls", "Calls", "Analysed calls: transcript, per-segment sentiment, talk ratio, video timeline."),
    View("accounts", "Accounts", "Account 360: churn risk and why, ANAF status, LinkedIn intent, timeline."),
    View("prospects", "Prospects", "LinkedIn prospects by intent, their CRM match or conflict, relationships."),
    View("journeys", "Journeys", "Web journeys similar to a path, with their conversion propensity."),
    View("campaigns", "Campaigns", "Per-variant figures, the A/B decision, attribution and the budget split."),
    View("system", "System", "Per-model request rate, latency, batch sizes, queue depth, errors; stream lag."),
)
