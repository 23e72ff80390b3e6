"""Hardening #9: a site's `Retry-After: 3600` on a 429 outlives the run that received it. It is stored
on the section (and survives a restart), shown on the index page and /status.json, honoured by the
scheduler and by `feedsvc refresh` (which says so and sends nothing); `--force` overrides it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.config import Config, load_config
from feedsvc.deferral import MAX_DEFERRAL, sections_on_host
from feedsvc.fetch import Fetcher
from feedsvc.model import SectionState
from feedsvc.refresh import SectionRefresher
from feedsvc.schedule import first_runs
from feedsvc.scheduler import RefreshScheduler
from feedsvc.store import open_store
from feedsvc.web import make_app
from tests.hostile.cli_site import run_cli
from tests.support.news_site import FixtureSite, running_site
from tests.support.upstream import status


def write_config(tmp_path: Path, port: int) -> Path:
    """The news fixture site on 127.0.0.1:port; Retry-After is waited out in a run only up to 1 s."""
    origin = f"http://127.0.0.1:{port}"
    path = tmp_path / "config.yaml"
    path.write_text(f"""
store: {{url: "sqlite:///{tmp_path / 'feeds.db'}"}}
fetch: {{connect_timeout: 1s, read_timeout: 1s, total_timeout: 3s, min_delay: 0.001s, retries: 0,
         backoff: 0.01s, max_retry_after: 1s}}
defaults: {{refresh: 10m}}
sites:
  news:
    title: 测试新闻网
    home: {origin}/
    sections:
      a: {{title: 要闻, url: "{origin}/a/"}}
      b: {{title: 社会, url: "{origin}/b/"}}
