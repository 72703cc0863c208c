"""The platform every other part stands on: settings, errors, auth, database and tenancy, events, HTTP plumbing.

It imports nothing of ``crm_core``, ``streams``, ``serve`` or ``models`` and never imports Ray.
"""
