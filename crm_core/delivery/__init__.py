"""Campaign delivery: templates, the SMTP worker, tracking, suppressions and per-variant figures.

``send`` (``crm_core.services.campaigns``) enqueues one delivery row per recipient; :mod:`.worker` renders and
delivers them over SMTP; :mod:`.tracking` turns opens, clicks, unsubscribes and provider webhooks into
``crm.email_events`` and ``marketing.email.*`` events; :mod:`.figures` counts them per campaign and variant.
"""
