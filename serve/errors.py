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

# What Ray answers for an HTTP ingress deployment itself when its replica's own queue is full
# (``max_ongoing_requests`` + ``max_queued_requests``), before the engine's admission sees the request: Ray's
# default is a bare 503. A 10x burst on the gateway (~960 requests at once) got 424 of them; every refusal
# says when to come back, as the engine's own 503s do (``benchmarks/results/serve_models_onnx_every_pass.json``).
HTTP_BACKPRESSURE: dict[str, Any] = {"status_code": 503, "retry_after_s": 1}


def validated(model: type[M], **fields: Any) -> M:
    """``model`` built from fields a handler gathered itself (query, body bytes, protobuf), its defaults
    applying to the fields not given; a bad field is :class:`~infra.errors.InvalidInput` naming it."""
    try:
        return model(**fields)
    except ValidationError as exc:
        violations = [
            {"field": ".".join(map(str, e["loc"])) or "request", "description": e["msg"]} for e in exc.errors()
        ]
        problems = "; ".join(f"{v['field']}: {v['description']}" for v in violations)
        raise InvalidInput(problems, violations=violations) from exc


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


STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_details(error: VettifyError) -> bytes | None:
    """The rich status (``google.rpc.Status``) for an error naming its bad fields: a ``google.rpc.BadRequest``
    with one field violation each, as ``grpcio-status`` clients read it (``rpc_status.from_call``)."""
    violations = error.extra.get("violations")
    if not violations:
        return None
    from google.protobuf import any_pb2
    from google.rpc import error_details_pb2, status_pb2

    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v["field"], description=v["description"])
            for v in violations
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    code: int = grpc_status(error).value[0]
    status = status_pb2.Status(code=code, message=error.detail, details=[detail])
    serialized: bytes = status.SerializeToString()
    return serialized


def abort_with(context: Any, error: VettifyError) -> None:
    """Set ``error`` on a gRPC call's context (Serve's gRPC proxy sends it with the empty reply), with the
    field violations as structured details where the error names fields, and back-pressure's wait as
    ``retry-after`` (seconds, as HTTP's header) and ``grpc-retry-pushback-ms`` (what gRPC's own retry
    policy reads)."""
    if context is None:
        return
    context.set_code(grpc_status(error))
    context.set_details(error.detail)
    trailing: list[tuple[str, str | bytes]] = []  # a list: Serve prepends its request_id to it
    details = status_details(error)
    if details is not None:
        trailing.append((STATUS_DETAILS_KEY, details))
    retry_after = error.headers.get("Retry-After")
    if retry_after is not None:
        trailing += [("retry-after", retry_after), ("grpc-retry-pushback-ms", str(int(retry_after) * 1000))]
    if trailing:
        context.set_trailing_metadata(trailing)
