"""Contract tests of what replicas share through the store: site leases and who refreshed a section.

Leases apply on PostgreSQL (replicas on one database); the SQLite store serves one process and grants
every lease. The same calls run on every backend (`store` of tests/test_store.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from feedsvc.store import Store, open_store
from tests.support import NOW
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)
from tests.test_store import SITE, STORE_KINDS, report, url_for


async def opened_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(url_for(kind, request, tmp_path))
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(name="store", params=list(STORE_KINDS))
async def store_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for opened in opened_store(request.param, request, tmp_path):
        yield opened


@pytest.fixture(name="shared_store")
async def shared_store_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A store replicas share: PostgreSQL (leases are stored only there; SQLite grants every one)."""
    async for opened in opened_store("postgresql", request, tmp_path):
        yield opened


def is_postgres(store: Store) -> bool:
    return type(store).__name__ == "PostgresStore"


async def test_each_attempt_records_the_replica_that_made_it(store: Store) -> None:
    await store.record_attempt(replace(report("cixi", NOW, True), replica="web-1:41"))
    assert (await store.section_state(SITE, "cixi")).refreshed_by == "web-1:41"
    await store.record_attempt(replace(report("cixi", NOW, False, "HTTP 502"), replica="web-2:7"))
    state = await store.section_state(SITE, "cixi")
    assert (state.refreshed_by, state.consecutive_failures) == ("web-2:7", 1)
    assert [s.refreshed_by for s in await store.section_states()] == ["web-2:7"]
    await store.record_attempt(report("cixi", NOW, True))  # a report naming no replica
    assert (await store.section_state(SITE, "cixi")).refreshed_by is None


async def test_a_lease_is_one_holders_until_it_expires(store: Store) -> None:
    assert await store.take_lease(SITE, "a", 30)
    if not is_postgres(store):  # one process: every lease is granted, none is stored
        assert await store.take_lease(SITE, "b", 30)
        assert await store.renew_leases([SITE, "other"], "b", 30) == {SITE, "other"}
        assert await store.lease_holders() == {}
        return
    assert not await store.take_lease(SITE, "b", 30)  # held by a
    assert await store.take_lease(SITE, "a", 30)  # a renews its own
    assert await store.take_lease("other", "b", 30)  # another site is free
    assert {site: holder for site, (holder, _) in (await store.lease_holders()).items()} == {SITE: "a", "other": "b"}
    assert await store.renew_leases([SITE, "other"], "a", 30) == {SITE}  # only what a holds


async def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew_it(shared_store: Store) -> None:
    store = shared_store
    assert await store.take_lease(SITE, "killed", 0.2)
    assert not await store.take_lease(SITE, "b", 30)
    await asyncio.sleep(0.4)  # the database's clock: its own now() decides
    assert await store.lease_holders() == {}
    assert await store.take_lease(SITE, "b", 30)
    assert await store.renew_leases([SITE], "killed", 30) == set()
    assert not await store.take_lease(SITE, "killed", 30)


async def test_a_released_lease_is_free_after_its_linger(shared_store: Store) -> None:
    store = shared_store
    assert await store.take_lease(SITE, "a", 30)
    await store.release_lease(SITE, "b", 0)  # not b's: nothing happens
    assert not await store.take_lease(SITE, "b", 30)
    await store.release_lease(SITE, "a", 0.3)  # the site's minimum gap between two requests
    assert not await store.take_lease(SITE, "b", 30)
    await asyncio.sleep(0.5)
    assert await store.take_lease(SITE, "b", 30)
    await store.release_lease(SITE, "b", 0)
    assert await store.take_lease(SITE, "c", 30)


async def test_of_many_replicas_asking_at_once_exactly_one_gets_the_lease(shared_store: Store) -> None:
    store = shared_store
    others = [open_store(store.url) for _ in range(5)]  # type: ignore[attr-defined]
    for other in others:
        await other.open()
    try:
        for round_ in range(10):
            site = f"site{round_}"
            granted = await asyncio.gather(*(s.take_lease(site, f"r{i}", 30) for i, s in enumerate(others)))
            assert sum(granted) == 1, granted
    finally:
        for other in others:
            await other.close()
