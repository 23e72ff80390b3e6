"""copy-store: everything a store holds, SQLite to PostgreSQL and back, nothing lost (every table row
for row, the same feeds served byte for byte), a non-empty destination refused unless forced; and the
`feedsvc migrate` and `feedsvc copy-store` commands as an operator runs them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from feedsvc.errors import StoreError
from feedsvc.model import RefreshReport, Validators
from feedsvc.store import Store, open_store
from feedsvc.store.copy import copy_store
from feedsvc.store.postgres_schema import MIGRATIONS as PG_MIGRATIONS
from feedsvc.store.sqlite_schema import MIGRATIONS as SQLITE_MIGRATIONS
from feedsvc.store.tables import TABLES, Row
from tests.support import NOW
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)
from tests.test_cli import feedsvc, no_traceback
from tests.web_fixtures import SITE, fill, make_entry, start_web

FORMATS = ("rss", "atom", "json")


async def opened(url: str) -> Store:
    store = open_store(url)
    await store.open()
    return store


async def fill_everything(store: Store) -> None:
    """Every kind of row: entries in one and in two sections, a partial entry that failed twice, a
    section with a report, a deferral and a resolved URL, validators."""
    await fill(store, "cixi", [make_entry(i) for i in range(8)])
    await fill(store, "mintong", [make_entry(i) for i in range(5, 12)])
    link_only = make_entry(20, partial=True, content_html="", summary="")
    for _ in range(2):
        await fill(store, "mintong", [link_only])
    await fill(store, "cixi", [make_entry(1, title="改过的标题")], now=NOW + timedelta(minutes=5))
    report = RefreshReport(site=SITE, section="cixi", started=NOW, finished=NOW + timedelta(seconds=3), ok=False,
                           error="HTTP 503 (http://www.cxnews.cn/cxnews/)")
    await store.record_attempt(replace(report, deferred_until=NOW + timedelta(hours=2)))
    await store.set_resolved_url(SITE, "mintong", "http://www.cxnews.cn/mintong/")
    await store.upsert(SITE, "mintong", [], now=NOW, max_entries=100, max_age_days=36500, validators={
        "http://www.cxnews.cn/cxnews/": Validators('"abc"', "Wed, 08 Dec 2021 01:58:00 GMT"),
        "http://www.cxnews.cn/mintong/": Validators(None, "Wed, 08 Dec 2021 02:00:00 GMT")})


async def dump(store: Store) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    async with store.snapshot() as reading:
        for table, columns in TABLES:
            out[table] = [row async for rows in reading.rows(table, columns) for row in rows]
    return out


async def served(store: Store, tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    """Each feed of the filled sections as the real app serves it: (body, ETag)."""
    web = await start_web(store, tmp_path, poll_interval=3600)
    try:
        out = {}
        for section in ("cixi", "mintong"):
            for fmt in FORMATS:
                response = await web.client.get(f"/{SITE}/{section}.{fmt}")
                assert response.status == 200
                out[f"{section}.{fmt}"] = (await response.read(), response.headers["ETag"])
        return out
    finally:
        await web.client.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await opened(f"sqlite:///{tmp_path / 'source.db'}")
    try:
        await fill_everything(store)
        yield store
    finally:
        await store.close()


async def test_tables_name_every_column_of_both_schemas(pg_url: str, tmp_path: Path) -> None:
    await (await opened(pg_url)).close()
    await (await opened(f"sqlite:///{tmp_path / 'x.db'}")).close()
    db = await asyncpg.connect(pg_url)
    try:
        for table, columns in TABLES:
            pg = {r[0] for r in await db.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1", table)}
            with closing(sqlite3.connect(tmp_path / "x.db")) as lite:
                sqlite = {r[1] for r in lite.execute(f"PRAGMA table_info({table})")}
            assert set(columns) == pg == sqlite, table
    finally:
        await db.close()
    assert len(PG_MIGRATIONS) == len(SQLITE_MIGRATIONS)  # versions mean the same on both


async def test_sqlite_to_postgres_and_back_loses_nothing(sqlite_store: Store, pg_url: str, tmp_path: Path) -> None:
    original = await dump(sqlite_store)
    assert all(original.values()), "every table has rows to copy"
    feeds = await served(sqlite_store, tmp_path)

    pg = await opened(pg_url)
    try:
        counts = await copy_store(sqlite_store, pg)
        assert {c.table: (c.source, c.destination) for c in counts} == {
            table: (len(rows), len(rows)) for table, rows in original.items()}
        assert await dump(pg) == original
        assert await served(pg, tmp_path) == feeds
        assert await pg.section_states() == await sqlite_store.section_states()
        assert await pg.known_urls(SITE, [make_entry(20).url], give_up_after=2) == {make_entry(20).url}

        back = await opened(f"sqlite:///{tmp_path / 'back.db'}")
        try:
            await copy_store(pg, back)
            assert await dump(back) == original
            assert await served(back, tmp_path) == feeds
        finally:
            await back.close()

        # The copy goes on where the source left off: a new entry gets a new id.
        await fill(pg, "cixi", [make_entry(30)])
        ids = [row[0] for row in (await dump(pg))["entries"]]
        assert len(ids) == len(set(ids)) == len(original["entries"]) + 1 and ids[-1] > max(ids[:-1])
    finally:
        await pg.close()


async def test_a_non_empty_destination_is_refused_unless_forced(sqlite_store: Store, pg_url: str) -> None:
    pg = await opened(pg_url)
    try:
        await fill(pg, "other", [make_entry(40)])
        before = await dump(pg)
        with pytest.raises(StoreError, match=r"^the destination store is not empty \(1 sections, 1 entries, "
                                             r"1 section_entries\); --force replaces what it holds$"):
            await copy_store(sqlite_store, pg)
        assert await dump(pg) == before
        await copy_store(sqlite_store, pg, replace=True)
        assert await dump(pg) == await dump(sqlite_store)
    finally:
        await pg.close()


# -- the commands ------------------------------------------------------------------------------

CONFIG = """\
store: {{url: "{url}"}}
sites:
  cxnews:
    title: 慈溪新闻网
    home: http://www.cxnews.cn/
    sections:
      cixi: {{title: 慈溪新闻, url: "http://www.cxnews.cn/cxnews/"}}
