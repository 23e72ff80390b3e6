"""The aiohttp app: feeds at `/{site}/{section}.{fmt}`, the feed list at `/`, section pages; health routes
(`/healthz`, `/readyz`, `/status.json`) are in health.py.

A feed request is answered from the render cache's prebuilt body and headers: aggregators poll a
lot, so per-request work is a lookup and a header comparison. Everything goes through aiohttp's
ordinary request handling, so middleware and the access log see every request.
"""

from __future__ import annotations

import logging
from functools import partial

from aiohttp import web

from feedsvc.clock import Clock, utcnow
from feedsvc.config import Config
from feedsvc.errors import FeedsvcError, NotFound
from feedsvc.model import Listing
from feedsvc.reload import ConfigChange, LiveConfig
from feedsvc.render import FORMATS
from feedsvc.render.opml import Outline, render_opml
from feedsvc.store import Store
from feedsvc.web.admin import AdminViews
from feedsvc.web.cache import FeedCache, ViewsBusy
from feedsvc.web.cache_follow import StoreFollower
from feedsvc.web.conditional import select
from feedsvc.web.health import HealthViews
from feedsvc.web.metrics import FEED_ROUTE, METRICS, follow_config, metrics_for, metrics_view, request_counter
from feedsvc.web.pages import SectionSummary, index_page, section_page
from feedsvc.web.pages_style import CONTENT_SECURITY_POLICY
from feedsvc.web.query import DEFAULT, BadQuery, parse_query
from feedsvc.web.representation import SERVER

log = logging.getLogger("feedsvc.web")

FEED_CACHE = web.AppKey("feedsvc.feed_cache", FeedCache)
LIVE_CONFIG = web.AppKey("feedsvc.live_config", LiveConfig)
STORE_FOLLOWER = web.AppKey("feedsvc.store_follower", StoreFollower)

EMPTY_LISTING = Listing(0, None)  # a section listing nothing yet


def text_response(status: int, message: str) -> web.Response:
    """A one-line plain-text answer (errors, hints)."""
    return web.Response(status=status, text=message + "\n", content_type="text/plain", charset="utf-8",
                        headers={"Server": SERVER})


def _page_response(body: bytes) -> web.Response:
    """An HTML page, never cached (it shows live status), allowed only its own inline style and script."""
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers={
        "Server": SERVER, "Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff"})


def make_app(
    config: Config, store: Store, *, clock: Clock | None = None, poll_interval: float = 2.0,
    live: LiveConfig | None = None,
) -> web.Application:
    """The web app over an (already or soon) open store; `app[FEED_CACHE]` is its render cache,
    `app[STORE_FOLLOWER]` what keeps it current with other processes' writes, `app[METRICS]` its metrics (a registry of its own), `app[LIVE_CONFIG]` the config it serves now
    (`live`, else `config` for good): a reload reaches the views, the cache and the metrics from there."""
    live = live or LiveConfig(config)
    config = live.current
    metrics = metrics_for(config)
    cache = FeedCache(config, store, clock=clock or utcnow, on_lookup=metrics.feed_cache,
                      on_render=metrics.rendered, on_evict=metrics.feed_cache_evicted)
    follower = StoreFollower(cache, store, poll_interval=poll_interval, clock=clock or utcnow,
                             on_signal=metrics.change_signal)
    metrics.watch_feed_cache(lambda: cache.bytes, lambda: len(cache))

    def follow(change: ConfigChange) -> None:
        cache.follow(change.new, change.refs, [(ref.site_name, ref.name) for ref in change.changed])

    live.listeners += [follow, follow_config(metrics)]
    live.on_outcome = metrics.config_reloaded
    views = _Views(live, store, cache, clock or utcnow)
    feed_routes: dict[web.AbstractResource, str] = {}  # each exact feed path's resource -> its format
    app = web.Application(middlewares=[request_counter(metrics, feed_routes)])
    app[FEED_CACHE] = cache
    app[STORE_FOLLOWER] = follower
    app[METRICS] = metrics
    app[LIVE_CONFIG] = live
    app.router.add_get("/", views.index)
    HealthViews(live, store, clock or utcnow, signal=follower.state).add_routes(app)
    app.router.add_get("/metrics", metrics_view(metrics))
    app.router.add_get("/feeds.opml", views.opml)
    AdminViews(live).add_routes(app, not_found=views.not_found)
    # Each configured feed at its exact path: aiohttp finds a plain path with one dict lookup, where the
    # pattern route costs a walk up the path and a regular expression (bench/serve.py --instructions).
    # The router is frozen once the app starts, so a section a reload adds is served by the pattern
    # route; one a reload removes gets the same 404 on either (the handler asks the live config).
    for site, section in cache.refs:
        for fmt in FORMATS:
            resource = app.router.add_get(f"/{site}/{section}.{fmt}", partial(views.feed_of, site, section, fmt)).resource
            assert resource is not None  # a route add_get made is its resource's
            feed_routes[resource] = fmt
    app.router.add_get(FEED_ROUTE, views.feed)
    app.router.add_get("/{site}/{section}", views.section)
    app.router.add_get("/{tail:.*}", views.not_found)
    app.cleanup_ctx.append(follower.following)
    return app


