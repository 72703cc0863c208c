"""Vettify CRM core: entities, REST API, persistence and ANAF checks. Never imports Ray."""

__version__ = "0.1.0"
