"""Fixtures of the web room: a config, realistic entries, a real SQLite store filled through its API,
and test clients on both serving paths — aiohttp's handlers, and FeedAppRunner's fast path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.config import Config
from feedsvc.model import Entry
from feedsvc.store import Store, open_store
from feedsvc.web import FEED_CACHE, FeedAppRunner, FeedCache, make_app
from tests.support import NOW

CST = timezone(timedelta(hours=8))
SITE = "cxnews"
PUBLIC = "http://feeds.example.org"

TITLES = [
    "守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战",
    "慈溪杭州湾新区举行重大项目集中签约活动",
    "Ningbo 舟山港集团与慈溪签署战略合作协议",
    "周巷镇开展冬季消防安全大检查",
    "市人大常委会召开第四十次会议",
]
SUMMARIES = [
    "市委、市政府召开全市疫情防控工作视频会议,部署疫情防控工作。",
    "新区举行重大项目集中签约活动,总投资超百亿元。",
    "双方将在港口物流、临港产业等领域深化合作。",
    "镇消防救援站联合多部门对辖区重点单位开展检查。",
    "会议审议了关于全市疫情防控工作情况的报告。",
]


def make_entry(i: int, **changes: Any) -> Entry:
    """The i-th fixture article: newest first by index (entry 0 is the newest)."""
    published = datetime(2021, 12, 8, 9, 58, tzinfo=CST) - timedelta(hours=3 * i)
    fields: dict[str, Any] = {
        "url": f"http://www.cxnews.cn/system/2021/12/08/{i:09d}.shtml",
        "title": TITLES[i % len(TITLES)],
        "summary": SUMMARIES[i % len(SUMMARIES)],
        "content_html": f"<p>{SUMMARIES[i % len(SUMMARIES)]}</p><p>全媒体记者 第{i}篇 报道。</p>",
        "author": "陈章升",
        "source": "慈溪新闻网-慈溪日报",
        "published": published,
    }
    fields.update(changes)
    return Entry(**fields)


ENTRIES = [make_entry(i) for i in range(len(TITLES))]
NEWEST = ENTRIES[0].published
assert NEWEST is not None


def web_config(store_url: str) -> Config:
    return Config.model_validate({
        "server": {"host": "127.0.0.1", "port": 8080, "public_url": PUBLIC},
        "store": {"url": store_url},
        "sites": {
            SITE: {
                "title": "慈溪新闻网",
                "home": "http://www.cxnews.cn/",
                "sections": {
                    "cixi": {"title": "慈溪新闻", "url": "http://www.cxnews.cn/cxnews/", "refresh": "10m"},
                    "mintong": {"title": "民e通", "nav": "民e通"},
                    "empty": {"title": "桥城评论", "url": "http://www.cxnews.cn/qcpl/", "refresh": "1h"},
                },
            },
        },
    })


async def fill(store: Store, section: str, entries: list[Entry], *, now: datetime = NOW) -> None:
    await store.upsert(SITE, section, entries, now=now, max_entries=100, max_age_days=36500,
                       section_title=section)


@dataclass
class Web:
    """One running app: its HTTP client, store and render cache, and which path serves feeds."""

    client: TestClient
    store: Store
    cache: FeedCache
    config: Config
    path: str  # "aiohttp" or "fast"

    @property
    def fast_answers(self) -> int:
        """Feed requests the fast path answered (0 on the aiohttp path)."""
        server = self.client.server.runner.server  # type: ignore[union-attr]
        return getattr(server, "fast_answers", 0)


class FastTestServer(TestServer):
    """TestServer running the app the way `feedsvc serve` does: FeedAppRunner, fast path on."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return FeedAppRunner(self.app, **kwargs)


@pytest.fixture(name="store")
async def store_fixture(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    await s.open()
    await fill(s, "cixi", ENTRIES)
    try:
        yield s
    finally:
        await s.close()


async def start_web(store: Store, tmp_path: Path, path: str, **app_kwargs: Any) -> Web:
    config = web_config(f"sqlite:///{tmp_path / 'web.db'}")
    app = make_app(config, store, **app_kwargs)
    server_class = FastTestServer if path == "fast" else TestServer
    # auto_decompress off: the tests look at the bytes on the wire, gzip included.
    client = TestClient(server_class(app, host="127.0.0.1"), auto_decompress=False)
    await client.start_server()
    return Web(client, store, app[FEED_CACHE], config, path)


@pytest.fixture(name="site", params=["aiohttp", "fast"])
async def site_fixture(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> AsyncIterator[Web]:
    """The app over the filled store, once per serving path."""
    w = await start_web(store, tmp_path, request.param, poll_interval=3600)
    try:
        yield w
    finally:
        await w.client.close()
