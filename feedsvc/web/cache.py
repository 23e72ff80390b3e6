"""Rendered feeds per (site, section, format), each a CachedFeed (representation.py) ready to send.

A feed is rendered on its first request and again only when its section's store revision moves:
`invalidate()` covers writes made in this process, the StoreFollower (cache_follow.py) another
process's, from the store's change signal or by polling `poll_once()`. Serving an unchanged feed is
a dict lookup: no query, no render.
Concurrent requests for a feed being built share one build (one render for a thundering herd).

Memory is bounded by `server.feed_cache_bytes` (cache_lru.py): rendered feeds (both encodings) and
the section entries they were rendered from, least recently used evicted first and rebuilt from the
store on their next request; a quarter of the budget holds filtered views, so a flood of views
cannot evict the plain feeds.

Filtered views (`?q=`, `?exclude=`, `?limit=`) cannot starve that path, whatever a client asks:
- a view is filtered over the cached entries (a substring test each) and cached by the entries it
  keeps, not by its query string: a flood of distinct words that match nothing (or everything) is
  one rendering (or the plain feed's), however many distinct words;
- a view keeping new entries is rendered one at a time, with at most `max_pending_views` waiting;
  beyond that a request gets `ViewsBusy` (503 + Retry-After), not a place in an unbounded queue
  of renders competing with the plain feeds for the CPU;
- at most `max_variants` renderings of views are kept, within their share of the budget (least
  recently used goes first).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from feedsvc.clock import Clock, utcnow
from feedsvc.config import Config, SectionRef
from feedsvc.errors import NotFound
from feedsvc.model import Entry, Feed
from feedsvc.render import render
from feedsvc.store import Store
from feedsvc.web.cache_lru import ByteLRU
from feedsvc.web.query import DEFAULT, FeedQuery, searchable
from feedsvc.web.representation import CachedFeed, feed_timestamp, link_header, represent

log = logging.getLogger("feedsvc.web")

T = TypeVar("T")
SectionKey = tuple[str, str]
# What a cached feed holds besides its two bodies (two sets of headers, the objects): roughly.
FEED_OVERHEAD = 2048
# What an entry of a section snapshot holds besides its strings (the Entry, its datetimes, a tuple slot).
ENTRY_OVERHEAD = 400


class ViewsBusy(Exception):
    """Too many filtered views waiting to be rendered: this one is refused (503), try again shortly."""


@dataclass(frozen=True, slots=True)
class SectionSnapshot:
    feed: Feed  # every entry of the section, unfiltered
    revision: int
    generation: int  # bumped by invalidate(): results of older generations are never stored
    texts: tuple[str, ...] = ()  # each entry's text that ?q= / ?exclude= search (query.searchable)

    def size(self) -> int:
        """Roughly the bytes it holds: its entries' strings (as Python stores them) and their objects."""
        total = sum(map(sys.getsizeof, self.texts))
        for e in self.feed.entries:
            total += ENTRY_OVERHEAD + sum(sys.getsizeof(text) for text in (
                e.url, e.title, e.subtitle, e.author, e.source, e.editor, e.summary, e.content_html, e.image,
                *e.categories) if text)
        return total


def feed_size(cached: CachedFeed) -> int:
    """Roughly the bytes a cached feed holds: both bodies and their headers."""
    return len(cached.plain.body) + len(cached.gzip.body) + FEED_OVERHEAD


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
        hub=config.server.websub_hub,
    )


def _render_cached(fmt: str, feed: Feed, max_age: int, revision: int) -> CachedFeed:
    doc = render(fmt, feed)
    link = link_header(feed.hub, feed.feed_url(fmt)) if feed.hub else None
    return represent(doc.media_type, doc.body, feed_timestamp(doc.updated or feed.checked), max_age=max_age,
                     revision=revision, link=link)


