"""RFC 9457 problem+json for every error the API returns.

Validation errors list each failing field with its path (``body.email``);
:class:`~crm_core.core.errors.VettifyError` subclasses map to their status.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_core.core.errors import VettifyError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, *, code: str, instance: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://vettify.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "message": err.get("msg", ""),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VettifyError)
    async def _vettify_error(request: Request, exc: VettifyError) -> JSONResponse:
        return problem(
            exc.status, type(exc).__name__, exc.detail, code=exc.code, instance=request.url.path, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "Invalid request",
            "the request does not match the schema; see 'errors'",
            code="validation_error",
            instance=request.url.path,
            errors=_field_errors(exc),
        )

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
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
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
