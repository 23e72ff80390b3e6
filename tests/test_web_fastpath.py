"""The fast path of FeedAppRunner on raw sockets: same answers as aiohttp's handlers, responses in
order under pipelining, and everything it does not handle left to aiohttp intact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from feedsvc.store import Store
from feedsvc.web import FAST_PATH, make_app
from tests.web_fixtures import (  # noqa: F401 (fixture `store`)
    FastTestServer,
    Web,
    start_web,
    store_fixture,
    web_config,
)

FEED = "/cxnews/cixi.rss"
pytestmark = pytest.mark.skipif(not FAST_PATH, reason="this aiohttp lacks the internals the fast path uses")


@pytest.fixture
async def pair(store: Store, tmp_path: Path) -> AsyncIterator[tuple[Web, Web]]:
    """The same store served by aiohttp's handlers and by the fast path, both feeds already rendered."""
    plain = await start_web(store, tmp_path, "aiohttp", poll_interval=3600)
    fast = await start_web(store, tmp_path, "fast", poll_interval=3600)
    for w in (plain, fast):
        for path in (FEED, "/cxnews/cixi.atom"):
            async with w.client.get(path) as resp:
                await resp.read()
    try:
        yield plain, fast
    finally:
        await plain.client.close()
        await fast.client.close()


