"""Contract tests of the Store protocol: every implementation must pass all of them.

The `store_url` fixture lists the implementations: SQLite (a file, memory) and PostgreSQL (an empty
throwaway database per test, tests/support/postgres.py; skipped when no server answers unless
FEEDSVC_TEST_PG is set).
Times are injected (`NOW`), never read from the wall clock.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from feedsvc.errors import StoreError
from feedsvc.model import Entry, RefreshReport, Validators
from feedsvc.store import Store, open_store
from tests.support import NOW, REPO
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)

CST = timezone(timedelta(hours=8))
SITE = "cxnews"

# kind -> whether the store survives a reopen (and a killed process)
STORE_KINDS = {"sqlite-file": True, "sqlite-memory": False, "postgresql": True}


def url_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite-file":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if kind == "sqlite-memory":
        return "sqlite:///:memory:"
    if kind == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    raise AssertionError(kind)


@pytest.fixture(params=list(STORE_KINDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for(request.param, request, tmp_path)


@pytest.fixture(params=[kind for kind, durable in STORE_KINDS.items() if durable])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for(request.param, request, tmp_path)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def article(n: int, **fields: object) -> Entry:
    values: dict = {
        "url": f"http://www.cxnews.cn/system/2024/03/01/{n:08d}.shtml",
        "title": f"慈溪新闻 {n}",
        "summary": f"摘要 {n}",
        "content_html": f"<p>正文 {n}</p>",
    }
    values.update(fields)
    return Entry(**values)


async def put(
    store: Store, section: str, entries: list[Entry], *, now: datetime = NOW, max_entries: int = 100,
    max_age_days: int = 30, title: str | None = None, **kwargs: object,
):
    return await store.upsert(
        SITE, section, entries, now=now, max_entries=max_entries, max_age_days=max_age_days,
        section_title=title, **kwargs,
    )


def urls(entries: list[Entry]) -> list[str]:
    return [e.url for e in entries]


# -- upsert: insert, unchanged, update -----------------------------------------------------------

async def test_insert_round_trips_every_field(store: Store) -> None:
    entry = Entry(
        url="http://www.cxnews.cn/system/2024/03/01/1.shtml", title="守土有责 坚决打好阻击战",
        subtitle="章程作工作部署", author="记者 王某", source="慈溪日报", editor="范田圆",
        published=datetime(2024, 3, 1, 9, 58, tzinfo=CST), summary="昨天上午……",
        content_html="<p>昨天上午,市委、市政府召开……</p>", image="http://www.cxnews.cn/a.jpg",
    )
    result = await put(store, "cixi", [entry], title="慈溪新闻")
    assert (result.inserted, result.updated, result.unchanged, result.removed) == (1, 0, 0, 0)
    [got] = await store.entries(SITE, "cixi")
    assert got == replace(entry, first_seen=NOW, categories=("慈溪新闻",))
    assert got.published is not None and got.published.utcoffset() is not None
    assert await store.entry(SITE, entry.url) == got
    assert await store.entry("othersite", entry.url) is None
    assert await store.revision(SITE, "cixi") == 1


async def test_first_seen_passed_in_is_kept(store: Store) -> None:
    seen = NOW - timedelta(hours=3)
    await put(store, "cixi", [article(1, first_seen=seen)])
    [got] = await store.entries(SITE, "cixi")
    assert got.first_seen == seen


async def test_same_content_changes_nothing(store: Store) -> None:
    await put(store, "cixi", [article(1, published=NOW)])
    before = await store.entries(SITE, "cixi")
    revision = await store.revision(SITE, "cixi")

    result = await put(store, "cixi", [article(1, published=NOW)], now=NOW + timedelta(hours=1))
    assert (result.inserted, result.updated, result.unchanged, result.removed) == (0, 0, 1, 0)
    assert not result.changed
    assert await store.entries(SITE, "cixi") == before
    assert before[0].updated is None and before[0].first_seen == NOW
    assert await store.revision(SITE, "cixi") == revision


async def test_changed_content_updates_and_sets_updated(store: Store) -> None:
    await put(store, "cixi", [article(1, published=NOW)])
    revision = await store.revision(SITE, "cixi")
    later = NOW + timedelta(hours=1)

    result = await put(store, "cixi", [article(1, published=NOW, title="更正后的标题")], now=later)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
    [got] = await store.entries(SITE, "cixi")
    assert (got.title, got.updated, got.first_seen) == ("更正后的标题", later, NOW)
    assert await store.revision(SITE, "cixi") == revision + 1

    # The same corrected content again: `updated` stays at the time of the change.
    await put(store, "cixi", [article(1, published=NOW, title="更正后的标题")], now=later + timedelta(hours=1))
    [again] = await store.entries(SITE, "cixi")
    assert again.updated == later
    assert await store.revision(SITE, "cixi") == revision + 1


async def test_duplicate_urls_in_one_batch_are_one_entry(store: Store) -> None:
    result = await put(store, "cixi", [article(1), article(1, title="重复")])
    assert result.inserted == 1
    assert [e.title for e in await store.entries(SITE, "cixi")] == ["慈溪新闻 1"]


async def test_entry_in_two_sections_is_stored_once_with_both_categories(store: Store) -> None:
    shared = article(1, published=NOW)
    await put(store, "cixi", [shared], title="慈溪新闻")
    result = await put(store, "local", [shared], title="镇街部门")
    assert result.inserted == 1  # new to this section's feed, though already stored
    assert [e.categories for e in await store.entries(SITE, "cixi")] == [("慈溪新闻", "镇街部门")]
    assert [e.categories for e in await store.entries(SITE, "local")] == [("慈溪新闻", "镇街部门")]

    # One row: a correction arriving through one section shows in both, and both feeds change.
    cixi_revision = await store.revision(SITE, "cixi")
    await put(store, "local", [replace(shared, title="更正")], now=NOW + timedelta(minutes=5))
    assert [e.title for e in await store.entries(SITE, "cixi")] == ["更正"]
    assert await store.revision(SITE, "cixi") == cixi_revision + 1


async def test_also_list_adds_stored_entries_to_a_section_without_refetching(store: Store) -> None:
    stored = article(1, published=NOW)
    await put(store, "latest", [stored], title="最新")
    before = await store.revision(SITE, "cixi")
    result = await put(store, "cixi", [article(2, published=NOW)], title="慈溪新闻",
                       also_list=[stored.url, "http://www.cxnews.cn/never-stored.shtml"])
    assert result.inserted == 2
    assert sorted(urls(await store.entries(SITE, "cixi"))) == sorted([stored.url, article(2).url])
    assert [e.categories for e in await store.entries(SITE, "latest")] == [("慈溪新闻", "最新")]
    assert await store.revision(SITE, "cixi") > before
    again = await put(store, "cixi", [], also_list=[stored.url])
    assert not again.changed


async def test_section_without_title_uses_its_name_as_category(store: Store) -> None:
    await put(store, "cixi", [article(1)])
    assert (await store.entries(SITE, "cixi"))[0].categories == ("cixi",)


# -- rolling window ------------------------------------------------------------------------------

async def test_window_keeps_newest_max_entries(store: Store) -> None:
    old = [article(n, published=NOW - timedelta(hours=n)) for n in (1, 2, 3)]
    await put(store, "cixi", old, max_entries=3)
    newer = [article(n, published=NOW - timedelta(minutes=n)) for n in (10, 20)]
    result = await put(store, "cixi", newer, max_entries=3)
    assert (result.inserted, result.removed) == (2, 2)
    assert urls(await store.entries(SITE, "cixi")) == urls([newer[0], newer[1], old[0]])
    # No section lists the dropped ones any more: they are gone.
    assert await store.entry(SITE, old[1].url) is None
    assert await store.entry(SITE, old[2].url) is None


async def test_entry_older_than_a_full_window_is_not_kept(store: Store) -> None:
    await put(store, "cixi", [article(n, published=NOW - timedelta(hours=n)) for n in (1, 2)], max_entries=2)
    revision = await store.revision(SITE, "cixi")
    result = await put(store, "cixi", [article(9, published=NOW - timedelta(days=2))], max_entries=2)
    assert not result.changed
    assert await store.entry(SITE, article(9).url) is None
    assert await store.revision(SITE, "cixi") == revision


async def test_window_drops_entries_older_than_max_age(store: Store) -> None:
    entries = [
        article(1, published=NOW - timedelta(days=31)),
        article(2, published=NOW - timedelta(days=29)),
        article(3, first_seen=NOW - timedelta(days=40)),  # no date: judged by first_seen
        article(4),  # no date, first seen now
    ]
    result = await put(store, "cixi", entries, max_age_days=30)
    assert result.inserted == 2
    assert urls(await store.entries(SITE, "cixi")) == urls([entries[3], entries[1]])

    # Two days later the 29-day-old entry is past the window, even with nothing new listed.
    result = await put(store, "cixi", [], now=NOW + timedelta(days=2), max_age_days=30)
    assert result.removed == 1
    assert urls(await store.entries(SITE, "cixi")) == urls([entries[3]])


async def test_entry_is_deleted_only_when_no_section_lists_it(store: Store) -> None:
    shared = article(1, published=NOW - timedelta(hours=5))
    await put(store, "cixi", [shared], max_entries=1, title="慈溪新闻")
    await put(store, "local", [shared], max_entries=1, title="镇街部门")

    await put(store, "cixi", [article(2, published=NOW)], max_entries=1)
    kept = await store.entry(SITE, shared.url)
    assert kept is not None and kept.categories == ("镇街部门",)

    await put(store, "local", [article(3, published=NOW)], max_entries=1)
    assert await store.entry(SITE, shared.url) is None


# -- partial entries -----------------------------------------------------------------------------

async def test_partial_entry_never_overwrites_complete_one(store: Store) -> None:
    complete = article(1, published=NOW)
    await put(store, "cixi", [complete])
    partial = Entry(url=complete.url, title="列表标题", published=NOW, partial=True)
    result = await put(store, "cixi", [partial], now=NOW + timedelta(hours=1))
    assert (result.updated, result.unchanged) == (0, 1)
    [got] = await store.entries(SITE, "cixi")
    assert (got.title, got.content_html, got.partial, got.updated) == (
        complete.title, complete.content_html, False, None)
    assert await store.known_urls(SITE, [complete.url]) == {complete.url}


async def test_complete_entry_replaces_partial_one(store: Store) -> None:
    partial = Entry(url=article(1).url, title="列表标题", published=NOW, partial=True)
    await put(store, "cixi", [partial])
    assert await store.known_urls(SITE, [partial.url]) == set()  # fetched again next time
    later = NOW + timedelta(minutes=15)
    result = await put(store, "cixi", [article(1, published=NOW)], now=later)
    assert result.updated == 1
    [got] = await store.entries(SITE, "cixi")
    assert (got.title, got.partial, got.updated, got.first_seen) == ("慈溪新闻 1", False, later, NOW)
    assert await store.known_urls(SITE, [partial.url]) == {partial.url}


# -- reading -------------------------------------------------------------------------------------

async def test_entries_order_published_desc_then_first_seen_desc(store: Store) -> None:
    # Inserted at different times, so first_seen differs; entries without a date sort by first_seen.
    await put(store, "cixi", [article(1, published=NOW - timedelta(hours=2))], now=NOW - timedelta(hours=3))
    await put(store, "cixi", [article(2)], now=NOW - timedelta(hours=1))
    await put(store, "cixi", [article(3, published=NOW - timedelta(hours=2))], now=NOW - timedelta(minutes=30))
    await put(store, "cixi", [article(4, published=NOW - timedelta(minutes=10))], now=NOW)
    await put(store, "cixi", [article(5, published=NOW - timedelta(days=1))], now=NOW)
    expected = urls([article(n) for n in (4, 2, 3, 1, 5)])
    assert urls(await store.entries(SITE, "cixi")) == expected
    assert urls(await store.entries(SITE, "cixi", limit=2)) == expected[:2]
    assert await store.entries(SITE, "cixi", limit=0) == []
    assert await store.entries(SITE, "nosuchsection") == []


async def test_known_urls_are_complete_entries_of_the_site(store: Store) -> None:
    await put(store, "cixi", [article(1), article(2), Entry(url=article(3).url, title="t", partial=True)])
    await store.upsert("other", "news", [article(4)], now=NOW, max_entries=100, max_age_days=30)
    # More URLs than one SQL statement may carry (SQLite builds allow 999 to 250000 parameters).
    asked = [f"http://www.cxnews.cn/x/{n}.html" for n in range(260_000)] + urls([article(n) for n in (1, 2, 3, 4)])
    assert await store.known_urls(SITE, asked) == set(urls([article(1), article(2)]))
    assert await store.known_urls(SITE, iter([])) == set()


# -- section state -------------------------------------------------------------------------------

def report(section: str, at: datetime, ok: bool, error: str | None = None) -> RefreshReport:
    return RefreshReport(site=SITE, section=section, started=at - timedelta(seconds=3), finished=at,
                         ok=ok, error=error)


async def test_failures_are_counted_and_keep_entries(store: Store) -> None:
    await put(store, "cixi", [article(1)])
    revision = await store.revision(SITE, "cixi")
    t1, t2, t3 = (NOW + timedelta(minutes=m) for m in (15, 30, 45))

    state = await store.record_attempt(report("cixi", t1, False, "HTTP 503 (http://www.cxnews.cn/)"))
    assert (state.consecutive_failures, state.last_error, state.last_attempt) == (
        1, "HTTP 503 (http://www.cxnews.cn/)", t1)
    state = await store.record_attempt(report("cixi", t2, False, "timed out"))
    assert (state.consecutive_failures, state.last_error, state.last_attempt, state.last_success) == (
        2, "timed out", t2, None)
    assert await store.section_state(SITE, "cixi") == state
    assert urls(await store.entries(SITE, "cixi")) == [article(1).url]
    assert await store.revision(SITE, "cixi") == revision

    state = await store.record_attempt(report("cixi", t3, True))
    assert (state.consecutive_failures, state.last_error, state.last_attempt, state.last_success) == (
        0, None, t3, t3)


async def test_a_reports_deferral_is_stored_until_a_run_without_one(store: Store) -> None:
    until = NOW + timedelta(hours=1)
    state = await store.record_attempt(replace(report("cixi", NOW, False, "HTTP 429"), deferred_until=until))
    assert state.deferred_until == until
    assert (await store.section_states())[0].deferred_until == until
    await put(store, "cixi", [article(1)], report=report("cixi", until, True))  # the site answered again
    assert (await store.section_state(SITE, "cixi")).deferred_until is None


async def test_deferring_sections_keeps_a_longer_deferral_and_creates_unknown_sections(store: Store) -> None:
    await store.record_attempt(replace(report("cixi", NOW, False, "HTTP 429"), deferred_until=NOW + timedelta(hours=3)))
    await store.defer_sections(SITE, ["cixi", "local"], NOW + timedelta(hours=1))
    states = {s.section: s for s in await store.section_states()}
    assert states["cixi"].deferred_until == NOW + timedelta(hours=3)
    assert (states["local"].deferred_until, states["local"].last_attempt) == (NOW + timedelta(hours=1), None)


async def test_upsert_records_its_report(store: Store) -> None:
    await store.record_attempt(report("cixi", NOW - timedelta(hours=1), False, "timed out"))
    await put(store, "cixi", [article(1)], report=report("cixi", NOW, True))
    state = await store.section_state(SITE, "cixi")
    assert (state.last_success, state.consecutive_failures, state.last_error) == (NOW, 0, None)


async def test_section_states_and_resolved_url(store: Store) -> None:
    unknown = await store.section_state(SITE, "nowhere")
    assert (unknown.last_attempt, unknown.consecutive_failures) == (None, 0)
    assert await store.revision(SITE, "nowhere") == 0

    await store.set_resolved_url(SITE, "local", "http://www.cxnews.cn/zjbm/")
    await put(store, "cixi", [article(1)])
    states = await store.section_states()
    assert [(s.site, s.section) for s in states] == [(SITE, "cixi"), (SITE, "local")]
    assert states[1].resolved_url == "http://www.cxnews.cn/zjbm/"
    assert await store.revisions() == {(SITE, "cixi"): 1, (SITE, "local"): 0}


async def test_each_report_stores_its_duration(store: Store) -> None:
    assert (await store.section_state(SITE, "cixi")).last_duration is None
    slow = replace(report("cixi", NOW, False, "timed out"), started=NOW - timedelta(seconds=12.5))
    assert (await store.record_attempt(slow)).last_duration == timedelta(seconds=12.5)
    await put(store, "cixi", [article(1)], report=report("cixi", NOW + timedelta(minutes=1), True))
    assert (await store.section_states())[0].last_duration == timedelta(seconds=3)


async def test_entry_counts_follow_the_listings(store: Store) -> None:
    assert await store.entry_counts() == {}
    await put(store, "cixi", [article(1), article(2), article(3)])
    await put(store, "local", [article(3)])
    assert await store.entry_counts() == {(SITE, "cixi"): 3, (SITE, "local"): 1}
    await put(store, "cixi", [article(4)], max_entries=2)  # the window trims cixi to its newest two
    assert (await store.entry_counts())[(SITE, "cixi")] == 2


def feed_updated(entries: list[Entry]) -> datetime | None:
    """What `Feed.updated` makes of stored entries: the newest time one was stored or changed."""
    return max((t for e in entries for t in (e.updated, e.first_seen) if t), default=None)


async def test_listings_give_each_sections_count_and_feed_time_in_one_query(store: Store) -> None:
    assert await store.listings() == {}
    await put(store, "cixi", [article(1), article(2)], now=NOW)
    await put(store, "local", [article(2)], now=NOW + timedelta(hours=1))  # already stored: listed, unchanged
    await put(store, "cixi", [article(1, content_html="<p>改过的正文</p>")], now=NOW + timedelta(hours=2))
    listings = await store.listings()
    assert set(listings) == {(SITE, "cixi"), (SITE, "local")}
    for (site, section), listing in listings.items():
        entries = await store.entries(site, section)
        assert listing == (len(entries), feed_updated(entries)), section
    assert listings[(SITE, "cixi")] == (2, NOW + timedelta(hours=2))  # the changed content moved it
    assert listings[(SITE, "local")] == (1, NOW)  # article 2, stored at NOW, unchanged since
    await put(store, "cixi", [article(3)], now=NOW + timedelta(hours=3), max_entries=1)  # the window trims
    assert (await store.listings())[(SITE, "cixi")] == (1, NOW + timedelta(hours=3))


# -- validators ----------------------------------------------------------------------------------

async def test_validators_round_trip(store: Store) -> None:
    page = "http://www.cxnews.cn/cixi/"
    assert await store.get_validators(page) is None
    await put(store, "cixi", [], validators={
        page: Validators(etag='W/"abc"', last_modified="Fri, 01 Mar 2024 00:00:00 GMT")})
    assert await store.get_validators(page) == Validators('W/"abc"', "Fri, 01 Mar 2024 00:00:00 GMT")
    await put(store, "cixi", [], validators={page: Validators(etag='"new"')})
    assert await store.get_validators(page) == Validators('"new"', None)

    await put(store, "cixi", [article(1)], validators={page: Validators(last_modified="Sat, 02 Mar 2024")})
    assert await store.get_validators(page) == Validators(None, "Sat, 02 Mar 2024")
    await put(store, "cixi", [article(1)], validators={page: Validators()})
    assert await store.get_validators(page) is None


# -- transactions and errors ---------------------------------------------------------------------

async def test_failed_upsert_leaves_the_previous_state(store: Store) -> None:
    await put(store, "cixi", [article(1, published=NOW - timedelta(hours=1))], max_entries=1)
    before = await store.entries(SITE, "cixi")
    broken = Entry(url=article(3).url, title=None)  # type: ignore[arg-type]  # violates NOT NULL mid-write
    with pytest.raises(StoreError):
        await put(store, "cixi", [article(2, published=NOW), article(1, title="改"), broken],
                  max_entries=1, validators={"http://www.cxnews.cn/": Validators(etag='"x"')},
                  report=report("cixi", NOW, True))
    assert await store.entries(SITE, "cixi") == before
    assert await store.entry(SITE, article(2).url) is None
    assert await store.revision(SITE, "cixi") == 1
    assert await store.get_validators("http://www.cxnews.cn/") is None
    assert (await store.section_state(SITE, "cixi")).last_success is None
    # The store is still usable after the failed write.
    assert (await put(store, "cixi", [article(2, published=NOW)], max_entries=1)).inserted == 1


async def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="timezone"):
        await put(store, "cixi", [article(1, published=datetime(2024, 3, 1, 8, 0))])
    assert await store.entries(SITE, "cixi") == []


async def test_closed_store_raises_store_error(store_url: str) -> None:
    closed = open_store(store_url)
    with pytest.raises(StoreError, match="not open"):
        await closed.entries(SITE, "cixi")


async def test_reads_during_a_write_see_the_old_or_the_new_section(store: Store) -> None:
    old = [article(n, published=NOW - timedelta(minutes=100 - n), title="old") for n in range(50)]
    new = [article(n, published=NOW - timedelta(minutes=100 - n), title="new") for n in range(25, 75)]
    await put(store, "cixi", old, max_entries=50)
    expected = {"old": set(urls(old)), "new": set(urls(new))}
    writing = asyncio.ensure_future(put(store, "cixi", new, now=NOW + timedelta(minutes=1), max_entries=50))
    seen = []
    while not writing.done():
        entries = await store.entries(SITE, "cixi")
        seen.append(entries)
    await writing
    seen.append(await store.entries(SITE, "cixi"))
    for entries in seen:
        titles = {e.title for e in entries}
        assert len(titles) == 1 and set(urls(entries)) == expected[titles.pop()], "read a half-written section"
    assert {e.title for e in seen[-1]} == {"new"}


# -- durability ----------------------------------------------------------------------------------

async def test_state_persists_across_reopen(durable_url: str) -> None:
    first = open_store(durable_url)
    await first.open()
    await put(first, "cixi", [article(1, published=NOW)], title="慈溪新闻")
    await put(first, "cixi", [], validators={"http://www.cxnews.cn/": Validators(etag='"e"')})
    await first.record_attempt(replace(report("cixi", NOW, False, "HTTP 429"), deferred_until=NOW + timedelta(hours=1)))
    entries, state = await first.entries(SITE, "cixi"), await first.section_state(SITE, "cixi")
    await first.close()

    second = open_store(durable_url)
    await second.open()
    try:
        assert await second.entries(SITE, "cixi") == entries
        assert await second.section_state(SITE, "cixi") == state
        assert state.deferred_until == NOW + timedelta(hours=1)
        assert await second.revision(SITE, "cixi") == 1
        assert await second.get_validators("http://www.cxnews.cn/") == Validators('"e"')
    finally:
        await second.close()


# The child rewrites one section again and again: generation g lists M entries titled "g<g>",
# half of them carried over (updated) from g-1 and half new (the oldest half is trimmed and deleted).
# It starts from the generation after the one stored, so several killed children continue one history.
CRASH_CHILD = textwrap.dedent("""
    import asyncio, sys
    from datetime import datetime, timedelta, timezone
    from feedsvc.model import Entry, RefreshReport
    from feedsvc.store import open_store

    M = int(sys.argv[2])
    BASE = datetime(2024, 3, 1, tzinfo=timezone.utc)
    BODY = "<p>" + "慈溪新闻网 守土有责 坚决打好疫情防控阻击战。" * 200 + "</p>"

    def generation(g):
        first = g * M // 2
        return [Entry(url=f"http://www.cxnews.cn/a/{n}.html", title=f"g{g}", summary=f"g{g}",
                      published=BASE + timedelta(minutes=n), content_html=f"<p>g{g}</p>" + BODY)
                for n in range(first, first + M)]

    async def main():
        store = open_store(sys.argv[1])
        await store.open()
        g = await store.revision("cx", "news")
        while True:
            batch, at = generation(g), BASE + timedelta(days=1, minutes=g)
            done = RefreshReport(site="cx", section="news", started=at, finished=at, ok=True)
            print("begin", g, flush=True)
            await store.upsert("cx", "news", batch, now=at, max_entries=M, max_age_days=36500, report=done)
            print("done", g, flush=True)
            g += 1

    asyncio.run(main())
