"""Keeping the feed cache current with writes made by other processes.

On a store with a change signal (PostgreSQL: LISTEN/NOTIFY), each notification drops its section's
renderings at once, on every replica. While the signal is lost, and on a store without one (SQLite,
written by `feedsvc refresh` in another process), the store's revisions are polled every
`poll_interval` seconds instead. When the signal is back, the notifications sent meanwhile were
missed: every section held is checked against the stored revisions (all are dropped when that check
fails), and builds begun meanwhile are not kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from feedsvc.clock import Clock, utcnow
from feedsvc.errors import FeedsvcError
from feedsvc.store import SectionChanged, SignalUp, Store, StoreChange
from feedsvc.web.cache import FeedCache

log = logging.getLogger("feedsvc.web")


class StoreFollower:
    """Follows `store` for `cache`; `on_signal(up)` hears the change signal going up or down (metrics).
    `signal` is None (the store has none: polled), "listening" or "lost: why"."""

    def __init__(self, cache: FeedCache, store: Store, *, poll_interval: float = 2.0, clock: Clock = utcnow,
                 on_signal: Callable[[bool], object] | None = None):
        self.cache = cache
        self.store = store
        self.poll_interval = poll_interval
        self.clock = clock
        self.on_signal = on_signal
        self.signal: str | None = None
        self.signal_lost_at: datetime | None = None
        self._poll_error: str | None = None

    async def following(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: follow the store's change signal, or poll its revisions when it has none."""
        changes = self.store.changes()
        if changes is None:
            task = asyncio.create_task(self._poll_forever(), name="feedsvc-feed-cache-poll")
        else:
            task = asyncio.create_task(self.follow_changes(changes), name="feedsvc-change-signal")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def follow_changes(self, changes: AsyncGenerator[StoreChange, None]) -> None:
        """Drop what the change signal says changed; poll while it is lost; resync when it is back.
        Should the signal itself fail (it is not meant to), polling takes over for good."""
        try:
            await self._follow(changes)
        except Exception as exc:  # noqa: BLE001 - logged as one line; the cache must keep seeing changes
            log.error("feed cache: change signal failed (%s: %s); polling store revisions instead",
                      type(exc).__name__, exc)
            self._signal(False, f"lost: {exc}")
            await self._poll_forever()

    async def _follow(self, changes: AsyncGenerator[StoreChange, None]) -> None:
        poller: asyncio.Task[None] | None = None
        try:
            async for change in changes:
                if isinstance(change, SectionChanged):
                    self.cache.invalidate(change.site, change.section)
                elif isinstance(change, SignalUp):
                    if poller is not None:
                        poller.cancel()
                        poller = None
                    await self._resync()
                    self._signal(True, "listening")
                else:
                    self._signal(False, f"lost: {change.reason}")
                    if poller is None:
                        poller = asyncio.create_task(self._poll_forever(), name="feedsvc-feed-cache-poll")
        finally:
            if poller is not None:
                poller.cancel()
                await asyncio.gather(poller, return_exceptions=True)
            await changes.aclose()

    def state(self) -> dict[str, str | None] | None:
        """The change signal for /readyz: listening, or lost (since when, why); None without one."""
        if self.signal is None:
            return None
        since = self.signal_lost_at.isoformat() if self.signal_lost_at else None
        return {"state": self.signal.partition(":")[0], "lost_since": since,
                "reason": self.signal.partition(": ")[2] or None}

    async def _resync(self) -> None:
        for section in self.cache.sections_building():  # may have read before a missed change: not kept
            self.cache.invalidate(*section)
        if not await self._poll_logged():  # the revisions cannot be read: nothing held can be trusted
            for section in self.cache.sections_held():
                self.cache.invalidate(*section)

    def _signal(self, up: bool, state: str) -> None:
        self.signal = state
        self.signal_lost_at = None if up else (self.signal_lost_at or self.clock().replace(microsecond=0))
        if self.on_signal is not None:
            self.on_signal(up)

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            await self._poll_logged()

    async def _poll_logged(self) -> bool:
        """The cache's poll_once, a failure logged once (not every two seconds); whether it succeeded."""
        try:
            await self.cache.poll_once()
        except FeedsvcError as exc:
            if str(exc) != self._poll_error:
                log.warning("feed cache: store revision poll failed: %s", exc)
            self._poll_error = str(exc)
            return False
        self._poll_error = None
        return True
