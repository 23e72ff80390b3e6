"""Conversions between model records and store rows, and the SQL fragments both sides share.

Named for SQLite, where they began; the PostgreSQL store uses them unchanged (same columns, same text).
Times are stored as fixed-width UTC ISO-8601 text, so string order is time order in SQL and Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from feedsvc.errors import StoreError
from feedsvc.model import Entry, Listing, RefreshReport, SectionState

# Older SQLite builds allow 999 host parameters per statement; stay well below.
IN_CHUNK = 500

# Entries without a published date sort by first_seen; equal times keep insertion (page) order.
NEWEST_FIRST = "COALESCE(e.published, e.first_seen) DESC, e.first_seen DESC, e.id ASC"
ENTRY_FIELDS = (
    "e.url, e.title, e.subtitle, e.author, e.source, e.editor, e.published, e.updated, "
    "e.first_seen, e.summary, e.content_html, e.image, e.partial"
)
STATE_FIELDS = (
    "site, section, last_attempt, last_success, last_error, consecutive_failures, resolved_url, deferred_until, "
    "last_duration_ms, refreshed_by"
)

# Each section's listing in brief: entries listed, and the newest first_seen and updated among them
# (MAX over the fixed-width time text is the newest time).
LISTINGS_SQL = (
    "SELECT se.site, se.section, COUNT(*), MAX(e.first_seen), MAX(e.updated) "
    "FROM section_entries se JOIN entries e ON e.id = se.entry_id GROUP BY se.site, se.section"
)


def listing_from_row(count: int, first_seen: str | None, updated: str | None) -> Listing:
    """`Feed.updated` of the listed entries: the newest time one was stored or had its content changed."""
    times = [t for t in (parse_time(first_seen), parse_time(updated)) if t is not None]
    return Listing(int(count), max(times) if times else None)


def utc_text(dt: datetime) -> str:
    """UTC ISO text of fixed width, so string order is time order (in SQL and in Python)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise StoreError(f"naive datetime {dt.isoformat()} given to the store (times must be timezone-aware)")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def time_text(dt: datetime | None) -> str | None:
    return None if dt is None else utc_text(dt)


def report_columns(report: RefreshReport) -> tuple[str, str | None, int]:
    """A refresh report's stored values, both backends: finished time, deferral, duration in ms."""
    duration_ms = max(round((report.finished - report.started).total_seconds() * 1000), 0)
    return utc_text(report.finished), time_text(report.deferred_until), duration_ms


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]


def placeholders(n: int) -> str:
    return ", ".join("?" * n)


def distinct_entries(entries: Sequence[Entry]) -> list[Entry]:
    """One entry per URL (first wins, but a complete one beats a partial one), in the given order."""
    chosen: dict[str, Entry] = {}
    for entry in entries:
        seen = chosen.get(entry.url)
        if seen is None or (seen.partial and not entry.partial):
            chosen[entry.url] = entry
    return list(chosen.values())


def entries_from_rows(rows: Iterable[Sequence[Any]]) -> list[Entry]:
    """Rows of (id, entry fields..., category) sorted by entry → entries with categories, in order."""
    fields: dict[int, Sequence[Any]] = {}
    categories: dict[int, list[str]] = {}
    for row in rows:
        entry_id = row[0]
        if entry_id not in fields:
            fields[entry_id] = row[1:-1]
            categories[entry_id] = []
        if row[-1] is not None:
            categories[entry_id].append(row[-1])
    out = []
    for entry_id, f in fields.items():
        out.append(Entry(
            url=f[0], title=f[1], subtitle=f[2], author=f[3], source=f[4], editor=f[5],
            published=parse_time(f[6]), updated=parse_time(f[7]), first_seen=parse_time(f[8]),
            summary=f[9] or "", content_html=f[10] or "", image=f[11], partial=bool(f[12]),
            categories=tuple(categories[entry_id]),
        ))
    return out


def state_from_row(row: Sequence[Any]) -> SectionState:
    return SectionState(
        site=row[0], section=row[1], last_attempt=parse_time(row[2]), last_success=parse_time(row[3]),
        last_error=row[4], consecutive_failures=row[5], resolved_url=row[6], deferred_until=parse_time(row[7]),
        last_duration=None if row[8] is None else timedelta(milliseconds=row[8]), refreshed_by=row[9],
    )


def entry_values(entry: Entry) -> tuple[Any, ...]:
    """The content columns, in the order the INSERT and UPDATE statements name them."""
    return (
        entry.title, entry.subtitle, entry.author, entry.source, entry.editor, time_text(entry.published),
        entry.summary, entry.content_html, entry.image, 1 if entry.partial else 0,
    )