class Conn:
    """A raw HTTP/1.1 connection that reads whole responses (status, headers, body)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, w: Web | int) -> Conn:
        port = w if isinstance(w, int) else w.client.server.port
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


def request(path: str = FEED, method: str = "GET", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def exchange(w: Web, *requests: bytes, head: bool = False) -> list[tuple[str, dict[str, str], bytes]]:
    """Send each request on one keep-alive connection, one after another."""
    conn = await Conn.open(w)
    try:
        out = []
        for req in requests:
            await conn.send(req)
            out.append(await conn.response(head=head))
        return out
    finally:
        await conn.close()


CASES = {
    "get": dict(),
    "gzip": dict(Accept_Encoding="gzip"),
    "inm": dict(If_None_Match="{etag}"),
    "inm-gzip": dict(If_None_Match="{gz_etag}", Accept_Encoding="gzip"),
    "inm-miss": dict(If_None_Match='"other"'),
    "ims": dict(If_Modified_Since="Thu, 01 Jan 2099 00:00:00 GMT"),
    "ims-old": dict(If_Modified_Since="Thu, 01 Jan 1998 00:00:00 GMT"),
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("case", sorted(CASES))
async def test_fast_path_answers_exactly_like_aiohttp(pair: tuple[Web, Web], case: str, method: str) -> None:
    plain, fast = pair
    (_, first, _), = await exchange(plain, request())
    (_, gz, _), = await exchange(plain, request(Accept_Encoding="gzip"))
    headers = {k: v.format(etag=first["etag"], gz_etag=gz["etag"]) for k, v in CASES[case].items()}
    before = fast.fast_answers
    # The second request on a connection: the first ones' connection set-up is done, start() is parked.
    _, expected = await exchange(plain, request("/"), request(method=method, **headers), head=method == "HEAD")
    _, got = await exchange(fast, request("/"), request(method=method, **headers), head=method == "HEAD")
    assert fast.fast_answers == before + 1
    assert got[0] == expected[0]
    assert got[2] == expected[2]
    want = {k: v for k, v in expected[1].items() if k != "date"}
    have = {k: v for k, v in got[1].items() if k != "date"}
    assert have == want
    assert got[1]["date"].endswith(" GMT")


async def test_pipelined_requests_are_answered_in_order(pair: tuple[Web, Web]) -> None:
    _, fast = pair
    (_, first, _), = await exchange(fast, request())
    conn = await Conn.open(fast)
    try:
        await conn.send(request("/"))  # a first request, so the connection is set up and idle
        await conn.response()
        before = fast.fast_answers
        # Cached feed, then a route the fast path leaves to aiohttp, then cached feeds again.
        await conn.send(request() + request("/healthz") + request(If_None_Match=first["etag"])
                        + request("/cxnews/cixi.atom"))
        answers = [await conn.response() for _ in range(4)]
    finally:
        await conn.close()
    assert [a[0] for a in answers] == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 304 Not Modified",
                                       "HTTP/1.1 200 OK"]
    assert answers[0][1]["content-type"] == "application/rss+xml; charset=utf-8"
    assert answers[1][1]["content-type"].startswith("application/json")
    assert answers[3][1]["content-type"] == "application/atom+xml; charset=utf-8"
    assert fast.fast_answers == before + 1  # only the first: the rest queued behind aiohttp's answer


async def test_connection_close_and_http10_go_through_aiohttp(pair: tuple[Web, Web]) -> None:
    _, fast = pair
    before = fast.fast_answers
    conn = await Conn.open(fast)
    try:
        await conn.send(request("/"))
        await conn.response()
        await conn.send(request(Connection="close"))
        status, headers, body = await conn.response()
        assert status == "HTTP/1.1 200 OK" and len(body) == int(headers["content-length"])
        assert await conn.at_eof()
    finally:
        await conn.close()
    conn = await Conn.open(fast)
    try:
        await conn.send(b"GET " + FEED.encode() + b" HTTP/1.0\r\n\r\n")
        status, headers, body = await conn.response()
        assert status == "HTTP/1.0 200 OK" and body.startswith(b"<?xml")
        assert await conn.at_eof()
    finally:
        await conn.close()
    assert fast.fast_answers == before


async def test_requests_with_a_body_or_garbage_go_through_aiohttp(pair: tuple[Web, Web]) -> None:
    _, fast = pair
    before = fast.fast_answers
    # request() ends with the blank line; the body follows it.
    with_body = request(Content_Length="5") + b"hello"
    (status, _, body), = await exchange(fast, with_body)
    assert status == "HTTP/1.1 200 OK" and body.startswith(b"<?xml")
    conn = await Conn.open(fast)
    try:
        await conn.send(request("/"))
        await conn.response()
        await conn.send(b"GET /cxnews/cixi.rss HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        status, _, _ = await conn.response()
        assert " 400 " in status  # aiohttp answers parse errors as HTTP/1.0
    finally:
        await conn.close()
    assert fast.fast_answers == before


async def test_invalidated_feed_leaves_the_fast_path_until_rebuilt(pair: tuple[Web, Web]) -> None:
    _, fast = pair
    conn = await Conn.open(fast)
    try:
        await conn.send(request("/"))
        await conn.response()
        fast.cache.invalidate("cxnews", "cixi")
        before = fast.fast_answers
        await conn.send(request())  # a miss: aiohttp's handler renders it again
        status, _, _ = await conn.response()
        assert status == "HTTP/1.1 200 OK" and fast.fast_answers == before
        await conn.send(request())  # rendered now: the fast path answers
        await conn.response()
        assert fast.fast_answers == before + 1
    finally:
        await conn.close()


async def test_fast_answers_keep_the_keep_alive_timer_right(store: Store, tmp_path: Path) -> None:
    """A connection busy on the fast path is not reaped as idle, and an idle one still is."""
    server = FastTestServer(make_app(web_config(f"sqlite:///{tmp_path / 'web.db'}"), store), host="127.0.0.1")
    await server.start_server(keepalive_timeout=0.5)
    try:
        warm = await Conn.open(server.port)
        await warm.send(request())  # renders the feed through aiohttp
        await warm.response()
        await warm.close()
        conn = await Conn.open(server.port)
        await conn.send(request())
        await conn.response()
        (handler,) = [h for h in server.runner.server.connections if h.transport is not None]
        deadline = handler._next_keepalive_close_time
        await asyncio.sleep(0.01)
        await conn.send(request())
        await conn.response()
        assert server.runner.server.fast_answers == 2
        assert handler._next_keepalive_close_time > deadline  # pushed back by the answer
        assert await conn.at_eof()  # then closed once idle (a bounded wait; nothing is timed)
        await conn.close()
    finally:
        await server.close()
