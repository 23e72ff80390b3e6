"""The statements of one PostgreSQL store write, run inside the caller's transaction on its connection.

The same steps as sqlite_writes.py (read it for the why of each); lists of ids and URLs go as one array
parameter (`= ANY($n)`) instead of chunked IN lists. Nothing here commits.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from feedsvc.model import Entry, RefreshReport, Validators
from feedsvc.store.sqlite_rows import NEWEST_FIRST, report_columns, time_text

# Every change of a section's revision is announced on this channel (payload "site/section") when its
# transaction commits: replicas LISTEN to it to drop their cached feeds.
CHANGES_CHANNEL = "feedsvc_revisions"


async def insert_entry(
    db: asyncpg.Connection, site: str, entry: Entry, digest: str, values: tuple[Any, ...], now_s: str,
) -> int:
    entry_id = await db.fetchval(
        "INSERT INTO entries (title, subtitle, author, source, editor, published, summary, "
        "content_html, image, partial, content_hash, site, url, first_seen, updated) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        *values, digest, site, entry.url, time_text(entry.first_seen) or now_s, time_text(entry.updated),
    )
    return int(entry_id)


async def update_entry(
    db: asyncpg.Connection, entry_id: int, digest: str, values: tuple[Any, ...], now_s: str,
) -> None:
    await db.execute(
        "UPDATE entries SET title = $1, subtitle = $2, author = $3, source = $4, editor = $5, "
        "published = $6, summary = $7, content_html = $8, image = $9, partial = $10, "
        "content_hash = $11, updated = $12 WHERE id = $13",
        *values, digest, now_s, entry_id,
    )


async def list_entries(db: asyncpg.Connection, site: str, section: str, ids: list[int], now_s: str) -> None:
    await db.execute(
        "INSERT INTO section_entries (site, section, entry_id, listed_at) "
        "SELECT $1, $2, entry_id, $4 FROM unnest($3::bigint[]) AS entry_id "
        "ON CONFLICT (site, section, entry_id) DO NOTHING",
        site, section, ids, now_s,
    )


async def delete_orphans(db: asyncpg.Connection, site: str) -> None:
    await db.execute(
        "DELETE FROM entries WHERE site = $1 AND NOT EXISTS "
        "(SELECT 1 FROM section_entries se WHERE se.entry_id = entries.id)",
        site,
    )


async def listed_ids(db: asyncpg.Connection, site: str, section: str) -> set[int]:
    rows = await db.fetch("SELECT entry_id FROM section_entries WHERE site = $1 AND section = $2", site, section)
    return {row[0] for row in rows}


async def stored_entries(db: asyncpg.Connection, site: str, urls: list[str]) -> dict[str, tuple[int, str, bool]]:
    """url → (id, content hash, partial) of the given URLs already stored for the site."""
    rows = await db.fetch(
        "SELECT url, id, content_hash, partial FROM entries WHERE site = $1 AND url = ANY($2::text[])",
        site, urls,
    )
    return {row[0]: (row[1], row[2], bool(row[3])) for row in rows}


async def trim_section(db: asyncpg.Connection, site: str, section: str, max_entries: int, cutoff: str) -> set[int]:
    rows = await db.fetch(
        "SELECT e.id, COALESCE(e.published, e.first_seen) FROM section_entries se "
        "JOIN entries e ON e.id = se.entry_id "
        f"WHERE se.site = $1 AND se.section = $2 ORDER BY {NEWEST_FIRST}",
        site, section,
    )
    keep: set[int] = set()
    drop: list[int] = []
    for rank, (entry_id, when) in enumerate(rows):
        if rank < max_entries and when >= cutoff:
            keep.add(entry_id)
        else:
            drop.append(entry_id)
    if drop:
        await db.execute(
            "DELETE FROM section_entries WHERE site = $1 AND section = $2 AND entry_id = ANY($3::bigint[])",
            site, section, drop)
    return keep


async def bump_revisions(db: asyncpg.Connection, site: str, section: str, own: bool, changed: set[int]) -> None:
    """Bump this section if its feed changed, and every other section listing changed content; announce
    each bumped section on CHANGES_CHANNEL (delivered at commit, never for a rolled-back write)."""
    await db.execute(
        "WITH bumped AS (UPDATE sections SET revision = revision + 1 WHERE site = $1 AND "
        "((section = $2 AND $3) OR section IN "
        "(SELECT section FROM section_entries WHERE site = $1 AND entry_id = ANY($4::bigint[]))) "
        "RETURNING section) "
        f"SELECT pg_notify('{CHANGES_CHANNEL}', $1 || '/' || section) FROM bumped",
        site, section, own, sorted(changed),
    )


async def ensure_section(db: asyncpg.Connection, site: str, section: str, title: str | None = None) -> None:
    await db.execute(
        "INSERT INTO sections (site, section, title) VALUES ($1, $2, $3) ON CONFLICT (site, section) "
        "DO UPDATE SET title = COALESCE(excluded.title, sections.title)",
        site, section, title,
    )


async def record_report(db: asyncpg.Connection, report: RefreshReport) -> None:
    await ensure_section(db, report.site, report.section)
    finished, deferred, duration_ms = report_columns(report)
    if report.ok:
        await db.execute(
            "UPDATE sections SET last_attempt = $1, last_success = $1, last_error = NULL, "
            "consecutive_failures = 0, deferred_until = $2, last_duration_ms = $3, refreshed_by = $4 "
            "WHERE site = $5 AND section = $6",
            finished, deferred, duration_ms, report.replica, report.site, report.section,
        )
    else:
        await db.execute(
            "UPDATE sections SET last_attempt = $1, last_error = $2, consecutive_failures = consecutive_failures + 1, "
            "deferred_until = $3, last_duration_ms = $4, refreshed_by = $5 WHERE site = $6 AND section = $7",
            finished, report.error or "refresh failed", deferred, duration_ms, report.replica, report.site, report.section,
        )


async def write_validators(db: asyncpg.Connection, url: str, found: Validators) -> None:
    if found.etag is None and found.last_modified is None:
        await db.execute("DELETE FROM validators WHERE url = $1", url)
        return
    await db.execute(
        "INSERT INTO validators (url, etag, last_modified) VALUES ($1, $2, $3) ON CONFLICT (url) "
        "DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified",
        url, found.etag, found.last_modified,
    )


async def count_failed_fetches(db: asyncpg.Connection, entry_ids: list[int]) -> None:
    if entry_ids:
        await db.execute(
            "UPDATE entries SET failed_fetches = failed_fetches + 1 WHERE id = ANY($1::bigint[])", entry_ids)
