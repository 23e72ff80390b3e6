"""Where entries live: the `Store` protocol and its implementations, chosen by URL."""

from feedsvc.errors import StoreError
from feedsvc.store.base import Store

__all__ = ["Store", "open_store"]


def open_store(url: str) -> Store:
    """A store for `url` (sqlite:///path.db; sqlite:///:memory: for tests). Call `await store.open()`."""
    if url.startswith("sqlite:"):
        from feedsvc.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    raise StoreError(f"unsupported store URL {url!r} (use sqlite:///path.db)")
