"""End to end on both stores: the shipped config's refresh of the replica of www.cxnews.cn (seeds/),
stored in SQLite and in PostgreSQL, then served by the real app (`build_app`): every feed, in every
format, is the same bytes with the same ETag from either store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.app import build_app
from feedsvc.commands.refresh import refresh_once
from feedsvc.config import Config
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.seed_site import replica_app
from tests.support import NOW, REPO
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)
from tests.test_e2e import shipped_config

FORMATS = ("rss", "atom", "json")


@pytest.fixture(name="replica")
async def replica_fixture() -> AsyncIterator[StaticResolver]:
    server = TestServer(replica_app(REPO / "seeds"), host="127.0.0.1")
    await server.start_server()
    try:
        yield StaticResolver({h: ("127.0.0.1", server.port) for h in ("www.cxnews.cn", "cxnews.cn")})
    finally:
        await server.close()


def on_store(config: Config, url: str) -> Config:
    data = config.model_dump(exclude={"source_file"})
    data["store"]["url"] = url
    return Config.model_validate(data)


async def refreshed_and_served(config: Config, replica: StaticResolver) -> dict[str, tuple[int, bytes, str]]:
    """Refresh every section once (one after another: the same order, so the same ids, on each store),
    then fetch every feed and the OPML list from the running app: path → (status, body, ETag)."""
    reports = await refresh_once(config, config.section_refs(), resolver=replica, clock=lambda: NOW)
    assert all(r.ok for r in reports), [r.error for r in reports if not r.ok]
    app = build_app(config, resolver=replica, schedule=False, clock=lambda: NOW)
    out = {}
    async with TestClient(TestServer(app, host="127.0.0.1"), auto_decompress=False) as client:
        paths = [f"/{ref.key}.{fmt}" for ref in config.section_refs() for fmt in FORMATS] + ["/feeds.opml"]
        for path in paths:
            for encoding in ("identity", "gzip"):
                response = await client.get(path, headers={"Accept-Encoding": encoding})
                out[f"{path} {encoding}"] = (response.status, await response.read(),
                                             response.headers.get("ETag", ""))
    return out


async def test_the_service_serves_the_same_feeds_from_sqlite_and_postgresql(
    replica: StaticResolver, pg_url: str, tmp_path: Path,
) -> None:
    config = shipped_config(tmp_path / "e2e.db")
    on_sqlite = await refreshed_and_served(config, replica)
    on_postgres = await refreshed_and_served(on_store(config, pg_url), replica)
    assert all(status == 200 for status, _, _ in on_sqlite.values())
    assert sum(body.count(b"<item>") for path, (_, body, _) in on_sqlite.items() if ".rss identity" in path) > 20
    assert on_postgres.keys() == on_sqlite.keys()
    for path in on_sqlite:
        assert on_postgres[path] == on_sqlite[path], path
