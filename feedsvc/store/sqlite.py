"""The SQLite store (aiosqlite, WAL): entries keyed by (site, canonical URL), section listings with a
rolling window, per-section refresh state and per-URL HTTP validators.

Every write runs in one BEGIN IMMEDIATE transaction behind one asyncio.Lock, so a crash leaves the
last committed state. A file database is read through a second connection: WAL gives it the last
committed snapshot, never a half-written section, and each read is a single statement for that
reason (known_urls aside). `:memory:` has one connection, so its reads wait for the writer's lock instead.
SQL stays portable (no GROUP_CONCAT, no REPLACE, ON CONFLICT upserts) so PostgreSQL can follow.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from feedsvc.errors import StoreError
from feedsvc.model import Entry, Listing, RefreshReport, SectionState, UpsertResult, Validators
from feedsvc.store import sqlite_writes
from feedsvc.store.sqlite_dump import SQLiteTables
from feedsvc.store.sqlite_rows import (
    ENTRY_FIELDS,
    LISTINGS_SQL,
    NEWEST_FIRST,
    STATE_FIELDS,
    chunks,
    entries_from_rows,
    listing_from_row,
    placeholders,
    state_from_row,
    utc_text,
)
from feedsvc.store.sqlite_schema import MIGRATIONS, Migration
from feedsvc.store.sqlite_writes import ensure_section, record_report
from feedsvc.store.upsert import PreparedUpsert

P = ParamSpec("P")
T = TypeVar("T")


def _translated(
    method: Callable[Concatenate[SQLiteStore, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[SQLiteStore, P], Coroutine[Any, Any, T]]:
    """The one boundary where sqlite errors become StoreError (one line, naming the database).

    Typed as returning a coroutine, which the wrapper is, so SQLiteStore's methods match the
    `async def`s of the Store protocol.
    """

    @functools.wraps(method)
    async def wrapper(self: SQLiteStore, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    return wrapper


class SQLiteStore:
    """`Store` on one SQLite file (or `:memory:`). Call `await open()` before use, `close()` after."""

    def __init__(self, path: str, *, migrations: Sequence[Migration] = MIGRATIONS):
        self.path = path
        self._migrations = tuple(migrations)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        # (version found, version left) by the last open(); equal when there was nothing to migrate.
        self.migrated: tuple[int, int] | None = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> SQLiteStore:
        """`sqlite:///relative.db`, `sqlite:////absolute.db` or `sqlite:///:memory:`."""
        prefix = "sqlite:///"
        if not url.startswith(prefix) or len(url) == len(prefix):
            raise StoreError(f"bad SQLite store URL {url!r} (use sqlite:///path.db or sqlite:///:memory:)")
        return cls(url[len(prefix):], **kwargs)

    # -- connection and schema -------------------------------------------------------------------

    @_translated
    async def open(self) -> None:
        if self._writer is not None:
            return
        try:
            self._writer = await self._connect(query_only=False)
            self.migrated = await self._migrate()
            if self.path == ":memory:":
                self._reader = self._writer
            else:
                self._reader = await self._connect(query_only=True)
        except BaseException:
            await self.close()
            raise

    @_translated
    async def close(self) -> None:
        reader, writer = self._reader, self._writer
        self._reader = self._writer = None
        if reader is not None and reader is not writer:
            await reader.close()
        if writer is not None:
            await writer.close()

    async def _connect(self, *, query_only: bool) -> aiosqlite.Connection:
        if self.path != ":memory:":
            # A file that cannot be opened fails here, before aiosqlite starts a thread: after a failed
            # aiosqlite.connect its worker thread reports to the event loop later, which a command's
            # asyncio.run may have closed by then (a thread traceback after the one error line).
            sqlite3.connect(self.path).close()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so sqlite3 must not begin for us.
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            if query_only:
                await conn.execute("PRAGMA query_only = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _migrate(self) -> tuple[int, int]:
        target = len(self._migrations)
        async with self._transaction() as db:
            await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = list(await db.execute_fetchall("SELECT MAX(version), COUNT(*) FROM schema_version"))
            current, count = (rows[0][0] or 0), rows[0][1]
            if current > target:
                raise StoreError(
                    f"SQLite store {self.path}: database schema version {current} is newer than this "
                    f"feedsvc supports ({target}); upgrade feedsvc or point store.url at another database"
                )
            for migration in self._migrations[current:]:
                for statement in migration:
                    await db.execute(statement)
            if count == 0:
                await db.execute("INSERT INTO schema_version (version) VALUES (?)", (target,))
            elif current != target:
                await db.execute("UPDATE schema_version SET version = ?", (target,))
        return current, target

    @_translated
    async def schema_version(self) -> int:
        async with self._reading() as db:
            rows = list(await db.execute_fetchall("SELECT MAX(version) FROM schema_version"))
        return rows[0][0] or 0

    def _open_connection(self, conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise StoreError(f"SQLite store {self.path} is not open")
        return conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        db = self._open_connection(self._writer)
        async with self._lock:
            try:
                # BEGIN inside the try: if we are cancelled while it runs, it still runs on
                # aiosqlite's thread, and the rollback queued behind it must close it.
                await db.execute("BEGIN IMMEDIATE")
                yield db
                await db.execute("COMMIT")
            except BaseException:
                try:
                    await db.rollback()
                except sqlite3.Error:
                    pass  # the original error says more; the open transaction dies with it
                raise

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        db = self._open_connection(self._reader)
        if db is self._writer:
            # One shared connection (:memory:) would show a writer's uncommitted rows: wait for it.
            async with self._lock:
                yield db
        else:
            yield db

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
        # Convert every value before BEGIN, so bad input never opens a transaction.
        prepared = PreparedUpsert(
            site, section, entries, now=now, max_entries=max_entries, max_age_days=max_age_days,
            section_title=section_title, validators=validators, report=report, also_list=also_list)
        async with self._transaction() as db:
            return await prepared.run(sqlite_writes, db)

    @_translated
    async def record_attempt(self, report: RefreshReport) -> SectionState:
        async with self._transaction() as db:
            await record_report(db, report)
            rows = list(await db.execute_fetchall(
                f"SELECT {STATE_FIELDS} FROM sections WHERE site = ? AND section = ?",
                (report.site, report.section),
            ))
        return state_from_row(rows[0])

    @_translated
    async def defer_sections(self, site: str, sections: Sequence[str], until: datetime) -> None:
        until_s = utc_text(until)
        async with self._transaction() as db:
            for section in sections:
                await ensure_section(db, site, section)
                await db.execute(
                    "UPDATE sections SET deferred_until = ? WHERE site = ? AND section = ? "
                    "AND (deferred_until IS NULL OR deferred_until < ?)", (until_s, site, section, until_s))

    @_translated
    async def set_resolved_url(self, site: str, section: str, url: str | None) -> None:
        async with self._transaction() as db:
            await ensure_section(db, site, section)
            await db.execute(
                "UPDATE sections SET resolved_url = ? WHERE site = ? AND section = ?", (url, site, section))

    # -- reads (each one statement: one consistent snapshot) -----------------------------------

    @_translated
    async def entries(self, site: str, section: str, limit: int | None = None) -> list[Entry]:
        page = (
            "SELECT e.* FROM section_entries se JOIN entries e ON e.id = se.entry_id "
            f"WHERE se.site = ? AND se.section = ? ORDER BY {NEWEST_FIRST}"
        )
        params: list[Any] = [site, section]
        if limit is not None:
            page += " LIMIT ?"
            params.append(max(limit, 0))
        async with self._reading() as db:
            rows = await db.execute_fetchall(self._with_categories(f"({page}) e", "", NEWEST_FIRST), params)
        return entries_from_rows(rows)

    @_translated
    async def entry(self, site: str, url: str) -> Entry | None:
        sql = self._with_categories("entries e", "WHERE e.site = ? AND e.url = ?", "e.id")
        async with self._reading() as db:
            found = entries_from_rows(await db.execute_fetchall(sql, (site, url)))
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
    async def known_urls(
        self, site: str, urls: Iterable[str], *, give_up_after: int | None = None,
    ) -> set[str]:
        wanted = sorted(set(urls))
        known: set[str] = set()
        give_up = give_up_after if give_up_after is not None else 2**31
        # Chunks are separate statements; each URL's answer is still a committed one.
        async with self._reading() as db:
            for chunk in chunks(wanted):
                rows = await db.execute_fetchall(
                    "SELECT url FROM entries WHERE site = ? AND (partial = 0 OR failed_fetches >= ?) "
                    f"AND url IN ({placeholders(len(chunk))})",
                    (site, give_up, *chunk),
                )
                known.update(row[0] for row in rows)
        return known

    @_translated
    async def section_state(self, site: str, section: str) -> SectionState:
        async with self._reading() as db:
            rows = list(await db.execute_fetchall(
                f"SELECT {STATE_FIELDS} FROM sections WHERE site = ? AND section = ?", (site, section)))
        return state_from_row(rows[0]) if rows else SectionState(site=site, section=section)

    @_translated
    async def section_states(self) -> list[SectionState]:
        async with self._reading() as db:
            rows = await db.execute_fetchall(f"SELECT {STATE_FIELDS} FROM sections ORDER BY site, section")
        return [state_from_row(row) for row in rows]

    @_translated
    async def entry_counts(self) -> dict[tuple[str, str], int]:
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT site, section, COUNT(*) FROM section_entries GROUP BY site, section")
        return {(site, section): count for site, section, count in rows}

    @_translated
    async def listings(self) -> dict[tuple[str, str], Listing]:
        async with self._reading() as db:
            rows = await db.execute_fetchall(LISTINGS_SQL)
        return {(site, section): listing_from_row(count, first_seen, updated)
                for site, section, count, first_seen, updated in rows}

    @_translated
    async def revision(self, site: str, section: str) -> int:
        async with self._reading() as db:
            rows = list(await db.execute_fetchall(
                "SELECT revision FROM sections WHERE site = ? AND section = ?", (site, section)))
        return rows[0][0] if rows else 0

    @_translated
    async def revisions(self) -> dict[tuple[str, str], int]:
        async with self._reading() as db:
            rows = await db.execute_fetchall("SELECT site, section, revision FROM sections")
        return {(site, section): revision for site, section, revision in rows}

    def changes(self) -> None:
        """No change signal: one process serves a SQLite store; another's writes (`feedsvc refresh`)
        are found by polling `revisions()`."""
        return None

    @_translated
    async def get_validators(self, url: str) -> Validators | None:
        async with self._reading() as db:
            rows = list(await db.execute_fetchall(
                "SELECT etag, last_modified FROM validators WHERE url = ?", (url,)))
        return Validators(etag=rows[0][0], last_modified=rows[0][1]) if rows else None

    # -- site leases: one process, so every lease is granted and nothing is stored -------------------

    async def take_lease(self, site: str, holder: str, seconds: float) -> bool:
        return True

    async def renew_leases(self, sites: Sequence[str], holder: str, seconds: float) -> set[str]:
        return set(sites)

    async def release_lease(self, site: str, holder: str, linger: float = 0.0) -> None:
        return None

    async def lease_holders(self) -> dict[str, tuple[str, datetime]]:
        return {}

    # -- whole-store copies (feedsvc copy-store) ---------------------------------------------------

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[SQLiteTables]:
        """Every table as of one moment (one read transaction)."""
        try:
            async with self._reading() as db:
                await db.execute("BEGIN")
                try:
                    yield SQLiteTables(db)
                finally:
                    await db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[SQLiteTables]:
        """One write transaction for loading whole tables; committed when the block ends cleanly."""
        try:
            async with self._transaction() as db:
                yield SQLiteTables(db)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc
