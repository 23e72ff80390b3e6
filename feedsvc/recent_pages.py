"""Pages fetched a short while ago, shared by every section the pipeline runs: a site's home page (read
to resolve nav labels) and article pages are fetched once per run, however many sections need them.

Nine `nav:` sections of one site read one home page; an unreachable home page is one request and one
error, which the other sections share instead of asking again. An article two sections list is fetched
once. A page (or its FetchError) is kept for `ttl` after it was fetched, for the sections that have not
had it yet: a section asking again is on its next run, and fetches anew (a failed article is retried,
not failed again unasked). A fetch in flight is waited for, not repeated. List pages are not kept: they
are asked conditionally, once per section anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feedsvc.clock import Clock
from feedsvc.errors import FetchError
from feedsvc.model import FetchResult, Origins

# Long enough to cover one `feedsvc refresh` of a large site, one section after another; short
# enough that a scheduler run reads a changed home page within minutes.
RECENT_TTL = timedelta(minutes=10)
# Page text kept at most (characters), oldest dropped first: a bound whatever the pages weigh.
RECENT_MAX_CHARS = 8_000_000

_Key = tuple[str, Origins, bool]


@dataclass
class _Kept:
    outcome: FetchResult | FetchError
    fetched: datetime
    chars: int
    takers: set[str]  # the sections that had it


class RecentPages:
    """URL → the page fetched there within `ttl` (or the error it gave), per site scope."""

    def __init__(self, clock: Clock, *, ttl: timedelta = RECENT_TTL, max_chars: int = RECENT_MAX_CHARS):
        self._clock = clock
        self._ttl = ttl
        self._max_chars = max_chars
        self._kept: dict[_Key, _Kept] = {}  # oldest first
        self._locks: dict[_Key, asyncio.Lock] = {}
        self._chars = 0

    async def get(self, url: str, origins: Origins, robots: bool, taker: str,
                  fetch: Callable[[], Awaitable[FetchResult]]) -> FetchResult:
        """The page at `url` for section `taker`: kept from a recent fetch for another section (its
        FetchError raised again), else `fetch()`ed. Only the fetch that ran counts its requests."""
        key = (url, origins, robots)
        self._expire()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # a second section asking meanwhile waits for this fetch, not for its own
            kept = self._kept.get(key)
            if kept is not None and taker in kept.takers:
                self._drop(key)
                kept = None
            if kept is None:
                try:
                    result = await fetch()
                except FetchError as exc:
                    self._keep(key, exc, 0, taker)
                    raise
                self._keep(key, result, len(result.text or ""), taker)
                return result
            kept.takers.add(taker)
        if isinstance(kept.outcome, FetchError):
            raise kept.outcome
        return kept.outcome

    def _keep(self, key: _Key, outcome: FetchResult | FetchError, chars: int, taker: str) -> None:
        self._kept[key] = _Kept(outcome, self._clock(), chars, {taker})
        self._chars += chars
        while self._chars > self._max_chars and self._kept:
            self._drop(next(iter(self._kept)))

    def _expire(self) -> None:
        cutoff = self._clock() - self._ttl
        for key in [k for k, kept in self._kept.items() if kept.fetched <= cutoff]:
            self._drop(key)
        # Locks of fetches that kept nothing (cancelled) or were dropped while held.
        for key in [k for k, lock in self._locks.items() if k not in self._kept and not lock.locked()]:
            del self._locks[key]

    def _drop(self, key: _Key) -> None:
        kept = self._kept.pop(key)
        self._chars -= kept.chars
        lock = self._locks.get(key)
        if lock is not None and not lock.locked():
            del self._locks[key]
