"""The engine's one exception tree, and the contract every route answers with.

Every deliberate error is a :class:`VettifyError` with a stable ``code``, an HTTP
``status`` and a gRPC status name. It is translated to a response only at the
boundary, once per protocol: :mod:`infra.http.problems` (RFC 9457
problem+json) and :mod:`serve.errors` (gRPC status). The same fault gets the
same status, code and body shape on every route of the host: CRM, model,
event and insight routes alike.

**400 or 422.** 400 ``malformed_request``: the body cannot be read at all (not
JSON, not UTF-8). 422: it was read and its content is wrong: a field missing or
of the wrong type (``validation_error``, listing each field), or a value the
engine's rules refuse (``invalid_input``, ``invalid_event`` …). Messages tell the
caller what to do next.

``grpc_code`` is a :class:`grpc.StatusCode` member name (this package never
imports gRPC or Ray).
"""

from __future__ import annotations

from typing import Any, ClassVar


class VettifyError(Exception):
    """Root of every error the engine raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    grpc_code: ClassVar[str] = "INTERNAL"
    default_headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles with its detail and extra members (errors cross Ray between processes)."""
        return (_rebuild, (type(self), self.detail, self.extra))

    @property
    def headers(self) -> dict[str, str]:
        """Response headers this error sends (``Retry-After``, ``WWW-Authenticate`` …)."""
        return dict(self.default_headers)

    @property
    def title(self) -> str:
        """A short human title: the code in words (``version_conflict`` → ``Version conflict``)."""
        return self.code.replace("_", " ").capitalize()


def _rebuild(cls: type[VettifyError], detail: str, extra: dict[str, Any]) -> VettifyError:
    error = cls.__new__(cls)
    Exception.__init__(error, detail)
    error.detail, error.extra = detail, extra
    return error


class MalformedRequest(VettifyError):
    """The body cannot be read at all (not JSON, not UTF-8)."""

    status, code, grpc_code = 400, "malformed_request", "INVALID_ARGUMENT"


class InvalidInput(VettifyError, ValueError):
    """The request was read, and a value in it breaks a rule; the message names it."""

    status, code, grpc_code = 422, "invalid_input", "INVALID_ARGUMENT"


class SchemaMismatch(InvalidInput):
    """The body does not match the route's schema; ``errors`` lists each field path (``body.email``)."""

    code = "validation_error"


class InvalidEvent(InvalidInput):
    """An event that cannot be applied as it is; it belongs in the dead-letter path with this reason."""

    code = "invalid_event"


REALM = "vettify"


def _quoted(text: str) -> str:
    """A header quoted-string's content (RFC 9110 §5.6.4): no quotes, backslashes or control characters."""
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:200]


class Unauthorized(VettifyError):
    """No usable bearer token. ``auth_error="invalid_token"`` when one was sent but is expired or invalid
    (RFC 6750 §3.1); without it the challenge names only the scheme and realm (no token was sent)."""

    status, code, grpc_code = 401, "unauthorized", "UNAUTHENTICATED"

    @property
    def headers(self) -> dict[str, str]:
        challenge = f'Bearer realm="{REALM}"'
        if error := self.extra.get("auth_error"):
            challenge += f', error="{error}", error_description="{_quoted(self.detail)}"'
        return {"WWW-Authenticate": challenge}


class Forbidden(VettifyError):
    """The caller is known but may not do this; with ``missing_scopes`` the RFC 6750 challenge names them."""

    status, code, grpc_code = 403, "forbidden", "PERMISSION_DENIED"

    @property
    def headers(self) -> dict[str, str]:
        missing = self.extra.get("missing_scopes")
        if not missing:
            return {}
        scope = " ".join(missing)
        return {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'}


class NotFound(VettifyError):
    """Also what another tenant's id looks like: existence is never leaked."""

    status, code, grpc_code = 404, "not_found", "NOT_FOUND"


class Conflict(VettifyError):
    status, code, grpc_code = 409, "conflict", "FAILED_PRECONDITION"


class VersionConflict(VettifyError):
    """Optimistic concurrency: the row changed since the caller read it."""

    status, code, grpc_code = 412, "version_conflict", "ABORTED"

    def __init__(self, *, entity: str, expected: int, current: int) -> None:
        super().__init__(
            f"{entity} is at version {current}, not {expected}: re-read it and apply your change again",
            expected_version=expected,
            current_version=current,
        )


class PreconditionFailed(VettifyError):
    """A conditional request's precondition is false on its own terms (a weak ETag in ``If-Match``)."""

    status, code, grpc_code = 412, "precondition_failed", "FAILED_PRECONDITION"


class PayloadTooLarge(VettifyError):
    status, code, grpc_code = 413, "payload_too_large", "RESOURCE_EXHAUSTED"


class UnsupportedMediaType(VettifyError):
    status, code, grpc_code = 415, "unsupported_media_type", "INVALID_ARGUMENT"


class AtCapacity(VettifyError):
    """Back-pressure: a bounded queue is full. Answered at once; the caller retries shortly."""

    status, code, grpc_code = 503, "at_capacity", "RESOURCE_EXHAUSTED"
    default_headers = {"Retry-After": "1"}

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After``: the ``retry_after_s`` the raiser estimated (whole seconds), else 1."""
        seconds = self.extra.get("retry_after_s")
        return {"Retry-After": str(int(seconds))} if isinstance(seconds, int) and seconds > 0 else super().headers


class Unavailable(VettifyError):
    """A dependency (a model deployment, the database) is down or not configured."""

    status, code, grpc_code = 503, "unavailable", "UNAVAILABLE"
    default_headers = {"Retry-After": "30"}


class DeadlineExceeded(VettifyError):
    status, code, grpc_code = 504, "deadline_exceeded", "DEADLINE_EXCEEDED"


def cause_of(exc: BaseException) -> BaseException:
    """The exception behind a wrapper that carries it as ``cause`` (Ray's ``RayTaskError``), else ``exc``."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
