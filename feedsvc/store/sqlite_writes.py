"""The statements of one store write, run inside the caller's transaction on the writer connection.

Kept apart from the connection handling in sqlite.py; nothing here commits or takes the lock.
"""

from __future__ import annotations

from typing import Any

import aiosqlite

from feedsvc.model import Entry, RefreshReport, Validators
from feedsvc.store.sqlite_rows import NEWEST_FIRST, chunks, placeholders, report_columns, time_text


async def insert_entry(
    db: aiosqlite.Connection, site: str, entry: Entry, digest: str, values: tuple[Any, ...], now_s: str,
) -> int:
    """A new entry; first_seen is the entry's own if given, else now. Returns its id."""
    cursor = await db.execute(
        "INSERT INTO entries (title, subtitle, author, source, editor, published, summary, "
        "content_html, image, partial, content_hash, site, url, first_seen, updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*values, digest, site, entry.url, time_text(entry.first_seen) or now_s, time_text(entry.updated)),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def update_entry(
    db: aiosqlite.Connection, entry_id: int, digest: str, values: tuple[Any, ...], now_s: str,
) -> None:
    """New content for a stored entry; first_seen stays, updated becomes now."""
    await db.execute(
        "UPDATE entries SET title = ?, subtitle = ?, author = ?, source = ?, editor = ?, "
        "published = ?, summary = ?, content_html = ?, image = ?, partial = ?, "
        "content_hash = ?, updated = ? WHERE id = ?",
        (*values, digest, now_s, entry_id),
    )


async def list_entries(db: aiosqlite.Connection, site: str, section: str, ids: list[int], now_s: str) -> None:
    """List the entries in the section (those already listed keep their listed_at)."""
    await db.executemany(
        "INSERT INTO section_entries (site, section, entry_id, listed_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (site, section, entry_id) DO NOTHING",
        [(site, section, entry_id, now_s) for entry_id in ids],
    )


async def delete_orphans(db: aiosqlite.Connection, site: str) -> None:
    """Delete the site's entries no section lists any more."""
    await db.execute(
        "DELETE FROM entries WHERE site = ? AND NOT EXISTS "
        "(SELECT 1 FROM section_entries se WHERE se.entry_id = entries.id)",
        (site,),
    )


async def listed_ids(db: aiosqlite.Connection, site: str, section: str) -> set[int]:
    """The ids of the entries the section lists now."""
    rows = await db.execute_fetchall(
        "SELECT entry_id FROM section_entries WHERE site = ? AND section = ?", (site, section))
    return {row[0] for row in rows}


async def stored_entries(
    db: aiosqlite.Connection, site: str, urls: list[str],
) -> dict[str, tuple[int, str, bool]]:
    """url → (id, content hash, partial) of the given URLs already stored for the site."""
    stored: dict[str, tuple[int, str, bool]] = {}
    for chunk in chunks(urls):
        for url, entry_id, digest, partial in await db.execute_fetchall(
            "SELECT url, id, content_hash, partial FROM entries "
            f"WHERE site = ? AND url IN ({placeholders(len(chunk))})",
            (site, *chunk),
        ):
            stored[url] = (entry_id, digest, bool(partial))
    return stored


async def trim_section(
    db: aiosqlite.Connection, site: str, section: str, max_entries: int, cutoff: str,
) -> set[int]:
    """Keep the newest `max_entries` not older than `cutoff`; return the ids still listed."""
    rows = await db.execute_fetchall(
        "SELECT e.id, COALESCE(e.published, e.first_seen) FROM section_entries se "
        "JOIN entries e ON e.id = se.entry_id "
        f"WHERE se.site = ? AND se.section = ? ORDER BY {NEWEST_FIRST}",
        (site, section),
    )
    keep: set[int] = set()
    drop: list[tuple[str, str, int]] = []
    for rank, (entry_id, when) in enumerate(rows):
        if rank < max_entries and when >= cutoff:
            keep.add(entry_id)
        else:
            drop.append((site, section, entry_id))
    if drop:
        await db.executemany(
            "DELETE FROM section_entries WHERE site = ? AND section = ? AND entry_id = ?", drop)
    return keep


async def bump_revisions(
    db: aiosqlite.Connection, site: str, section: str, own: bool, changed: set[int],
) -> None:
    """Bump this section if its feed changed, and every other section listing changed content."""
    sections = {section} if own else set()
    ids = sorted(changed)
    for chunk in chunks(ids):
        for (other,) in await db.execute_fetchall(
            "SELECT DISTINCT section FROM section_entries "
            f"WHERE site = ? AND entry_id IN ({placeholders(len(chunk))})",
            (site, *chunk),
        ):
            sections.add(other)
    await db.executemany(
        "UPDATE sections SET revision = revision + 1 WHERE site = ? AND section = ?",
        [(site, name) for name in sorted(sections)],
    )


async def ensure_section(
    db: aiosqlite.Connection, site: str, section: str, title: str | None = None,
) -> None:
    await db.execute(
        "INSERT INTO sections (site, section, title) VALUES (?, ?, ?) ON CONFLICT (site, section) "
        "DO UPDATE SET title = COALESCE(excluded.title, sections.title)",
        (site, section, title),
    )


async def record_report(db: aiosqlite.Connection, report: RefreshReport) -> None:
    """Success resets the failure count; a failure counts up and leaves the entries alone. The
    report's deferral (a Retry-After) replaces the stored one: a run the site answered ends it."""
    await ensure_section(db, report.site, report.section)
    finished, deferred, duration_ms = report_columns(report)
    if report.ok:
        await db.execute(
            "UPDATE sections SET last_attempt = ?, last_success = ?, last_error = NULL, "
            "consecutive_failures = 0, deferred_until = ?, last_duration_ms = ?, refreshed_by = ? "
            "WHERE site = ? AND section = ?",
            (finished, finished, deferred, duration_ms, report.replica, report.site, report.section),
        )
    else:
        await db.execute(
            "UPDATE sections SET last_attempt = ?, last_error = ?, consecutive_failures = consecutive_failures + 1, "
            "deferred_until = ?, last_duration_ms = ?, refreshed_by = ? WHERE site = ? AND section = ?",
            (finished, report.error or "refresh failed", deferred, duration_ms, report.replica,
             report.site, report.section),
        )


async def write_validators(db: aiosqlite.Connection, url: str, found: Validators) -> None:
    """Remember (or, when both are empty, forget) the validators of one URL."""
    if found.etag is None and found.last_modified is None:
        await db.execute("DELETE FROM validators WHERE url = ?", (url,))
        return
    await db.execute(
        "INSERT INTO validators (url, etag, last_modified) VALUES (?, ?, ?) ON CONFLICT (url) "
        "DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified",
        (url, found.etag, found.last_modified),
    )


async def count_failed_fetches(db: aiosqlite.Connection, entry_ids: list[int]) -> None:
    """One more failed article fetch for each of these partial entries."""
    for chunk in chunks(entry_ids):
        await db.execute(
            f"UPDATE entries SET failed_fetches = failed_fetches + 1 WHERE id IN ({placeholders(len(chunk))})",
            chunk,
        )
