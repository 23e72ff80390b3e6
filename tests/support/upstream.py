"""The fixture-site toolkit: scripted upstream servers on 127.0.0.1 for the tests and bench/refresh.py.

`Upstream` is an aiohttp site answering every hostname it is reached under (tests point real site
names at it with StaticResolver). Each path gets a handler; the builders below script what a
handler answers (a page in some charset, a status, a redirect, Retry-After, ETag/Last-Modified
with 304, a slow or endless body, a dropped connection, a different answer per request) and every
request is logged (host, path, headers, arrival time, status, body bytes). `RawUpstream` is a bare
TCP server controlled byte for byte, for answers aiohttp would refuse to send (no Content-Type,
malformed HTTP, a TCP reset, a keep-alive connection closed under the client); it binds any loopback
address (127.0.0.2 plays a host outside the config) and logs every request head it reads. `FakeTime` is an injected clock and sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

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
    """One request as the upstream saw it, and what it answered."""

    host: str
    path: str  # path and query
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    fake_at: float | None  # FakeTime.now on arrival, when a FakeTime is attached
    status: int | None = None  # None while in flight, or when the handler failed
    body_bytes: int = 0  # bytes of a plain Response body (streamed bodies are not counted)


@dataclass
class Upstream:
    """A scripted site: handlers by exact path (with query, then without), else `fallback`, else 404."""

    routes: dict[str, Handler] = field(default_factory=dict)
    fallback: Handler | None = None
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

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        host = (request.host or "").split(":")[0]
        hit = Hit(host, request.path_qs, dict(request.headers), time.monotonic(),
                  self.fake_time.now if self.fake_time else None)
        self.hits.append(hit)
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        self.max_in_flight[host] = max(self.max_in_flight.get(host, 0), self.in_flight[host])
        self.max_in_flight_total = max(self.max_in_flight_total, sum(self.in_flight.values()))
        try:
            handler = self.routes.get(request.path_qs) or self.routes.get(request.path) or self.fallback
            try:
                resp = await (handler or not_found)(request)
            except web.HTTPException as exc:  # handlers may raise aiohttp's HTTP answers
                resp = exc
            hit.status = resp.status
            if isinstance(resp, web.Response) and resp.body is not None:
                hit.body_bytes = len(resp.body) if isinstance(resp.body, bytes) else 0
            return resp
        finally:
            self.in_flight[host] -= 1


@asynccontextmanager
async def serving(app: web.Application, *, access_log: bool = True) -> AsyncIterator[int]:
    """Run `app` on a free loopback port for the block; yields the port."""
    # Cancel handlers whose client went away (timeouts, size cap) so teardown never waits on them.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5,
                           **({} if access_log else {"access_log": None}))
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running(upstream: Upstream) -> AsyncIterator[Upstream]:
    """Serve `upstream` on a free loopback port for the block (its `port` is set)."""
    async with serving(upstream.app()) as port:
        upstream.port = port
        yield upstream


# --- handler builders ------------------------------------------------------------------------

async def not_found(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, text="not found")


def page(body: str | bytes, *, charset: str | None = "utf-8", status: int = 200,
         headers: dict[str, str] | None = None, content_type: str = "text/html") -> Handler:
    """A fixed page; `charset=None` sends the bare content type (bytes are sent as given)."""
    data = body.encode(charset or "utf-8") if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        ctype = f"{content_type}; charset={charset}" if charset else content_type
        return web.Response(body=data, status=status, headers={"Content-Type": ctype, **(headers or {})})

    return handler


def status(code: int, headers: dict[str, str] | None = None) -> Handler:
    """A bare status answer (e.g. 502, or 429 with {"Retry-After": "7"})."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text=f"status {code}", headers=headers or {})

    return handler


def redirect(location: str, code: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, headers={"Location": location})

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


def slow(seconds: float, then: Handler) -> Handler:
    """Wait (in real time) before answering like `then`."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await then(request)

    return handler


def streamed(chunk: bytes, times: int, *, content_type: str = "text/html; charset=utf-8") -> Handler:
    """A chunked body (no Content-Length) of `chunk` repeated `times` times."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        await resp.prepare(request)
        for _ in range(times):
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    return handler


