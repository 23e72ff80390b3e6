"""This replica's hold on sites, so that replicas sharing one store split the refresh work: a replica
refreshes a site's sections only while it holds the site's lease (store.take_lease), so one replica at a
time fetches from a site and the per-host limits of its fetcher (requests in flight, the minimum gap,
robots.txt, Retry-After) hold for the whole deployment.

- `acquire(site)` takes the lease (or counts one more run under it, if held); False when another
  replica holds it. `release(site)` after the run: the last run out lets the lease go `linger()`
  seconds later (the minimum gap between two requests), so the next holder's first request keeps it.
- While runs hold a site its lease is renewed every third of `lease`. A renewal that finds the lease
  gone (another replica took it) or that cannot reach the store before the lease would run out gives
  the site up: `on_lost(site)` (the scheduler cancels the site's runs), so a replica cut off from the
  database stops fetching before another one starts.
- A replica killed mid-run renews nothing: its leases run out after `lease` and its sites' sections
  are taken by whichever replica tries them next (they retry a held site every `retry` seconds).

On SQLite the store grants every lease (one process), and all of this costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from feedsvc.errors import StoreError
from feedsvc.store import Store

log = logging.getLogger("feedsvc.leases")


def replica_id(configured: str | None = None) -> str:
    """This process's name among replicas: the configured one, else hostname:pid."""
    return configured or f"{socket.gethostname()}:{os.getpid()}"


class SiteLeases:
    """The sites this replica holds, with how many runs use each; renewed in the background while held."""

    def __init__(
        self, store: Store, holder: str, lease: timedelta, *, linger: Callable[[], float] = lambda: 0.0,
        on_lost: Callable[[str], object] | None = None,
    ):
        self.store = store
        self.holder = holder
        self.seconds = lease.total_seconds()
        self.linger = linger
        self.on_lost = on_lost
        self.held: dict[str, int] = {}  # site -> runs holding it now
        self.renewed: dict[str, float] = {}  # site -> time.monotonic() of its last take or renewal
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def retry(self) -> float:
        """Seconds before a section whose site another replica holds is tried again."""
        return max(self.seconds / 4, 0.5)

    async def acquire(self, site: str) -> bool:
        """Hold the site for one more run; False when another replica holds it. Raises StoreError."""
        if site not in self.held:
            if not await self.store.take_lease(site, self.holder, self.seconds):
                return False
            self.renewed[site] = time.monotonic()
        self.held[site] = self.held.get(site, 0) + 1
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._renew_forever(), name="feedsvc-lease-renewal")
        return True

    async def release(self, site: str) -> None:
        """One run under the site ended; the last one lets the lease go (a lost site: nothing to do)."""
        runs = self.held.get(site)
        if runs is None:
            return
        if runs > 1:
            self.held[site] = runs - 1
            return
        del self.held[site]
        self.renewed.pop(site, None)
        try:
            await self.store.release_lease(site, self.holder, self.linger())
        except StoreError as exc:  # it runs out on its own
            log.warning("%s: could not release the site's lease (%s); it expires in %.0fs", site, exc, self.seconds)

    async def _renew_forever(self) -> None:
        while self.held:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.renew()
            except Exception as exc:  # noqa: BLE001 - the renewal must go on; one line, no traceback
                log.error("lease renewal failed: %s: %s", type(exc).__name__, exc)

    async def renew(self) -> None:
        """Renew every lease held; give up (on_lost) those gone, or about to run out unrenewed."""
        sites = list(self.held)
        if not sites:
            return
        try:
            # Bounded: a store that does not answer (a dead connection) must not hold the give-up back.
            kept: set[str] | None = await asyncio.wait_for(
                self.store.renew_leases(sites, self.holder, self.seconds), self.seconds / 3)
        except (StoreError, TimeoutError) as exc:
            log.warning("could not renew the leases of %s: %s", ", ".join(sites), str(exc) or "no answer in time")
            kept = None
        now = time.monotonic()
        for site in sites:
            if site not in self.held:  # released while the renewal ran
                continue
            if kept is not None and site in kept:
                self.renewed[site] = now
            elif kept is not None or now - self.renewed.get(site, now) >= self.seconds * 2 / 3:
                why = "another replica holds it" if kept is not None else "the store cannot renew it in time"
                log.warning("%s: this replica gave the site up (%s); its runs here stop", site, why)
                del self.held[site]
                self.renewed.pop(site, None)
                if self.on_lost is not None:
                    self.on_lost(site)

    async def close(self) -> None:
        """Stop renewing and let every lease go now (a restarted replica's sites are free at once)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        sites, self.held = list(self.held), {}
        for site in sites:
            try:
                await self.store.release_lease(site, self.holder, 0.0)
            except StoreError:
                pass  # it runs out on its own