def config_problems(live: LiveConfig) -> list[str]:
    """What the index page says about the config file: invalid (each error), or changed where only a
    restart applies it."""
    problems = []
    if live.errors:
        since = live.errors_at.isoformat(timespec="seconds") if live.errors_at else "?"
        problems.append(f"The config file {live.path} is invalid (since {since}); the previous config keeps "
                        "running until a valid file replaces it:")
        problems += live.errors
    if live.needs_restart:
        problems.append(f"The config file changes {', '.join(live.needs_restart)}: running with the old "
                        "values until feedsvc is restarted.")
    return problems


class _Views:
    def __init__(self, live: LiveConfig, store: Store, cache: FeedCache, clock: Clock):
        self.live = live
        self.store = store
        self.cache = cache
        self.clock = clock
        self.formats = ", ".join(FORMATS)

    def _unknown(self, site: str, section: str) -> web.Response | None:
        """404 naming what exists (the config's one wording), or None when the section is configured."""
        if (site, section) in self.cache.refs:
            return None
        try:
            self.live.current.lookup(site, section)
        except NotFound as exc:
            return text_response(404, str(exc))
        return None

    async def feed(self, request: web.Request) -> web.Response:
        """A feed by the pattern route (sections added by a reload, unknown names and formats)."""
        match = request.match_info
        return await self.feed_of(match["site"], match["section"], match["fmt"], request)

    async def feed_of(self, site: str, section: str, fmt: str, request: web.Request) -> web.Response:
        """A feed: the handler of its exact route (bound to its names), or called by `feed`."""
        unknown = self._unknown(site, section)
        if unknown is not None:
            return unknown
        if fmt not in FORMATS:
            return text_response(404, f"unknown format {fmt!r}; formats: {self.formats}")
        try:
            query = parse_query(request.query) if request.query_string else DEFAULT
        except BadQuery as exc:
            return text_response(400, str(exc))
        try:
            cached = await self.cache.feed(site, section, fmt, query)
        except ViewsBusy as exc:
            # Not logged: under a flood of filtered views that would be a line per refused request.
            response = text_response(503, f"busy: {exc}")
            response.headers["Retry-After"] = "2"
            return response
        except NotFound as exc:  # removed by a config reload during this request
            return text_response(404, str(exc))
        except FeedsvcError as exc:
            log.warning("feed %s/%s.%s unavailable: %s", site, section, fmt, exc)
            return text_response(503, f"feed {site}/{section}.{fmt} is unavailable: {exc}")
        rep, not_modified = select(cached, request.headers)
        if not_modified:
            return web.Response(status=304, headers=rep.headers_304)
        return web.Response(body=rep.body, headers=rep.headers)

    def _base(self, request: web.Request) -> str:
        """Where people reach the feeds: the configured public URL, else the origin this page was asked on."""
        server = self.live.current.server
        return server.base_url if server.public_url else f"{request.scheme}://{request.host}"

    async def section(self, request: web.Request) -> web.Response:
        site, section = request.match_info["site"], request.match_info["section"]
        unknown = self._unknown(site, section)
        if unknown is not None:
            return unknown
        ref = self.cache.refs[(site, section)]  # taken now: a reload may remove the section meanwhile
        try:
            snapshot = await self.cache.snapshot(site, section)
            state = await self.store.section_state(site, section)
        except NotFound as exc:
            return text_response(404, str(exc))
        except FeedsvcError as exc:
            return text_response(503, f"section {site}/{section} is unavailable: {exc}")
        body = section_page(ref, snapshot.feed, state, base=self._base(request),
                            now=self.clock())
        return _page_response(body)

    async def index(self, request: web.Request) -> web.Response:
        # Rendered per request (people, not pollers, read it): it shows each section's last refresh.
        # Two queries whatever the number of sections: no section's entries are read (nor pushed through
        # the render cache) for a count and a time.
        problems: list[str] = []
        try:
            states = {(s.site, s.section): s for s in await self.store.section_states()}
            listings: dict[tuple[str, str], Listing] | None = await self.store.listings()
        except FeedsvcError as exc:
            states, listings = {}, None
            problems.append(f"The store cannot be read, so no section's status is known: {exc}")
        problems += config_problems(self.live)
        summaries = []
        for key, ref in self.cache.refs.items():
            if listings is None:
                summaries.append(SectionSummary(ref, states.get(key), None, None, known=False))
            else:
                listing = listings.get(key, EMPTY_LISTING)
                summaries.append(SectionSummary(ref, states.get(key), listing.entries, listing.updated))
        return _page_response(index_page(summaries, base=self._base(request), now=self.clock(), problems=problems))

    async def opml(self, request: web.Request) -> web.Response:
        """Every section's Atom feed as OPML: one import subscribes a reader to all of them."""
        base = self.live.current.server.base_url
        outlines = [
            Outline(title=f"{ref.site.title} · {ref.section.title}", xml_url=f"{base}/{site}/{section}.atom",
                    html_url=ref.url or ref.site.home, group=ref.site.title)
            for (site, section), ref in self.cache.refs.items()
        ]
        return web.Response(body=render_opml("feedsvc", outlines), content_type="text/x-opml",
                            charset="utf-8", headers={"Server": SERVER})

    async def not_found(self, request: web.Request) -> web.Response:
        return text_response(
            404, f"not found: {request.path}; feeds are at /{{site}}/{{section}}.{{{'|'.join(FORMATS)}}}, "
                 "listed at /")
