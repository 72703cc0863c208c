"""Parameterised CRUD over one tenant-scoped table.

Identifiers (table and column names) come only from the fixed specs declared
in the entity repositories and are checked against them; every value travels
as a bind parameter. Row-level security already restricts rows to the
transaction's tenant; the explicit ``tid``/``mid`` predicates keep the
composite primary key usable and scope by member organisation, which RLS does
not cover.

Repositories hold no business rules: which fields may change, stage
transitions and audit live in ``crm_core.services``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from infra.db.tenancy import TenantContext
from infra.errors import VersionConflict
from infra.text import fold

PublicT = TypeVar("PublicT", bound=BaseModel)

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Cursor:
    """Keyset position: the last row's sort value and id (opaque to API clients)."""

    value: Any
    id: UUID

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps({"v": value, "id": str(self.id), "t": isinstance(self.value, datetime)})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            value = datetime.fromisoformat(raw["v"]) if raw["t"] else raw["v"]
            return cls(value=value, id=UUID(raw["id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError("invalid cursor: pass back the next_cursor of the previous page unchanged") from exc


@dataclass(frozen=True, slots=True)
class Sort:
    column: str = "created_at"
    descending: bool = True

    @classmethod
    def parse(cls, text: str | None) -> Sort:
        """``"-created_at"`` (newest first) or ``"name"`` (A to Z)."""
        if not text:
            return cls()
        return cls(column=text.lstrip("-+"), descending=text.startswith("-"))


@dataclass(frozen=True, slots=True)
class Page(Generic[PublicT]):
    items: list[PublicT]
    next_cursor: Cursor | None


def like_escaped(text: str) -> str:
    """``text`` with LIKE's wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text`` escaped."""
    return f"%{like_escaped(text)}%"


SHORTEST_TRIGRAM_QUERY = 3  # shorter folded queries match name prefixes only (no trigram to look up)
NEAR_MISS_THRESHOLD = 0.6  # pg_trgm word similarity for a near-miss ("stefnesti" for "stefanesti")

# Relevance bands (higher first): exact name, name prefix, word prefix, substring, near-miss; inside a band,
# the name's word similarity to the query (0..1: "brasov" is a whole word of "Brașov Trans", a part of
# "Brasovia"). Bands are 2 apart so a similarity never lifts a row into the next. Folded columns: 0006.
RELEVANCE_SQL = """
    2 * CASE WHEN name_folded = $q THEN 4
             WHEN name_folded LIKE $prefix THEN 3
             WHEN ' ' || search_folded LIKE $word THEN 2
             WHEN search_folded LIKE $substring THEN 1
             ELSE 0 END + word_similarity($q, name_folded)"""


@dataclass(frozen=True, slots=True)
class FoldedQuery:
    """A search term folded once (:func:`infra.text.fold`) with the LIKE patterns built from it."""

    folded: str

    @property
    def near_miss(self) -> str | None:
        """The words a near-miss search compares (three or more characters with a letter: a mistyped number
        such as a CUI has no near miss worth showing, and digits are in every row's CUI), or None."""
        words = [w for w in self.folded.split() if len(w) >= SHORTEST_TRIGRAM_QUERY and w.isalpha()]
        return " ".join(words) or None

    @property
    def params(self) -> dict[str, str]:
        escaped = like_escaped(self.folded)
        return {
            "q": self.folded,
            "prefix": f"{escaped}%",
            "word": f"% {escaped}%",
            "substring": f"%{escaped}%",
            "near": self.near_miss or self.folded,
            **{f"word{i}": f"%{like_escaped(w)}%" for i, w in enumerate(self.folded.split())},
        }

    def condition(self, near_miss: bool) -> str:
        if near_miss:
            return "search_folded %> $near"
        if len(self.folded) < SHORTEST_TRIGRAM_QUERY:
            return "name_folded LIKE $prefix"
        # Every word somewhere, in any order ("stefan agro" finds "Ștefan Brașov Agro SRL").
        return " AND ".join(f"search_folded LIKE $word{i}" for i in range(len(self.folded.split())))


@dataclass(frozen=True, slots=True)
class Search:
    """One folded search request, as :meth:`TableSpec.list` received it."""

    tenant: TenantContext
    filters: Mapping[str, Any]
    term: FoldedQuery
    sort: Sort | None
    limit: int
    include_deleted: bool


class TableSpec(Generic[PublicT]):
    """One table: its name, the columns callers may write, and its row model."""

    def __init__(
        self,
        table: str,
        *,
        entity: str,
        model: type[PublicT],
        writable: Sequence[str],
        filterable: Sequence[str] = (),
        searchable: Sequence[str] = (),
        sortable: Sequence[str] = ("created_at", "updated_at"),
        versioned: bool = True,
        folded_search: bool = False,
        collated: Sequence[str] = (),
    ) -> None:
        self.table = table
        self.folded_search = folded_search  # name_folded/search_folded columns (migration 0006) back ``q``
        self.model = model
        self.writable = frozenset(writable)
        self.filterable = frozenset(filterable)
        self.searchable = tuple(searchable)
        self.sortable = frozenset(sortable)  # NOT NULL columns only: keyset pagination needs them
        # Text keys that sort in Romanian order through their generated ``<column>_sort`` key (migration 0007).
        self.collated = frozenset(collated)
        self.versioned = versioned
        self.entity = entity

    def sort_key(self, sort: Sort) -> str:
        """The SQL column a public sort key orders by."""
        if sort.column not in self.sortable:
            raise ValueError(f"cannot sort by {sort.column!r}; choose one of {sorted(self.sortable)}")
        return f"{sort.column}_sort" if sort.column in self.collated else sort.column

    def columns(self, values: Mapping[str, Any], allowed: frozenset[str]) -> list[str]:
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"{self.table}: not writable/filterable: {sorted(unknown)}")
        return list(values)

    def row(self, record: asyncpg.Record | None) -> PublicT | None:
        return None if record is None else self.model.model_validate(dict(record))

    def one(self, record: asyncpg.Record | None) -> PublicT:
        item = self.row(record)
        if item is None:
            raise LookupError(f"{self.table}: expected a row")
        return item

    # -- statements ------------------------------------------------------------
    async def insert(self, conn: asyncpg.Connection, *, tenant: TenantContext, values: Mapping[str, Any]) -> PublicT:
        cols = self.columns(values, self.writable)
        names = ["tid", "whid", "mid", *cols]
        params = [tenant.tid, tenant.whid, tenant.mid, *(values[c] for c in cols)]
        placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        sql = f"INSERT INTO {self.table} ({', '.join(names)}) VALUES ({placeholders}) RETURNING *"
        return self.one(await conn.fetchrow(sql, *params))

    async def get(
        self, conn: asyncpg.Connection, *, tenant: TenantContext, id: UUID, include_deleted: bool = False
    ) -> PublicT | None:
        sql = f"SELECT * FROM {self.table} WHERE tid = $1 AND mid = $2 AND id = $3"
        if self.versioned and not include_deleted:
            sql += " AND deleted_at IS NULL"
        return self.row(await conn.fetchrow(sql, tenant.tid, tenant.mid, id))

    async def get_for_update(self, conn: asyncpg.Connection, *, tenant: TenantContext, id: UUID) -> PublicT | None:
        sql = f"SELECT * FROM {self.table} WHERE tid = $1 AND mid = $2 AND id = $3 FOR UPDATE"
        return self.row(await conn.fetchrow(sql, tenant.tid, tenant.mid, id))

    async def update(
        self,
        conn: asyncpg.Connection,
        *,
        tenant: TenantContext,
        id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> PublicT | None:
        """Apply ``changes``; ``None`` if no live row has ``id``.

        With ``expected_version`` the write happens only at that version, else
        :class:`VersionConflict` is raised with the current one.
        """
        cols = self.columns(changes, self.writable)
        sets = [f"{c} = ${i}" for i, c in enumerate(cols, start=4)]
        sets.append("updated_at = now()")
        params: list[Any] = [tenant.tid, tenant.mid, id, *(changes[c] for c in cols)]
        where = "tid = $1 AND mid = $2 AND id = $3"
        if self.versioned:
            sets.append("version = version + 1")
            where += " AND deleted_at IS NULL"
            if expected_version is not None:
                params.append(expected_version)
                where += f" AND version = ${len(params)}"
        sql = f"UPDATE {self.table} SET {', '.join(sets)} WHERE {where} RETURNING *"
        updated = self.row(await conn.fetchrow(sql, *params))
        if updated is None and expected_version is not None:
            await self._raise_if_stale(conn, tenant=tenant, id=id, expected=expected_version)
        return updated

    async def _raise_if_stale(
        self, conn: asyncpg.Connection, *, tenant: TenantContext, id: UUID, expected: int
    ) -> None:
        sql = f"SELECT version FROM {self.table} WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL"
        current = await conn.fetchval(sql, tenant.tid, tenant.mid, id)
        if current is not None:
            raise VersionConflict(entity=self.entity, expected=expected, current=current)

    async def set_deleted(
        self, conn: asyncpg.Connection, *, tenant: TenantContext, id: UUID, deleted: bool
    ) -> PublicT | None:
        """Soft delete (``deleted=True``) or restore; ``None`` if there was nothing to change."""
        if not self.versioned:
            raise TypeError(f"{self.table} is not soft-deletable")
        state = "deleted_at IS NULL" if deleted else "deleted_at IS NOT NULL"
        value = "now()" if deleted else "NULL"
        sql = (
            f"UPDATE {self.table} SET deleted_at = {value}, updated_at = now(), version = version + 1 "
            f"WHERE tid = $1 AND mid = $2 AND id = $3 AND {state} RETURNING *"
        )
        return self.row(await conn.fetchrow(sql, tenant.tid, tenant.mid, id))

    async def list(
        self,
        conn: asyncpg.Connection,
        *,
        tenant: TenantContext,
        filters: Mapping[str, Any] | None = None,
        q: str | None = None,
        sort: Sort | None = None,
        limit: int = 50,
        after: Cursor | None = None,
        include_deleted: bool = False,
    ) -> Page[PublicT]:
        """Keyset-paginated listing: equality ``filters``, search ``q``, one sort key.

        On a table with folded search, ``q`` ignores case, diacritics and cedillas, and without an
        explicit ``sort`` the page is ranked by relevance (see :data:`RELEVANCE_SQL`)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        if q and self.folded_search:
            term = fold(q)
            if not term:
                raise ValueError("q is blank: give a word to search for")
            search = Search(tenant, filters or {}, FoldedQuery(term), sort, limit, include_deleted)
            return await self._search(conn, search, after)
        sort = sort or Sort()
        key = self.sort_key(sort)
        filters = filters or {}
        params: list[Any] = [tenant.tid, tenant.mid]
        where = ["tid = $1", "mid = $2"]
        for col in self.columns(filters, self.filterable):
            params.append(filters[col])
            where.append(f"{col} = ${len(params)}")
        if q and self.searchable:
            params.append(like_pattern(q.strip()))
            where.append("(" + " OR ".join(f"{c} ILIKE ${len(params)}" for c in self.searchable) + ")")
        if self.versioned and not include_deleted:
            where.append("deleted_at IS NULL")
        if after is not None:
            params += [after.value, after.id]
            op = "<" if sort.descending else ">"
            where.append(f"({key}, id) {op} (${len(params) - 1}, ${len(params)})")
        params.append(limit + 1)
        direction = "DESC" if sort.descending else "ASC"
        sql = (
            f"SELECT * FROM {self.table} WHERE {' AND '.join(where)} "
            f"ORDER BY {key} {direction}, id {direction} LIMIT ${len(params)}"
        )
        return self._page(await conn.fetch(sql, *params), limit, key)

    def _page(self, records: Sequence[asyncpg.Record], limit: int, key: str) -> Page[PublicT]:
        items = [self.one(r) for r in records[:limit]]
        last = records[limit - 1] if len(records) > limit else None
        cursor = Cursor(value=last[key], id=last["id"]) if last is not None else None
        return Page(items=items, next_cursor=cursor)

    async def _search(self, conn: asyncpg.Connection, search: Search, after: Cursor | None) -> Page[PublicT]:
        """Folded search; ranked by relevance (keyset on relevance, id) unless ``sort`` is given.

        Substring matches come first. Only when there are none does a second pass look for near misses
        (trigram word similarity, the costly part); their relevance is under 2, so a cursor says which
        pass it continues."""
        if search.sort is not None:
            self.sort_key(search.sort)  # an unknown key is refused before any query
        ranked = search.sort is None and search.term.near_miss is not None
        if ranked and after is not None and float(after.value) < 2:
            return await self._search_pass(conn, search, after, near_miss=True)
        page = await self._search_pass(conn, search, after, near_miss=False)
        if ranked and after is None and not page.items:
            return await self._search_pass(conn, search, None, near_miss=True)
        return page

    async def _search_pass(
        self, conn: asyncpg.Connection, search: Search, after: Cursor | None, *, near_miss: bool
    ) -> Page[PublicT]:
        tenant, filters, term, sort, limit = search.tenant, search.filters, search.term, search.sort, search.limit
        condition = term.condition(near_miss)
        named = {k: v for k, v in term.params.items() if f"${k}" in RELEVANCE_SQL + condition}
        params: list[Any] = [tenant.tid, tenant.mid, *named.values()]
        slot = {name: f"${i}" for i, name in enumerate(named, start=3)}
        where = ["tid = $1", "mid = $2", condition]
        for col in self.columns(filters, self.filterable):
            params.append(filters[col])
            where.append(f"{col} = ${len(params)}")
        if self.versioned and not search.include_deleted:
            where.append("deleted_at IS NULL")
        key, direction = (
            ("relevance", "DESC") if sort is None else (self.sort_key(sort), "DESC" if sort.descending else "ASC")
        )
        outer = ""
        if after is not None:
            params += [after.value, after.id]
            op = "<" if direction == "DESC" else ">"
            outer = f"WHERE ({key}, id) {op} (${len(params) - 1}, ${len(params)})"
        params.append(limit + 1)
        relevance = RELEVANCE_SQL
        condition = " AND ".join(where)
        for name, placeholder in sorted(slot.items(), key=lambda item: -len(item[0])):
            relevance = relevance.replace(f"${name}", placeholder)
            condition = condition.replace(f"${name}", placeholder)
        sql = (
            f"SELECT * FROM (SELECT *, {relevance} AS relevance FROM {self.table} WHERE {condition}) AS hits "
            f"{outer} ORDER BY {key} {direction}, id {direction} LIMIT ${len(params)}"
        )
        # A generic plan cannot know how selective a LIKE or similarity term is and falls back to a scan.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        if near_miss:
            await conn.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {NEAR_MISS_THRESHOLD}")
        return self._page(await conn.fetch(sql, *params), limit, key)
