"""Hardening #13: a malformed request (raw UTF-8 in the request line, a broken header) is the client's
fault: the served app answers 400 and logs one short line, never an ERROR with a traceback."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from feedsvc.store import Store
from feedsvc.web import make_app, serve_until_signal
from tests.nginx_site import free_port
from tests.web_fixtures import Conn, raw_request, store_fixture, web_config  # noqa: F401 (fixture `store`)

BAD_REQUESTS = {
    "utf-8 in the request line": "GET /慈溪/新闻.rss HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    "header without a colon": b"GET /cxnews/cixi.rss HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    "control byte in a header": b"GET /cxnews/cixi.rss HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
    "not HTTP at all": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "newline injection into the log": b"GET /a\x1b[2J\nFAKE ERROR HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.fixture
async def served_port(store: Store, tmp_path: Path) -> AsyncIterator[int]:
    """The app served as `feedsvc serve` serves it (serve_until_signal), stopped by SIGTERM."""
    app = make_app(web_config(f"sqlite:///{tmp_path / 'web.db'}"), store, poll_interval=3600)
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(serve_until_signal(app, host="127.0.0.1", port=port, on_ready=ready.set))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield port
    finally:
        if ready.is_set():
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)


@pytest.mark.parametrize("request_bytes", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
async def test_a_malformed_request_gets_400_and_one_line_not_a_traceback(
        served_port: int, request_bytes: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        conn = await Conn.open(served_port)
        try:
            await conn.send(request_bytes)
            status, _, _ = await conn.response()
        finally:
            await conn.close()
        assert " 400 " in status
        conn = await Conn.open(served_port)  # the server goes on answering
        try:
            await conn.send(raw_request("/healthz"))
            assert (await conn.response())[0] == "HTTP/1.1 200 OK"
        finally:
            await conn.close()
    server_records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], [
        (r.levelname, r.getMessage()) for r in caplog.records]
    lines = [r.getMessage() for r in server_records if r.levelno >= logging.INFO]
    assert len(lines) == 1, lines
    assert lines[0].startswith("bad request from 127.0.0.1: "), lines
    assert "\n" not in lines[0] and "\x1b" not in lines[0] and len(lines[0]) <= 300, lines
