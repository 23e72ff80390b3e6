"""robots.txt rules per origin, cached in memory with a time to live; parsing by urllib.robotparser.

Fetching is the fetcher's job (it owns the session and the politeness); this module decides what a
robots.txt answer means and remembers it, fetching each origin's file once even under concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.robotparser import RobotFileParser

from feedsvc.fetch.politeness import Clock

# How long an answer is trusted. An unreachable robots.txt (5xx, timeout) lets the fetch go ahead
# but is asked again soon, so a site that comes back with rules gets them honoured quickly.
ROBOTS_TTL = 3600.0
ROBOTS_ERROR_TTL = 60.0
# RFC 9309 asks crawlers to read at least 500 KiB; anything past that is ignored.
ROBOTS_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class RobotsRules:
    """What one origin's robots.txt allows; `parser` None means everything is allowed."""

    parser: RobotFileParser | None
    expires: float

    def allows(self, url: str, user_agent: str) -> bool:
        return self.parser is None or self.parser.can_fetch(user_agent, url)


def rules_from_answer(status: int | None, text: str, now: float) -> RobotsRules:
    """Interpret a robots.txt answer: `status` None means the file could not be fetched at all."""
    if status is None or status >= 500 or status == 429:
        return RobotsRules(None, now + ROBOTS_ERROR_TTL)
    if not 200 <= status < 300:
        # 4xx (and anything odd): no robots.txt, so no rules (RFC 9309 section 2.3.1.3).
        return RobotsRules(None, now + ROBOTS_TTL)
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return RobotsRules(parser, now + ROBOTS_TTL)


class RobotsCache:
    """Origin → RobotsRules, loaded once per origin at a time and dropped when expired."""

    def __init__(self, clock: Clock):
        self._clock = clock
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules_for(self, origin: str, load: Callable[[], Awaitable[RobotsRules]]) -> RobotsRules:
        rules = self._fresh(origin)
        if rules is not None:
            return rules
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            # Another task may have loaded it while this one waited for the lock.
            rules = self._fresh(origin)
            if rules is None:
                rules = self._rules[origin] = await load()
        return rules

    def _fresh(self, origin: str) -> RobotsRules | None:
        rules = self._rules.get(origin)
        if rules is not None and rules.expires > self._clock():
            return rules
        return None
