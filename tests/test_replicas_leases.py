"""A replica's hold on sites (feedsvc/site_leases.py) on a real PostgreSQL store, and what the scheduler
does with it: a site held elsewhere waits; a lease lost mid-run cancels the run, which stores nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import asyncpg

from feedsvc.commands.refresh import refresh_once
from feedsvc.config import Config
from feedsvc.fetch import Fetcher
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.refresh import SectionRefresher
from feedsvc.scheduler import RefreshScheduler
from feedsvc.site_leases import SiteLeases, replica_id
from feedsvc.store import open_store
from tests.support import NOW, until
from tests.support.news_site import HOST, FixtureSite, make_config
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)


def test_the_default_replica_id_is_host_and_pid() -> None:
    import os
    import socket

    assert replica_id() == f"{socket.gethostname()}:{os.getpid()}"
    assert replica_id("web-1") == "web-1"


async def test_runs_share_a_held_site_and_the_last_one_out_lets_it_go(pg_url: str) -> None:
    store = open_store(pg_url)
    await store.open()
    a = SiteLeases(store, "a", timedelta(seconds=30), linger=lambda: 0.2)
    b = SiteLeases(store, "b", timedelta(seconds=30))
    try:
        assert await a.acquire("news") and await a.acquire("news")  # two runs of one site on a
        assert not await b.acquire("news")
        await a.release("news")
        assert not await b.acquire("news")  # one run of a's still holds it
        await a.release("news")
        assert not await b.acquire("news")  # lingering: a's last request is less than min_delay ago

        async def free() -> bool:
            return await b.acquire("news")
        await until(free, "the site free after the linger", timeout=5)
        assert b.held == {"news": 1} and a.held == {}
    finally:
        await a.close()
        await b.close()
        await store.close()
    # b's close() let it go at once
    store = open_store(pg_url)
    await store.open()
    try:
        assert await store.lease_holders() == {}
    finally:
        await store.close()


async def steal(pg_url: str, site: str) -> None:
    db = await asyncpg.connect(pg_url)
    try:
        await db.execute("UPDATE leases SET holder = 'thief' WHERE site = $1", site)
    finally:
        await db.close()


async def test_a_lease_taken_by_another_is_given_up(pg_url: str) -> None:
    store = open_store(pg_url)
    await store.open()
    lost: list[str] = []
    leases = SiteLeases(store, "a", timedelta(seconds=30), on_lost=lost.append)
    try:
        assert await leases.acquire("news") and await leases.acquire("other")
        await leases.renew()
        assert lost == [] and set(leases.held) == {"news", "other"}
        await steal(pg_url, "news")
        await leases.renew()
        assert lost == ["news"] and set(leases.held) == {"other"}
        await leases.release("news")  # the run ending afterwards changes nothing
        assert (await store.lease_holders())["news"][0] == "thief"
    finally:
        await leases.close()
        await store.close()


def slow_config(port: int, pg_url: str) -> Config:
    data = make_config(port, "unused.db", read_timeout="10s", total_timeout="10s").model_dump(exclude={"source_file"})
    data["store"] = {"url": pg_url, "max_age_days": 36500}
    data["defaults"]["refresh"] = timedelta(hours=1)
    return Config.model_validate(data)


async def test_a_run_whose_lease_is_lost_is_cancelled_and_stores_nothing(
    site: tuple[FixtureSite, int], pg_url: str, tmp_path: Path,
) -> None:
    fixture, port = site
    fixture.modes["a"] = "timeout"  # the list page answers after 3 s
    config = slow_config(port, pg_url)
    store = open_store(pg_url)
    await store.open()
    leases = SiteLeases(store, "a", timedelta(seconds=0.9))  # renewed every 0.3 s
    async with Fetcher(config.fetch.plain(), resolver=StaticResolver({HOST: ("127.0.0.1", port)})) as fetcher:
        refresher = SectionRefresher(fetcher, store, clock=lambda: NOW, replica="a")
        a_only = [ref for ref in config.section_refs() if ref.name == "a"]
        scheduler = RefreshScheduler(a_only, refresher.refresh, section_state=store.section_state,
                                     spread=timedelta(seconds=0.1), leases=leases)
        try:
            scheduler.start({})
            await until(lambda: "/a/" in fixture.hits, "the run asking for the list page")
            assert "news/a" in scheduler.runs
            await steal(pg_url, "news")
            await until(lambda: "news/a" not in scheduler.runs, "the run cancelled", timeout=5)
            state = await store.section_state("news", "a")
            assert state.last_attempt is None and await store.entries("news", "a") == []
            assert scheduler.next_run("news/a") is not None  # tried again later, not dropped
        finally:
            await scheduler.shutdown()
            await leases.close()
            await store.close()


async def test_a_lease_the_store_cannot_renew_is_given_up_before_it_runs_out(pg_url: str) -> None:
    store = open_store(pg_url)
    await store.open()
    lost: list[str] = []
    leases = SiteLeases(store, "a", timedelta(seconds=0.9), on_lost=lost.append)
    assert await leases.acquire("news")
    await store.close()  # every renewal now fails
    try:
        await leases.renew()
        assert lost == [] and "news" in leases.held  # one failed renewal: the lease has 0.6 s left
        await asyncio.sleep(0.6)
        await leases.renew()  # two thirds of the lease without a renewal: given up before it expires
        assert lost == ["news"] and leases.held == {}
    finally:
        await leases.close()


async def test_a_one_off_refresh_waits_for_the_replica_holding_the_site(
    site: tuple[FixtureSite, int], pg_url: str,
) -> None:
    fixture, port = site
    config = slow_config(port, pg_url)
    store = open_store(pg_url)
    await store.open()
    try:
        assert await store.take_lease("news", "web-1", 1.5)  # a replica is fetching from the site
        held_from = time.monotonic()
        reports = await refresh_once(config, config.section_refs(),
                                     resolver=StaticResolver({HOST: ("127.0.0.1", port)}), clock=lambda: NOW)
        assert all(r.ok for r in reports) and len(reports) == 2
        first = min(h.at for h in fixture.upstream.hits)
        assert first - held_from >= 1.2  # nothing was asked of the site before the replica's lease ran out
        assert (await store.section_state("news", "a")).refreshed_by == replica_id()
        assert await store.lease_holders() == {}  # and it let the site go
    finally:
        await store.close()
