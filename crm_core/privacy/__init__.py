"""Data protection in the CRM core: per-tenant privacy settings and the consent ledger."""
