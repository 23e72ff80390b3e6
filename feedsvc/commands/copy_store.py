"""`feedsvc copy-store SRC_URL DST_URL`: copy every entry, section state and validator from one store
to another (SQLite to PostgreSQL or back), both migrated first, and print each table's row counts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from feedsvc.commands import EXIT_OK
from feedsvc.commands.terminal import say
from feedsvc.errors import StoreError, UsageError
from feedsvc.store import Store, open_store, shown_url
from feedsvc.store.copy import TableCount, copy_store

SQLITE_PREFIX = "sqlite:///"


def store_at(url: str, role: str) -> Store:
    """The store a command-line URL names; a URL no store takes is a usage error (exit 2)."""
    try:
        return open_store(url)
    except StoreError as exc:
        raise UsageError(f"{role}: {exc}") from exc


async def copy(source_url: str, destination_url: str, *, replace: bool) -> list[TableCount]:
    source, destination = store_at(source_url, "SRC_URL"), store_at(destination_url, "DST_URL")
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
    # Opening a SQLite path creates the file: a mistyped source would be copied as an empty store.
    source_path = source_url[len(SQLITE_PREFIX):] if source_url.startswith(SQLITE_PREFIX) else None
    if source_path and source_path != ":memory:" and not Path(source_path).is_file():
        raise UsageError(f"SRC_URL: no SQLite store at {source_path}")
    counts = asyncio.run(copy(source_url, destination_url, replace=force))
    say(f"copied {shown_url(source_url)} to {shown_url(destination_url)}")
    width = max(len(c.table) for c in counts)
    for c in counts:
        say(f"  {c.table.ljust(width)}  {c.source:>8} → {c.destination:<8} ok")
    return EXIT_OK
