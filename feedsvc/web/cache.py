"""Rendered feeds per (site, section, format), each a CachedFeed (representation.py) ready to send.

A feed is rendered on its first request and again only when its section's store revision moves:
`invalidate()` covers writes made in this process, a background poll of `store.revisions()` covers
another process's (`feedsvc refresh`). Serving an unchanged feed is a dict lookup: no query, no render.
Concurrent requests for a feed being built share one build (one render for a thundering herd).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from feedsvc.clock import Clock, utcnow
from feedsvc.config import Config, SectionRef
from feedsvc.errors import FeedsvcError
from feedsvc.model import Entry, Feed
from feedsvc.render import FORMATS, render
from feedsvc.store import Store
from feedsvc.web.query import DEFAULT, FeedQuery
from feedsvc.web.representation import CachedFeed, feed_timestamp, represent

log = logging.getLogger("feedsvc.web")

T = TypeVar("T")
SectionKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class SectionSnapshot:
    feed: Feed  # every entry of the section, unfiltered
    revision: int
    generation: int  # bumped by invalidate(): results of older generations are never stored


def build_feed(config: Config, ref: SectionRef, entries: Sequence[Entry], link: str | None,
               checked: datetime | None = None) -> Feed:
    site = ref.site
    return Feed(
        site=ref.site_name,
        section=ref.name,
        title=f"{site.title} · {ref.section.title}",
        link=link or ref.url or site.home,
        feed_url_base=f"{config.server.base_url}/{ref.site_name}/{ref.name}",
        description=ref.section.description or "",
        language=ref.language,
        timezone=ref.timezone,
        site_title=site.title,
        site_home=site.home,
        ttl_minutes=max(1, math.ceil(ref.refresh.total_seconds() / 60)),
        entries=tuple(entries),
        checked=checked,
    )


def _render_cached(fmt: str, feed: Feed, max_age: int, revision: int) -> CachedFeed:
    doc = render(fmt, feed)
    return represent(doc.media_type, doc.body, feed_timestamp(doc.updated or feed.checked), max_age=max_age,
                     revision=revision)


class FeedCache:
    """The render cache of one web app. `renders` counts renders done (observable in tests)."""

    def __init__(self, config: Config, store: Store, *, poll_interval: float = 2.0, max_variants: int = 256,
                 clock: Clock = utcnow):
        self.config = config
        self.store = store
        self.clock = clock
        self.poll_interval = poll_interval
        self.max_variants = max_variants
        self.refs: dict[SectionKey, SectionRef] = {(r.site_name, r.name): r for r in config.section_refs()}
        self.renders = 0
        self._snapshots: dict[SectionKey, SectionSnapshot] = {}
        self._feeds: dict[tuple[str, str, str], CachedFeed] = {}
        self._variants: OrderedDict[tuple[str, str, str, FeedQuery], CachedFeed] = OrderedDict()
        self._generations: dict[SectionKey, int] = {}
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self._poll_error: str | None = None
        # When each section never refreshed was first served: its empty feed's time, kept so that the
        # feed's bytes and Last-Modified stay put until the store knows the section.
        self._first_served: dict[SectionKey, datetime] = {}

    # -- reading -----------------------------------------------------------------------------------

    async def feed(self, site: str, section: str, fmt: str, query: FeedQuery = DEFAULT) -> CachedFeed:
        """The current rendering of a configured section in a known format (the caller checked both)."""
        if query.is_default:
            cached = self._feeds.get((site, section, fmt))
            if cached is not None:
                return cached
        else:
            variant = (site, section, fmt, query)
            cached = self._variants.get(variant)
            if cached is not None:
                self._variants.move_to_end(variant)
                return cached
        generation = self._generations.get((site, section), 0)
        return await self._once(
            ("feed", site, section, fmt, query, generation), lambda: self._build(site, section, fmt, query))

    async def snapshot(self, site: str, section: str) -> SectionSnapshot:
        """The section's entries as a Feed, read from the store once per revision."""
        key = (site, section)
        found = self._snapshots.get(key)
        if found is not None:
            return found
        generation = self._generations.get(key, 0)
        return await self._once(("section", site, section, generation), lambda: self._load(site, section))

    async def _load(self, site: str, section: str) -> SectionSnapshot:
        key = (site, section)
        generation = self._generations.get(key, 0)
        # Revision first: a write landing between the two reads then shows as a newer revision on the
        # next poll (a harmless extra render) instead of new entries filed under the old number.
        revision = await self.store.revision(site, section)
        entries = await self.store.entries(site, section)
        ref = self.refs[key]
        link = ref.url
        checked = None
        # A nav-label section's URL is the one its refresh resolved; an empty feed is dated by its
        # section's last refresh (or, never refreshed, its first serving), not by no date at all.
        if link is None or not entries:
            state = await self.store.section_state(site, section)
            link = link or state.resolved_url
            checked = state.last_success or state.last_attempt
            if checked is None:
                checked = self._first_served.setdefault(key, self.clock().replace(microsecond=0))
        feed = build_feed(self.config, ref, entries, link, checked)
        snapshot = SectionSnapshot(feed, revision, generation)
        if self._generations.get(key, 0) == generation:
            self._snapshots[key] = snapshot
        return snapshot

    async def _build(self, site: str, section: str, fmt: str, query: FeedQuery) -> CachedFeed:
        snapshot = await self.snapshot(site, section)
        feed = snapshot.feed
        if not query.is_default:
            # A view that keeps no entry is as new as the section it filters, not undated.
            feed = replace(feed, entries=query.apply(feed.entries), checked=feed.updated or feed.checked)
        max_age = int(self.refs[(site, section)].refresh.total_seconds())
        # Rendering and gzip are CPU work: a thread keeps cached feeds flowing meanwhile.
        cached = await asyncio.to_thread(_render_cached, fmt, feed, max_age, snapshot.revision)
        self.renders += 1
        if self._generations.get((site, section), 0) != snapshot.generation:
            return cached  # invalidated while rendering: serve it to this request, keep nothing
        if query.is_default:
            self._feeds[(site, section, fmt)] = cached
        else:
            self._variants[(site, section, fmt, query)] = cached
            while len(self._variants) > self.max_variants:
                self._variants.popitem(last=False)
        return cached

    async def _once(self, key: Hashable, build: Callable[[], Awaitable[T]]) -> T:
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(build())
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._finished, key))
        # shield: a client hanging up must not cancel the build other requests are waiting for.
        return await asyncio.shield(task)

    def _finished(self, key: Hashable, task: asyncio.Future[Any]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have gone away

    # -- changes -----------------------------------------------------------------------------------

    def invalidate(self, site: str, section: str) -> None:
        """Forget the section's renderings; the next request rebuilds from the store."""
        key = (site, section)
        self._generations[key] = self._generations.get(key, 0) + 1
        self._snapshots.pop(key, None)
        for fmt in FORMATS:
            self._feeds.pop((site, section, fmt), None)
        for variant in [v for v in self._variants if v[0] == site and v[1] == section]:
            del self._variants[variant]

    async def poll_once(self) -> list[SectionKey]:
        """Invalidate every cached section whose store revision moved; returns those sections."""
        revisions = await self.store.revisions()
        stale = [key for key, snap in self._snapshots.items() if revisions.get(key, 0) != snap.revision]
        for key in stale:
            self.invalidate(*key)
        return stale

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.poll_once()
            except FeedsvcError as exc:
                if str(exc) != self._poll_error:  # say it once, not every two seconds
                    log.warning("feed cache: store revision poll failed: %s", exc)
                self._poll_error = str(exc)
            else:
                self._poll_error = None

    async def polling(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: poll the store's revisions while the app runs."""
        task = asyncio.create_task(self._poll_forever(), name="feedsvc-feed-cache-poll")
        try:
            yield
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
