"""The PostgreSQL store's change signal: LISTEN on the channel every write NOTIFYs at commit
(postgres_writes.CHANGES_CHANNEL, payload `site/section`), on a connection of its own outside the pool.

A dropped connection (server restart, `pg_terminate_backend`, a network cut the heartbeat finds)
is reported as SignalLost and re-established with growing delays; once listening again it reports
SignalUp, which tells the reader that notifications sent meanwhile were missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import asyncpg

from feedsvc.store.base import SectionChanged, SignalLost, SignalUp, StoreChange
from feedsvc.store.postgres_writes import CHANGES_CHANNEL

log = logging.getLogger(__name__)

# How the listen connection shows in pg_stat_activity (one per serving replica).
APPLICATION_NAME = "feedsvc change signal"

# What a broken, refused or timed-out connection raises (asyncpg's own errors and the socket's).
_LISTEN_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError,
                  TimeoutError)


class _Dropped(Exception):
    """The listen connection ended (asyncpg's termination listener said so)."""


def parse_payload(payload: str) -> SectionChanged | None:
    """`site/section` → SectionChanged; anything else (not ours) → None. Slugs hold no `/`."""
    site, slash, section = payload.partition("/")
    return SectionChanged(site, section) if slash and site and section and "/" not in section else None


async def listen_changes(
    url: str, shown: str, *, channel: str = CHANGES_CHANNEL, heartbeat: float = 10.0,
    first_retry: float = 0.25, max_retry: float = 15.0, connect_timeout: float = 10.0,
) -> AsyncGenerator[StoreChange, None]:
    """Changes committed to the database at `url` (see Store.changes), until closed.

    Every `heartbeat` seconds without a notification the connection is asked `SELECT 1` (bounded by
    the same time), so a connection cut without a word is found; reconnection waits `first_retry`
    seconds, doubling up to `max_retry`."""
    delay = first_retry
    lost = False
    while True:
        db: asyncpg.Connection | None = None
        try:
            db, events = await _listening(url, channel, connect_timeout)
            if lost:
                log.info("PostgreSQL store %s: change signal listening again", shown)
            delay, lost = first_retry, False
            yield SignalUp()
            while True:
                try:
                    event = await asyncio.wait_for(events.get(), heartbeat)
                except TimeoutError:
                    await asyncio.wait_for(db.execute("SELECT 1"), heartbeat)
                    continue
                if isinstance(event, _Dropped):
                    raise event
                yield event
        except (*_LISTEN_ERRORS, _Dropped, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            if not lost:
                log.warning("PostgreSQL store %s: change signal lost (%s); reconnecting", shown, reason)
                lost = True
                yield SignalLost(reason)
        finally:
            if db is not None:
                await _close(db)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_retry)


async def _listening(
    url: str, channel: str, connect_timeout: float,
) -> tuple[asyncpg.Connection, asyncio.Queue[StoreChange | _Dropped]]:
    """A new connection LISTENing on `channel`, and the queue its notifications and its end go to."""
    events: asyncio.Queue[StoreChange | _Dropped] = asyncio.Queue()

    def heard(_db: Any, _pid: int, _channel: str, payload: str) -> None:
        change = parse_payload(payload)
        if change is not None:
            events.put_nowait(change)

    db = await asyncpg.connect(url, timeout=connect_timeout, server_settings={"application_name": APPLICATION_NAME})
    try:
        db.add_termination_listener(lambda _db: events.put_nowait(_Dropped("connection closed")))
        await db.add_listener(channel, heard)
    except BaseException:
        await _close(db)
        raise
    return db, events


async def _close(db: asyncpg.Connection) -> None:
    """Close within a second; a connection the server broke is dropped instead of waited on."""
    try:
        if not db.is_closed():
            await asyncio.wait_for(db.close(), 1.0)
    except _LISTEN_ERRORS:
        pass
    finally:
        if not db.is_closed():
            db.terminate()
