"""WebSub publisher (W3C WebSub, the publisher's side): after a refresh that changed a section, tell the
configured hub that each of the section's feed URLs changed, so that subscribers hear of new entries
without polling. The feeds advertise the hub themselves (render/, web/representation.py).

One POST per feed URL (`hub.mode=publish&hub.url=<feed URL>`), not one POST with the three `hub.url`
values: WebSub leaves the publish request to each hub, and while some hubs accept a repeated
`hub.url`, others read only the first (or only one) value, so three single pings are the form every
hub understands; each URL is also retried on its own, so one topic the hub refuses does not take the
others with it.

Publishing never blocks or fails a refresh: `refreshed()` is a plain call that starts a background
task. Each ping has a short timeout and a few attempts with backoff (on a connection error, a timeout,
a 429 or a 5xx); then it is given up and logged. `close()` lets running pings finish for a moment,
then cancels them. The publisher has its own small client session: the fetcher only fetches the
configured sites' origins, and the hub is none of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp

from feedsvc import __version__
from feedsvc.model import RefreshReport
from feedsvc.render import FORMATS

log = logging.getLogger("feedsvc.websub")

USER_AGENT = f"feedsvc/{__version__} (WebSub publisher)"


def topic_urls(base_url: str, site: str, section: str) -> list[str]:
    """The feed URLs of one section, one per format: what the feeds name as rel="self"."""
    return [f"{base_url}/{site}/{section}.{fmt}" for fmt in FORMATS]


class WebSubPublisher:
    """Publishes changed sections to one hub. `sent` / `failed` count pings the hub accepted / pings
    given up on (every attempt failed, or the hub refused one with a 4xx); `on_ping(outcome)` hears
    each one as "sent" or "failed" (metrics)."""

    def __init__(self, hub: str, base_url: str, *, attempts: int = 3, backoff: float = 1.0,
                 timeout: float = 10.0, max_connections: int = 4,
                 on_ping: Callable[[str], object] | None = None):
        self.on_ping = on_ping
        self.hub = hub
        self.base_url = base_url.rstrip("/")
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_connections = max_connections
        self.sent = 0
        self.failed = 0
        self._session: aiohttp.ClientSession | None = None
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}  # by section
        self._again: set[tuple[str, str]] = set()  # sections changed again while being published

    def refreshed(self, report: RefreshReport) -> None:
        """The after-refresh hook: publish the section when the refresh stored new or changed entries."""
        if report.ok and (report.inserted or report.updated):
            self.publish(report.site, report.section)

    def publish(self, site: str, section: str) -> asyncio.Task[None]:
        """Publish the section's feed URLs in the background; returns the task (tracked for close).

        One task per section at most: a change while the section is being published (a slow or
        retried hub) is published once more when that round ends, however many changes came meanwhile,
        since the hub may have fetched the feeds before the latest one."""
        key = (site, section)
        running = self._running.get(key)
        if running is not None and not running.done():  # done: its last look at `_again` is behind it
            self._again.add(key)
            return running
        task = asyncio.create_task(self._publish_until_current(key), name=f"feedsvc-websub-{site}/{section}")
        self._running[key] = task
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        for key, running in list(self._running.items()):
            if running is task:
                del self._running[key]

    async def _publish_until_current(self, key: tuple[str, str]) -> None:
        while True:
            self._again.discard(key)
            await self._publish(*key)
            if key not in self._again:
                return

    async def _publish(self, site: str, section: str) -> None:
        urls = topic_urls(self.base_url, site, section)
        results = await asyncio.gather(*(self._ping(url) for url in urls))
        accepted = sum(results)
        if accepted == len(urls):
            log.info("%s/%s: published to the WebSub hub %s", site, section, self.hub)
        else:
            log.warning("%s/%s: the WebSub hub %s took %d of %d feed URLs", site, section, self.hub,
                        accepted, len(urls))

    async def _ping(self, url: str) -> bool:
        """One `hub.mode=publish` for `url`, tried up to `attempts` times; whether the hub accepted it."""
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                # No redirects: a POST is not resent to wherever a hub points; the operator configures that URL.
                async with self._client().post(self.hub, data={"hub.mode": "publish", "hub.url": url},
                                               allow_redirects=False) as response:
                    status = response.status  # the body says nothing more; leaving unread, it is not downloaded
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
                continue
            if 200 <= status < 300:
                self.sent += 1
                if self.on_ping is not None:
                    self.on_ping("sent")
                return True
            problem = f"HTTP {status}"
            if status != 429 and status < 500:  # the hub refuses this request: asking again changes nothing
                break
        self.failed += 1
        if self.on_ping is not None:
            self.on_ping("failed")
        log.warning("WebSub hub %s did not take %s: %s", self.hub, url, problem)
        return False

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on first use: a session belongs to the running event loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections), timeout=self.timeout,
                headers={"User-Agent": USER_AGENT})
        return self._session

    async def close(self, grace: float = 1.0) -> None:
        """Let pings in flight finish for up to `grace` seconds, cancel the rest, close the session."""
        if self._running:
            _, pending = await asyncio.wait(set(self._running.values()), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
