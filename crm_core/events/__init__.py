"""Event envelope, buses and the outbox relay.

They live in ``crm_core`` (the base layer) because the CRM core publishes and
consumes events itself; ``streams`` builds its processors on the same envelope
and bus adapters.
"""
