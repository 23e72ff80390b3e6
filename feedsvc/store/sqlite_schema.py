"""The SQLite schema as an ordered list of forward migrations; version N is MIGRATIONS[:N] applied.

Never edit a released migration: append a new one. Types are kept to what PostgreSQL also has
(TEXT, INTEGER); times are UTC ISO-8601 text of fixed width so they sort as strings.
Only `INTEGER PRIMARY KEY` (SQLite's rowid alias) needs translating (to an identity column) there.
"""

from __future__ import annotations

Migration = tuple[str, ...]

MIGRATIONS: tuple[Migration, ...] = (
    # 1: everything.
    (
        """CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            site TEXT NOT NULL,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            subtitle TEXT,
            author TEXT,
            source TEXT,
            editor TEXT,
            published TEXT,
            updated TEXT,
            first_seen TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            content_html TEXT NOT NULL DEFAULT '',
            image TEXT,
            content_hash TEXT NOT NULL,
            partial INTEGER NOT NULL DEFAULT 0,
            UNIQUE (site, url)
        )""",
        """CREATE TABLE sections (
            site TEXT NOT NULL,
            section TEXT NOT NULL,
            title TEXT,
            last_attempt TEXT,
            last_success TEXT,
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            resolved_url TEXT,
            revision INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (site, section)
        )""",
        """CREATE TABLE section_entries (
            site TEXT NOT NULL,
            section TEXT NOT NULL,
            entry_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
            listed_at TEXT NOT NULL,
            PRIMARY KEY (site, section, entry_id),
            FOREIGN KEY (site, section) REFERENCES sections (site, section)
        )""",
        # Categories and orphan checks look listings up by entry.
        "CREATE INDEX section_entries_by_entry ON section_entries (entry_id)",
        """CREATE TABLE validators (
            url TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT
        )""",
    ),
    # 2: how many refreshes in a row failed to fetch a partial entry's article, so refresh can stop
    # retrying an article that never loads instead of reading the whole list page for it forever.
    ("ALTER TABLE entries ADD COLUMN failed_fetches INTEGER NOT NULL DEFAULT 0",),
    # 3: a site's Retry-After outlives the run that received it: no refresh of the section before then.
    ("ALTER TABLE sections ADD COLUMN deferred_until TEXT",),
    # 4: how long the last refresh took (milliseconds), shown by /status.json and `feedsvc status`.
    ("ALTER TABLE sections ADD COLUMN last_duration_ms INTEGER",),
    # 5: which replica (cluster.replica_id) made the last attempt. PostgreSQL's version 5 also creates
    # its `leases` table: SQLite serves one process, whose leases are always granted and stored nowhere.
    ("ALTER TABLE sections ADD COLUMN refreshed_by TEXT",),
)