async def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering."""
    assert request.transport is not None
    request.transport.close()
    await asyncio.sleep(0.1)
    return web.Response(text="never")


def validators_match(request: web.Request, etag: str | None, last_modified: str | None) -> bool:
    """Whether a conditional request names these validators (If-None-Match first, as RFC 9110 says)."""
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        return etag is not None and (inm.strip() == "*" or etag in (t.strip() for t in inm.split(",")))
    ims = request.headers.get("If-Modified-Since")
    if ims and last_modified:
        try:
            return parsedate_to_datetime(ims) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def conditional(then: Handler, *, etag: str | None = None, last_modified: str | None = None) -> Handler:
    """Answer like `then` with these validators, or 304 to a request that names them."""
    validators = {k: v for k, v in (("ETag", etag), ("Last-Modified", last_modified)) if v}

    async def handler(request: web.Request) -> web.StreamResponse:
        if validators_match(request, etag, last_modified):
            return web.Response(status=304, headers=validators)
        resp = await then(request)
        resp.headers.update(validators)
        return resp

    return handler


def by_pattern(routes: Iterable[tuple[str, Callable[..., Awaitable[web.StreamResponse]]]]) -> Handler:
    """A fallback routing by regex: the first full match calls `fn(request, **named_groups)`."""
    compiled = [(re.compile(pattern), fn) for pattern, fn in routes]

    async def handler(request: web.Request) -> web.StreamResponse:
        for pattern, fn in compiled:
            match = pattern.fullmatch(request.path)
            if match:
                return await fn(request, **match.groupdict())
        return await not_found(request)

    return handler


# --- a bare TCP server ------------------------------------------------------------------------

RawScript = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class RawRequest:
    """One request head as the raw upstream read it."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-cased names; the last value of a repeated header


RawAnswer = bytes | Callable[[RawRequest], bytes]


@dataclass
class RawUpstream:
    """A bare TCP server controlled byte for byte: `async with RawUpstream("127.0.0.2") as up:` (or
    `running_raw(up)`) serves on `up.host`:`up.port`; bind it on 127.0.0.2 to play a host outside the config.

    Each request head is logged in `requests` (so a test can assert a host was never contacted), then
    answered by `scripts[target]` (an async script writing to the connection; the next request on the
    connection is read if the script leaves it open), else by `routes[target]` or `routes[path]`
    (bytes, or a callable of the request giving bytes; the connection is closed after them), else 404.
    """

    host: str = "127.0.0.1"
    routes: dict[str, RawAnswer] = field(default_factory=dict)
    scripts: dict[str, RawScript] = field(default_factory=dict)
    requests: list[RawRequest] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def paths(self) -> list[str]:
        """The request targets received, in order."""
        return [r.target for r in self.requests]

    async def __aenter__(self) -> RawUpstream:
        self._server = await asyncio.start_server(self.handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not writer.is_closing():
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
                break
            request = _parse_head(head)
            self.requests.append(request)
            script = self.scripts.get(request.target)
            if script is not None:
                await script(writer)
                continue
            answer = self.routes.get(request.target, self.routes.get(request.target.split("?", 1)[0]))
            if answer is None:
                answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(answer(request) if callable(answer) else answer)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            break
        writer.close()


def _parse_head(head: bytes) -> RawRequest:
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (request_line.split(" ", 2) + ["", ""])[:3]
    headers = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return RawRequest(method, target, headers)


@asynccontextmanager
async def running_raw(raw: RawUpstream) -> AsyncIterator[RawUpstream]:
    """Serve `raw` on a free port of its host for the block (its `port` is set)."""
    async with raw:
        yield raw


def raw_sequence(*scripts: RawScript) -> RawScript:
    """Run the n-th script for the n-th request (the last one repeats)."""
    calls = 0

    async def script(writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        chosen = scripts[min(calls, len(scripts) - 1)]
        calls += 1
        await chosen(writer)

    return script


async def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the client sees a TCP reset, not a clean end."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def close_silently(writer: asyncio.StreamWriter) -> None:
    """Close without answering, as a server does whose keep-alive timeout just ran out."""
    writer.close()


def raw_answer(data: bytes, *, keep_open: bool = False) -> RawScript:
    """Send these bytes, then close (or keep the connection open for its next request)."""

    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if not keep_open:
            writer.close()

    return script


def http_answer(body: bytes, *, status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    """The bytes of one HTTP/1.1 answer with a Content-Length (nothing else is added)."""
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_response(status: int = 200, body: bytes | str = b"", *, headers: dict[str, str] | None = None,
                  reason: str = "X") -> bytes:
    """One ordinary HTML answer as bytes: UTF-8 HTML Content-Type, Content-Length, `Connection: close`
    (each overridable by `headers`)."""
    payload = body.encode() if isinstance(body, str) else body
    head = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(payload)),
            "Connection": "close", **(headers or {})}
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in head.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def raw_redirect(location: str, status: int = 302) -> bytes:
    """A redirect answer as bytes (Location sent exactly as given)."""
    return http_response(status, b"", headers={"Location": location})
