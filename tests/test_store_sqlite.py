"""SQLite-only store behaviour: store URLs, WAL, schema versions and forward migrations.

The Store contract itself is tested in test_store.py, for every implementation.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from feedsvc.errors import StoreError
from feedsvc.model import Entry
from feedsvc.store import open_store
from feedsvc.store.sqlite import SQLiteStore
from feedsvc.store.sqlite_schema import MIGRATIONS
from tests.support import NOW

ENTRY = Entry(url="http://www.cxnews.cn/1.shtml", title="慈溪新闻", content_html="<p>正文</p>", published=NOW)
# A later release's migration, as the next feedsvc would ship it.
V2 = (*MIGRATIONS, ("ALTER TABLE entries ADD COLUMN lang TEXT", "CREATE TABLE hubs (url TEXT PRIMARY KEY)"))


def version_of(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT version FROM schema_version").fetchone()[0]


def columns(path: Path, table: str) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


async def opened(path: Path, migrations=MIGRATIONS) -> SQLiteStore:
    store = SQLiteStore(str(path), migrations=migrations)
    await store.open()
    return store


@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:///feedsvc.db", "feedsvc.db"),
    ("sqlite:////var/lib/feedsvc/feedsvc.db", "/var/lib/feedsvc/feedsvc.db"),
    ("sqlite:///:memory:", ":memory:"),
])
def test_from_url(url: str, path: str) -> None:
    assert SQLiteStore.from_url(url).path == path


@pytest.mark.parametrize("url", ["sqlite://feedsvc.db", "sqlite:///"])
def test_bad_sqlite_urls_are_store_errors(url: str) -> None:
    with pytest.raises(StoreError, match="bad SQLite store URL"):
        SQLiteStore.from_url(url)


def test_unknown_store_scheme_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("mysql://db/feedsvc")


async def test_new_database_is_current_and_in_wal_mode(tmp_path: Path) -> None:
    store = await opened(tmp_path / "new.db")
    try:
        assert await store.schema_version() == len(MIGRATIONS)
    finally:
        await store.close()
    assert version_of(tmp_path / "new.db") == len(MIGRATIONS)
    with closing(sqlite3.connect(tmp_path / "new.db")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_version_zero_database_is_migrated(tmp_path: Path) -> None:
    # An existing empty file and one whose schema_version table says 0: both are version 0.
    (tmp_path / "empty.db").touch()
    with closing(sqlite3.connect(tmp_path / "zero.db")) as db, db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (0)")
    for name in ("empty.db", "zero.db"):
        store = await opened(tmp_path / name)
        try:
            await store.upsert("cx", "news", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
            assert [e.url for e in await store.entries("cx", "news")] == [ENTRY.url]
        finally:
            await store.close()
        assert version_of(tmp_path / name) == len(MIGRATIONS)


async def test_older_database_is_migrated_forward_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = await opened(path)
    await store.upsert("cx", "news", [ENTRY], now=NOW, max_entries=10, max_age_days=30, section_title="新闻")
    before = await store.entries("cx", "news")
    await store.close()

    # Only the new migration runs (re-running migration 1 would fail: its tables exist).
    store = await opened(path, V2)
    try:
        assert await store.entries("cx", "news") == before
        assert await store.revision("cx", "news") == 1
    finally:
        await store.close()
    assert version_of(path) == len(V2)
    assert "lang" in columns(path, "entries") and columns(path, "hubs") == ["url"]


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    await (await opened(path, V2)).close()
    store = SQLiteStore(str(path))
    with pytest.raises(StoreError, match=rf"schema version {len(V2)} is newer than this feedsvc supports"):
        await store.open()
    with pytest.raises(StoreError, match="not open"):
        await store.entries("cx", "news")
    assert version_of(path) == len(V2)  # left as it was


async def test_failed_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.db"
    store = await opened(path)
    await store.upsert("cx", "news", [ENTRY], now=NOW, max_entries=10, max_age_days=30)
    await store.close()
    broken = (*MIGRATIONS, ("CREATE TABLE hubs (url TEXT PRIMARY KEY)", "ALTER TABLE nosuch ADD COLUMN x TEXT"))
    with pytest.raises(StoreError, match="no such table: nosuch"):
        await opened(path, broken)
    assert version_of(path) == len(MIGRATIONS)
    with closing(sqlite3.connect(path)) as db:
        assert "hubs" not in {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    store = await opened(path)
    try:
        assert [e.url for e in await store.entries("cx", "news")] == [ENTRY.url]
    finally:
        await store.close()


async def test_file_that_is_not_a_database_is_a_one_line_store_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("server: {port: 8080}\n" * 200)
    with pytest.raises(StoreError) as caught:
        await opened(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


async def test_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unable to open database file"):
        await opened(tmp_path / "no" / "such" / "dir.db")