""", encoding="utf-8")
    return path


@pytest.fixture
async def throttled(tmp_path: Path) -> AsyncIterator[tuple[FixtureSite, Path]]:
    """The fixture site whose section a answers 429 with Retry-After: 3600, and a config for it."""
    async with running_site() as (site, port):
        site.upstream.route("/a/", status(429, {"Retry-After": "3600"}))
        yield site, write_config(tmp_path, port)


def list_requests(site: FixtureSite, path: str = "/a/") -> int:
    return site.upstream.count(path)


async def stored_state(config_path: Path, section: str = "a"):
    store = open_store(load_config(str(config_path)).store.url)
    await store.open()
    try:
        return await store.section_state("news", section)
    finally:
        await store.close()


async def test_a_429_with_retry_after_stores_a_deferral_of_that_length(throttled):
    site, config = throttled
    before = datetime.now(UTC)
    code, out = await run_cli("refresh", "--config", str(config), "news/a")
    assert code == 1, out
    state = await stored_state(config)  # a store opened afresh: what a restarted service reads
    assert state.deferred_until is not None
    assert before + timedelta(seconds=3590) <= state.deferred_until <= datetime.now(UTC) + timedelta(seconds=3600)


async def test_a_deferred_section_is_skipped_by_refresh_which_says_until_when(throttled):
    site, config = throttled
    await run_cli("refresh", "--config", str(config), "news/a")
    asked = len(site.upstream.hits)
    code, out = await run_cli("refresh", "--config", str(config), "news/a")
    assert len(site.upstream.hits) == asked  # not even robots.txt
    assert code == 0, out  # the site asked for the pause: not a failure
    until = (await stored_state(config)).deferred_until
    assert until is not None
    assert f"news/a: deferred until {until.isoformat(timespec='seconds')}" in out
    assert "--force" in out and "0 sections, 0 failed, 1 deferred" in out


async def test_the_sites_other_sections_on_that_host_are_deferred_too(throttled):
    site, config = throttled
    await run_cli("refresh", "--config", str(config), "news/a")
    asked = len(site.upstream.hits)
    code, out = await run_cli("refresh", "--config", str(config))
    assert code == 0, out
    assert len(site.upstream.hits) == asked and list_requests(site, "/b/") == 0
    assert "0 sections, 0 failed, 2 deferred" in out and "news/b: deferred until" in out
    assert (await stored_state(config, "b")).deferred_until == (await stored_state(config, "a")).deferred_until


def test_only_sections_read_from_the_throttling_host_share_its_deferral():
    config = Config.model_validate({"sites": {"s": {
        "title": "S", "home": "http://www.s.example/", "allowed_hosts": ["news.s.example"], "sections": {
            "a": {"title": "A", "url": "http://www.s.example/a/"},
            "b": {"title": "B", "nav": "社会"},  # looked up on the home page: www
            "c": {"title": "C", "url": "http://news.s.example/c/"},
            "d": {"title": "D", "url": "http://WWW.s.example/d/"}}}}})
    assert sections_on_host(config.section_ref("s", "a"), "www.s.example") == ["b", "d"]
    assert sections_on_host(config.section_ref("s", "a"), "news.s.example") == ["c"]


async def test_force_refreshes_a_deferred_section_and_a_success_ends_the_deferral(throttled):
    site, config = throttled
    await run_cli("refresh", "--config", str(config), "news/a")
    del site.upstream.routes["/a/"]  # the site is answering again
    code, out = await run_cli("refresh", "--force", "--config", str(config), "news/a")
    assert code == 0, out
    assert list_requests(site) == 2
    assert (await stored_state(config)).deferred_until is None


async def test_a_retry_after_of_a_year_defers_at_most_a_day(tmp_path):
    async with running_site() as (site, port):
        site.upstream.route("/a/", status(503, {"Retry-After": str(365 * 86400)}))
        config = write_config(tmp_path, port)
        await run_cli("refresh", "--config", str(config), "news/a")
    until = (await stored_state(config)).deferred_until
    assert until is not None and until <= datetime.now(UTC) + MAX_DEFERRAL


async def test_the_deferral_is_shown_on_status_json_and_the_index_page(throttled):
    site, config = throttled
    await run_cli("refresh", "--config", str(config), "news/a")
    cfg = load_config(str(config))
    store = open_store(cfg.store.url)
    await store.open()
    try:
        async with TestClient(TestServer(make_app(cfg, store), host="127.0.0.1")) as client:
            health = await (await client.get("/status.json")).json()
            index = await (await client.get("/")).text()
    finally:
        await store.close()
    until = datetime.fromisoformat(health["sections"]["news/a"]["deferred_until"])
    assert until > datetime.now(UTC) + timedelta(minutes=59)
    # b, on the same host, never refreshed: pending, and deferred with a
    b = health["sections"]["news/b"]
    assert (b["status"], b["last_attempt"], b["deferred_until"]) == ("pending", None, until.isoformat())
    assert "deferred until" in index and "Retry-After" in index


def test_start_up_plans_a_deferred_section_no_earlier_than_its_deferral():
    config = Config.model_validate({"defaults": {"refresh": "1m"}, "sites": {"s": {
        "title": "S", "home": "http://s.example/", "sections": {"a": {"title": "A", "url": "http://s.example/a/"}}}}})
    (ref,) = config.section_refs()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    # Never succeeded (would run at once) and long past its interval: the deferral still decides.
    state = SectionState("s", "a", last_attempt=now - timedelta(hours=1), consecutive_failures=1,
                         deferred_until=now + timedelta(minutes=50))
    assert first_runs([ref], {("s", "a"): state}, now)[ref.key] == now + timedelta(minutes=50)


async def test_the_scheduler_waits_out_the_deferral_after_a_run_and_after_a_restart(throttled):
    site, config_path = throttled
    config = load_config(str(config_path))
    ref = config.section_ref("news", "a")
    store = open_store(config.store.url)
    await store.open()
    ran = asyncio.Event()
    try:
        async with Fetcher(config.fetch.plain()) as fetcher:
            scheduler = RefreshScheduler([ref], SectionRefresher(fetcher, store).refresh,
                                         on_done=lambda report: ran.set(),
                                         section_state=store.section_state, spread=timedelta(seconds=0.01))
            scheduler.start({})
            await asyncio.wait_for(ran.wait(), 5)
            after_run = scheduler.next_run(ref.key)
            await scheduler.shutdown()
    finally:
        await store.close()
    assert list_requests(site) == 1
    # Without the deferral: the 10-minute interval. With it: an hour, plus at most a minute of jitter.
    assert after_run is not None and after_run >= datetime.now(UTC) + timedelta(minutes=59)

    store = open_store(config.store.url)  # a restart: a new process reads the stored deferral
    await store.open()
    try:
        states = {(s.site, s.section): s for s in await store.section_states()}
    finally:
        await store.close()
    plan = first_runs([ref], states, datetime.now(UTC))
    assert plan[ref.key] >= datetime.now(UTC) + timedelta(minutes=59)


async def test_a_job_planned_before_a_deferral_was_stored_does_not_refresh(tmp_path):
    """The plan was made (never tried: due now) before a sibling section on the same host heard a
    Retry-After: the job reads the stored state when it fires and moves itself past the deferral."""
    config = Config.model_validate({"store": {"url": f"sqlite:///{tmp_path / 's.db'}"}, "sites": {"s": {
        "title": "S", "home": "http://s.example/", "sections": {"a": {"title": "A", "url": "http://s.example/a/"}}}}})
    (ref,) = config.section_refs()
    store = open_store(config.store.url)
    await store.open()
    ran: list[str] = []

    async def refresh(r):
        ran.append(r.key)
        raise AssertionError("refreshed while deferred")

    try:
        scheduler = RefreshScheduler([ref], refresh, section_state=store.section_state,
                                     spread=timedelta(seconds=0.01))
        now = datetime.now(UTC)
        until = now + timedelta(hours=1)
        await store.defer_sections("s", ["a"], until)
        scheduler.start({})  # the stale plan: never tried, so due at once
        for _ in range(50):
            next_run = scheduler.next_run(ref.key)
            if next_run is not None and next_run >= until:
                break
            await asyncio.sleep(0.02)
        await scheduler.shutdown()
    finally:
        await store.close()
    assert ran == []
    assert next_run is not None and next_run >= until
