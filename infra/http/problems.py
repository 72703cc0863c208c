"""RFC 9457 problem+json: the one place an error becomes an HTTP response, for every app of the engine.

Every app (the CRM core, the model gateway with its event and insight routes) calls
:func:`install_error_handlers`, so one fault gets one status and one body on every
route: a body that is not JSON is 400 ``malformed_request``; a body that does not
match the schema is 422 ``validation_error`` with each field's path
(``body.email``); a :class:`~infra.errors.VettifyError` answers with its own status,
code and headers. Routers declare the shape with ``responses=PROBLEM_RESPONSES``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from infra.errors import MalformedRequest, SchemaMismatch, VettifyError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "https://vettify.dev/problems/"


class FieldError(BaseModel):
    field: str = Field(description="the field's path, e.g. body.email or query.limit")
    message: str
    type: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document; ``code`` is stable, the other members are for people."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description=f"{PROBLEM_TYPE}<code>")
    title: str
    status: int
    detail: str
    instance: str = Field(description="the request path")
    code: str = Field(description="stable machine-readable code, e.g. validation_error, not_found, at_capacity")
    errors: list[FieldError] | None = Field(default=None, description="validation_error: one entry per field")


def _declared(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _declared("malformed_request: the body cannot be read (not JSON)"),
    401: _declared("unauthorized: no or an invalid bearer token"),
    403: _declared("forbidden: the token lacks a scope"),
    413: _declared("payload_too_large"),
    422: _declared("validation_error (the body does not match the schema) or a refused value"),
}
"""Faults every route can answer with; routes add their own (404, 409, 503 …) with :func:`problem_responses`."""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """:data:`PROBLEM_RESPONSES` plus the statuses a route adds (404, 409, 412, 503, 504 …)."""
    extra: dict[int | str, dict[str, Any]] = {
        status: _declared(_DESCRIPTIONS.get(status, "see code")) for status in statuses
    }
    return {**PROBLEM_RESPONSES, **extra}


_DESCRIPTIONS = {
    404: "not_found (also another tenant's id)",
    409: "conflict",
    412: "version_conflict: If-Match is stale",
    415: "unsupported_media_type",
    503: "at_capacity (Retry-After) or unavailable",
    504: "deadline_exceeded",
}


def problem_body(status: int, title: str, detail: str, *, code: str, instance: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"{PROBLEM_TYPE}{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        **extra,
    }


def problem(status: int, title: str, detail: str, *, code: str, instance: str, **extra: Any) -> JSONResponse:
    body = problem_body(status, title, detail, code=code, instance=instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def error_response(exc: VettifyError, instance: str) -> JSONResponse:
    """The response for a deliberate error: its status, code, extra members and headers."""
    response = problem(exc.status, exc.title, exc.detail, code=exc.code, instance=instance, **exc.extra)
    response.headers.update(exc.headers)
    return response


def problem_bytes(exc: VettifyError, instance: str) -> bytes:
    """The body of :func:`error_response` as bytes (for ASGI middleware that answers before the app)."""
    return json.dumps(problem_body(exc.status, exc.title, exc.detail, code=exc.code, instance=instance)).encode()


def validation_error(exc: RequestValidationError) -> VettifyError:
    """400 when the body is not JSON at all, else 422 listing every field that does not match."""
    errors = exc.errors()
    unreadable = [e for e in errors if e.get("type") == "json_invalid"]
    if unreadable:
        return MalformedRequest(
            f"the body is not valid JSON: {unreadable[0].get('ctx', {}).get('error', 'parse error')}"
        )
    fields = [
        {"field": ".".join(str(part) for part in e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
        for e in errors
    ]
    return SchemaMismatch("the request does not match the schema; see 'errors'", errors=fields)


def _integrity_problem(exc: asyncpg.exceptions.IntegrityConstraintViolationError) -> tuple[int, str, str]:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return 409, "duplicate", "a record with the same unique value already exists (e.g. the same CUI)"
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return 422, "unknown_reference", "a referenced record (account, contact, …) does not exist in your tenant"
    if isinstance(exc, asyncpg.NotNullViolationError):
        return 422, "missing_value", f"{getattr(exc, 'column_name', 'a field')} is required"
    if isinstance(exc, asyncpg.CheckViolationError):
        return 422, "invalid_value", f"a value breaks the rule {getattr(exc, 'constraint_name', '')}"
    return 409, "conflict", "the change conflicts with existing data"


_HTTP_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VettifyError)
    async def _vettify_error(request: Request, exc: VettifyError) -> JSONResponse:
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc), request.url.path)

    @app.exception_handler(asyncpg.exceptions.IntegrityConstraintViolationError)
    async def _integrity_error(
        request: Request, exc: asyncpg.exceptions.IntegrityConstraintViolationError
    ) -> JSONResponse:
        status, code, detail = _integrity_problem(exc)
        return problem(
            status,
            "Constraint violated",
            detail,
            code=code,
            instance=request.url.path,
            constraint=getattr(exc, "constraint_name", None),
        )

    @app.exception_handler(asyncpg.exceptions.DataError)
    async def _data_error(request: Request, exc: asyncpg.exceptions.DataError) -> JSONResponse:
        return problem(
            422,
            "Invalid value",
            f"the database rejected a value: {exc.args[0] if exc.args else exc}",
            code="invalid_value",
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = problem(
            exc.status_code, code.replace("_", " ").capitalize(), str(exc.detail), code=code, instance=request.url.path
        )
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "Internal error",
            "an unexpected error occurred; it has been logged",
            code="internal_error",
            instance=request.url.path,
        )
