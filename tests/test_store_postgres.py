"""PostgreSQL-only store behaviour: URLs, connection errors, versioned migrations (from nothing, in place,
several replicas at once), one writer per site across stores, and the change signal.

The Store contract itself is tested in test_store.py, on every backend. These tests use the throwaway
database of tests/support/postgres.py (skipped without a server unless FEEDSVC_TEST_PG is set).
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from feedsvc.config import load_config
from feedsvc.errors import ConfigError, StoreError
from feedsvc.model import Entry
from feedsvc.store import open_store
from feedsvc.store.postgres import PostgresStore
from feedsvc.store.postgres_schema import MIGRATIONS
from feedsvc.store.postgres_writes import CHANGES_CHANNEL
from tests.support import NOW, until
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)

ENTRY = Entry(url="http://www.cxnews.cn/1.shtml", title="慈溪新闻", content_html="<p>正文</p>", published=NOW)
# A later release's migration, as the next feedsvc would ship it.
NEXT = (*MIGRATIONS, ("ALTER TABLE entries ADD COLUMN lang TEXT", "CREATE TABLE hubs (url TEXT PRIMARY KEY)"))


async def opened(url: str, migrations=MIGRATIONS) -> PostgresStore:
    store = PostgresStore(url, migrations=migrations)
    await store.open()
    return store


async def query(url: str, sql: str) -> list[tuple]:
    db = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await db.fetch(sql)]
    finally:
        await db.close()


async def execute(url: str, sql: str) -> None:
    db = await asyncpg.connect(url)
    try:
        await db.execute(sql)
    finally:
        await db.close()


async def applied(url: str) -> list[int]:
    return [v for (v,) in await query(url, "SELECT version FROM schema_migrations ORDER BY version")]


# -- URLs and connection errors ------------------------------------------------------------------

@pytest.mark.parametrize("url", ["postgresql://feedsvc@db.example:5432/feeds", "postgres://db/feeds",
                                 "postgresql://u:pw@[::1]:6432/feeds?sslmode=disable"])
def test_postgres_urls_select_the_postgres_store(url: str) -> None:
    assert isinstance(open_store(url), PostgresStore)


@pytest.mark.parametrize("url", ["postgresql://db", "postgresql://db/"])
def test_a_url_without_a_database_is_a_store_error(url: str) -> None:
    with pytest.raises(StoreError, match="bad PostgreSQL store URL"):
        open_store(url)


async def test_an_unreachable_server_is_one_store_error_without_the_password() -> None:
    store = open_store("postgresql://feedsvc:s3cret@127.0.0.1:9/feeds")
    with pytest.raises(StoreError, match=r"^PostgreSQL store postgresql://feedsvc:\*\*\*@127\.0\.0\.1:9/feeds: "
                                         r"cannot connect: .*") as caught:
        await store.open()
    assert "s3cret" not in str(caught.value)


async def test_a_missing_database_is_a_store_error(pg_database: str) -> None:
    store = open_store(pg_database.rsplit("/", 1)[0] + "/feedsvc_no_such_database")
    with pytest.raises(StoreError, match='database "feedsvc_no_such_database" does not exist'):
        await store.open()


@pytest.mark.parametrize(("url", "problem"), [
    ("postgresql://feedsvc:pw@db:port/feeds", "bad port"),
    ("postgresql://feedsvc:pw@db:5432", "no database name"),
    ("postgresql://feedsvc:pw@db/feeds now", "spaces or control characters"),
])
def test_config_refuses_an_unusable_postgres_url_without_showing_the_password(
    tmp_path: Path, url: str, problem: str,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"store:\n  url: '{url}'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert (issue.line, issue.path) == (2, "store.url")
    assert problem in issue.message and "feedsvc:***@db" in issue.message and ":pw@" not in issue.message


# -- migrations ----------------------------------------------------------------------------------

async def test_empty_database_is_migrated_and_reopening_migrates_nothing(pg_url: str) -> None:
    store = await opened(pg_url)
    try:
        assert store.migrated == (0, len(MIGRATIONS))
        assert await store.schema_version() == len(MIGRATIONS)
    finally:
        await store.close()
    again = await opened(pg_url)
    await again.close()
    assert again.migrated == (len(MIGRATIONS), len(MIGRATIONS))
    assert await applied(pg_url) == list(range(1, len(MIGRATIONS) + 1))


async def test_an_older_schema_is_upgraded_in_place_keeping_its_data(pg_url: str) -> None:
    old = await opened(pg_url, MIGRATIONS[:2])
    try:
        await old.upsert("cxnews", "cixi", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
    finally:
        await old.close()
    for migrations in (MIGRATIONS, NEXT):
        store = await opened(pg_url, migrations)
        try:
            assert await store.entries("cxnews", "cixi") == [Entry(**{**ENTRY.__dict__, "first_seen": NOW,
                                                                       "categories": ("cixi",)})]
        finally:
            await store.close()
    assert store.migrated == (len(MIGRATIONS), len(NEXT))
    assert await applied(pg_url) == list(range(1, len(NEXT) + 1))
    assert await query(pg_url, "SELECT lang FROM entries") == [(None,)]


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    await (await opened(pg_url, NEXT)).close()
    with pytest.raises(StoreError, match=rf"schema version {len(NEXT)} is newer than this feedsvc supports \({len(MIGRATIONS)}\)"):
        await opened(pg_url)


async def test_a_failed_migration_leaves_the_schema_as_it_was(pg_url: str) -> None:
    await (await opened(pg_url, MIGRATIONS[:3])).close()
    broken = (*MIGRATIONS[:3], ("ALTER TABLE sections ADD COLUMN last_duration_ms INTEGER", "ALTER TABLE nope ADD x INT"))
    with pytest.raises(StoreError, match='relation "nope" does not exist'):
        await opened(pg_url, broken)
    assert await applied(pg_url) == [1, 2, 3]
    assert await query(pg_url, "SELECT column_name FROM information_schema.columns "
                               "WHERE table_name = 'sections' AND column_name = 'last_duration_ms'") == []


async def test_replicas_starting_at_once_migrate_once(pg_url: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        migrated = sorted(store.migrated for store in stores)  # type: ignore[type-var]
        current = len(MIGRATIONS)
        assert migrated == [(0, current)] + [(current, current)] * 3  # one migrated; the others waited
        await asyncio.gather(*(s.upsert("cxnews", "cixi", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
                               for s in stores))
        assert [len(await s.entries("cxnews", "cixi")) for s in stores] == [1, 1, 1, 1]
    finally:
        await asyncio.gather(*(store.close() for store in stores))
    assert await applied(pg_url) == list(range(1, len(MIGRATIONS) + 1))


async def test_a_role_without_create_rights_opens_a_migrated_store(pg_url: str) -> None:
    # The usual split: the owner migrates (feedsvc migrate), the service runs as a role that may only
    # read and write rows.
    await (await opened(pg_url)).close()
    role = f"feedsvc_app_{secrets.token_hex(4)}"
    await execute(pg_url, f"CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA public TO {role}; "
                          f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; "
                          f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    try:
        parts = urlsplit(pg_url)
        store = await opened(parts._replace(netloc=f"{role}@{parts.netloc.rpartition('@')[2]}").geturl())
        try:
            assert store.migrated == (len(MIGRATIONS), len(MIGRATIONS))
            assert (await store.upsert("cxnews", "cixi", [ENTRY], now=NOW, max_entries=10, max_age_days=30)).inserted == 1
        finally:
            await store.close()
    finally:
        await execute(pg_url, f"DROP OWNED BY {role}; DROP ROLE {role}")


# -- several processes on one database -----------------------------------------------------------

async def test_concurrent_writers_to_one_site_never_collide(pg_url: str) -> None:
    # Two replicas store overlapping articles into two sections of one site at the same time: without
    # the site lock, both would insert the same URL (a unique violation) or delete the other's rows.
    first, second = await opened(pg_url), await opened(pg_url)
    try:
        entries = [Entry(url=f"http://www.cxnews.cn/{n}.shtml", title=f"新闻 {n}", published=NOW) for n in range(40)]
        for _ in range(5):
            await asyncio.gather(
                first.upsert("cxnews", "cixi", entries[:30], now=NOW, max_entries=100, max_age_days=30),
                second.upsert("cxnews", "zjbm", entries[10:], now=NOW, max_entries=100, max_age_days=30),
            )
        assert len(await first.entries("cxnews", "cixi")) == 30
        assert len(await first.entries("cxnews", "zjbm")) == 30
        assert await query(pg_url, "SELECT COUNT(*) FROM entries") == [(40,)]
    finally:
        await first.close()
        await second.close()


async def test_every_change_is_announced_at_commit_and_only_then(pg_url: str) -> None:
    store = await opened(pg_url)
    heard: list[str] = []
    listener = await asyncpg.connect(pg_url)
    await listener.add_listener(CHANGES_CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        await store.upsert("cxnews", "cixi", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
        await until(lambda: heard == ["cxnews/cixi"], "the change signal")
        # The same content again changes nothing and says nothing; a failed write says nothing.
        await store.upsert("cxnews", "cixi", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
        broken = Entry(url="http://www.cxnews.cn/2.shtml", title=None)  # type: ignore[arg-type]
        with pytest.raises(StoreError):
            await store.upsert("cxnews", "cixi", [ENTRY, broken], now=NOW, max_entries=10, max_age_days=30)
        # Changed content listed in two sections announces both.
        await store.upsert("cxnews", "zjbm", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
        await store.upsert("cxnews", "zjbm", [Entry(**{**ENTRY.__dict__, "title": "改"})], now=NOW,
                           max_entries=10, max_age_days=30)
        await until(lambda: len(heard) == 4, "three more signals")
        assert heard == ["cxnews/cixi", "cxnews/zjbm", *sorted(heard[2:])] and sorted(heard[2:]) == [
            "cxnews/cixi", "cxnews/zjbm"]
    finally:
        await listener.close()
        await store.close()


async def test_connections_the_server_ends_are_replaced(pg_url: str) -> None:
    # A PostgreSQL restart or failover ends every connection: the pool connects anew; nothing but a
    # StoreError ever reaches the caller meanwhile.
    store = await opened(pg_url)
    try:
        await store.upsert("cxnews", "cixi", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
        await query(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        outcomes: list[object] = []
        for _ in range(3):
            try:
                outcomes.append(len(await store.entries("cxnews", "cixi")))
            except StoreError as exc:
                outcomes.append(str(exc))
        assert outcomes[-1] == 1, outcomes
    finally:
        await store.close()


async def test_a_url_asyncpg_cannot_use_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"^bad PostgreSQL store URL postgresql://u:\*\*\*@127\.0\.0\.1:x/db: "):
        await open_store("postgresql://u:pw@127.0.0.1:x/db").open()
