"""Standard resource routes: list, create, read, PATCH with If-Match, delete, restore.

This module does not use postponed annotations: the route functions are built
per entity and FastAPI must see their real parameter types.
"""

import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import BaseModel, Field

from crm_core.api.deps import Admins, ConnDep, CurrentUser, Readers, Writers
from crm_core.services.crud import EntityService
from infra.errors import Forbidden, InvalidInput, PreconditionFailed

ItemT = TypeVar("ItemT")
_ETAG = re.compile(r'^(W/)?"(\d{1,9})"$')


class PageOut(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


class ListParams(BaseModel):
    """Query parameters every listing accepts; entities add their equality filters."""

    q: str | None = Field(
        default=None,
        max_length=200,
        description=(
            "Search: every word, in any order, ignoring case, diacritics and cedillas (accounts, contacts, "
            "leads); ranked by relevance when no `sort` is given, near misses when nothing matches."
        ),
    )
    sort: str | None = Field(
        default=None, pattern=r"^[-+]?[a-z_]{1,40}$", description="Sort key, `-` for descending (default -created_at)."
    )
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=1000)
    include_deleted: bool = Field(default=False, description="Also list soft-deleted rows (crm:admin).")


LIST_FIELDS = frozenset(ListParams.model_fields)


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names; ``None`` without one (or with ``*``: any current version).

    If-Match compares strongly (RFC 9110 §13.1.1): a weak tag (``W/"3"``) never matches, so a header of
    weak tags only fails the precondition (412). Of a list, the strong tags count; our ETags are strong."""
    if if_match is None or if_match.strip() == "*":
        return None
    tags = [_ETAG.match(tag.strip()) for tag in if_match.split(",")]
    if not tags or any(tag is None for tag in tags):
        raise InvalidInput('If-Match must be an ETag from a previous response, e.g. "3"', fields=["If-Match"])
    strong = {int(tag.group(2)) for tag in tags if tag is not None and tag.group(1) is None}
    if not strong:
        raise PreconditionFailed("If-Match compares strongly and a weak ETag (W/...) never matches; send the ETag")
    if len(strong) > 1:
        raise InvalidInput("If-Match names several versions; send the one you edited", fields=["If-Match"])
    return strong.pop()


IfMatch = Annotated[str | None, Header(description='ETag of the version you edited, e.g. "3"; a stale one gets 412.')]


def _retype(func: Callable[..., Any], name: str, annotation: Any) -> None:
    signature = inspect.signature(func)
    params = [p.replace(annotation=annotation) if p.name == name else p for p in signature.parameters.values()]
    func.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]


def add_crud_routes(
    router: APIRouter,
    *,
    service: EntityService[Any],
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    public_model: type[BaseModel],
    filters_model: type[ListParams],
) -> None:
    entity = service.entity

    async def list_items(conn: ConnDep, user: CurrentUser, params: Annotated[ListParams, Query()]) -> Any:
        if params.include_deleted and not user.has("crm:admin"):
            raise Forbidden("include_deleted needs crm:admin", missing_scopes=["crm:admin"])
        page = await service.list(
            conn,
            user=user,
            filters=params.model_dump(exclude=set(LIST_FIELDS)),
            q=params.q,
            sort=params.sort,
            limit=params.limit,
            cursor=params.cursor,
            include_deleted=params.include_deleted,
        )
        cursor = page.next_cursor.encode() if page.next_cursor else None
        return {"items": page.items, "next_cursor": cursor}

    async def create_item(
        body: BaseModel, conn: ConnDep, user: CurrentUser, request: Request, response: Response
    ) -> Any:
        row = await service.create(conn, user=user, data=body)
        response.headers["ETag"] = etag(row.version)
        response.headers["Location"] = f"{request.url.path.rstrip('/')}/{row.id}"
        return row

    async def get_item(item_id: UUID, conn: ConnDep, user: CurrentUser, response: Response) -> Any:
        row = await service.get(conn, user=user, id=item_id)
        response.headers["ETag"] = etag(row.version)
        return row

    async def update_item(
        item_id: UUID, body: BaseModel, conn: ConnDep, user: CurrentUser, response: Response, if_match: IfMatch = None
    ) -> Any:
        row = await service.update(conn, user=user, id=item_id, data=body, expected_version=expected_version(if_match))
        response.headers["ETag"] = etag(row.version)
        return row

    async def delete_item(item_id: UUID, conn: ConnDep, user: CurrentUser) -> Response:
        await service.delete(conn, user=user, id=item_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def restore_item(item_id: UUID, conn: ConnDep, user: CurrentUser, response: Response) -> Any:
        row = await service.restore(conn, user=user, id=item_id)
        response.headers["ETag"] = etag(row.version)
        return row

    # FastAPI reads parameter types from the signature: give it this entity's models.
    _retype(list_items, "params", Annotated[filters_model, Query()])
    _retype(create_item, "body", create_model)
    _retype(update_item, "body", update_model)
    page_model: Any = PageOut[public_model]  # type: ignore[valid-type]
    add = router.add_api_route
    add("", list_items, methods=["GET"], response_model=page_model, dependencies=[Readers])
    add("", create_item, methods=["POST"], status_code=201, response_model=public_model, dependencies=[Writers])
    add("/{item_id}", get_item, methods=["GET"], response_model=public_model, dependencies=[Readers])
    add(
        "/{item_id}",
        update_item,
        methods=["PATCH"],
        response_model=public_model,
        dependencies=[Writers],
        responses={412: {"description": f"the {entity} changed since the ETag in If-Match"}},
    )
    add("/{item_id}", delete_item, methods=["DELETE"], status_code=204, dependencies=[Writers])
    add("/{item_id}/restore", restore_item, methods=["POST"], response_model=public_model, dependencies=[Admins])

    list_items.__doc__ = f"List {entity}s: filters, `q` search, `sort`, cursor pagination."
    create_item.__doc__ = f"Create a {entity}."
    get_item.__doc__ = f"Read one {entity}; another tenant's id is a 404."
    update_item.__doc__ = f"Change some fields of a {entity}; send If-Match to avoid lost updates."
    delete_item.__doc__ = f"Soft-delete a {entity} (restore with POST …/restore)."
    restore_item.__doc__ = f"Restore a soft-deleted {entity}."
