"""A throwaway PostgreSQL database for the tests: created once per test module that uses it (named
`feedsvc_test_<random>`, through the server's `postgres` maintenance database) and dropped at the end.

`pg_url` gives each test that database emptied (its schema dropped and made anew), so every test
starts from nothing, as with a new SQLite file. The server is $FEEDSVC_TEST_PG_SERVER (a URL of its
maintenance database; default postgresql://postgres@127.0.0.1:5432/postgres). When no server answers
the tests skip, unless $FEEDSVC_TEST_PG is set (CI sets it): then they fail.

Test modules import the fixtures (`pg_database`, `pg_url`):
`from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
import pytest

T = TypeVar("T")

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("FEEDSVC_TEST_PG_SERVER") or DEFAULT_SERVER


def database_url(name: str) -> str:
    return urlsplit(server_url())._replace(path=f"/{name}").geturl()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on its own loop in another thread: callable from sync fixtures and from tests whose
    own loop is running, without touching that loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(sql: str) -> None:
    db = await asyncpg.connect(server_url(), timeout=5)
    try:
        await db.execute(sql)
    finally:
        await db.close()


async def _answers() -> str | None:
    """None when the server answers, else why not."""
    try:
        await _admin("SELECT 1")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def _empty(url: str) -> None:
    """Drop everything in the database: other sessions on it (a killed child's) are ended first."""
    db = await asyncpg.connect(url, timeout=5)
    try:
        await db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        await db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await db.close()


def empty_database(url: str) -> None:
    run_sync(_empty(url))


@pytest.fixture(name="pg_database", scope="session")
def pg_database_fixture() -> Iterator[str]:
    """The URL of a new database on the test server, dropped after the last test."""
    why = run_sync(_answers())
    if why is not None:
        if os.environ.get("FEEDSVC_TEST_PG"):
            pytest.fail(f"FEEDSVC_TEST_PG is set but no PostgreSQL server answers at {server_url()}: {why}")
        pytest.skip(f"no PostgreSQL server at {server_url()} ({why}); set FEEDSVC_TEST_PG=1 to fail instead")
    name = f"feedsvc_test_{secrets.token_hex(6)}"
    run_sync(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url(name)
    finally:
        run_sync(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(name="pg_url")
def pg_url_fixture(pg_database: str) -> str:
    """The test database, empty."""
    empty_database(pg_database)
    return pg_database
