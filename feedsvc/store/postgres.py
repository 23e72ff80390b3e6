"""The PostgreSQL store (asyncpg, one connection pool): the same tables and the same `Store` contract
as the SQLite store, for deployments that run several replicas on one database.

Every write is one transaction that first takes the site's transaction-level advisory lock: writes to
one site are serialized across every process sharing the database (as SQLite's one writer does), so
the upsert's read-then-write steps and its orphan deletion never race another replica. Each read is a
single statement, which PostgreSQL answers from one snapshot: never a half-written section.
Migrations run in one transaction under a database-wide advisory lock: of several replicas starting
at once one migrates, the others wait for it and find the schema current.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

import asyncpg

from feedsvc.errors import StoreError
from feedsvc.model import Entry, Listing, RefreshReport, SectionState, UpsertResult, Validators
from feedsvc.store import leases, postgres_writes
from feedsvc.store.base import StoreChange
from feedsvc.store.postgres_dump import PostgresTables
from feedsvc.store.postgres_listen import listen_changes
from feedsvc.store.postgres_schema import MIGRATIONS, Migration
from feedsvc.store.postgres_writes import ensure_section, record_report
from feedsvc.store.sqlite_rows import (
    ENTRY_FIELDS,
    LISTINGS_SQL,
    NEWEST_FIRST,
    STATE_FIELDS,
    entries_from_rows,
    listing_from_row,
    state_from_row,
    utc_text,
)
from feedsvc.store.upsert import PreparedUpsert
from feedsvc.store.urls import shown_url

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Advisory lock keys: one bigint for migrations; (namespace, hash of the site) for a site's writes.
# The one-key and two-key forms are separate key spaces in PostgreSQL.
MIGRATION_LOCK = 0x66656564_73766331  # "feedsvc1"
SITE_LOCK_NAMESPACE = 0x66656564  # "feed"
# What asyncpg raises for a server it cannot reach (refused, DNS, a timeout) besides its own errors.
_CONNECTION_ERRORS = (OSError, TimeoutError)
# asyncpg's own: the server's errors, the client's (a closed connection), and a connection the server
# ended an instant ago, before asyncpg noticed (InternalClientError: "another operation is in progress").
_ASYNCPG_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def site_lock_key(site: str) -> int:
    """A stable signed 32-bit key for the site (the same in every process, unlike hash())."""
    crc = zlib.crc32(site.encode())
    return crc - 2**32 if crc >= 2**31 else crc


def _store_error(shown: str, exc: BaseException) -> StoreError:
    """An asyncpg error or an unreachable server as one operator line naming the store."""
    if isinstance(exc, _CONNECTION_ERRORS):
        return StoreError(f"PostgreSQL store {shown}: cannot connect: {exc}")
    return StoreError(f"PostgreSQL store {shown}: {exc}")


def _translated(
    method: Callable[Concatenate[PostgresStore, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[PostgresStore, P], Coroutine[Any, Any, T]]:
    """The one boundary where asyncpg's errors become StoreError (one line, naming the database)."""

    @functools.wraps(method)
    async def wrapper(self: PostgresStore, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        except (*_ASYNCPG_ERRORS, *_CONNECTION_ERRORS) as exc:
            raise _store_error(self.shown, exc) from exc

    return wrapper


class PostgresStore:
    """`Store` on a PostgreSQL database. Call `await open()` (connects and migrates) before use."""

    def __init__(
        self, url: str, *, migrations: Sequence[Migration] = MIGRATIONS, pool_size: int = 8,
        connect_timeout: float = 10.0, close_timeout: float = 5.0,
    ):
        self.url = url
        self.shown = shown_url(url)
        self._migrations = tuple(migrations)
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._close_timeout = close_timeout
        self._pool: asyncpg.Pool | None = None
        # (version found, version left) by the last open(); equal when there was nothing to migrate.
        self.migrated: tuple[int, int] | None = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> PostgresStore:
        """`postgresql://user[:password]@host[:port]/dbname[?param=value]` (or `postgres://`)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
            raise StoreError(f"bad PostgreSQL store URL {shown_url(url)!r} (use postgresql://user@host:5432/dbname)")
        return cls(url, **kwargs)

    # -- connection and schema -------------------------------------------------------------------

    @_translated
    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self._pool_size, timeout=self._connect_timeout)
        except ValueError as exc:  # a URL value asyncpg cannot use, e.g. a port that is not a number
            raise StoreError(f"bad PostgreSQL store URL {self.shown}: {exc}") from exc
        try:
            self.migrated = await self._migrate(pool)
        except BaseException:
            await self._close_pool(pool)
            raise
        self._pool = pool

    @_translated
    async def close(self) -> None:
        """Close the pool gracefully, within `close_timeout`: a connection the server broke can leave
        asyncpg waiting forever (seen with asyncpg < 0.31), and shutdown must not hang on it."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await self._close_pool(pool)

    async def _close_pool(self, pool: asyncpg.Pool) -> None:
        try:
            await asyncio.wait_for(pool.close(), self._close_timeout)
        except TimeoutError:
            log.warning("PostgreSQL store %s: connections did not close in %ss; dropped",
                        self.shown, self._close_timeout)
            pool.terminate()

    async def _migrate(self, pool: asyncpg.Pool) -> tuple[int, int]:
        target = len(self._migrations)
        async with pool.acquire() as db, db.transaction():
            # Every replica starting at once queues here; the first migrates, the rest find it done.
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            # Created only when missing: a role without CREATE rights can still open a migrated store.
            if await db.fetchval("SELECT to_regclass('schema_migrations')") is None:
                await db.execute(
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            current = await db.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            if current > target:
                raise StoreError(
                    f"PostgreSQL store {self.shown}: database schema version {current} is newer than this "
                    f"feedsvc supports ({target}); upgrade feedsvc or point store.url at another database")
            for version, migration in enumerate(self._migrations[current:], start=current + 1):
                for statement in migration:
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        if current != target:
            log.info("PostgreSQL store %s: schema migrated from version %d to %d", self.shown, current, target)
        return current, target

    @_translated
    async def schema_version(self) -> int:
        return int(await self._open_pool().fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))

    def _open_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError(f"PostgreSQL store {self.shown} is not open")
        return self._pool

    @asynccontextmanager
    async def _transaction(self, site: str) -> AsyncIterator[asyncpg.Connection]:
        """One write transaction holding the site's lock (released at commit or rollback)."""
        async with self._open_pool().acquire() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1, $2)", SITE_LOCK_NAMESPACE, site_lock_key(site))
            yield db

    async def _fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._open_pool().fetch(sql, *args)]

    # -- writes ------------------------------------------------------------------------------------

    @_translated
    async def upsert(
        self,
        site: str,
        section: str,
        entries: Sequence[Entry],
        *,
        now: datetime,
        max_entries: int,
        max_age_days: int,
        section_title: str | None = None,
        validators: dict[str, Validators] | None = None,
        report: RefreshReport | None = None,
        also_list: Sequence[str] = (),
    ) -> UpsertResult:
        """See `Store.upsert` and `PreparedUpsert.run`."""
        prepared = PreparedUpsert(
            site, section, entries, now=now, max_entries=max_entries, max_age_days=max_age_days,
            section_title=section_title, validators=validators, report=report, also_list=also_list)
        async with self._transaction(site) as db:
            return await prepared.run(postgres_writes, db)

    @_translated
    async def record_attempt(self, report: RefreshReport) -> SectionState:
        async with self._transaction(report.site) as db:
            await record_report(db, report)
            row = await db.fetchrow(
                f"SELECT {STATE_FIELDS} FROM sections WHERE site = $1 AND section = $2", report.site, report.section)
        return state_from_row(tuple(row))

    @_translated
    async def defer_sections(self, site: str, sections: Sequence[str], until: datetime) -> None:
        until_s = utc_text(until)
        async with self._transaction(site) as db:
            for section in sections:
                await ensure_section(db, site, section)
                await db.execute(
                    "UPDATE sections SET deferred_until = $1 WHERE site = $2 AND section = $3 "
                    "AND (deferred_until IS NULL OR deferred_until < $1)", until_s, site, section)

    @_translated
    async def set_resolved_url(self, site: str, section: str, url: str | None) -> None:
        async with self._transaction(site) as db:
            await ensure_section(db, site, section)
            await db.execute("UPDATE sections SET resolved_url = $1 WHERE site = $2 AND section = $3", url, site, section)

    # -- reads (each one statement: one consistent snapshot) -----------------------------------

    @_translated
    async def entries(self, site: str, section: str, limit: int | None = None) -> list[Entry]:
        page = (
            "SELECT e.* FROM section_entries se JOIN entries e ON e.id = se.entry_id "
            f"WHERE se.site = $1 AND se.section = $2 ORDER BY {NEWEST_FIRST}"
        )
        args: list[Any] = [site, section]
        if limit is not None:
            page += " LIMIT $3"
            args.append(max(limit, 0))
        return entries_from_rows(await self._fetch(self._with_categories(f"({page}) e", "", NEWEST_FIRST), *args))

    @_translated
    async def entry(self, site: str, url: str) -> Entry | None:
        sql = self._with_categories("entries e", "WHERE e.site = $1 AND e.url = $2", "e.id")
        found = entries_from_rows(await self._fetch(sql, site, url))
        return found[0] if found else None

    @staticmethod
    def _with_categories(source: str, where: str, order: str) -> str:
        """Entries from `source` (aliased e), one row per listing section, carrying its title."""
        return (
            f"SELECT e.id, {ENTRY_FIELDS}, COALESCE(s.title, s.section) FROM {source} "
            "LEFT JOIN section_entries c ON c.entry_id = e.id "
            "LEFT JOIN sections s ON s.site = c.site AND s.section = c.section "
            f"{where} ORDER BY {order}, c.section"
        )

    @_translated
    async def known_urls(self, site: str, urls: Iterable[str], *, give_up_after: int | None = None) -> set[str]:
        give_up = give_up_after if give_up_after is not None else 2**31 - 1
        rows = await self._fetch(
            "SELECT url FROM entries WHERE site = $1 AND (partial = 0 OR failed_fetches >= $2) "
            "AND url = ANY($3::text[])", site, give_up, sorted(set(urls)))
        return {row[0] for row in rows}

    @_translated
    async def section_state(self, site: str, section: str) -> SectionState:
        rows = await self._fetch(f"SELECT {STATE_FIELDS} FROM sections WHERE site = $1 AND section = $2", site, section)
        return state_from_row(rows[0]) if rows else SectionState(site=site, section=section)

    @_translated
    async def section_states(self) -> list[SectionState]:
        return [state_from_row(row) for row in await self._fetch(f"SELECT {STATE_FIELDS} FROM sections ORDER BY site, section")]

    @_translated
    async def entry_counts(self) -> dict[tuple[str, str], int]:
        rows = await self._fetch("SELECT site, section, COUNT(*) FROM section_entries GROUP BY site, section")
        return {(site, section): count for site, section, count in rows}

    @_translated
    async def listings(self) -> dict[tuple[str, str], Listing]:
        return {(site, section): listing_from_row(count, first_seen, updated)
                for site, section, count, first_seen, updated in await self._fetch(LISTINGS_SQL)}

    @_translated
    async def revision(self, site: str, section: str) -> int:
        rows = await self._fetch("SELECT revision FROM sections WHERE site = $1 AND section = $2", site, section)
        return int(rows[0][0]) if rows else 0

    @_translated
    async def revisions(self) -> dict[tuple[str, str], int]:
        rows = await self._fetch("SELECT site, section, revision FROM sections")
        return {(site, section): revision for site, section, revision in rows}

    def changes(self) -> AsyncGenerator[StoreChange, None]:
        """LISTEN for every process's committed writes, on a connection of its own (postgres_listen.py)."""
        return listen_changes(self.url, self.shown)

    @_translated
    async def get_validators(self, url: str) -> Validators | None:
        rows = await self._fetch("SELECT etag, last_modified FROM validators WHERE url = $1", url)
        return Validators(etag=rows[0][0], last_modified=rows[0][1]) if rows else None

    # -- site leases (store/leases.py) ----------------------------------------------------------------

    @_translated
    async def take_lease(self, site: str, holder: str, seconds: float) -> bool:
        return await leases.take_lease(self._open_pool(), site, holder, seconds)

    @_translated
    async def renew_leases(self, sites: Sequence[str], holder: str, seconds: float) -> set[str]:
        return await leases.renew_leases(self._open_pool(), sites, holder, seconds)

    @_translated
    async def release_lease(self, site: str, holder: str, linger: float = 0.0) -> None:
        await leases.release_lease(self._open_pool(), site, holder, linger)

    @_translated
    async def lease_holders(self) -> dict[str, tuple[str, datetime]]:
        return await leases.lease_holders(self._open_pool())

    # -- whole-store copies (feedsvc copy-store) ---------------------------------------------------

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PostgresTables]:
        """Every table as of one moment (a read-only repeatable-read transaction)."""
        try:
            async with self._open_pool().acquire() as db, db.transaction(isolation="repeatable_read", readonly=True):
                yield PostgresTables(db)
        except (*_ASYNCPG_ERRORS, *_CONNECTION_ERRORS) as exc:
            raise _store_error(self.shown, exc) from exc

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[PostgresTables]:
        """One write transaction for loading whole tables, holding the migration lock (no other
        feedsvc can migrate the schema under it); committed when the block ends cleanly."""
        try:
            async with self._open_pool().acquire() as db, db.transaction():
                await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                yield PostgresTables(db)
        except (*_ASYNCPG_ERRORS, *_CONNECTION_ERRORS) as exc:
            raise _store_error(self.shown, exc) from exc
