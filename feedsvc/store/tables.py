"""What a store holds, table by table, in the same columns on every backend: what copy-store moves.

Parents come before the rows that refer to them. tests/test_store_copy.py checks that these lists name
every column of both schemas, so a migration that adds a column must add it here too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

Row = tuple[Any, ...]

TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sections", (
        "site", "section", "title", "last_attempt", "last_success", "last_error", "consecutive_failures",
        "resolved_url", "revision", "deferred_until", "last_duration_ms", "refreshed_by",
    )),
    ("entries", (
        "id", "site", "url", "title", "subtitle", "author", "source", "editor", "published", "updated",
        "first_seen", "summary", "content_html", "image", "content_hash", "partial", "failed_fetches",
    )),
    ("section_entries", ("site", "section", "entry_id", "listed_at")),
    ("validators", ("url", "etag", "last_modified")),
)
# Each table's key: dumps are read in this order, so a copy is deterministic.
ORDER_BY = {
    "sections": "site, section",
    "entries": "id",
    "section_entries": "site, section, entry_id",
    "validators": "url",
}
BATCH = 500


class TableReader(Protocol):
    """One consistent snapshot of a store (see `Store`'s `snapshot()` on each backend)."""

    def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[Row]]:
        """The table's rows in batches, in `ORDER_BY` order."""
        ...

    async def count(self, table: str) -> int: ...


class TableWriter(TableReader, Protocol):
    """A store's one open write transaction for a bulk load: committed when the block ends cleanly."""

    async def load(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    async def clear(self) -> None:
        """Delete every row of every table (children first)."""
        ...

    async def finish(self) -> None:
        """After the last load: whatever the backend needs (PostgreSQL moves its id sequence on)."""
        ...
