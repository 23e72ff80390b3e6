"""Copy everything one store holds into another (SQLite to PostgreSQL or back): every table row for
row, ids included, in one transaction on the destination, then the row counts checked."""

from __future__ import annotations

from dataclasses import dataclass

from feedsvc.errors import StoreError
from feedsvc.store.base import Store
from feedsvc.store.tables import TABLES


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    destination: int


async def copy_store(source: Store, destination: Store, *, replace: bool = False) -> list[TableCount]:
    """Copy `source`'s snapshot into `destination` (both open). A destination holding anything is
    refused unless `replace`, which empties it first (in the same transaction: a failed copy leaves it
    as it was). Returns each table's rows in the source snapshot and in the destination afterwards."""
    async with source.snapshot() as reading, destination.bulk_load() as writing:
        held = {table: await writing.count(table) for table, _ in TABLES}
        if any(held.values()) and not replace:
            found = ", ".join(f"{n} {table}" for table, n in held.items() if n)
            raise StoreError(f"the destination store is not empty ({found}); --force replaces what it holds")
        if any(held.values()):
            await writing.clear()
        for table, columns in TABLES:
            async for rows in reading.rows(table, columns):
                await writing.load(table, columns, rows)
        await writing.finish()
        counts = [TableCount(table, await reading.count(table), await writing.count(table)) for table, _ in TABLES]
        wrong = [c for c in counts if c.source != c.destination]
        if wrong:  # raising here rolls the destination back
            raise StoreError("copy incomplete: " + ", ".join(
                f"{c.table} {c.destination} of {c.source}" for c in wrong))
    # Counted again after the commit: what the destination holds now, for anyone to read.
    async with destination.snapshot() as committed:
        return [TableCount(c.table, c.source, await committed.count(c.table)) for c in counts]
