"""Where entries live: the `Store` protocol and its implementations, chosen by URL."""

from feedsvc.errors import StoreError
from feedsvc.store.base import SectionChanged, SignalLost, SignalUp, Store, StoreChange
from feedsvc.store.urls import shown_url

__all__ = ["SectionChanged", "SignalLost", "SignalUp", "Store", "StoreChange", "open_store", "shown_url"]


def open_store(url: str) -> Store:
    """A store for `url`: sqlite:///path.db (sqlite:///:memory: for tests) or
    postgresql://user@host:port/dbname. Call `await store.open()`: it connects and migrates."""
    if url.startswith("sqlite:"):
        from feedsvc.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if url.startswith(("postgresql:", "postgres:")):
        from feedsvc.store.postgres import PostgresStore

        return PostgresStore.from_url(url)
    raise StoreError(f"unsupported store URL {url!r} (use sqlite:///path.db or postgresql://user@host/dbname)")

