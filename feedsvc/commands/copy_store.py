"""`feedsvc copy-store SRC_URL DST_URL`: copy every entry, section state and validator from one store
to another (SQLite to PostgreSQL or back), both migrated first, and print each table's row counts."""

from __future__ import annotations

import asyncio

from feedsvc.commands import EXIT_OK
from feedsvc.commands.terminal import say
from feedsvc.errors import UsageError
from feedsvc.store import open_store, shown_url
from feedsvc.store.copy import TableCount, copy_store


async def copy(source_url: str, destination_url: str, *, replace: bool) -> list[TableCount]:
    source, destination = open_store(source_url), open_store(destination_url)
    await source.open()
    try:
        await destination.open()
        try:
            return await copy_store(source, destination, replace=replace)
        finally:
            await destination.close()
    finally:
        await source.close()


def run(source_url: str, destination_url: str, *, force: bool = False) -> int:
    if source_url == destination_url:
        raise UsageError("SRC_URL and DST_URL are the same store")
    counts = asyncio.run(copy(source_url, destination_url, replace=force))
    say(f"copied {shown_url(source_url)} to {shown_url(destination_url)}")
    width = max(len(c.table) for c in counts)
    for c in counts:
        say(f"  {c.table.ljust(width)}  {c.source:>8} → {c.destination:<8} ok")
    return EXIT_OK
