"""Site leases on PostgreSQL: how replicas sharing one database split the refresh work (see
feedsvc/site_leases.py for the replica's side). One row per site in `leases` (holder, expires_at):

- taken when the site has no row, its row has expired, or `holder` holds it already (a renewal): one
  `INSERT … ON CONFLICT … DO UPDATE … WHERE`, atomic under the row's lock, so of two replicas asking at
  once exactly one gets it;
- times are the database's own (`clock_timestamp()`), so replicas' clocks may disagree;
- a replica killed with `kill -9` stops renewing and its lease simply runs out (a session advisory lock
  would be dropped at once, but also by a mere lost connection of a replica still fetching; a row with an
  expiry survives both the same way and shows who holds what).

SQLite serves one process: its store grants every lease and stores none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

TAKE = (
    "INSERT INTO leases (site, holder, expires_at) VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3)) "
    "ON CONFLICT (site) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp() RETURNING site"
)


async def take_lease(db: asyncpg.Pool, site: str, holder: str, seconds: float) -> bool:
    return await db.fetchval(TAKE, site, holder, float(seconds)) is not None


async def renew_leases(db: asyncpg.Pool, sites: Sequence[str], holder: str, seconds: float) -> set[str]:
    """Move the expiry of the leases `holder` still holds among `sites`; those sites. A lease that ran
    out without being taken by another is still the holder's row and is renewed."""
    rows = await db.fetch(
        "UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => $3) "
        "WHERE holder = $2 AND site = ANY($1::text[]) RETURNING site", list(sites), holder, float(seconds))
    return {row[0] for row in rows}


async def release_lease(db: asyncpg.Pool, site: str, holder: str, linger: float) -> None:
    """Let the site go `linger` seconds from now (its minimum gap between requests, so the next holder's
    first request keeps it); nothing when another replica holds it by now."""
    await db.execute(
        "UPDATE leases SET expires_at = LEAST(expires_at, clock_timestamp() + make_interval(secs => $3)) "
        "WHERE site = $1 AND holder = $2", site, holder, float(linger))


async def lease_holders(db: asyncpg.Pool) -> dict[str, tuple[str, datetime]]:
    """site → (holder, expires_at) of every lease not yet expired."""
    rows = await db.fetch("SELECT site, holder, expires_at FROM leases WHERE expires_at > clock_timestamp()")
    return {row[0]: (row[1], row[2]) for row in rows}