"""


def test_migrate_command_says_what_it_did(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG.format(url="sqlite:///unused.db"), encoding="utf-8")
    first = feedsvc(tmp_path, "migrate", env={"FEEDSVC_STORE_URL": pg_url})
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == f"{pg_url}: schema migrated from version 0 to {len(PG_MIGRATIONS)}\n"
    again = feedsvc(tmp_path, "migrate", env={"FEEDSVC_STORE_URL": pg_url})
    assert again.stdout == f"{pg_url}: schema version {len(PG_MIGRATIONS)}, current (nothing to migrate)\n"
    lite = feedsvc(tmp_path, "migrate")
    assert (lite.returncode, lite.stdout) == (0, f"sqlite:///unused.db: schema migrated from version 0 to "
                                                 f"{len(SQLITE_MIGRATIONS)}\n")


async def test_copy_store_command_copies_and_prints_the_counts(sqlite_store: Store, pg_url: str,
                                                               tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    original = await dump(sqlite_store)
    result = feedsvc(tmp_path, "copy-store", source, pg_url)
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == f"copied {source} to {pg_url}"
    for (table, rows), line in zip(original.items(), lines[1:], strict=True):
        assert line.split() == [table, str(len(rows)), "→", str(len(rows)), "ok"]

    again = feedsvc(tmp_path, "copy-store", source, pg_url)
    no_traceback(again)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr.startswith("feedsvc: error: the destination store is not empty (")
    assert again.stderr.count("\n") == 1
    forced = feedsvc(tmp_path, "copy-store", source, pg_url, "--force")
    assert forced.returncode == 0, forced.stderr

    back = f"sqlite:///{tmp_path / 'back.db'}"
    assert feedsvc(tmp_path, "copy-store", pg_url, back).returncode == 0
    restored = await opened(back)
    try:
        assert await dump(restored) == original
    finally:
        await restored.close()


def test_copy_store_refuses_what_it_cannot_copy_without_creating_anything(tmp_path: Path) -> None:
    for args, message in [
        (("sqlite:///missing.db", "sqlite:///out.db"), "SRC_URL: no SQLite store at missing.db"),
        (("mysql://db/feeds", "sqlite:///out.db"), "SRC_URL: unsupported store URL 'mysql://db/feeds' "
                                                   "(use sqlite:///path.db or postgresql://user@host/dbname)"),
        (("sqlite:///out.db", "sqlite:///out.db"), "SRC_URL and DST_URL are the same store"),
    ]:
        result = feedsvc(tmp_path, "copy-store", *args)
        no_traceback(result)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", f"feedsvc: error: {message}\n")
    assert list(tmp_path.iterdir()) == []


UNREACHABLE = "postgresql://feedsvc:s3cret@127.0.0.1:9/feeds"


@pytest.mark.parametrize("command", ["migrate", "status", "serve"])
def test_an_unreachable_postgres_store_is_one_error_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG.format(url=UNREACHABLE), encoding="utf-8")
    args = [command, "--port", "0"] if command == "serve" else [command]
    result = feedsvc(tmp_path, *args)
    no_traceback(result)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("feedsvc: error: PostgreSQL store postgresql://feedsvc:***@127.0.0.1:9/feeds: "
                           "cannot connect: "), line
    assert "s3cret" not in result.stderr + result.stdout


def test_check_refuses_an_unusable_postgres_url_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG.format(url="postgresql://feedsvc:s3cret@db:99999/feeds"),
                                          encoding="utf-8")
    result = feedsvc(tmp_path, "check")
    no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "feedsvc: error: config.yaml:1: store.url: 'postgresql://feedsvc:***@db:99999/feeds' is not a PostgreSQL "
        "URL: bad port (use postgresql://user@host:5432/dbname)")
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize("source_kind", ["sqlite", "postgresql"])
async def test_a_copy_taken_while_the_source_is_written_is_one_moment_of_it(
    source_kind: str, pg_url: str, tmp_path: Path,
) -> None:
    # A service still refreshing the source: every generation rewrites the whole section (new titles,
    # half the entries replaced). Each copy must hold exactly one generation, never a mix.
    source_url = f"sqlite:///{tmp_path / 'live.db'}" if source_kind == "sqlite" else pg_url
    source, writer = await opened(source_url), await opened(source_url)

    def generation(g: int) -> list:
        # Later entries are newer: generation g's 100 are the window, the previous half drops out.
        return [make_entry(n, title=f"g{g}", published=NOW + timedelta(minutes=n),
                           content_html=f"<p>g{g}</p>" + "<p>正文</p>" * 200)
                for n in range(g * 50, g * 50 + 100)]

    await writer.upsert(SITE, "cixi", generation(0), now=NOW, max_entries=100, max_age_days=36500)
    stop = False

    async def keep_writing() -> int:
        g = 0
        while not stop:
            g += 1
            await writer.upsert(SITE, "cixi", generation(g), now=NOW + timedelta(minutes=g), max_entries=100,
                                max_age_days=36500)
        return g

    writing = asyncio.ensure_future(keep_writing())
    try:
        for n in range(4):
            destination = await opened(f"sqlite:///{tmp_path / f'copy{n}.db'}" if source_kind == "postgresql"
                                       else pg_url)
            try:
                if source_kind == "sqlite":
                    await copy_store(source, destination, replace=True)
                else:
                    await copy_store(source, destination)
                copied = await destination.entries(SITE, "cixi")
                assert len(copied) == 100 and len({e.title for e in copied}) == 1, {e.title for e in copied}
            finally:
                await destination.close()
    finally:
        stop = True
        generations = await writing
        await writer.close()
        await source.close()
    assert generations >= 2, "the writer wrote during the copies"
