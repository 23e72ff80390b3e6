"""The access log's two paths (feedsvc/web/access_log.py): the direct one writes exactly what logging
would, buffered and never lost; anything else goes through logging with the line's parts as fields.

Each test gives the access log a logger of its own (not propagating, one handler on a StringIO), as
`feedsvc serve` gives "aiohttp.access" the root's one stderr handler: pytest's log capture sits on the
root logger, so records reaching it would take the logging path.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from feedsvc.store import Store
from feedsvc.web import access_log, make_app, serve_until_signal
from feedsvc.web.access_log import FLUSH_DELAY, AccessLog, direct_writer
from tests.nginx_site import free_port
from tests.support import REPO, until
from tests.web_fixtures import Conn, raw_request, store_fixture, web_config  # noqa: F401 (fixture `store`)

FEED = "/cxnews/cixi.rss"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # as `feedsvc serve` sets logging up
REQUESTS = [
    (raw_request(FEED + "?limit=2", Referer="http://r.example/", User_Agent='UA "quoted" \\'), False),
    (raw_request("/nope/x.rss"), False),
    (raw_request(FEED, "HEAD"), True),
    (raw_request(FEED, Accept_Encoding="gzip"), False),
]
# A line's time fields: the request's start (aiohttp's [..] stamp) and the record's asctime.
TIMES = re.compile(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", re.M)


class SubclassedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The same handler by behaviour, but not plain StreamHandler: the access log must use logging."""


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    log = logging.getLogger(f"feedsvc.test.access.{request.node.name}")
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        yield log
    finally:
        access_log.flush()
        for handler in list(log.handlers):
            log.removeHandler(handler)


def attach(logger: logging.Logger, handler: logging.StreamHandler[Any], formatter: logging.Formatter) -> Any:
    """`handler` as the logger's only one (pytest's log capture adds its own); its stream."""
    handler.setFormatter(formatter)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    return handler.stream


async def send_requests(store: Store, tmp_path: Path, logger: logging.Logger) -> None:
    """REQUESTS on one connection to the app, served by aiohttp's runner with AccessLog on `logger`."""
    app = make_app(web_config(f"sqlite:///{tmp_path / 'web.db'}"), store, poll_interval=3600)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log=logger, access_log_class=AccessLog)
    try:
        assert server.port is not None
        conn = await Conn.open(server.port)
        for data, head in REQUESTS:
            await conn.send(data)
            await conn.response(head=head)
        await conn.close()
    finally:
        await server.close()


async def test_direct_path_writes_what_logging_writes_buffered_until_flushed(
        store: Store, tmp_path: Path, logger: logging.Logger) -> None:
    through_logging = attach(logger, SubclassedHandler(io.StringIO()), logging.Formatter(TEXT_FORMAT))
    assert direct_writer(logger) is None
    await send_requests(store, tmp_path, logger)
    expected = through_logging.getvalue()
    assert len(expected.splitlines()) == len(REQUESTS), expected

    direct = attach(logger, logging.StreamHandler(io.StringIO()), logging.Formatter(TEXT_FORMAT))
    assert direct_writer(logger) is not None
    await send_requests(store, tmp_path, logger)
    # Written by the flush timer, FLUSH_DELAY after the first line (or when the server stopped).
    await until(lambda: len(direct.getvalue().splitlines()) == len(REQUESTS), "the buffered lines",
                timeout=FLUSH_DELAY + 5)
    assert TIMES.sub("T", direct.getvalue()) == TIMES.sub("T", expected)
    first = direct.getvalue().splitlines()[0]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO feedsvc\.test\.access\.\S+: 127\.0\.0\.1 \[", first)
    assert first.endswith('"GET /cxnews/cixi.rss?limit=2 HTTP/1.1" 200 ' + first.split(" 200 ")[1])
    assert first.endswith('"http://r.example/" "UA "quoted" \\"'), first


async def test_lines_wait_in_the_buffer_until_the_timer_or_flush(logger: logging.Logger) -> None:
    stream = attach(logger, logging.StreamHandler(io.StringIO()), logging.Formatter(TEXT_FORMAT))
    writer = direct_writer(logger)
    assert writer is not None
    writer.write(1_700_000_000.5, "one")
    writer.write(1_700_000_000.75, "two")
    assert stream.getvalue() == ""  # one write for many lines: none yet
    await until(lambda: stream.getvalue().count("\n") == 2, "the timer's flush", timeout=FLUSH_DELAY + 5)
    asctime = logging.Formatter(TEXT_FORMAT).formatTime(logging.makeLogRecord({"created": 1_700_000_000.75,
                                                                                "msecs": 750.0}))
    assert stream.getvalue().endswith(f"{asctime} INFO {logger.name}: two\n")
    writer.write(1_700_000_001.0, "three")
    access_log.flush()
    assert stream.getvalue().endswith(": three\n")


def test_a_line_the_stream_cannot_take_costs_only_itself(logger: logging.Logger) -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # strict: "é" fails
    attach(logger, logging.StreamHandler(stream), logging.Formatter("%(message)s"))
    writer = direct_writer(logger)
    assert writer is not None
    for line in ("first", "caf\u00e9", "last"):
        writer.write(1_700_000_000.0, line)
    writer.flush()
    stream.seek(0)
    assert stream.read() == "first\nlast\n"


async def test_structured_formatters_get_the_lines_parts_as_record_fields(
        store: Store, tmp_path: Path, logger: logging.Logger) -> None:
    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return json.dumps({"message": record.getMessage(), **{
                key: getattr(record, key) for key in ("remote", "method", "path", "http_version", "status",
                                                      "bytes", "referer", "user_agent", "duration")}})

    stream = attach(logger, logging.StreamHandler(io.StringIO()), JsonFormatter())
    assert direct_writer(logger) is None  # it escapes the message: the probes show it
    await send_requests(store, tmp_path, logger)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("GET", FEED + "?limit=2", 200), ("GET", "/nope/x.rss", 404), ("HEAD", FEED, 200), ("GET", FEED, 200)]
    first = records[0]
    assert first["user_agent"] == 'UA "quoted" \\' and first["referer"] == "http://r.example/"
    assert first["remote"] == "127.0.0.1" and first["http_version"] == "1.1"
    assert first["bytes"] > 0 and 0 <= first["duration"] < 10
    assert first["message"].startswith('127.0.0.1 [') and '"GET /cxnews/cixi.rss?limit=2 HTTP/1.1" 200' in first[
        "message"]


