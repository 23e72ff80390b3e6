"""Fixtures of the web room: a config, realistic entries, a real SQLite store filled through its API,
a test client on the real app, and a raw HTTP/1.1 connection for what a client library hides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.config import Config
from feedsvc.model import Entry
from feedsvc.store import Store, open_store
from feedsvc.web import FEED_CACHE, FeedCache, make_app
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


def web_config(store_url: str, *, cixi_refresh: str = "10m") -> Config:
    return Config.model_validate({
        "server": {"host": "127.0.0.1", "port": 8080, "public_url": PUBLIC},
        "store": {"url": store_url},
        "sites": {
            SITE: {
                "title": "慈溪新闻网",
                "home": "http://www.cxnews.cn/",
                "sections": {
                    "cixi": {"title": "慈溪新闻", "url": "http://www.cxnews.cn/cxnews/", "refresh": cixi_refresh},
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
    """One running app: its HTTP client, store, render cache and config."""

    client: TestClient
    store: Store
    cache: FeedCache
    config: Config

    @property
    def port(self) -> int:
        port = self.client.server.port
        assert port is not None
        return port


@pytest.fixture(name="store")
async def store_fixture(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    await s.open()
    await fill(s, "cixi", ENTRIES)
    try:
        yield s
    finally:
        await s.close()


async def start_web(store: Store, tmp_path: Path, **app_kwargs: Any) -> Web:
    config = web_config(f"sqlite:///{tmp_path / 'web.db'}")
    app = make_app(config, store, **app_kwargs)
    # auto_decompress off: the tests look at the bytes on the wire, gzip included.
    client = TestClient(TestServer(app, host="127.0.0.1"), auto_decompress=False)
    await client.start_server()
    return Web(client, store, app[FEED_CACHE], config)


@pytest.fixture(name="site")
async def site_fixture(store: Store, tmp_path: Path) -> AsyncIterator[Web]:
    """The app over the filled store."""
    w = await start_web(store, tmp_path, poll_interval=3600)
    try:
        yield w
    finally:
        await w.client.close()


class Conn:
    """A raw HTTP/1.1 connection that reads whole responses (status, headers, body): one keep-alive
    connection for certain, pipelining, and requests a client library would not send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, *, head: bool = False) -> tuple[str, dict[str, str], bytes]:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        lines = raw.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                assert name.lower() not in headers, f"repeated header {name}"
                headers[name.lower()] = value.strip()
        status = lines[0]
        length = int(headers.get("content-length", "0"))
        body = b"" if head or " 304 " in status else await self.reader.readexactly(length)
        return status, headers, body

    async def at_eof(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), 10) == b""

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def raw_request(path: str, method: str = "GET", **headers: str) -> bytes:
    """An HTTP/1.1 request's bytes; header names from keywords (If_None_Match → If-None-Match)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
