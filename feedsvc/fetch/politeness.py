"""Politeness towards one upstream host: a cap on requests in flight, a minimum gap between request
starts, and reading `Retry-After`. Time comes from an injected clock and sleep, so tests need no waiting."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from feedsvc.clock import utcnow
from feedsvc.httpdate import parse_http_date

Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


class HostGate:
    """Per-host semaphore plus a minimum delay between request starts to that host."""

    def __init__(self, concurrency: int, min_delay: float, *, sleep: Sleep, clock: Clock):
        self._concurrency = concurrency
        self._min_delay = min_delay
        self._sleep = sleep
        self._clock = clock
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's slots for a whole exchange (request and body)."""
        semaphore = self._semaphores.get(host)
        if semaphore is None:
            semaphore = self._semaphores[host] = asyncio.Semaphore(self._concurrency)
        async with semaphore:
            # The start time is reserved only once the semaphore is held: reserved earlier, two
            # waiters released together would start back to back.
            now = self._clock()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + self._min_delay
            if start > now:
                await self._sleep(start - now)
            yield


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """`Retry-After` (delta seconds or HTTP-date) → seconds to wait, or None when absent/unreadable.

    An HTTP-date is measured against the response's own `Date` header when there is one, so a
    skewed server clock does not turn into a wrong wait.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    when = parse_http_date(value)
    if when is None:
        return None
    now = parse_http_date(date_header) or utcnow()
    return max(0.0, (when - now).total_seconds())
