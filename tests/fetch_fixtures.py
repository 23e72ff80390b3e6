"""Upstream servers for the fetcher's tests: an aiohttp site with scripted routes, a raw TCP server for
answers aiohttp would refuse to send (no Content-Type, a reset connection), and an injected clock."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeTime:
    """Injected clock and sleep: sleeping advances the clock instantly and is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Hit:
    host: str
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    fake_at: float | None  # FakeTime.now on arrival, when a FakeTime is attached


@dataclass
class Upstream:
    """An aiohttp site answering every host it is reached under; routes are set per test."""

    routes: dict[str, Handler] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight_total: int = 0
    fake_time: FakeTime | None = None
    port: int = 0

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def count(self, path: str, host: str | None = None) -> int:
        return sum(1 for h in self.hits if h.path == path and (host is None or h.host == host))

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        host = (request.host or "").split(":")[0]
        self.hits.append(Hit(host, request.path_qs, dict(request.headers), time.monotonic(),
                             self.fake_time.now if self.fake_time else None))
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        self.max_in_flight[host] = max(self.max_in_flight.get(host, 0), self.in_flight[host])
        self.max_in_flight_total = max(self.max_in_flight_total, sum(self.in_flight.values()))
        try:
            handler = self.routes.get(request.path_qs) or self.routes.get(request.path)
            if handler is None:
                return web.Response(status=404, text="not found")
            return await handler(request)
        finally:
            self.in_flight[host] -= 1


def html(body: str | bytes, *, charset: str | None = "utf-8", status: int = 200,
         headers: dict[str, str] | None = None, content_type: str = "text/html") -> Handler:
    """A handler answering a fixed page."""
    data = body.encode(charset or "utf-8") if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        ctype = f"{content_type}; charset={charset}" if charset else content_type
        return web.Response(body=data, status=status, headers={"Content-Type": ctype, **(headers or {})})

    return handler


def sequence(*handlers: Handler) -> Handler:
    """Answer the n-th request with the n-th handler (the last one repeats)."""
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        chosen = handlers[min(calls, len(handlers) - 1)]
        calls += 1
        return await chosen(request)

    return handler


def status(code: int, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text=f"status {code}", headers=headers or {})

    return handler


def redirect(location: str, code: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, headers={"Location": location})

    return handler


async def start_upstream() -> tuple[Upstream, web.AppRunner]:
    upstream = Upstream()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", upstream.dispatch)
    # Cancel handlers whose client went away (timeouts, size cap) so teardown never waits on them.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    upstream.port = runner.addresses[0][1]
    return upstream, runner


RawScript = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawUpstream:
    """A bare TCP server: reads one request head, then runs the script registered for its path."""

    scripts: dict[str, RawScript] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        path = head.split(b" ", 2)[1].decode()
        self.paths.append(path)
        script = self.scripts.get(path)
        if script is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        await script(writer)


async def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the client sees a TCP reset, not a clean end."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def raw_answer(data: bytes) -> RawScript:
    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        writer.close()

    return script