@pytest.mark.parametrize("setup", ["msecs", "datefmt", "zone", "filter", "two handlers", "subclass", "level"])
def test_any_other_logging_setup_takes_the_logging_path(logger: logging.Logger, setup: str) -> None:
    handler: logging.StreamHandler[io.StringIO] = logging.StreamHandler(io.StringIO())
    formatter = logging.Formatter(TEXT_FORMAT)
    if setup == "msecs":
        formatter = logging.Formatter("%(asctime)s %(relativeCreated)d %(message)s")
    elif setup == "datefmt":
        formatter = logging.Formatter(TEXT_FORMAT, datefmt="%H:%M:%S")
    elif setup == "zone":
        formatter.converter = lambda seconds: time.gmtime(seconds + 3600)  # another zone than local time
    elif setup == "filter":
        handler.addFilter(lambda record: True)
    elif setup == "subclass":
        handler = SubclassedHandler(io.StringIO())
    elif setup == "level":
        handler.setLevel(logging.WARNING)
    attach(logger, handler, formatter)
    if setup == "two handlers":
        logger.addHandler(logging.StreamHandler(io.StringIO()))
    assert direct_writer(logger) is None


@pytest.mark.parametrize("fmt", [TEXT_FORMAT, "%(message)s", "[%(levelname)s] %(message)s <", "%(asctime)s|%(message)s"])
def test_plain_text_formats_take_the_direct_path(logger: logging.Logger, fmt: str) -> None:
    stream = attach(logger, logging.StreamHandler(io.StringIO()), logging.Formatter(fmt))
    writer = direct_writer(logger)
    assert writer is not None
    writer.write(1_700_000_000.25, 'a "line" %s')
    writer.flush()
    record = logging.makeLogRecord({"name": logger.name, "msg": 'a "line" %s', "levelno": logging.INFO,
                                    "levelname": "INFO", "created": 1_700_000_000.25, "msecs": 250.0})
    assert stream.getvalue() == logging.Formatter(fmt).format(record) + "\n"


async def test_serve_writes_every_line_before_it_returns(store: Store, tmp_path: Path) -> None:
    """`feedsvc serve`'s stop: lines still in the buffer are written, none lost."""
    aiohttp_access = logging.getLogger("aiohttp.access")
    saved = (aiohttp_access.propagate, aiohttp_access.level)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    aiohttp_access.addHandler(handler)
    aiohttp_access.propagate = False
    aiohttp_access.setLevel(logging.INFO)
    try:
        app = make_app(web_config(f"sqlite:///{tmp_path / 'web.db'}"), store, poll_interval=3600)
        port = free_port()
        ready = asyncio.Event()
        task = asyncio.create_task(serve_until_signal(app, host="127.0.0.1", port=port, on_ready=ready.set))
        await asyncio.wait_for(ready.wait(), 10)
        conn = await Conn.open(port)
        for _ in range(20):
            await conn.send(raw_request(FEED))
            await conn.response()
        await conn.close()
        os.kill(os.getpid(), signal.SIGTERM)  # as serve is stopped; its handler turns it into a stop
        await asyncio.wait_for(task, 10)
        lines = stream.getvalue().splitlines()
        assert len(lines) == 20 and all(f'"GET {FEED} HTTP/1.1" 200 ' in line for line in lines), lines
    finally:
        aiohttp_access.removeHandler(handler)
        aiohttp_access.propagate, aiohttp_access.level = saved


def test_lines_buffered_at_exit_are_written(tmp_path: Path) -> None:
    """A process that ends without `serve`'s stop (a script using the runner) still writes every line."""
    script = r"""
import asyncio, logging, sys
from aiohttp import web
from aiohttp.test_utils import TestServer
from feedsvc.web import access_log
from feedsvc.web.access_log import AccessLog

access_log.FLUSH_DELAY = 3600  # no timer comes round: only the exit can write the lines
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

async def main():
    app = web.Application()
    app.router.add_get("/", lambda request: web.Response(text="hi"))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log_class=AccessLog)
    for _ in range(5):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 200")
        writer.close()
    await server.close()
    print("END", flush=True)  # the lines are still buffered: they come after this

asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    before, _, after = done.stdout.partition("END\n")
    lines = after.splitlines()
    assert "aiohttp.access" not in before and len(lines) == 5, done.stdout
    assert all(' INFO aiohttp.access: 127.0.0.1 [' in line and '"GET / HTTP/1.1" 200 ' in line for line in lines)
