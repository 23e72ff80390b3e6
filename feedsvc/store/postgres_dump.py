"""Whole tables of a PostgreSQL store in and out, in one transaction (feedsvc copy-store)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg

from feedsvc.store.tables import BATCH, ORDER_BY, TABLES, Row


class PostgresTables:
    """`TableWriter` (and `TableReader`) on a connection inside the caller's transaction. Table and
    column names come from feedsvc.store.tables only, never from input."""

    def __init__(self, db: asyncpg.Connection):
        self._db = db

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[Row]]:
        batch: list[Row] = []
        async for record in self._db.cursor(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {ORDER_BY[table]}",
                                            prefetch=BATCH):
            batch.append(tuple(record))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def count(self, table: str) -> int:
        return int(await self._db.fetchval(f"SELECT COUNT(*) FROM {table}"))

    async def load(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        await self._db.copy_records_to_table(table, records=rows, columns=list(columns))

    async def clear(self) -> None:
        await self._db.execute(f"TRUNCATE {', '.join(table for table, _ in TABLES)}")

    async def finish(self) -> None:
        # Rows came with their ids: new entries must be numbered after the highest one.
        await self._db.execute(
            "SELECT setval(pg_get_serial_sequence('entries', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM entries")
