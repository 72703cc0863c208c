"""Long-running asyncio tasks owned by an object: ``start()`` one, ``await stop()`` it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """Subclasses implement :meth:`_loop`; one task runs it until :meth:`stop` cancels it."""

    task_name = "background-loop"
    _task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class PollingLoop(BackgroundLoop):
    """A job that polls: :meth:`run_once` does one round and says how much it did.

    While rounds find work the loop goes straight on; an idle round sleeps ``idle_sleep_s``; a database or
    network error is logged and retried after a back-off that doubles up to ``max_backoff_s``.
    """

    idle_sleep_s: float = 0.5
    max_backoff_s: float = 10.0

    async def run_once(self) -> int:
        raise NotImplementedError

    def more_waiting(self, done: int) -> bool:
        """Whether to go straight on after a round that did ``done`` (default: it did anything)."""
        return done > 0

    async def drain(self, timeout_s: float = 60.0) -> None:
        """Run rounds until one does nothing (tests, graceful shutdown, one-shot jobs)."""
        async with asyncio.timeout(timeout_s):
            while await self.run_once():
                pass

    async def _loop(self) -> None:
        backoff = self.idle_sleep_s
        while True:
            try:
                done = await self.run_once()
                backoff = self.idle_sleep_s
            except (OSError, asyncpg.PostgresError) as exc:
                logger.warning("%s: %s; retrying in %.1fs", self.task_name, exc, backoff)
                done, backoff = 0, min(backoff * 2, self.max_backoff_s)
            if not self.more_waiting(done):
                await asyncio.sleep(backoff)
