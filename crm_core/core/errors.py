"""The CRM core's exception tree. One root carries the HTTP status and a stable
code; the API layer turns it into an RFC 9457 problem+json body. Messages tell
the caller what to do next."""

from __future__ import annotations

from typing import Any


class VettifyError(Exception):
    """Root of every error the CRM core raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(VettifyError):
    status, code = 422, "invalid_input"


class NotFound(VettifyError):
    """Also what another tenant's id looks like: existence is never leaked."""

    status, code = 404, "not_found"


class Conflict(VettifyError):
    status, code = 409, "conflict"


class VersionConflict(VettifyError):
    """Optimistic concurrency: the row changed since the caller read it."""

    status, code = 412, "version_conflict"

    def __init__(self, *, entity: str, expected: int, current: int) -> None:
        super().__init__(
            f"{entity} is at version {current}, not {expected}: re-read it and apply your change again",
            expected_version=expected,
            current_version=current,
        )
