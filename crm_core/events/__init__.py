"""The CRM core's own event consumer (orders and deliveries onto account timelines) and its payloads.

The envelope, buses, outbox and relay are the platform's: :mod:`infra.events`.
"""
