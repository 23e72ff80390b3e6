"""The change signal on PostgreSQL: two real apps (`build_app`) on one test database, as two replicas
are; a write committed by another process is served by both within 2 s, with the same bytes and the
same ETag; the listen connection killed on the server (`pg_terminate_backend`) comes back, and a
change committed while it was down is not lost. On SQLite there is no signal: revisions are polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.app import build_app
from feedsvc.config import Config
from feedsvc.render import FORMATS
from feedsvc.store import SignalUp, Store, StoreChange, open_store
from feedsvc.store.postgres_listen import APPLICATION_NAME, listen_changes
from feedsvc.web import STORE_FOLLOWER, FeedCache, StoreFollower
from tests.support import NOW, until
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)
from tests.test_metrics import value
from tests.web_fixtures import ENTRIES, SITE, fill, make_entry, web_config

Client = TestClient[Any, Any]
SIGNAL_DEADLINE = 2.0  # the promise: every replica serves a change within 2 s of its commit


@pytest.fixture(name="writer")
async def writer_fixture(pg_url: str) -> AsyncIterator[Store]:
    """Another process's store on the database: its writes are what the replicas must hear of."""
    store = open_store(pg_url)
    await store.open()
    await fill(store, "cixi", ENTRIES[:3])
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(name="replicas")
async def replicas_fixture(writer: Store, pg_url: str) -> AsyncIterator[list[Client]]:
    config = web_config(pg_url)
    clients = [TestClient(TestServer(build_app(config, schedule=False, clock=lambda: NOW), host="127.0.0.1"),
                          auto_decompress=False) for _ in range(2)]
    for client in clients:
        await client.start_server()
    try:
        await until(lambda: all(c.app[STORE_FOLLOWER].signal == "listening" for c in clients),
                    "both replicas listening")
        yield clients
    finally:
        for client in clients:
            await client.close()


async def feed(client: Client, fmt: str = "rss", gzip: bool = False,
               headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    sent = {**(headers or {}), "Accept-Encoding": "gzip" if gzip else "identity"}
    resp = await client.get(f"/{SITE}/cixi.{fmt}", headers=sent)
    return resp.status, await resp.read(), resp.headers.get("ETag", "")


async def every_feed(client: Client) -> dict[str, tuple[int, bytes, str]]:
    return {f"{fmt} {gz}": await feed(client, fmt, gz) for fmt in FORMATS for gz in (False, True)}


async def write_and_see_served(writer: Store, replicas: list[Client], entries: list[Any], hours: int) -> None:
    """Commit `entries` to the section, then wait (at most 2 s) for every replica to serve them, the
    same bytes and ETags on each, in every format and encoding."""
    before = await every_feed(replicas[0])
    await fill(writer, "cixi", entries, now=NOW + timedelta(hours=hours))

    async def all_changed() -> bool:
        served = [await every_feed(client) for client in replicas]
        return all(s.keys() == before.keys() and all(s[k] != before[k] for k in s) for s in served) \
            and served[0] == served[1]

    await until(all_changed, "every replica serving the change", timeout=SIGNAL_DEADLINE)


async def test_a_change_is_served_by_every_replica_with_the_same_bytes_and_etag(
    writer: Store, replicas: list[Client],
) -> None:
    first = [await every_feed(client) for client in replicas]
    assert first[0] == first[1] and all(status == 200 for status, _, _ in first[0].values())
    old_etag = first[0]["rss False"][2]
    await write_and_see_served(writer, replicas, [make_entry(9), *ENTRIES], hours=1)
    for client in replicas:
        # A reader holding the old ETag gets the new feed (200) with the new ETag, not a 304.
        status, body, etag = await feed(client, headers={"If-None-Match": old_etag})
        assert status == 200 and etag != old_etag and "第9篇".encode() in body
        ready = await (await client.get("/readyz")).json()
        assert ready["change_signal"] == {"state": "listening", "lost_since": None, "reason": None}
        metrics = await (await client.get("/metrics")).text()
        assert value(metrics, "feedsvc_change_signal_up") == 1


async def test_a_killed_listen_connection_comes_back_and_the_next_change_arrives(
    writer: Store, replicas: list[Client], pg_url: str,
) -> None:
    db = await asyncpg.connect(pg_url)
    try:
        killed = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            APPLICATION_NAME)
        assert killed == 2  # one listen connection per replica, outside its pool

        async def listening_again() -> bool:
            return await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                     APPLICATION_NAME) == 2
        await until(listening_again, "both listen connections back")
    finally:
        await db.close()
    await until(lambda: all(c.app[STORE_FOLLOWER].signal == "listening" for c in replicas),
                "both replicas listening again")
    for client in replicas:
        metrics = await (await client.get("/metrics")).text()
        assert value(metrics, "feedsvc_change_signal_losses_total") == 1
    await write_and_see_served(writer, replicas, [make_entry(8), *ENTRIES], hours=2)


