"""serve.errors: Ray's and asyncio's faults become the engine's errors, each with one HTTP status and gRPC code."""

from __future__ import annotations

import pickle

import grpc
import pytest
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

from infra.batching import BatcherFull
from infra.errors import InvalidInput, NotFound, VersionConflict
from serve.errors import as_error, grpc_status


class _Wrapped(Exception):
    """Stands for Ray's RayTaskError: the deployment's own exception travels as ``cause``."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__("wrapped")
        self.cause = cause


@pytest.mark.parametrize(
    ("error", "status", "code", "grpc_code"),
    [
        (InvalidInput("bad"), 422, "invalid_input", grpc.StatusCode.INVALID_ARGUMENT),
        (_Wrapped(InvalidInput("bad")), 422, "invalid_input", grpc.StatusCode.INVALID_ARGUMENT),
        (_Wrapped(NotFound("gone")), 404, "not_found", grpc.StatusCode.NOT_FOUND),
        (TimeoutError(), 504, "deadline_exceeded", grpc.StatusCode.DEADLINE_EXCEEDED),
        (BatcherFull("full"), 503, "at_capacity", grpc.StatusCode.RESOURCE_EXHAUSTED),
        (DeploymentUnavailableError("Sentiment"), 503, "unavailable", grpc.StatusCode.UNAVAILABLE),
        (RuntimeError("boom"), 500, "internal_error", grpc.StatusCode.INTERNAL),
    ],
)
def test_each_fault_has_one_status_code_and_grpc_code(
    error: Exception, status: int, code: str, grpc_code: grpc.StatusCode
) -> None:
    mapped = as_error(error)
    assert (mapped.status, mapped.code, grpc_status(mapped)) == (status, code, grpc_code)


def test_backpressure_is_503_at_capacity_with_retry_after() -> None:
    mapped = as_error(BackPressureError(num_queued_requests=9, max_queued_requests=8))
    assert (mapped.status, grpc_status(mapped), mapped.headers) == (
        503,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        {"Retry-After": "1"},
    )


def test_errors_cross_processes_with_their_detail_and_extra_members() -> None:
    error = pickle.loads(pickle.dumps(VersionConflict(entity="lead", expected=1, current=2)))  # noqa: S301 - our own bytes
    assert isinstance(error, VersionConflict)
    assert error.extra == {"expected_version": 1, "current_version": 2}
    assert "version 2" in error.detail


class _Context:
    """The two calls a gRPC servicer context gets from :func:`serve.errors.abort_with`, recorded."""

    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.trailing: list[tuple[str, str | bytes]] = []

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details

    def set_trailing_metadata(self, metadata: list[tuple[str, str | bytes]]) -> None:
        self.trailing = metadata


def test_grpc_back_pressure_says_when_to_retry_in_trailing_metadata() -> None:
    from infra.errors import AtCapacity
    from serve.errors import abort_with

    context = _Context()
    abort_with(context, AtCapacity("queued", retry_after_s=3))
    assert context.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert context.trailing == [("retry-after", "3"), ("grpc-retry-pushback-ms", "3000")]
    assert isinstance(context.trailing, list)  # Serve prepends its request id with list +