""")
CRASH_M = 200


def crash_generation_urls(g: int) -> list[str]:
    first = g * CRASH_M // 2
    return [f"http://www.cxnews.cn/a/{n}.html" for n in reversed(range(first, first + CRASH_M))]


def run_and_kill(url: str, rng: random.Random) -> tuple[int, int]:
    """Start the child, SIGKILL it at a random moment while it writes; (last begun, last done)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD, url, str(CRASH_M)], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    began = done = -1
    kill_after = None
    try:
        for line in child.stdout:
            word, g = line.split()
            if word == "begin":
                began = int(g)
                kill_after = kill_after if kill_after is not None else began + rng.randint(1, 3)
                if began >= kill_after:
                    # Within the write: upserting 200 entries of ~7 KB takes far longer than this.
                    time.sleep(rng.uniform(0.0, 0.02))
                    child.send_signal(signal.SIGKILL)
                    break
            else:
                done = int(g)
        rest, errors = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    for line in rest.splitlines():
        word, g = line.split()
        began, done = (int(g), done) if word == "begin" else (began, int(g))
    assert child.returncode == -signal.SIGKILL, errors
    return began, done


async def test_killed_writer_leaves_a_complete_state(durable_url: str) -> None:
    rng = random.Random(20240301)
    killed_mid_write = 0
    for _ in range(4):
        began, done = await asyncio.to_thread(run_and_kill, durable_url, rng)
        killed_mid_write += began > done

        store = open_store(durable_url)
        await store.open()
        try:
            entries = await store.entries("cx", "news")
            titles = {e.title for e in entries} | {e.summary for e in entries}
            assert len(titles) == 1, f"half-written section: {sorted(titles)[:5]}"
            g = int(titles.pop()[1:])
            assert g in (done, began), (began, done, g)  # the killed write either committed or vanished
            assert urls(entries) == crash_generation_urls(g)
            assert await store.revision("cx", "news") == g + 1
            assert (await store.section_state("cx", "news")).last_success == (
                datetime(2024, 3, 2, tzinfo=UTC) + timedelta(minutes=g))
            if g:  # the trimmed half of the previous generation is deleted, not just unlisted
                assert await store.entry("cx", crash_generation_urls(g - 1)[-1]) is None
        finally:
            await store.close()
    # The test means something only if kills landed inside writes.
    assert killed_mid_write >= 1


async def test_partial_entry_counts_failed_fetches_until_refresh_gives_up(store: Store) -> None:
    link_only = article(1, partial=True, content_html="", summary="")
    for attempt in range(1, 4):
        await put(store, "cixi", [link_only])
        known = await store.known_urls(SITE, [link_only.url], give_up_after=3)
        assert (link_only.url in known) == (attempt >= 3), attempt
    assert link_only.url not in await store.known_urls(SITE, [link_only.url])  # no limit: keep trying
    await put(store, "cixi", [article(1)])  # the article finally loads
    assert link_only.url in await store.known_urls(SITE, [link_only.url])
    assert not (await store.entry(SITE, link_only.url)).partial
