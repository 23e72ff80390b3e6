"""How the app is served: aiohttp's own runner, so middleware and the access log see every request,
keep-alive and pipelining behave as HTTP/1.1 says, and bad requests get aiohttp's answers.

Requests go over raw sockets (tests/web_fixtures.Conn), so "one keep-alive connection" is certain.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from feedsvc.store import Store
from feedsvc.web import make_app, serve_until_signal
from tests.nginx_site import free_port
from tests.web_fixtures import (  # noqa: F401 (fixture `store`)
    Conn,
    Web,
    raw_request,
    site_fixture,
    store_fixture,
    web_config,
)

FEED = "/cxnews/cixi.rss"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def stamping() -> tuple[list[str], Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]]:
    """A middleware stamping each response with a request number and the client's port; and the
    paths it saw, in order."""
    seen: list[str] = []

    @web.middleware
    async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request.path_qs)
        response = await handler(request)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        response.headers["X-Stamp"] = f"{len(seen)} {peer[1] if peer else '?'}"
        return response

    return seen, stamp


# One connection's worth of everything the feed route answers (cached, 304, HEAD, gzip, variant)
# and the other routes; `warm` first renders the feed so most of these come from the render cache.
SEQUENCE = [
    (raw_request(FEED), "200", False),
    (raw_request(FEED, If_None_Match="{etag}"), "304", False),
    (raw_request(FEED, Accept_Encoding="gzip"), "200", False),
    (raw_request(FEED, "HEAD"), "200", True),
    (raw_request(FEED + "?limit=2"), "200", False),
    (raw_request("/"), "200", False),
    (raw_request("/healthz"), "200", False),
    (raw_request("/cxnews/nope.rss"), "404", False),
    (raw_request(FEED), "200", False),
]


async def run_sequence(port: int) -> list[tuple[str, dict[str, str], bytes]]:
    """SEQUENCE on one keep-alive connection, after a warm-up request on another."""
    warm = await Conn.open(port)
    await warm.send(raw_request(FEED))
    _, headers, _ = await warm.response()
    await warm.close()
    conn = await Conn.open(port)
    answers = []
    try:
        for data, _, head in SEQUENCE:
            await conn.send(data.replace(b"{etag}", headers["etag"].encode()))
            answers.append(await conn.response(head=head))
    finally:
        await conn.close()
    for (_, status, _), (line, _, _) in zip(SEQUENCE, answers, strict=True):
        assert line.split()[1] == status, line
    return answers


async def test_middleware_applies_to_every_response_on_one_keep_alive_connection(
        store: Store, tmp_path: Path) -> None:
    from aiohttp.test_utils import TestServer

    seen, stamp = stamping()
    app = make_app(web_config(f"sqlite:///{tmp_path / 'web.db'}"), store, poll_interval=3600)
    app.middlewares.append(stamp)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        assert server.port is not None
        answers = await run_sequence(server.port)
    finally:
        await server.close()
    stamps = [headers.get("x-stamp") for _, headers, _ in answers]
    assert None not in stamps, stamps
    numbers = [int(s.split()[0]) for s in stamps if s]
    assert numbers == list(range(2, 2 + len(SEQUENCE)))  # request 1 was the warm-up
    assert len({s.split()[1] for s in stamps if s}) == 1  # all from one client port: one connection
    assert seen[1:] == [d.split(b" ")[1].decode() for d, _, _ in SEQUENCE]


@pytest.fixture
async def served(store: Store, tmp_path: Path) -> AsyncIterator[tuple[int, list[str]]]:
    """The app as `feedsvc serve` runs it (serve_until_signal), with a stamping middleware; stopped
    by a real SIGTERM, as serve is."""
    seen, stamp = stamping()
    app = make_app(web_config(f"sqlite:///{tmp_path / 'web.db'}"), store, poll_interval=3600)
    app.middlewares.append(stamp)
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(serve_until_signal(app, host="127.0.0.1", port=port, on_ready=ready.set))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN), "no SIGTERM handler"
        yield port, seen
    finally:
        # serve_until_signal's handler turns SIGTERM into a stop; without one it would end pytest.
        if ready.is_set() and signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN):
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)


async def test_serve_logs_every_request_to_the_access_log(
        served: tuple[int, list[str]], caplog: pytest.LogCaptureFixture) -> None:
    port, seen = served
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        answers = await run_sequence(port)
        for _ in range(100):  # aiohttp logs right after sending; a bounded wait for the last line
            if len([r for r in caplog.records if r.name == "aiohttp.access"]) >= len(SEQUENCE) + 1:
                break
            await asyncio.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    expected = [f'"GET {FEED} HTTP/1.1" 200'] + [
        f'"{d.split(b" ")[0].decode()} {d.split(b" ")[1].decode()} HTTP/1.1" {status}' for d, status, _ in SEQUENCE]
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        assert want in line, (want, line)
    assert all("x-stamp" in headers for _, headers, _ in answers)
    assert len(seen) == len(SEQUENCE) + 1


async def test_pipelined_requests_are_answered_in_order(site: Web) -> None:
    conn = await Conn.open(site.port)
    try:
        await conn.send(raw_request(FEED))
        _, first, _ = await conn.response()
        # A cached feed, another route, a 304 and a feed rendered now, sent in one write.
        await conn.send(raw_request(FEED) + raw_request("/healthz") + raw_request(FEED, If_None_Match=first["etag"])
                        + raw_request("/cxnews/cixi.atom"))
        answers = [await conn.response() for _ in range(4)]
    finally:
        await conn.close()
    assert [a[0] for a in answers] == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 304 Not Modified",
                                       "HTTP/1.1 200 OK"]
    assert answers[0][1]["content-type"] == "application/rss+xml; charset=utf-8"
    assert answers[1][1]["content-type"].startswith("application/json")
    assert answers[3][1]["content-type"] == "application/atom+xml; charset=utf-8"


async def test_connection_close_and_http10_close_after_the_answer(site: Web) -> None:
    conn = await Conn.open(site.port)
    try:
        await conn.send(raw_request("/"))
        await conn.response()
        await conn.send(raw_request(FEED, Connection="close"))
        status, headers, body = await conn.response()
        assert status == "HTTP/1.1 200 OK" and len(body) == int(headers["content-length"])
        assert await conn.at_eof()
    finally:
        await conn.close()
    conn = await Conn.open(site.port)
    try:
        await conn.send(b"GET " + FEED.encode() + b" HTTP/1.0\r\n\r\n")
        status, headers, body = await conn.response()
        assert status == "HTTP/1.0 200 OK" and body.startswith(b"<?xml")
        assert await conn.at_eof()
    finally:
        await conn.close()


async def test_a_request_body_is_ignored_and_garbage_gets_400(site: Web) -> None:
    conn = await Conn.open(site.port)
    try:
        # raw_request() ends with the blank line; the body follows it.
        await conn.send(raw_request(FEED, Content_Length="5") + b"hello")
        status, _, body = await conn.response()
        assert status == "HTTP/1.1 200 OK" and body.startswith(b"<?xml")
        await conn.send(raw_request("/"))  # the body was consumed: the connection is still in step
        status, headers, _ = await conn.response()
        assert status == "HTTP/1.1 200 OK" and headers["content-type"].startswith("text/html")
        await conn.send(b"GET /cxnews/cixi.rss HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        status, _, _ = await conn.response()
        assert " 400 " in status  # aiohttp answers parse errors as HTTP/1.0
    finally:
        await conn.close()


async def test_access_log_line_is_aiohttps_line_in_the_compact_format(
        store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Our cheaper AccessLog writes what aiohttp's own AccessLogger writes for the same request given the
    compact format (access_log.py), but for the duration: milliseconds, not seconds."""
    from aiohttp.test_utils import TestServer

    from feedsvc.web.access_log import AccessLog

    lines = {}
    compact: dict[str, Any] = {"access_log_format": '%a "%r" %s %b %Tf "%{User-Agent}i"'}
    for name, runner_kwargs in (("aiohttp", compact), ("ours", {"access_log_class": AccessLog})):
        app = make_app(web_config(f"sqlite:///{tmp_path / 'web.db'}"), store, poll_interval=3600)
        server = TestServer(app, host="127.0.0.1")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="aiohttp.access"):
            await server.start_server(**runner_kwargs)
            try:
                assert server.port is not None
                conn = await Conn.open(server.port)
                for request in (raw_request(FEED + "?limit=2", Referer="http://r.example/", User_Agent="UA/1 (x)"),
                                raw_request("/nope/x.rss"), raw_request(FEED, "HEAD")):
                    await conn.send(request)
                    await conn.response(head=b"HEAD " in request)
                await conn.close()
            finally:
                await server.close()  # waits for the handlers, so every line is logged
        lines[name] = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    ours = re.compile(r" \d+\.\dms ")
    theirs = re.compile(r" \d+\.\d{6} ")  # %Tf: seconds
    assert len(lines["ours"]) == 3 and all(ours.search(line) for line in lines["ours"]), lines
    assert [ours.sub(" D ", line) for line in lines["ours"]] == [theirs.sub(" D ", line) for line in lines["aiohttp"]]
    assert re.fullmatch(r'127\.0\.0\.1 "GET /cxnews/cixi\.rss\?limit=2 HTTP/1\.1" 200 \d+ \d+\.\dms "UA/1 \(x\)"',
                        lines["ours"][0]), lines
