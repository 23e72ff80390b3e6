"""The feed cache's memory budget (`server.feed_cache_bytes`): the byte-bounded LRU it is built on,
then the real app over a real SQLite store holding sections whose feeds are far larger than the
budget: the bytes held stay within it, the least recently requested go first, an evicted feed comes
back from the store with the same bytes and ETag, and GET /metrics reports size, count and evictions.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.config import Config, load_config
from feedsvc.config.models import DEFAULT_FEED_CACHE_BYTES
from feedsvc.errors import ConfigError
from feedsvc.model import Entry
from feedsvc.render import FORMATS
from feedsvc.store import Store, open_store
from feedsvc.web import FEED_CACHE, FeedCache, make_app
from feedsvc.web.cache_lru import ByteLRU
from tests.support import NOW
from tests.test_metrics import value

CST = timezone(timedelta(hours=8))
SITE = "cxnews"
MiB = 1024**2
SECTIONS = [f"s{i}" for i in range(6)]


# -- the byte-bounded LRU --------------------------------------------------------------------------

def test_the_lru_stays_within_its_bytes_and_evicts_the_least_recently_used_first() -> None:
    evicted: list[int] = []
    lru: ByteLRU[str] = ByteLRU(100, on_evict=evicted.append)
    for name in ("a", "b", "c"):
        assert lru.put(("site", name), name, 30)
    assert lru.bytes == 90 and len(lru) == 3
    assert lru.get(("site", "a")) == "a"  # a is now the most recently used: b goes first
    lru.put(("site", "d"), "d", 30)
    assert lru.get(("site", "b")) is None
    assert [key for key, _ in lru.items()] == [("site", "c"), ("site", "a"), ("site", "d")]
    assert lru.bytes == 90 and lru.evictions == 1 and evicted == [1]
    lru.put(("site", "e"), "e", 70)  # two must go to make room: c, then a
    assert [key for key, _ in lru.items()] == [("site", "d"), ("site", "e")]
    assert lru.bytes == 100 and lru.evictions == 3 and evicted == [1, 2]


def test_the_lru_replaces_a_key_drops_a_section_and_refuses_what_cannot_fit() -> None:
    lru: ByteLRU[str] = ByteLRU(100, max_items=3)
    lru.put(("site", "one", "rss"), "old", 40)
    lru.put(("site", "one", "rss"), "new", 10)  # replaced: counted once, at its new size
    lru.put(("site", "one", "atom"), "atom", 10)
    lru.put(("site", "two", "rss"), "two", 10)
    assert lru.bytes == 30 and lru.get(("site", "one", "rss")) == "new"
    assert not lru.put(("site", "big", "rss"), "big", 101)  # larger than the whole budget: not kept
    assert lru.get(("site", "big", "rss")) is None and lru.bytes == 30
    lru.drop_section("site", "one")
    assert [key for key, _ in lru.items()] == [("site", "two", "rss")] and lru.bytes == 10
    assert lru.sections() == [("site", "two")]
    for name in ("a", "b", "c"):  # max_items: the fourth value evicts the oldest
        lru.put(("site", name), name, 1)
    assert len(lru) == 3 and lru.get(("site", "two", "rss")) is None


# -- the real app ------------------------------------------------------------------------------------

def chinese(rng: random.Random, n: int) -> str:
    """n common CJK characters in no order gzip can shrink much (a real article compresses to about
    half; this to about two thirds)."""
    return "".join(chr(rng.randrange(0x4E00, 0x4E00 + 3000)) for _ in range(n))


def big_entries(section: str, count: int = 8, chars: int = 4000) -> list[Entry]:
    rng = random.Random(section)
    return [Entry(url=f"http://www.cxnews.cn/{section}/{i}.shtml", title=chinese(rng, 20),
                  summary=chinese(rng, 80), content_html=f"<p>{chinese(rng, chars)}</p>",
                  published=datetime(2021, 12, 8, 9, 0, tzinfo=CST) - timedelta(hours=i))
            for i in range(count)]


def cache_config(store_url: str, feed_cache_bytes: Any = MiB) -> Config:
    return Config.model_validate({
        "server": {"public_url": "http://feeds.example.org", "feed_cache_bytes": feed_cache_bytes},
        "store": {"url": store_url},
        "sites": {SITE: {"title": "慈溪新闻网", "home": "http://www.cxnews.cn/", "sections": {
            name: {"title": name, "url": f"http://www.cxnews.cn/{name}/"} for name in SECTIONS}}},
    })


@pytest.fixture(name="store")
async def store_fixture(tmp_path: Path) -> AsyncIterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'cache.db'}")
    await store.open()
    for section in SECTIONS:
        await store.upsert(SITE, section, big_entries(section), now=NOW, max_entries=100, max_age_days=36500,
                           section_title=section)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(name="client")
async def client_fixture(store: Store, tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_app(cache_config(f"sqlite:///{tmp_path / 'cache.db'}"), store, poll_interval=3600)
    async with TestClient(TestServer(app, host="127.0.0.1"), auto_decompress=False) as client:
        yield client


async def get(client: TestClient[Any, Any], path: str, gzip: bool = False) -> tuple[bytes, str]:
    resp = await client.get(path, headers={"Accept-Encoding": "gzip" if gzip else "identity"})
    assert resp.status == 200
    return await resp.read(), resp.headers["ETag"]


async def test_the_app_keeps_its_feeds_within_the_budget_and_reports_it(client: TestClient[Any, Any]) -> None:
    cache = client.app[FEED_CACHE]
    assert cache.max_bytes == MiB
    first = {fmt: await get(client, f"/{SITE}/s0.{fmt}") for fmt in FORMATS}
    assert sum(len(body) for body, _ in first.values()) > MiB // 4  # the budget holds few such sections
    largest = cache.bytes
    for section in SECTIONS[1:]:
        for fmt in FORMATS:
            await get(client, f"/{SITE}/{section}.{fmt}")
            await get(client, f"/{SITE}/{section}.{fmt}", gzip=True)
            largest = max(largest, cache.bytes)
    assert 0 < largest <= MiB
    metrics = await (await client.get("/metrics")).text()
    evictions = value(metrics, "feedsvc_feed_cache_evictions_total")
    assert evictions > 0
    assert value(metrics, "feedsvc_feed_cache_bytes") == cache.bytes
    assert value(metrics, "feedsvc_feed_cache_entries") == len(cache) > 0
    assert value(metrics, "feedsvc_change_signal_up") == 0  # SQLite: no signal, revisions are polled

    # s0 was requested first and not since: evicted, and rendered again from the store, unchanged.
    renders = cache.renders
    for fmt in FORMATS:
        assert await get(client, f"/{SITE}/s0.{fmt}") == first[fmt]
    assert cache.renders == renders + len(FORMATS)
    metrics = await (await client.get("/metrics")).text()
    assert value(metrics, "feedsvc_feed_cache_evictions_total") > evictions


async def test_a_feed_in_use_stays_while_the_ones_not_asked_for_go(store: Store, tmp_path: Path) -> None:
    """LRU order on the serving path: a feed asked for again between others is the one kept."""
    config = cache_config(f"sqlite:///{tmp_path / 'cache.db'}")
    cache = FeedCache(config, store, max_bytes=config.server.feed_cache_bytes)
    hot = await cache.feed(SITE, "s0", "rss")
    for section in SECTIONS[1:]:
        await cache.feed(SITE, section, "rss")
        assert await cache.feed(SITE, "s0", "rss") is hot  # a hit: the very rendering, nothing re-rendered
    renders = cache.renders
    await cache.feed(SITE, SECTIONS[1], "rss")  # the least recently used: evicted long ago
    assert cache.renders == renders + 1
    assert cache.bytes <= MiB


async def test_the_default_budget_and_config_errors_at_their_line(tmp_path: Path, monkeypatch: Any) -> None:
    assert cache_config("sqlite:///x.db", "64MiB").server.feed_cache_bytes == DEFAULT_FEED_CACHE_BYTES
    assert Config.model_validate({"sites": {}}).server.feed_cache_bytes == DEFAULT_FEED_CACHE_BYTES
    assert cache_config("sqlite:///x.db", "1GiB").server.feed_cache_bytes == 1024**3
    assert cache_config("sqlite:///x.db", "500MB").server.feed_cache_bytes == 500 * 1000**2
    assert cache_config("sqlite:///x.db", 2 * MiB).server.feed_cache_bytes == 2 * MiB
    monkeypatch.chdir(tmp_path)
    for given, message in [
        ("lots", "'lots' is not a size (use 64MiB, 512KiB, 1GiB or a number of bytes)"),
        ("10KiB", "10KiB is out of range (between 1MiB and 64GiB)"),
        ("65GiB", "65GiB is out of range (between 1MiB and 64GiB)"),
        ("-5", "-5 is out of range (between 1MiB and 64GiB)"),
        ("true", "true is not a size (use 64MiB, 512KiB, 1GiB or a number of bytes)"),
    ]:
        Path("config.yaml").write_text(f"sites: {{}}\nserver:\n  port: 8080\n  feed_cache_bytes: {given}\n")
        with pytest.raises(ConfigError) as caught:
            load_config("config.yaml")
        assert [str(issue) for issue in caught.value.issues] == [
            f"config.yaml:4: server.feed_cache_bytes: {message}"], given
