"""Wiring: config → store, fetcher, refresher, scheduler (and its WebSub publisher) and web app. Nothing
here runs a command (those are in feedsvc.commands); everything here builds the parts and closes them again.

A config reload (feedsvc.reload) reaches the parts through listeners: the web app's (render cache,
metrics) added by make_app, the scheduler's and the fetcher's added here.

Everything with a lifetime is opened in one aiohttp cleanup context and closed in reverse order, so
shutdown stops the scheduler (cancelling running refreshes, whose transactions roll back) before
the store closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from aiohttp import abc as aiohttp_abc
from aiohttp import web

from feedsvc.clock import Clock, utcnow
from feedsvc.config import Config, SectionRef
from feedsvc.errors import FeedsvcError
from feedsvc.fetch import Fetcher
from feedsvc.model import FetchSettings, RefreshReport
from feedsvc.refresh import SectionRefresher
from feedsvc.reload import ConfigChange, ConfigListener, LiveConfig
from feedsvc.scheduler import RefreshScheduler
from feedsvc.site_leases import SiteLeases, replica_id
from feedsvc.store import Store, open_store
from feedsvc.web import FEED_CACHE, make_app
from feedsvc.web.admin import REFRESH_QUEUE
from feedsvc.web.metrics import METRICS
from feedsvc.websub import WebSubPublisher

log = logging.getLogger("feedsvc.app")


class Refreshers:
    """The refresher scheduled runs use now. Changed fetch settings (a reload) take a new Fetcher for
    the runs that start from then on; the old one is closed when the last run using it ends."""

    def __init__(self, build: Callable[[FetchSettings], SectionRefresher], settings: FetchSettings):
        self.build = build
        self.current = build(settings)
        self.runs: dict[SectionRefresher, int] = {self.current: 0}

    async def refresh(self, ref: SectionRef) -> RefreshReport:
        refresher = self.current
        self.runs[refresher] += 1
        try:
            return await refresher.refresh(ref)
        finally:
            self.runs[refresher] -= 1
            if refresher is not self.current and not self.runs[refresher]:
                del self.runs[refresher]
                await refresher.fetcher.close()

    async def replace(self, settings: FetchSettings) -> None:
        old, self.current = self.current, self.build(settings)
        self.runs[self.current] = 0
        if not self.runs[old]:
            del self.runs[old]
            await old.fetcher.close()

    async def close(self) -> None:
        for refresher in list(self.runs):
            await refresher.fetcher.close()
        self.runs.clear()


def build_app(
    config: Config, *, resolver: aiohttp_abc.AbstractResolver | None = None,
    schedule: bool = True, spread: timedelta = timedelta(seconds=1), clock: Clock = utcnow,
    file_config: Config | None = None, watch: float | None = None, sighup: bool = False,
) -> web.Application:
    """The whole service: the web app, with store, fetcher and scheduler living in its cleanup_ctx.

    The config is reloaded from its file (`config.source_file`) when the file changes, polled every
    `watch` seconds (None: not watched), on SIGHUP when `sighup`, and on POST /admin/reload.
    `file_config` is the file as read, when `config` overrides some of it (`serve --port`)."""
    store = open_store(config.store.url)
    live = LiveConfig(config, file_config=file_config, clock=clock)
    app = make_app(config, store, live=live)

    replica = replica_id(config.cluster.replica_id)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await store.open()
        metrics = app[METRICS]
        metrics.replica(replica)

        def refresher_for(settings: FetchSettings) -> SectionRefresher:
            fetcher = Fetcher(settings, resolver=resolver, on_request=metrics.upstream)
            return SectionRefresher(fetcher, store, clock=clock, on_report=counted, replica=replica)

        def configured(report: RefreshReport) -> bool:
            """Whether the report's section is still configured (a reload may have removed it during the run)."""
            site = live.current.sites.get(report.site)
            return site is not None and report.section in site.sections

        def counted(report: RefreshReport) -> None:
            if configured(report):  # no series again for a removed section
                metrics.refreshed(report)

        refreshers = Refreshers(refresher_for, config.fetch.plain())
        scheduler = None
        # Replicas on one store refresh a site one at a time (feedsvc/site_leases.py); on SQLite every
        # lease is granted. The lease lets go a minimum gap after the last request, kept across replicas.
        leases = SiteLeases(store, replica, config.cluster.lease,
                            linger=lambda: live.current.fetch.min_delay.total_seconds())
        metrics.site_leases.set_function(lambda: len(leases.held))
        hub = config.server.websub_hub
        publisher = WebSubPublisher(hub, config.server.base_url, on_ping=metrics.websub_published) if hub else None
        if schedule:
            cache = app[FEED_CACHE]

            def refreshed(report: RefreshReport) -> None:
                cache.invalidate(report.site, report.section)
                if publisher is not None and configured(report):  # after the invalidation: the hub may fetch the feed at once
                    publisher.refreshed(report)

            scheduler = RefreshScheduler(
                config.section_refs(), refreshers.refresh, on_done=refreshed,
                section_state=store.section_state, spread=spread, on_lag=metrics.scheduler_lag.observe,
                leases=leases)
            scheduler.start({(s.site, s.section): s for s in await store.section_states()})
            if REFRESH_QUEUE in app:  # the admin API is on: it queues runs on this scheduler
                app[REFRESH_QUEUE].queue = scheduler
                app[REFRESH_QUEUE].replica = replica
        follower = _follower(store, scheduler, refreshers)
        live.listeners.append(follower)
        watcher = asyncio.create_task(live.watch(watch), name="feedsvc-config-watch") if watch else None
        sighup_on = sighup and hasattr(signal, "SIGHUP")  # Unix only
        if sighup_on:
            _on_sighup(live)
        try:
            yield
        finally:
            if sighup_on:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            live.listeners.remove(follower)
            if REFRESH_QUEUE in app:
                app[REFRESH_QUEUE].queue = None
            if scheduler is not None:
                await scheduler.shutdown()
            await leases.close()
            if publisher is not None:
                await publisher.close()
            await refreshers.close()
            await store.close()

    # First in line: the store is open before the web room's own start-up hooks run.
    app.cleanup_ctx.insert(0, lifetime)
    return app


