"""Whole tables of a SQLite store in and out, in one transaction (feedsvc copy-store)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import aiosqlite

from feedsvc.store.sqlite_rows import placeholders
from feedsvc.store.tables import BATCH, ORDER_BY, TABLES, Row


class SQLiteTables:
    """`TableWriter` (and `TableReader`) on a connection inside the caller's transaction. Table and
    column names come from feedsvc.store.tables only, never from input."""

    def __init__(self, db: aiosqlite.Connection):
        self._db = db

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[Row]]:
        async with self._db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {ORDER_BY[table]}") as cursor:
            while batch := await cursor.fetchmany(BATCH):
                yield [tuple(row) for row in batch]

    async def count(self, table: str) -> int:
        rows = list(await self._db.execute_fetchall(f"SELECT COUNT(*) FROM {table}"))
        return int(rows[0][0])

    async def load(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        await self._db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(len(columns))})", rows)

    async def clear(self) -> None:
        for table, _ in reversed(TABLES):
            await self._db.execute(f"DELETE FROM {table}")

    async def finish(self) -> None:
        """Nothing: an INTEGER PRIMARY KEY numbers new rows after the highest id by itself."""
