"""The dashboard's live stream: each tenant's committed insight events, as server-sent events.

Source: ``crm.outbox``, the rows the stream processors commit with their insights (``streams.schemas.
PUBLISHED``). A trigger ``NOTIFY``s ``vettify_outbox`` with the tenant id when a row commits (migration
0015); :class:`LiveHub` holds one ``LISTEN`` connection per process and wakes only that tenant's
streams. Each stream then reads its tenant's rows after its cursor itself, inside a tenant transaction
(RLS), so nothing of another tenant is ever read for it, and nothing is buffered for it in memory: a
stream pulls one page when it is ready to send it.

* **Resume**: an event's SSE ``id`` is the stream's watermark, the outbox ``seq`` below which every row is
  final (see :class:`_CommitWindow`: ``seq`` order is not commit order); a browser that reconnects sends
  ``Last-Event-ID`` and gets every row after it — a few may repeat, none is lost (the data carries ``seq``).
  A fresh stream (or a resync) starts at the head but also gets rows below it whose transactions were
  still open (:meth:`LiveHub._start_point`).
* **Slow or long-gone clients**: when more than ``max_backlog`` rows wait after a stream's cursor, it
  skips them and sends ``resync`` (the page reloads its views from the APIs) — work and memory per
  client stay bounded by one page, whatever the client's speed.
* **Bounded lifetime**: a stream ends after ``max_s`` (proxies, Serve's request timeout) with a
  ``retry`` hint; the browser reconnects with ``Last-Event-ID`` and loses nothing.
* Without notifications (the listener is reconnecting) streams poll every ``poll_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from infra.db.tenancy import TenantContext, tenant_transaction
from streams.schemas import PUBLISHED

log = logging.getLogger(__name__)

CHANNEL = "vettify_outbox"
LIVE_TYPES: tuple[str, ...] = tuple(sorted(PUBLISHED))  # what the dashboard shows: the engine's insights
MAX_BACKFILL = 200

# An outbox row as the browser gets it; a mention's row with the mention's text, author and link.
_ROWS = """
SELECT o.seq, o.event_type, o.payload, o.occurred_at,
       si.text AS mention_text, si.author AS mention_author, si.url AS mention_url
FROM crm.outbox o
LEFT JOIN ai.social_insights si
  ON o.aggregate_type = 'social_insight' AND si.tid = o.tid AND si.mid = o.mid AND si.id = o.aggregate_id
"""
PAGE_SQL = f"""{_ROWS}
WHERE o.tid = $1 AND o.mid = $2 AND o.seq > $3 AND o.event_type = ANY($4::text[])
ORDER BY o.seq
LIMIT $5
"""
# How many rows wait after the cursor, counted up to a limit (an index range on (tid, mid, seq)).
WAITING_SQL = """
SELECT count(*) FROM (
  SELECT 1 FROM crm.outbox WHERE tid = $1 AND mid = $2 AND seq > $3 AND event_type = ANY($4::text[]) LIMIT $5
) waiting
"""
LATE_SQL = f"""{_ROWS}
WHERE o.tid = $1 AND o.mid = $2 AND o.seq > $3 AND o.seq < $4 AND NOT (o.seq = ANY($5::bigint[]))
  AND o.event_type = ANY($6::text[])
ORDER BY o.seq
"""
HEAD_SQL = "SELECT coalesce(max(seq), 0) FROM crm.outbox WHERE tid = $1 AND mid = $2"
# The tenant's newest rows at or below a cursor, newest first, each with whether its transaction began
# less than $5 seconds ago (``occurred_at`` defaults to ``now()``, the writer's transaction start; no
# writer sets it). See :func:`_start_point`.
RECENT_SQL = """
SELECT seq, occurred_at >= clock_timestamp() - make_interval(secs => $5) AS young
FROM crm.outbox WHERE tid = $1 AND mid = $2 AND seq <= $3
ORDER BY seq DESC
LIMIT $4
"""
BACKFILL_SQL = """
SELECT coalesce(min(seq) - 1, 0) FROM (
  SELECT seq FROM crm.outbox WHERE tid = $1 AND mid = $2 AND event_type = ANY($3::text[])
  ORDER BY seq DESC LIMIT $4
) latest
"""


@dataclass(frozen=True)
class LiveOptions:
    page: int = 100  # rows per read
    max_backlog: int = 1000  # more than this waiting after the cursor: resync instead
    max_s: float = 45.0  # a stream's lifetime; the browser reconnects with Last-Event-ID
    heartbeat_s: float = 15.0
    poll_s: float = 5.0  # fallback when no notification arrives
    retry_ms: int = 500  # the browser's reconnect delay
    grace_s: float = 10.0  # longer than any transaction that writes the outbox (see _CommitWindow)


def frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    """One SSE message (``id``/``event``/``data``); the data is one line of JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def live_event(row: asyncpg.Record) -> dict[str, Any]:
    """An outbox row as the browser gets it; a mention's event carries the mention's text, author and link."""
    occurred: datetime = row["occurred_at"]
    event: dict[str, Any] = {
        "seq": row["seq"],
        "type": row["event_type"],
        "occurred_at": occurred.isoformat(),
        "payload": row["payload"],
    }
    if row["mention_text"] is not None:
        event["mention"] = {"text": row["mention_text"], "author": row["mention_author"], "url": row["mention_url"]}
    return event


