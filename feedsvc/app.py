"""Wiring: config → store, fetcher, refresher, scheduler (and its WebSub publisher) and web app. Nothing
here runs a command (those are in feedsvc.commands); everything here builds the parts and closes them again.

Everything with a lifetime is opened in one aiohttp cleanup context and closed in reverse order, so
shutdown stops the scheduler (cancelling running refreshes, whose transactions roll back) before
the store closes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from aiohttp import abc as aiohttp_abc
from aiohttp import web

from feedsvc.clock import Clock, utcnow
from feedsvc.config import Config
from feedsvc.fetch import Fetcher
from feedsvc.model import RefreshReport
from feedsvc.refresh import SectionRefresher
from feedsvc.scheduler import RefreshScheduler
from feedsvc.store import open_store
from feedsvc.web import FEED_CACHE, make_app
from feedsvc.web.admin import REFRESH_QUEUE
from feedsvc.web.metrics import METRICS
from feedsvc.websub import WebSubPublisher


def build_app(
    config: Config, *, resolver: aiohttp_abc.AbstractResolver | None = None,
    schedule: bool = True, spread: timedelta = timedelta(seconds=1), clock: Clock = utcnow,
) -> web.Application:
    """The whole service: the web app, with store, fetcher and scheduler living in its cleanup_ctx."""
    store = open_store(config.store.url)
    app = make_app(config, store)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await store.open()
        metrics = app[METRICS]
        fetcher = Fetcher(config.fetch.plain(), resolver=resolver, on_request=metrics.upstream)
        refresher = SectionRefresher(fetcher, store, clock=clock, on_report=metrics.refreshed)
        scheduler = None
        hub = config.server.websub_hub
        publisher = WebSubPublisher(hub, config.server.base_url) if hub else None
        if schedule:
            cache = app[FEED_CACHE]

            def refreshed(report: RefreshReport) -> None:
                cache.invalidate(report.site, report.section)
                if publisher is not None:  # after the invalidation: the hub may fetch the feed at once
                    publisher.refreshed(report)

            scheduler = RefreshScheduler(
                config.section_refs(), refresher.refresh, on_done=refreshed,
                section_state=store.section_state, spread=spread, on_lag=metrics.scheduler_lag.observe)
            scheduler.start({(s.site, s.section): s for s in await store.section_states()})
            if REFRESH_QUEUE in app:  # the admin API is on: it queues runs on this scheduler
                app[REFRESH_QUEUE].queue = scheduler
        try:
            yield
        finally:
            if REFRESH_QUEUE in app:
                app[REFRESH_QUEUE].queue = None
            if scheduler is not None:
                await scheduler.shutdown()
            if publisher is not None:
                await publisher.close()
            await fetcher.close()
            await store.close()

    # First in line: the store is open before the web room's own start-up hooks run.
    app.cleanup_ctx.insert(0, lifetime)
    return app


@asynccontextmanager
async def open_refresher(
    config: Config, *, resolver: aiohttp_abc.AbstractResolver | None = None, clock: Clock = utcnow,
) -> AsyncIterator[SectionRefresher]:
    """A refresher over the configured store and a fresh fetcher, both closed on leaving."""
    store = open_store(config.store.url)
    await store.open()
    try:
        async with Fetcher(config.fetch.plain(), resolver=resolver) as fetcher:
            yield SectionRefresher(fetcher, store, clock=clock)
    finally:
        await store.close()


def setup_logging(log_format: str | None = None) -> None:
    """INFO and above on stderr in `log_format` ("text" or "json", see feedsvc.logs); without one, a
    set-up the command line made already stays (else text)."""
    from feedsvc.logs import configure_logging

    configure_logging(log_format, level=logging.INFO)
