"""Scheduler: due sections run at start-up, spread out; failures back off; success recovers; shutdown is clean."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from feedsvc.config import Config
from feedsvc.fetch import Fetcher
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.model import RefreshReport, SectionState
from feedsvc.refresh import SectionRefresher
from feedsvc.schedule import MAX_BACKOFF, first_runs, next_delay
from feedsvc.scheduler import RefreshScheduler
from feedsvc.store import open_store
from tests.support import NOW
from tests.support.news_site import HOST, make_config

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def two_sections(refresh: str = "10m") -> Config:
    return Config.model_validate({
        "defaults": {"refresh": refresh},
        "sites": {"s": {"title": "S", "home": "http://s.example/", "sections": {
            "one": {"title": "One", "url": "http://s.example/1/"},
            "two": {"title": "Two", "url": "http://s.example/2/", "refresh": "1h"}}}},
    })


def test_backoff_doubles_per_failure_and_is_capped():
    ref = two_sections().section_ref("s", "one")
    assert next_delay(ref, 0) == timedelta(minutes=10)
    assert next_delay(ref, 1) == timedelta(minutes=10)  # one blip costs nothing
    assert next_delay(ref, 2) == timedelta(minutes=20)
    assert next_delay(ref, 3) == timedelta(minutes=40)
    assert next_delay(ref, 50) == MAX_BACKOFF


def test_only_due_sections_run_at_start_and_they_are_spread_out():
    config = two_sections()
    one, two = config.section_refs()
    states = {
        ("s", "one"): SectionState("s", "one", last_attempt=T0 - timedelta(minutes=30)),  # due
        ("s", "two"): SectionState("s", "two", last_attempt=T0 - timedelta(minutes=5),  # not due for 55m
                                   last_success=T0 - timedelta(minutes=5)),
    }
    plan = first_runs([one, two], states, T0, spread=timedelta(seconds=2))
    assert plan[one.key] == T0
    assert plan[two.key] == T0 + timedelta(minutes=55)

    never_run = first_runs([one, two], {}, T0, spread=timedelta(seconds=2))
    assert sorted(never_run.values()) == [T0, T0 + timedelta(seconds=2)]


def test_a_failing_section_is_not_due_until_its_backoff_passes():
    one = two_sections().section_ref("s", "one")
    failing = {("s", "one"): SectionState("s", "one", last_attempt=T0 - timedelta(minutes=30),
                                          last_success=T0 - timedelta(days=1), consecutive_failures=3)}
    assert first_runs([one], failing, T0)[one.key] == T0 + timedelta(minutes=10)


async def test_scheduler_runs_due_sections_backs_off_and_recovers(site, tmp_path):
    fixture, port = site
    config = make_config(port, str(tmp_path / "s.db"))
    data = config.model_dump(exclude={"source_file"})
    data["defaults"]["refresh"] = timedelta(seconds=30)
    config = Config.model_validate(data)
    store = open_store(config.store.url)
    await store.open()
    reports: list[RefreshReport] = []
    fixture.modes["b"] = "5xx"
    async with Fetcher(config.fetch, resolver=StaticResolver({HOST: ("127.0.0.1", port)})) as fetcher:
        refresher = SectionRefresher(fetcher, store, clock=lambda: NOW)  # data time; scheduling is real
        scheduler = RefreshScheduler(config.section_refs(), refresher.refresh, on_done=reports.append,
                                     section_state=store.section_state, spread=timedelta(seconds=0.1))
        scheduler.start({})
        for _ in range(100):
            if len(reports) >= 2:
                break
            await asyncio.sleep(0.05)
        by_section = {r.section: r for r in reports}
        assert by_section["a"].ok and not by_section["b"].ok
        now = datetime.now(UTC)
        next_a, next_b = scheduler.next_run("news/a"), scheduler.next_run("news/b")
        assert next_a is not None and next_b is not None
        # a: its 30s interval (plus up to 3s jitter); b failed once: still its interval.
        assert timedelta(seconds=25) < next_a - now < timedelta(seconds=35)
        assert timedelta(seconds=25) < next_b - now < timedelta(seconds=35)
        await scheduler.shutdown()
    assert (await store.section_state("news", "b")).consecutive_failures == 1
    assert len(await store.entries("news", "a")) == 4
    await store.close()


async def test_a_section_refreshed_meanwhile_by_another_process_is_not_fetched_again(site, tmp_path):
    """The schedule follows the stored state: a `feedsvc refresh` run (or another replica) between
    the plan and the job moves the next run instead of sending the same requests twice."""
    fixture, port = site
    config = make_config(port, str(tmp_path / "s.db"))
    store = open_store(config.store.url)
    await store.open()
    ref = config.section_ref("news", "a")
    async with Fetcher(config.fetch, resolver=StaticResolver({HOST: ("127.0.0.1", port)})) as fetcher:
        other = SectionRefresher(fetcher, store)  # "another process", real clock
        calls: list[str] = []

        async def counted(r):  # the service's own refresher, counted
            calls.append(r.key)
            return await other.refresh(r)

        # Never run, so both are due: b at once, a 0.5 s later ...
        scheduler = RefreshScheduler([config.section_ref("news", "b"), ref], counted,
                                     section_state=store.section_state, spread=timedelta(seconds=0.5))
        scheduler.start({})
        assert (await other.refresh(ref)).ok  # ... but another process refreshes a first
        requests_before = len([hit for hit in fixture.hits if hit == "/a/"])
        for _ in range(40):
            await asyncio.sleep(0.05)
            if scheduler.next_run(ref.key) and scheduler.next_run(ref.key) > datetime.now(UTC) + timedelta(minutes=1):
                break
        next_run = scheduler.next_run(ref.key)
        await scheduler.shutdown()
    await store.close()
    assert calls == ["news/b"]  # a's job fired, read the state, and did not refresh
    assert len([hit for hit in fixture.hits if hit == "/a/"]) == requests_before
    assert next_run is not None and next_run - datetime.now(UTC) > ref.refresh - timedelta(minutes=1)
