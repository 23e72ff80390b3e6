"""`feedsvc migrate`: bring the configured store's schema to this version's, and say from which.

`serve` does the same on start; this runs it on its own (before starting replicas, after an upgrade)."""

from __future__ import annotations

import asyncio

from feedsvc.commands import EXIT_OK
from feedsvc.commands.terminal import say
from feedsvc.config import Config
from feedsvc.store import open_store, shown_url


async def migrate(url: str) -> tuple[int, int]:
    """(version found, version now) of the store at `url`, migrated."""
    store = open_store(url)
    await store.open()
    try:
        assert store.migrated is not None  # open() sets it
        return store.migrated
    finally:
        await store.close()


def run(config: Config) -> int:
    before, after = asyncio.run(migrate(config.store.url))
    where = shown_url(config.store.url)
    if before == after:
        say(f"{where}: schema version {after}, current (nothing to migrate)")
    else:
        say(f"{where}: schema migrated from version {before} to {after}")
    return EXIT_OK
