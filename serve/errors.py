"""The engine's errors at the serving boundary: Ray's faults as :class:`~infra.errors.VettifyError`, and the
one mapping to gRPC status codes (HTTP's is :mod:`infra.http.problems`).

A deployment's error reaches the gateway wrapped by Ray (the original is its ``cause``); back-pressure, a
deployment that is down and a time-out are Ray's or asyncio's own exceptions. :func:`as_error` turns each
into the engine's kind, so every route and gRPC method answers the same fault the same way.
"""

from __future__ import annotations

from typing import Any, TypeVar

import grpc
from pydantic import BaseModel, ValidationError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

from infra.batching import BatcherFull
from infra.errors import AtCapacity, DeadlineExceeded, InvalidInput, Unavailable, VettifyError, cause_of

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **fields: Any) -> M:
    """``model`` built from fields a handler gathered itself (query, body bytes, protobuf), its defaults
    applying to the fields not given; a bad field is :class:`~infra.errors.InvalidInput` naming it."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(problems) from exc


def as_error(exc: BaseException) -> VettifyError:
    """The engine's error for ``exc`` (unwrapping Ray's wrapper); anything unexpected is a 500 ``internal_error``."""
    cause = cause_of(exc)
    if isinstance(cause, VettifyError):
        return cause
    if isinstance(cause, BackPressureError | BatcherFull):
        return AtCapacity("the model is at capacity; retry shortly")
    if isinstance(cause, DeploymentUnavailableError):
        return Unavailable("the model deployment is unavailable")
    if isinstance(cause, TimeoutError):
        return DeadlineExceeded("the model did not answer within the time budget")
    return VettifyError(f"internal error: {type(cause).__name__}")


def grpc_status(error: VettifyError) -> grpc.StatusCode:
    return grpc.StatusCode[error.grpc_code]


def abort_with(context: Any, error: VettifyError) -> None:
    """Set ``error`` on a gRPC call's context (Serve's gRPC proxy sends it with the empty reply)."""
    if context is not None:
        context.set_code(grpc_status(error))
        context.set_details(error.detail)
