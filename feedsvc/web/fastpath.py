"""Cached feeds answered straight from the HTTP protocol, below aiohttp's per-request machinery.

Why: an aggregator's poll of an unchanged feed needs one dict lookup and a header comparison, yet
aiohttp spends most of its time per request on a task, Request and Response objects and header
serialisation; measured here a bare aiohttp handler does ~0.3x nginx on a 304, this ~1x.
`FeedRequestHandler` answers GET/HEAD of a cached feed inside `data_received` with prebuilt bytes.
Everything else — cache misses, query strings, other routes, HTTP/1.0, `Connection: close`, bodies,
upgrades, a busy connection, access logging — goes through aiohttp untouched, in order.
Answers come from the same `conditional.select` and cached headers as the aiohttp handler, and the
web tests run their whole matrix through both paths.

It leans on `RequestHandler` internals (checked against aiohttp 3.14); when they are missing,
`FAST_PATH` is False and `FeedAppRunner` serves everything through aiohttp.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http import HttpVersion11
from aiohttp.streams import EMPTY_PAYLOAD
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from feedsvc.httpdate import format_http_date as http_date
from feedsvc.web.cache import CachedFeed, Representation
from feedsvc.web.conditional import select
from feedsvc.web.handlers import FEED_CACHE

_INTERNALS = (
    "_messages", "_waiter", "_request_in_progress", "_parser", "_payload_parser", "_upgraded", "_close",
    "_force_close", "_logging_enabled", "_keepalive", "_keepalive_handle", "_next_keepalive_close_time",
    "_keepalive_timeout", "_process_keepalive", "_loop", "_manager", "_buffer_paused",
    "_msg_queue_resume_size", "_resume_reading_if_drained",
)
FAST_PATH = all(hasattr(RequestHandler, name) for name in _INTERNALS)

Lookup = Callable[[str], CachedFeed | None]


class WireBytes:
    """Whole responses as sent, made at most once a second per representation.

    Only the Date line changes, once a second; joining head, Date and a 30-100 KB body per request
    would copy the body every time (bench/serve.py: full GET ~0.7x nginx that way, 0.8-1x this way).
    """

    __slots__ = ("_second", "_date", "_full", "_head", "_not_modified")

    def __init__(self) -> None:
        self._second = -1
        self._date = b""
        self._full: dict[Representation, bytes] = {}
        self._head: dict[Representation, bytes] = {}
        self._not_modified: dict[Representation, bytes] = {}

    def _tick(self) -> None:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._date = f"Date: {http_date(now)}\r\n\r\n".encode("ascii")
            # Last second's bytes go, and with them any representation the cache has replaced.
            self._full, self._head, self._not_modified = {}, {}, {}

    def full(self, rep: Representation) -> bytes:
        self._tick()
        found = self._full.get(rep)
        if found is None:
            found = self._full[rep] = b"".join((rep.wire_head, self._date, rep.body))
        return found

    def head(self, rep: Representation) -> bytes:
        self._tick()
        found = self._head.get(rep)
        if found is None:
            found = self._head[rep] = rep.wire_head + self._date
        return found

    def not_modified(self, rep: Representation) -> bytes:
        self._tick()
        found = self._not_modified.get(rep)
        if found is None:
            found = self._not_modified[rep] = rep.wire_304 + self._date
        return found


_wire = WireBytes()


class FeedRequestHandler(RequestHandler):
    """aiohttp's connection protocol, plus answering cached feeds while the connection is idle."""

    __slots__ = ("_lookup",)

    def __init__(self, manager: FeedServer, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._lookup = manager.lookup

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        # Only while aiohttp's request loop is parked on its waiter with nothing queued: then no
        # earlier response can still be on its way, so answering here keeps responses in order.
        if (waiter is None or waiter.done() or self._messages or self._request_in_progress
                or self._payload_parser is not None or self._upgraded or self._close
                or self._force_close or self._logging_enabled):
            super().data_received(data)
            return
        # Let aiohttp parse and queue (errors, limits, upgrades and all) without waking its loop.
        self._waiter = None
        try:
            super().data_received(data)
        finally:
            self._waiter = waiter
        messages = self._messages
        answered = 0
        while messages and self._answer(*messages[0]):
            messages.popleft()
            answered += 1
        if answered:
            self._after_answers(answered)
        if messages and not waiter.done():
            waiter.set_result(None)

    def _answer(self, message: Any, payload: Any) -> bool:
        """Write the response for one queued request if it is a cached feed's; False leaves it to aiohttp."""
        method = getattr(message, "method", None)  # None: a parse error aiohttp answers with 400
        if (method != "GET" and method != "HEAD") or payload is not EMPTY_PAYLOAD:
            return False
        if message.version != HttpVersion11 or message.should_close or message.upgrade:
            return False
        cached = self._lookup(message.path)
        transport = self.transport
        if cached is None or transport is None:
            return False
        rep, not_modified = select(cached, message.headers)
        if not_modified:
            transport.write(_wire.not_modified(rep))
        elif method == "HEAD":
            transport.write(_wire.head(rep))
        else:
            transport.write(_wire.full(rep))
        return True

    def _after_answers(self, answered: int) -> None:
        manager = self._manager
        manager.requests_count += answered  # type: ignore[union-attr]
        manager.fast_answers += answered  # type: ignore[union-attr]
        if self._parser is not None:
            for _ in range(answered):
                self._parser.message_consumed()
        if self._buffer_paused and len(self._messages) <= self._msg_queue_resume_size:
            self._resume_reading_if_drained()
        # What aiohttp's loop does after each keep-alive response: push the idle deadline back.
        loop = self._loop
        close_time = loop.time() + self._keepalive_timeout
        self._next_keepalive_close_time = close_time
        if self._keepalive_handle is None:
            self._keepalive_handle = loop.call_at(close_time, self._process_keepalive)


class FeedServer(Server):
    """aiohttp's protocol factory, making FeedRequestHandlers. `fast_answers` counts their answers."""

    def __init__(self, base: Server, lookup: Lookup):
        super().__init__(
            base.request_handler, request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation, loop=base._loop, **base._kwargs,
        )
        self.lookup = lookup
        self.fast_answers = 0

    def __call__(self) -> RequestHandler:
        return FeedRequestHandler(self, loop=self._loop, **self._kwargs)


class FeedAppRunner(web.AppRunner):
    """`web.AppRunner` for an app from `make_app`, with the fast path; access log off by default
    (an access-logged connection takes the ordinary path, so every request is logged)."""

    def __init__(self, app: web.Application, **kwargs: Any):
        kwargs.setdefault("access_log", None)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        cache = self.app.get(FEED_CACHE)
        if not FAST_PATH or cache is None or not hasattr(server, "_kwargs"):
            return server
        return FeedServer(server, cache.lookup_path)


async def serve_until_signal(
    app: web.Application, *, host: str, port: int, on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve `app` until SIGINT/SIGTERM, then shut down in order.

    The signals only set an event (rather than raising GracefulExit inside the loop, as aiohttp's own
    handler does), so the app's cleanup runs while its tasks are still alive: the scheduler cancels
    its refreshes itself and the store closes last.
    """
    runner = FeedAppRunner(app)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        await runner.cleanup()


def run_app(app: web.Application, *, host: str, port: int, on_ready: Callable[[], None] | None = None) -> None:
    """`serve_until_signal` in a new event loop."""
    try:
        asyncio.run(serve_until_signal(app, host=host, port=port, on_ready=on_ready))
    except KeyboardInterrupt:
        pass
