"""Per-key ordering without serialising the work before the write.

A processor reserves its place when the event *arrives* (synchronously, before
any ``await``), runs model inference concurrently with everything else, and
waits for its turn only around the database write. Events with the same key
(an account, a brand, a session) therefore commit in arrival order; events with
different keys never wait for each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class Ticket:
    def __init__(self, sequencer: KeyedSequencer, key: Hashable, previous: asyncio.Future[None] | None) -> None:
        self._sequencer = sequencer
        self._key = key
        self._previous = previous
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def wait(self) -> None:
        """Return once every earlier ticket of this key is released."""
        if self._previous is not None:
            await asyncio.shield(self._previous)

    def release(self) -> None:
        if not self._done.done():
            self._done.set_result(None)
        self._sequencer._forget(self._key, self._done)


class KeyedSequencer:
    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    def reserve(self, key: Hashable) -> Ticket:
        ticket = Ticket(self, key, self._tails.get(key))
        self._tails[key] = ticket._done
        return ticket

    def _forget(self, key: Hashable, done: asyncio.Future[None]) -> None:
        if self._tails.get(key) is done:
            del self._tails[key]

    def __len__(self) -> int:
        return len(self._tails)