def _follower(store: Store, scheduler: RefreshScheduler | None,
              refreshers: Refreshers) -> ConfigListener:
    """The LiveConfig listener of the refresh side: the scheduler's jobs and the fetch settings."""

    async def follow(change: ConfigChange) -> None:
        if change.fetch_changed:
            await refreshers.replace(change.new.fetch.plain())
        if scheduler is None:
            return
        try:
            states = {(s.site, s.section): s for s in await store.section_states()}
        except FeedsvcError as exc:  # planned as never tried; each run reads its state again anyway
            log.warning("config reload: the store cannot be read (%s); new sections run at once", exc)
            states = {}
        scheduler.follow(change.refs, states, removed=[ref.key for ref in change.removed],
                         added=[ref.key for ref in change.added], rescheduled=change.rescheduled)

    return follow


def _on_sighup(live: LiveConfig) -> None:
    """SIGHUP reloads the config (Unix; the handler runs in the event loop, not in a signal frame)."""
    tasks: set[asyncio.Task[object]] = set()

    async def reload_logged() -> None:
        try:
            await live.reload("SIGHUP")
        except Exception as exc:  # noqa: BLE001 - logged as one line, never a task's traceback
            log.error("config reload (SIGHUP) failed: %s: %s", type(exc).__name__, exc)

    def reload() -> None:
        task = asyncio.ensure_future(reload_logged())
        tasks.add(task)  # kept until done: the loop holds only a weak reference
        task.add_done_callback(tasks.discard)

    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


@asynccontextmanager
async def open_refresher(
    config: Config, *, resolver: aiohttp_abc.AbstractResolver | None = None, clock: Clock = utcnow,
) -> AsyncIterator[SectionRefresher]:
    """A refresher over the configured store and a fresh fetcher, both closed on leaving."""
    store = open_store(config.store.url)
    await store.open()
    replica = replica_id(config.cluster.replica_id)
    leases = SiteLeases(store, replica, config.cluster.lease, linger=lambda: config.fetch.min_delay.total_seconds())
    try:
        async with Fetcher(config.fetch.plain(), resolver=resolver) as fetcher:
            refresher = SectionRefresher(fetcher, store, clock=clock, replica=replica)
            refresher.leases = leases  # sites taken as the replicas take them (refresh_by_site)
            yield refresher
    finally:
        await leases.close()
        await store.close()


def setup_logging(log_format: str | None = None) -> None:
    """INFO and above on stderr in `log_format` ("text" or "json", see feedsvc.logs); without one, a
    set-up the command line made already stays (else text)."""
    from feedsvc.logs import configure_logging

    configure_logging(log_format, level=logging.INFO)