class LiveHub:
    """One ``LISTEN`` connection per process; wakes the streams of the tenant a notification names."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, options: LiveOptions | None = None) -> None:
        self.pool, self.dsn = pool, dsn
        self.options = options or LiveOptions()
        self._subscribers: dict[str, set[asyncio.Event]] = {}  # tenant id -> its streams' wake-ups
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    @property
    def streams(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="live-hub-listener")

    async def close(self) -> None:
        self._closing.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    async def _listen_forever(self) -> None:
        delay = 0.5
        while not self._closing.is_set():
            try:
                self._listener = await asyncpg.connect(self.dsn)
                await self._listener.add_listener(CHANNEL, self._notified)
                delay = 0.5
                self._wake_all()  # whatever committed while we were not listening
                closed = asyncio.Event()
                self._listener.add_termination_listener(lambda _conn, ended=closed: ended.set())
                await closed.wait()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("live stream: LISTEN connection failed (%s); streams poll until it is back", exc)
            self._listener = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _notified(self, _conn: object, _pid: int, _channel: str, tid: str) -> None:
        for wake in self._subscribers.get(tid, ()):
            wake.set()

    def _wake_all(self) -> None:
        for subscribers in self._subscribers.values():
            for wake in subscribers:
                wake.set()

    @contextlib.contextmanager
    def _subscribe(self, tid: str) -> Iterator[asyncio.Event]:
        wake = asyncio.Event()
        self._subscribers.setdefault(tid, set()).add(wake)
        try:
            yield wake
        finally:
            group = self._subscribers.get(tid)
            if group is not None:
                group.discard(wake)
                if not group:
                    del self._subscribers[tid]

    async def start_point(self, tenant: TenantContext, *, last_event_id: int | None, backfill: int) -> StartPoint:
        """Where a stream starts: after ``Last-Event-ID``, before the latest ``backfill`` events, or at the head."""
        if last_event_id is not None:
            return StartPoint(last_event_id)  # a watermark this server sent: every row below it was final
        async with tenant_transaction(self.pool, tenant, readonly=True) as conn:
            if backfill > 0:
                cursor = int(await conn.fetchval(BACKFILL_SQL, tenant.tid, tenant.mid, list(LIVE_TYPES), backfill))
            else:
                cursor = int(await conn.fetchval(HEAD_SQL, tenant.tid, tenant.mid))
            return await self._start_point(conn, tenant, cursor)

    async def _start_point(self, conn: asyncpg.Connection, tenant: TenantContext, cursor: int) -> StartPoint:
        """``cursor`` plus the rows below it that a transaction still in progress may yet commit.

        A transaction in progress now began less than ``grace_s`` ago and took its ``seq`` after that; a row
        whose transaction began more than ``2 * grace_s`` ago took its ``seq`` before, so every row at or
        below it is final: that row is the floor. Rows between floor and cursor that are visible now are
        ``known`` (not sent); any other row that commits there later is sent as a late commit.
        """
        o = self.options
        rows = await conn.fetch(RECENT_SQL, tenant.tid, tenant.mid, cursor, o.max_backlog, 2 * o.grace_s)
        known: list[int] = []
        for row in rows:
            if not row["young"]:
                return StartPoint(cursor, floor=int(row["seq"]), known=tuple(known))
            known.append(int(row["seq"]))
        # All young: below the oldest one read lies nothing (fewer rows than the limit) or, past the
        # limit, rows so far back that a reader of the last ``max_backlog`` rows resyncs anyway.
        floor = 0 if len(rows) < o.max_backlog else known[-1] - 1
        return StartPoint(cursor, floor=floor, known=tuple(known))

    async def stream(
        self, tenant: TenantContext, start: StartPoint, *, disconnected: Callable[[], Any] | None = None
    ) -> AsyncIterator[bytes]:
        """SSE bytes for one browser, from ``start`` on, until ``max_s`` has passed or it goes away."""
        o = self.options
        deadline = time.monotonic() + o.max_s
        window = _CommitWindow.at(start, o.grace_s)
        yield f"retry: {o.retry_ms}\n\n".encode()
        yield frame("ready", {"cursor": start.cursor, "listening": self.listening}, window.watermark)
        with self._subscribe(tenant.tid) as wake:
            last_sent = time.monotonic()
            while time.monotonic() < deadline:
                wake.clear()
                page, restart = await self._read(tenant, window)
                if restart is not None:
                    window = _CommitWindow.at(restart, o.grace_s)
                    yield frame("resync", {"cursor": restart.cursor}, window.watermark)
                    last_sent = time.monotonic()
                    continue
                for row in page:
                    window.sent(row["seq"])
                    yield frame("insight", live_event(row), window.watermark)
                if page:
                    last_sent = time.monotonic()
                    if len(page) >= o.page:
                        continue  # more waiting: read on before sleeping
                if disconnected is not None and await disconnected():
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                timeout = min(o.heartbeat_s if self.listening else o.poll_s, remaining, o.grace_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout)
                if not wake.is_set() and time.monotonic() - last_sent >= o.heartbeat_s:
                    yield b": keep-alive\n\n"
                    last_sent = time.monotonic()
        yield frame("bye", {"cursor": window.watermark, "reconnect": True}, window.watermark)

    async def _read(
        self, tenant: TenantContext, window: _CommitWindow
    ) -> tuple[list[asyncpg.Record], StartPoint | None]:
        """The next rows to send (late commits below the newest sent, then new ones), or where to resync."""
        o, types = self.options, list(LIVE_TYPES)
        async with tenant_transaction(self.pool, tenant, readonly=True) as conn:
            head = int(await conn.fetchval(HEAD_SQL, tenant.tid, tenant.mid))
            window.observed(head)
            waiting = int(
                await conn.fetchval(WAITING_SQL, tenant.tid, tenant.mid, window.newest, types, o.max_backlog + 1)
            )
            if waiting > o.max_backlog:
                return [], await self._start_point(conn, tenant, head)
            late: list[asyncpg.Record] = []
            if window.newest > window.watermark:
                late = await conn.fetch(
                    LATE_SQL, tenant.tid, tenant.mid, window.watermark, window.newest, window.pending(), types
                )
            fresh = await conn.fetch(PAGE_SQL, tenant.tid, tenant.mid, window.newest, types, o.page)
        return [*late, *fresh], None


@dataclass(frozen=True)
class StartPoint:
    """A stream's start: rows after ``cursor`` are new; rows in ``(floor, cursor]`` not in ``known`` may
    still commit (transactions in progress) and are then sent too."""

    cursor: int
    floor: int | None = None  # None: the cursor is final (a watermark sent before)
    known: tuple[int, ...] = ()


class _CommitWindow:
    """Which outbox rows a stream may still receive, although ``seq`` order is not commit order.

    A transaction takes its ``seq`` when it inserts and may commit after a later ``seq`` was already
    sent. Every read records the tenant's head ``seq`` with the time; once ``grace_s`` has passed since a
    read, every transaction in progress at that read has ended (stream transactions are far shorter), so
    every row up to that head is final: that is the ``watermark``. Rows above it that were sent are
    remembered and skipped; rows above it that were not are read again as late commits. The SSE ``id`` is
    the watermark, so a reconnect may repeat a few rows (the page drops repeated ``seq``s) but loses none.
    """

    def __init__(self, cursor: int, grace_s: float) -> None:
        self.watermark = cursor
        self.newest = cursor
        self.grace_s = grace_s
        self._sent: set[int] = set()
        self._reads: deque[tuple[float, int]] = deque()

    @classmethod
    def at(cls, start: StartPoint, grace_s: float) -> _CommitWindow:
        window = cls(start.cursor, grace_s)
        if start.floor is not None and start.floor < start.cursor:
            window.watermark = start.floor
            window._sent = {seq for seq in start.known if seq > start.floor}
        return window

    def observed(self, head: int) -> None:
        now = time.monotonic()
        self._reads.append((now, head))
        while self._reads and self._reads[0][0] <= now - self.grace_s:
            _, final = self._reads.popleft()
            self.watermark = max(self.watermark, min(final, self.newest))
        self._sent = {seq for seq in self._sent if seq > self.watermark}

    def sent(self, seq: int) -> None:
        self.newest = max(self.newest, seq)
        self._sent.add(seq)

    def pending(self) -> list[int]:
        return sorted(self._sent)