class FeedCache:
    """The render cache of one web app. `renders` counts renders done (observable in tests);
    `on_lookup(hit)` hears each feed lookup, `on_render(format, seconds)` each render, `on_evict(n)`
    each eviction of n renderings or snapshots to stay within `max_bytes` (metrics). It is kept
    current with other processes' writes by a StoreFollower (cache_follow.py).

    `max_bytes` (default: the config's `server.feed_cache_bytes`) bounds the renderings and the
    entries they came from; a quarter of it, and `max_variants`, bound the filtered views."""

    def __init__(self, config: Config, store: Store, *, max_variants: int = 256,
                 max_pending_views: int = 8, clock: Clock = utcnow, max_bytes: int | None = None,
                 on_lookup: Callable[[bool], object] | None = None,
                 on_render: Callable[[str, float], object] | None = None,
                 on_evict: Callable[[int], object] | None = None):
        self.on_lookup = on_lookup
        self.on_render = on_render
        self.config = config
        self.store = store
        self.clock = clock
        self.max_pending_views = max_pending_views  # view renders running or waiting, at most
        self.refs: dict[SectionKey, SectionRef] = {(r.site_name, r.name): r for r in config.section_refs()}
        self.renders = 0
        self.max_bytes = budget = max_bytes if max_bytes is not None else config.server.feed_cache_bytes
        # Plain feeds by (site, section, format) and section snapshots by (site, section).
        self._cached: ByteLRU[CachedFeed | SectionSnapshot] = ByteLRU(budget - budget // 4, on_evict=on_evict)
        # Views by the entries they keep: (site, section, format, indices into the section's entries).
        self._variants: ByteLRU[CachedFeed] = ByteLRU(budget // 4, max_items=max_variants, on_evict=on_evict)
        self._pending_views = 0
        self._view_slot = asyncio.Semaphore(1)
        self._generations: dict[SectionKey, int] = {}
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        # When each section never refreshed was first served: its empty feed's time, kept so that the
        # feed's bytes and Last-Modified stay put until the store knows the section.
        self._first_served: dict[SectionKey, datetime] = {}

    # -- reading -----------------------------------------------------------------------------------

    async def feed(self, site: str, section: str, fmt: str, query: FeedQuery = DEFAULT) -> CachedFeed:
        """The current rendering of a configured section in a known format (the caller checked both),
        filtered by `query`; raises ViewsBusy when a filtered view would have to wait too long."""
        if query.is_default:
            cached = self._cached.get((site, section, fmt))
            if self.on_lookup is not None:
                self.on_lookup(cached is not None)
            if isinstance(cached, CachedFeed):
                return cached
            generation = self._generations.get((site, section), 0)
            return await self._once(
                ("feed", site, section, fmt, generation), lambda: self._build(site, section, fmt))
        snapshot = await self.snapshot(site, section)
        kept = query.select(snapshot.texts)
        if len(kept) == len(snapshot.texts):  # the view keeps every entry: it is the plain feed
            return await self.feed(site, section, fmt)
        variant = (site, section, fmt, kept)
        cached = self._variants.get(variant)
        if self.on_lookup is not None:
            self.on_lookup(cached is not None)
        if cached is not None:
            return cached
        return await self._once(
            ("view", *variant, snapshot.generation), lambda: self._build_view(snapshot, fmt, kept))

    async def snapshot(self, site: str, section: str) -> SectionSnapshot:
        """The section's entries as a Feed, read from the store once per revision."""
        key = (site, section)
        found = self._cached.get(key)
        if isinstance(found, SectionSnapshot):
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
        ref = self._ref(key)
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
        snapshot = SectionSnapshot(feed, revision, generation, tuple(searchable(e) for e in entries))
        if self._generations.get(key, 0) == generation:
            self._cached.put(key, snapshot, snapshot.size())
        return snapshot

    async def _render(self, snapshot: SectionSnapshot, fmt: str, feed: Feed) -> CachedFeed:
        max_age = int(self._ref((snapshot.feed.site, snapshot.feed.section)).refresh.total_seconds())
        # Rendering and gzip are CPU work: a thread keeps cached feeds flowing meanwhile.
        started = time.perf_counter()
        cached = await asyncio.to_thread(_render_cached, fmt, feed, max_age, snapshot.revision)
        self.renders += 1
        if self.on_render is not None:
            self.on_render(fmt, time.perf_counter() - started)
        return cached

    def _current(self, snapshot: SectionSnapshot) -> bool:
        """Whether nothing invalidated the snapshot's section since it was read (else keep nothing)."""
        return self._generations.get((snapshot.feed.site, snapshot.feed.section), 0) == snapshot.generation

    async def _build(self, site: str, section: str, fmt: str) -> CachedFeed:
        snapshot = await self.snapshot(site, section)
        cached = await self._render(snapshot, fmt, snapshot.feed)
        if self._current(snapshot):
            self._cached.put((site, section, fmt), cached, feed_size(cached))
        return cached

    async def _build_view(self, snapshot: SectionSnapshot, fmt: str, kept: tuple[int, ...]) -> CachedFeed:
        if self._pending_views >= self.max_pending_views:
            raise ViewsBusy(f"{self._pending_views} filtered views are being rendered; try again shortly")
        self._pending_views += 1
        try:
            async with self._view_slot:  # one at a time: a flood of views leaves the CPU to plain feeds
                whole = snapshot.feed
                # A view that keeps no entry is as new as the section it filters, not undated.
                feed = replace(whole, entries=tuple(whole.entries[i] for i in kept),
                               checked=whole.updated or whole.checked)
                cached = await self._render(snapshot, fmt, feed)
        finally:
            self._pending_views -= 1
        if self._current(snapshot):
            self._variants.put((whole.site, whole.section, fmt, kept), cached, feed_size(cached))
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
        self._cached.drop_section(site, section)
        self._variants.drop_section(site, section)

    @property
    def max_variants(self) -> int | None:
        """How many renderings of filtered views are kept at most."""
        return self._variants.max_items

    @max_variants.setter
    def max_variants(self, value: int) -> None:
        self._variants.max_items = value

    @property
    def bytes(self) -> int:
        """Roughly the bytes held now: renderings, views and section snapshots."""
        return self._cached.bytes + self._variants.bytes

    def __len__(self) -> int:
        """How many renderings, views and section snapshots are held now."""
        return len(self._cached) + len(self._variants)

    def _ref(self, key: SectionKey) -> SectionRef:
        ref = self.refs.get(key)
        if ref is None:  # removed by a config reload while its feed was being built
            raise NotFound(f"section {key[0]}/{key[1]} is no longer configured")
        return ref

    def follow(self, config: Config, sections: Iterable[SectionRef], changed: Iterable[SectionKey] = ()) -> None:
        """A reloaded config and its `sections`: these are served from now on (a removed one is
        forgotten), and those in `changed` (their settings changed) are rendered again; every other
        rendering, and so its ETag, is kept."""
        refs = {(r.site_name, r.name): r for r in sections}
        for key in [*changed, *(key for key in self.refs if key not in refs)]:
            self.invalidate(*key)
        self.config, self.refs = config, refs

    async def poll_once(self) -> list[SectionKey]:
        """Invalidate every cached section whose store revision moved; returns those sections."""
        revisions = await self.store.revisions()
        stale: dict[SectionKey, None] = {}
        for lru in (self._cached, self._variants):
            for key, value in lru.items():
                section = (key[0], key[1])
                if revisions.get(section, 0) != value.revision:
                    stale[section] = None
        for section in stale:
            self.invalidate(*section)
        return list(stale)

    def sections_held(self) -> set[SectionKey]:
        """Every section with a rendering, view or snapshot held."""
        return {*self._cached.sections(), *self._variants.sections()}

    def sections_building(self) -> set[SectionKey]:
        """Every section with a build under way (its key: kind, site, section, ...)."""
        return {(key[1], key[2]) for key in self._inflight if isinstance(key, tuple) and len(key) > 2}
