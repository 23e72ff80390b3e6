"""deploy/nginx.conf in front of the real app: a real nginx caches, revalidates with our validators,
keeps gzip and identity apart, passes ETags through and serves stale copies while we are down.

The feed under test refreshes every 2 s, so its max-age is 2 s and expiry takes a short sleep.
Skipped only when there is no nginx binary and FEEDSVC_TEST_NGINX is unset; CI sets it, so there a
missing nginx fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from feedsvc.store import Store
from feedsvc.web import make_app
from tests.nginx_site import Nginx, nginx_binary, proxy_site
from tests.web_fixtures import store_fixture, web_config  # noqa: F401 (fixture `store`)

FEED = "/cxnews/cixi.rss"
MAX_AGE = 2  # seconds: the feed's refresh interval in this test's config

if nginx_binary() is None:
    if os.environ.get("FEEDSVC_TEST_NGINX"):
        pytest.fail("FEEDSVC_TEST_NGINX is set but no nginx binary was found", pytrace=False)
    pytest.skip("no nginx binary (apt-get install nginx; FEEDSVC_TEST_NGINX=1 makes this an error)",
                allow_module_level=True)


@dataclass
class Seen:
    """One request as feedsvc saw it behind nginx."""

    path: str
    accept_encoding: str | None
    if_none_match: str | None
    if_modified_since: str | None
    status: int = 0


@dataclass
class Stack:
    service: TestServer
    nginx: Nginx
    http: aiohttp.ClientSession
    seen: list[Seen] = field(default_factory=list)

    async def get(self, path: str = FEED, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
        """GET through nginx; no Accept-Encoding unless given (aiohttp's client would add one)."""
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        skip = [] if "Accept-Encoding" in hdrs else ["Accept-Encoding"]
        async with self.http.get(f"http://127.0.0.1:{self.nginx.port}{path}", headers=hdrs,
                                 skip_auto_headers=skip) as resp:
            return resp.status, resp.headers.copy(), await resp.read()

    async def direct(self, **headers: str) -> tuple[CIMultiDict[str], bytes]:
        """GET straight from feedsvc, past nginx (the middleware records it in `seen` too)."""
        async with self.http.get(self.service.make_url(FEED), headers=headers,
                                 skip_auto_headers=["Accept-Encoding"]) as resp:
            return resp.headers.copy(), await resp.read()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def stack(store: Store, tmp_path: Path) -> AsyncIterator[Stack]:
    seen: list[Seen] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        entry = Seen(request.path, request.headers.get("Accept-Encoding"), request.headers.get("If-None-Match"),
                     request.headers.get("If-Modified-Since"))
        seen.append(entry)
        response = await handler(request)
        entry.status = response.status
        return response

    config = web_config(f"sqlite:///{tmp_path / 'web.db'}", cixi_refresh=f"{MAX_AGE}s")
    app = make_app(config, store, poll_interval=3600)
    app.middlewares.append(record)
    service = TestServer(app, host="127.0.0.1")
    await service.start_server()
    assert service.port is not None
    nginx = await asyncio.to_thread(proxy_site, upstream_port=service.port)
    http = aiohttp.ClientSession(auto_decompress=False)
    try:
        yield Stack(service, nginx, http, seen)
    finally:
        await http.close()
        await asyncio.to_thread(nginx.stop)
        await service.close()


async def expire() -> None:
    """Sleep until a response cached now is past its max-age (HTTP ages count whole seconds)."""
    await asyncio.sleep(MAX_AGE + 1.1)


async def test_second_request_is_a_hit_and_the_etag_passes_through(stack: Stack) -> None:
    direct, direct_body = await stack.direct()
    stack.seen.clear()
    status, first, body = await stack.get()
    assert (status, first["X-Cache-Status"]) == (200, "MISS")
    assert body == direct_body and first["ETag"] == direct["ETag"]
    assert first["Last-Modified"] == direct["Last-Modified"]
    assert first["Cache-Control"] == direct["Cache-Control"]
    assert first["Vary"] == "Accept-Encoding"
    status, again, again_body = await stack.get()
    assert (status, again["X-Cache-Status"]) == (200, "HIT")
    assert again_body == body and again["ETag"] == first["ETag"]
    # A reader's own conditional request is answered by nginx from the cache.
    status, not_modified, nm_body = await stack.get(If_None_Match=first["ETag"])
    assert (status, nm_body) == (304, b"") and not_modified["ETag"] == first["ETag"]
    assert [s.path for s in stack.seen] == [FEED]  # feedsvc was asked once


async def test_gzip_and_identity_clients_each_get_their_own_body(stack: Stack) -> None:
    _, identity = await stack.direct()
    stack.seen.clear()
    status, gz, gz_body = await stack.get(Accept_Encoding="gzip, deflate, br")
    assert (status, gz["X-Cache-Status"], gz["Content-Encoding"]) == (200, "MISS", "gzip")
    assert gzip.decompress(gz_body) == identity
    status, plain, plain_body = await stack.get()
    assert status == 200 and "Content-Encoding" not in plain and plain_body == identity
    assert plain["X-Cache-Status"] == "MISS"  # not served the gzip copy
    assert plain["ETag"] != gz["ETag"]
    # Other spellings share the normalised copies: hits, with the right body each.
    for accept_encoding, gzipped in [("gzip", True), ("br;q=1.0, gzip;q=0.8", True), ("deflate", False),
                                     ("gzip;q=0", False), ("identity", False)]:
        status, headers, body = await stack.get(Accept_Encoding=accept_encoding)
        assert (status, headers["X-Cache-Status"]) == (200, "HIT"), accept_encoding
        assert (gzip.decompress(body) if gzipped else body) == identity, accept_encoding
        assert (headers.get("Content-Encoding") == "gzip") == gzipped, accept_encoding
        assert headers["ETag"] == (gz if gzipped else plain)["ETag"], accept_encoding
    # feedsvc saw each encoding once, as the two values nginx normalises to.
    assert sorted((s.accept_encoding or "") for s in stack.seen) == ["", "gzip"]


async def test_after_max_age_nginx_revalidates_and_feedsvc_answers_304(stack: Stack) -> None:
    status, first, body = await stack.get()
    assert status == 200
    stack.seen.clear()
    await expire()
    status, headers, again = await stack.get()
    assert status == 200 and again == body and headers["ETag"] == first["ETag"]
    assert headers["X-Cache-Status"] in ("REVALIDATED", "STALE", "UPDATING"), headers["X-Cache-Status"]
    for _ in range(250):  # with background updates the revalidation may finish just after the answer
        status, headers, after = await stack.get()
        if headers["X-Cache-Status"] == "HIT":
            break
        await asyncio.sleep(0.02)
    assert (status, headers["X-Cache-Status"], after) == (200, "HIT", body)
    assert headers["ETag"] == first["ETag"]
    # feedsvc was only asked conditionally (more than once only if this machine was slow enough for
    # the copy to expire again), and answered 304 each time.
    assert stack.seen, "nginx never revalidated"
    for asked in stack.seen:
        assert asked.if_none_match == first["ETag"]
        assert asked.if_modified_since == first["Last-Modified"]
        assert asked.status == 304


async def test_stale_copy_is_served_while_feedsvc_is_down(stack: Stack) -> None:
    status, first, body = await stack.get()
    _, gz, gz_body = await stack.get(Accept_Encoding="gzip")
    assert status == 200
    await stack.service.close()
    await expire()
    status, headers, stale = await stack.get()
    assert (status, headers["X-Cache-Status"]) == (200, "STALE")
    assert stale == body and headers["ETag"] == first["ETag"]
    status, headers, stale_gz = await stack.get(Accept_Encoding="gzip")
    assert (status, headers["X-Cache-Status"], stale_gz) == (200, "STALE", gz_body)
    # Never cached, so nothing to fall back on: the outage shows there.
    status, _, _ = await stack.get("/healthz")
    assert status == 502


async def test_pages_and_errors_are_not_cached(stack: Stack) -> None:
    for path in ("/", "/healthz", "/cxnews/nope.rss"):
        for _ in range(2):
            status, headers, _ = await stack.get(path)
            assert headers["X-Cache-Status"] in ("MISS", "BYPASS", "EXPIRED"), (path, headers)
    assert [s.path for s in stack.seen] == ["/", "/", "/healthz", "/healthz", "/cxnews/nope.rss", "/cxnews/nope.rss"]