async def test_a_change_committed_while_the_signal_is_down_is_found_when_it_is_back(
    writer: Store, pg_url: str,
) -> None:
    """No polling here (an hour apart): only the check against the stored revisions made when the
    signal is back can find the change whose notification went to a dead connection."""
    store = open_store(pg_url)
    await store.open()
    cache = FeedCache(web_config(pg_url), store)
    follower = StoreFollower(cache, store, poll_interval=3600)
    following = asyncio.create_task(follower.follow_changes(listen_changes(pg_url, "test", first_retry=1.0)))
    db = await asyncpg.connect(pg_url)
    try:
        await until(lambda: follower.signal == "listening", "listening")
        old = await cache.feed(SITE, "cixi", "rss")
        await db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                         APPLICATION_NAME)
        await until(lambda: follower.signal is not None and follower.signal.startswith("lost"), "the signal lost")
        state = follower.state()
        assert state is not None and state["state"] == "lost" and state["lost_since"] and state["reason"]
        await fill(writer, "cixi", [make_entry(7), *ENTRIES], now=NOW + timedelta(hours=3))  # unheard
        assert await cache.feed(SITE, "cixi", "rss") is old  # nothing told the cache yet
        await until(lambda: follower.signal == "listening", "listening again")
        new = await cache.feed(SITE, "cixi", "rss")
        assert new.plain.etag != old.plain.etag and "第7篇".encode() in new.plain.body
    finally:
        await db.close()
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await store.close()


async def test_sqlite_has_no_signal_and_polls(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'one.db'}")
    assert store.changes() is None
    config: Config = web_config(f"sqlite:///{tmp_path / 'one.db'}")
    async with TestClient(TestServer(build_app(config, schedule=False), host="127.0.0.1")) as client:
        ready = await (await client.get("/readyz")).json()
        assert ready == {"status": "ready"}  # no change_signal: nothing to report


async def test_a_signal_that_fails_outright_leaves_polling_in_its_place(tmp_path: Path, caplog: Any) -> None:
    """The signal is the edge here: one that breaks (a bug, not a dropped connection, which it handles
    itself) must not leave the cache deaf to changes. It is logged once and the revisions are polled."""
    store = open_store(f"sqlite:///{tmp_path / 'one.db'}")
    await store.open()
    await fill(store, "cixi", ENTRIES[:3])
    cache = FeedCache(web_config(f"sqlite:///{tmp_path / 'one.db'}"), store)
    follower = StoreFollower(cache, store, poll_interval=0.05)

    async def breaking() -> AsyncGenerator[StoreChange, None]:
        yield SignalUp()
        raise RuntimeError("the signal broke")

    following = asyncio.create_task(follower.follow_changes(breaking()))
    try:
        old = await cache.feed(SITE, "cixi", "rss")
        await until(lambda: follower.signal == "lost: the signal broke", "the signal reported lost")
        assert "change signal failed (RuntimeError: the signal broke)" in caplog.text
        await fill(store, "cixi", [make_entry(6), *ENTRIES], now=NOW + timedelta(hours=4))

        async def served_new() -> bool:
            return (await cache.feed(SITE, "cixi", "rss")).plain.etag != old.plain.etag
        await until(served_new, "the change found by polling")
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await store.close()
