"""Wiring: config → store, fetcher, refresher, scheduler and web app; and the CLI's long-running commands.

Everything with a lifetime is opened in one aiohttp cleanup context and closed in reverse order, so
shutdown stops the scheduler (cancelling running refreshes, whose transactions roll back) before
the store closes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from aiohttp import abc as aiohttp_abc
from aiohttp import web

from feedsvc.clock import Clock, utcnow
from feedsvc.config import Config, FetchConfig, SectionRef, load_config
from feedsvc.discover import discover_yaml
from feedsvc.errors import ConfigError, NotFound
from feedsvc.fetch import Fetcher, StaticResolver
from feedsvc.model import RefreshReport
from feedsvc.preview import preview as run_preview
from feedsvc.refresh import SectionRefresher
from feedsvc.replica import replica_app
from feedsvc.scheduler import RefreshScheduler
from feedsvc.store import open_store
from feedsvc.web import FEED_CACHE, make_app, run_app, serve_until_signal

log = logging.getLogger("feedsvc")


def select_sections(config: Config, target: str | None) -> list[SectionRef]:
    """`None` → all; `site` → its sections; `site/section` → that one. Unknown names raise NotFound."""
    refs = config.section_refs()
    if not target:
        return refs
    site, _, section = target.partition("/")
    if site not in config.sites:
        raise NotFound(f"unknown site {site!r}; sites: {', '.join(config.sites) or '(none)'}")
    chosen = [r for r in refs if r.site_name == site and (not section or r.name == section)]
    if not chosen:
        names = ", ".join(config.sites[site].sections)
        raise NotFound(f"unknown section {section!r} of site {site!r}; sections: {names}")
    return chosen


def build_app(
    config: Config, *, resolver: aiohttp_abc.AbstractResolver | None = None,
    schedule: bool = True, spread: timedelta = timedelta(seconds=1), clock: Clock = utcnow,
) -> web.Application:
    """The whole service: the web app, with store, fetcher and scheduler living in its cleanup_ctx."""
    store = open_store(config.store.url)
    app = make_app(config, store)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await store.open()
        fetcher = Fetcher(config.fetch, resolver=resolver)
        refresher = SectionRefresher(fetcher, store, clock=clock)
        scheduler = None
        if schedule:
            cache = app[FEED_CACHE]
            scheduler = RefreshScheduler(
                config.section_refs(), refresher.refresh,
                on_done=lambda report: cache.invalidate(report.site, report.section),
                section_state=store.section_state, spread=spread)
            scheduler.start({(s.site, s.section): s for s in await store.section_states()})
        try:
            yield
        finally:
            if scheduler is not None:
                await scheduler.shutdown()
            await fetcher.close()
            await store.close()

    # First in line: the store is open before the web room's own start-up hooks run.
    app.cleanup_ctx.insert(0, lifetime)
    return app


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every job start and re-add at INFO; our scheduler logs each outcome instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def serve(config: Config) -> int:
    setup_logging()
    app = build_app(config)
    run_app(app, host=config.server.host, port=config.server.port,
            on_ready=lambda: print(f"feedsvc serving {config.server.base_url}/", file=sys.stderr))
    return 0


async def refresh_once(
    config: Config, refs: Sequence[SectionRef], *, resolver: aiohttp_abc.AbstractResolver | None = None,
    clock: Clock = utcnow,
) -> list[RefreshReport]:
    """Refresh the given sections now (sites in parallel, one site's sections one after another)."""
    store = open_store(config.store.url)
    await store.open()
    fetcher = Fetcher(config.fetch, resolver=resolver)
    try:
        return await refresh_by_site(SectionRefresher(fetcher, store, clock=clock), refs)
    finally:
        await fetcher.close()
        await store.close()


async def refresh_by_site(refresher: SectionRefresher, refs: Sequence[SectionRef]) -> list[RefreshReport]:
    """Sites in parallel, one site's sections one after another; reports grouped by site."""
    by_site: dict[str, list[SectionRef]] = {}
    for ref in refs:
        by_site.setdefault(ref.site_name, []).append(ref)

    async def run_site(site_refs: list[SectionRef]) -> list[RefreshReport]:
        return [await refresher.refresh(ref) for ref in site_refs]

    results = await asyncio.gather(*(run_site(r) for r in by_site.values()))
    return [report for site_reports in results for report in site_reports]


def format_reports(reports: Sequence[RefreshReport]) -> str:
    """A summary table for `feedsvc refresh`."""
    header = ("section", "status", "links", "new", "fetched", "failed", "requests", "KB", "seconds")
    rows = [header]
    for r in reports:
        status = "not modified" if r.list_not_modified else ("ok" if r.ok else "FAILED")
        rows.append((
            f"{r.site}/{r.section}", status, str(r.links_found), str(r.inserted), str(r.articles_fetched),
            str(r.articles_failed), str(r.requests), f"{r.bytes_read / 1024:.0f}",
            f"{(r.finished - r.started).total_seconds():.1f}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in reports:
        if not r.ok:
            lines.append(f"{r.site}/{r.section}: {r.error}")
    return "\n".join(lines)


def refresh_command(config: Config, target: str | None) -> int:
    refs = select_sections(config, target)
    started = utcnow()
    reports = asyncio.run(refresh_once(config, refs))
    print(format_reports(reports))
    elapsed = (utcnow() - started).total_seconds()
    failed = sum(1 for r in reports if not r.ok)
    print(f"{len(reports)} sections, {failed} failed, {elapsed:.1f}s")
    return 1 if failed else 0


DEMO_HOSTS = ("www.cxnews.cn", "cxnews.cn")


def replica_dir(seeds_dir: str) -> Path:
    """The replica's data folder; ConfigError when it holds no replica site."""
    seeds = Path(seeds_dir)
    if not (seeds / "site").is_dir():
        raise ConfigError(
            f"{seeds}: no replica site here (expected {seeds / 'site'}); run from the repository root or pass --seeds")
    return seeds


@asynccontextmanager
async def serve_replica(seeds: Path) -> AsyncIterator[tuple[StaticResolver, int]]:
    """The replica on a loopback port, with a resolver that sends DEMO_HOSTS there; yields both."""
    runner = web.AppRunner(replica_app(seeds), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        yield StaticResolver({host: ("127.0.0.1", port) for host in DEMO_HOSTS}), port
    finally:
        await runner.cleanup()


def demo(config_path: str | None, seeds_dir: str, port: int | None = None) -> int:
    """Serve the replica site on loopback and run the whole service against it, offline.

    The shipped config is used unchanged except: the store is a fresh file in a temp folder, the
    replica answers for www.cxnews.cn, politeness delays are shortened (it is our own server), and
    entries are kept whatever their age (the replica's articles date from December 2021).
    """
    config = load_config(config_path)
    seeds = replica_dir(seeds_dir)
    tmp = tempfile.mkdtemp(prefix="feedsvc-demo-")
    data = config.model_dump(mode="python", exclude={"source_file"})
    data["store"] = {**data["store"], "url": f"sqlite:///{tmp}/demo.db", "max_age_days": 36500}
    data["fetch"] = {**data["fetch"], "min_delay": timedelta(seconds=0.01), "backoff": timedelta(seconds=0.1)}
    if port is not None:
        data["server"] = {**data["server"], "port": port, "public_url": None}
    config = Config.model_validate(data)
    setup_logging()

    async def main() -> None:
        async with serve_replica(seeds) as (resolver, replica_port):
            app = build_app(config, resolver=resolver, spread=timedelta(seconds=0.2))

            def ready() -> None:
                print(f"feedsvc demo: replica of www.cxnews.cn on 127.0.0.1:{replica_port}, store {tmp}/demo.db\n"
                      f"feeds at {config.server.base_url}/ (Ctrl-C to stop)", file=sys.stderr)

            await serve_until_signal(app, host=config.server.host, port=config.server.port, on_ready=ready)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return 0


def preview(config: Config, target: str, *, seeds: str | None = None) -> int:
    """`feedsvc preview`: what the rules extract from a section or an article; `seeds` uses the replica."""

    async def main() -> int:
        if seeds is None:
            return await run_preview(config, target)
        async with serve_replica(replica_dir(seeds)) as (resolver, _):
            return await run_preview(config, target, resolver=resolver)

    return asyncio.run(main())


def discover(url: str, *, seeds: str | None = None, name: str | None = None) -> int:
    """`feedsvc discover`: print a config block for the site at `url`; `seeds` answers from the replica."""

    def progress(line: str) -> None:
        print(line, file=sys.stderr)

    async def main() -> str:
        if seeds is None:
            return await discover_yaml(url, FetchConfig(), name=name, progress=progress)
        async with serve_replica(replica_dir(seeds)) as (resolver, _):
            # Our own loopback server, as in demo: no need for the real site's gap between requests.
            fetch = FetchConfig(min_delay=timedelta(seconds=0.01), backoff=timedelta(seconds=0.1))
            return await discover_yaml(url, fetch, resolver=resolver, name=name, progress=progress)

    print(asyncio.run(main()), end="")
    return 0
