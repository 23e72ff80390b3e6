"""`Fetcher.get(url) → FetchResult`: every HTTP request of the refresh pipeline goes through here.

One shared aiohttp session; per-host concurrency and delay; robots.txt; retries with backoff and
`Retry-After`; conditional GET; redirects (robots.txt's too) followed by hand so every hop is
checked against the site's allowed origins; HTML only, size-capped, decoded to `str`. aiohttp and
asyncio exceptions are translated into feedsvc.errors here and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy
from yarl import URL

from feedsvc.errors import (
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NotHTML,
    OffSite,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
)
from feedsvc.fetch.charset import decode_html
from feedsvc.fetch.origins import origin_allowed, origin_text
from feedsvc.fetch.politeness import Clock, HostGate, Sleep, parse_retry_after
from feedsvc.fetch.robots import ROBOTS_MAX_BYTES, RobotsCache, RobotsRules, rules_from_answer
from feedsvc.model import FetchResult, FetchSettings, Origins, Tally, Validators

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CHUNK = 64 * 1024
# Without a Content-Type, this many leading bytes decide whether the body looks like markup.
_SNIFF_BYTES = 512
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
# RFC 9309 2.3.1.2: follow at least five consecutive robots.txt redirects.
_ROBOTS_REDIRECTS = 5

log = logging.getLogger("feedsvc.fetch")


@dataclass(frozen=True)
class _Reply:
    """One upstream answer worth acting on: HTML (2xx), not modified (304) or a redirect (3xx)."""

    url: URL
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None


class _Sent:
    """The status a request was answered with; None while (or when) none came."""

    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status: int | None = None


class Fetcher:
    """Polite HTML fetcher. Use as `async with Fetcher(config) as f:` or call `start()`/`close()`."""

    def __init__(
        self,
        config: FetchSettings,
        *,
        resolver: AbstractResolver | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        on_request: Callable[[str, int | None, int], object] | None = None,
    ):
        """`on_request(host, status, body_bytes)` hears every request sent (status None: no answer)."""
        self.config = config
        self._on_request = on_request
        self._resolver = resolver
        self._sleep = sleep
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._gate = HostGate(
            config.per_host_concurrency, config.min_delay.total_seconds(), sleep=sleep, clock=clock
        )
        self._robots = RobotsCache(clock)

    async def __aenter__(self) -> Fetcher:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Create the shared session; must run inside the event loop that will use it."""
        if self._session is None or self._session.closed:
            cfg = self.config
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=self._resolver),
                timeout=aiohttp.ClientTimeout(
                    total=cfg.total_timeout.total_seconds(),
                    sock_connect=cfg.connect_timeout.total_seconds(),
                    sock_read=cfg.read_timeout.total_seconds(),
                ),
                headers={"User-Agent": cfg.user_agent},
                trust_env=False,
                middlewares=(_no_hidden_resend,),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        url: str,
        *,
        allowed: Origins,
        robots: bool = True,
        validators: Validators | None = None,
        tally: Tally | None = None,
    ) -> FetchResult:
        """Fetch one HTML page of a site that may be fetched from `allowed`; raises FetchError subclasses.

        Every request sent and body byte read is added to `tally` when the fetch ends, however it
        ends: a fetch that raises (a timeout, a body over the cap) still counts what it cost."""
        spent = Tally()
        try:
            reply = await self._follow(url, allowed, robots, validators, spent)
        finally:
            if tally is not None:
                tally.requests += spent.requests
                tally.bytes_read += spent.bytes_read
        if reply.status == 304:
            return FetchResult(
                url=str(reply.url), status=304, text=None,
                validators=_validators(reply.headers, fallback=validators),
                not_modified=True, bytes_read=spent.bytes_read, requests=spent.requests,
            )
        text, charset = decode_html(reply.body, reply.charset, url=str(reply.url))
        return FetchResult(
            url=str(reply.url), status=reply.status, text=text,
            content_type=reply.content_type, charset=charset,
            validators=_validators(reply.headers), bytes_read=spent.bytes_read,
            requests=spent.requests,
        )

    async def _follow(
        self,
        url: str,
        allowed: Origins,
        robots: bool,
        validators: Validators | None,
        tally: Tally,
    ) -> _Reply:
        """Request `url`, following redirects by hand: each hop is origin-checked, robots-checked and counted."""
        current = _parse_url(url)
        if not origin_allowed(current, allowed):
            raise OffSite(url, f"{origin_text(current)} is not one of the site's origins ({allowed})")
        headers = {"Accept": _ACCEPT}
        if validators is not None and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        seen = {current}
        hops = 0
        while True:
            if robots and not await self._robots_allow(current, allowed, tally):
                raise RobotsDisallowed(str(current), "disallowed by robots.txt")
            reply = await self._exchange(current, headers, tally)
            if reply.status not in _REDIRECTS:
                return reply
            location = reply.headers.get("Location")
            if not location:
                raise HTTPStatusError(str(current), reply.status)
            target = _redirect_target(current, location)
            if target is None:
                raise FetchError(url, f"unreadable redirect target {location!r}")
            if not origin_allowed(target, allowed):
                raise OffSite(url, f"redirected to {origin_text(target)}, which is not one of the site's origins")
            if target in seen:
                raise TooManyRedirects(url, f"redirect loop at {target}")
            hops += 1
            if hops > self.config.max_redirects:
                raise TooManyRedirects(url, f"more than {self.config.max_redirects} redirects")
            seen.add(target)
            current = target

    async def _exchange(self, url: URL, headers: dict[str, str], tally: Tally) -> _Reply:
        """One logical request with retries: backoff for network errors and 5xx, `Retry-After` for 429/503."""
        cfg = self.config
        for attempt in range(cfg.retries + 1):
            last = attempt == cfg.retries
            try:
                reply = await self._attempt(url, headers, tally)
            except TimeoutError as exc:  # aiohttp's timeouts subclass it too
                if last:
                    raise FetchTimeout(str(url), self._timeout_reason(exc)) from exc
            except aiohttp.ClientConnectorError as exc:
                if last:
                    raise ConnectionFailed(str(url), f"cannot connect: {_reason(exc.os_error)}") from exc
            except aiohttp.ClientPayloadError as exc:
                if last:
                    raise ConnectionFailed(str(url), "connection broke before the body was complete") from exc
            except _Dropped as exc:
                if last:
                    raise ConnectionFailed(str(url), exc.reason) from exc.__cause__
            except (aiohttp.ClientOSError, OSError) as exc:
                if last:
                    raise ConnectionFailed(str(url), f"connection broken: {_reason(exc)}") from exc
            except aiohttp.ClientError as exc:
                # Malformed HTTP, invalid URL and the like: asking again will not help.
                raise FetchError(str(url), f"bad HTTP response: {_reason(exc)}") from exc
            else:
                status = reply.status
                if 200 <= status < 300 or status == 304 or status in _REDIRECTS:
                    return reply
                if status != 429 and status < 500:
                    raise HTTPStatusError(str(url), status)
                retry_after = None
                if status in (429, 503):
                    retry_after = parse_retry_after(reply.headers.get("Retry-After"), reply.headers.get("Date"))
                too_long = retry_after is not None and retry_after > cfg.max_retry_after.total_seconds()
                if last or too_long:
                    raise HTTPStatusError(str(url), status, retry_after=retry_after)
                if retry_after is not None:
                    await self._sleep(retry_after)
                    continue
            await self._sleep(cfg.backoff.total_seconds() * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _timeout_reason(self, exc: TimeoutError) -> str:
        cfg = self.config
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return f"timed out connecting (connect timeout {cfg.connect_timeout.total_seconds():g}s)"
        if isinstance(exc, aiohttp.SocketTimeoutError):
            return f"timed out waiting for data (read timeout {cfg.read_timeout.total_seconds():g}s)"
        return f"timed out (total timeout {cfg.total_timeout.total_seconds():g}s)"

    async def _attempt(self, url: URL, headers: dict[str, str], tally: Tally) -> _Reply:
        session = await self._ensure_session()
        async with self._gate.slot(url.host or ""):
            with self._sent(url, tally) as sent:
                async with session.get(url, headers=headers, allow_redirects=False) as resp:
                    sent.status = resp.status
                    if not 200 <= resp.status < 300:
                        # Error and redirect bodies are never read: the connection is dropped instead.
                        return _Reply(url, resp.status, resp.headers)
                    return await self._read_html(url, resp, tally)

    @contextmanager
    def _sent(self, url: URL, tally: Tally) -> Iterator[_Sent]:
        """One request sent: counted in `tally`, and heard by on_request however it ends."""
        tally.requests += 1
        sent = _Sent()
        before = tally.bytes_read
        try:
            yield sent
        finally:
            if self._on_request is not None:
                self._on_request(url.host or "", sent.status, tally.bytes_read - before)

    async def _read_html(self, url: URL, resp: aiohttp.ClientResponse, tally: Tally) -> _Reply:
        cap = self.config.max_bytes
        declared_type = resp.headers.get("Content-Type")
        # aiohttp reports a missing Content-Type as application/octet-stream; keep "missing" apart.
        content_type = resp.content_type if declared_type else ""
        if declared_type and content_type not in _HTML_TYPES:
            raise NotHTML(str(url), f"not HTML (content type {content_type})")
        if resp.content_length is not None and resp.content_length > cap:
            raise TooLarge(str(url), f"body of {resp.content_length} bytes is over the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        sniffed = bool(declared_type)
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            tally.bytes_read += len(chunk)
            if size > cap:
                raise TooLarge(str(url), f"body is over the {cap}-byte cap")
            chunks.append(chunk)
            if not sniffed and size >= _SNIFF_BYTES:
                _require_markup(url, b"".join(chunks))
                sniffed = True
        body = b"".join(chunks)
        if not sniffed and body.strip():
            _require_markup(url, body)
        return _Reply(url, resp.status, resp.headers, body, content_type or "text/html", resp.charset)

    async def _robots_allow(self, url: URL, allowed: Origins, tally: Tally) -> bool:
        origin = url.origin()
        rules = await self._robots.rules_for(str(origin), lambda: self._load_robots(origin, allowed, tally))
        return rules.allows(str(url), self.config.user_agent)

    async def _load_robots(self, origin: URL, allowed: Origins, tally: Tally) -> RobotsRules:
        """The origin's robots.txt, its redirects followed by hand and origin-checked like a page's.

        A redirect to an origin the site may not be fetched from is not followed: robots.txt then
        counts as unavailable (RFC 9309 2.3.1.3, as a 4xx: no rules), not as unreachable (2.3.1.4,
        which would stop the site): the site answered, and what it pointed at is ours to refuse.
        So are more than five redirects (2.3.1.2)."""
        session = await self._ensure_session()
        status: int | None = None
        text = ""
        current = origin / "robots.txt"
        try:
            for _ in range(_ROBOTS_REDIRECTS + 1):
                async with self._gate.slot(current.host or ""):
                    with self._sent(current, tally) as sent:
                        async with session.get(current, allow_redirects=False) as resp:
                            status = sent.status = resp.status
                            if 200 <= status < 300:
                                text = await _read_robots(resp, tally)
                            location = resp.headers.get("Location") if status in _REDIRECTS else None
                if location is None:
                    break
                target = _redirect_target(current, location)
                if target is None or not origin_allowed(target, allowed):
                    log.info("%s: robots.txt redirects to %r, not one of the site's origins: no rules",
                             origin, location)
                    break
                current = target
        except (aiohttp.ClientError, OSError, _Dropped):  # OSError covers TimeoutError
            # An unreachable robots.txt does not block the site; it is asked again soon.
            status = None
        return rules_from_answer(status, text, self._clock())

    async def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            await self.start()
        assert self._session is not None
        return self._session


class _Dropped(Exception):
    """The connection broke while a request was sent or its answer awaited (cause: aiohttp's error)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


async def _no_hidden_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Session middleware: a dropped connection ends the attempt, it is never resent behind our back.

    On a dropped keep-alive connection aiohttp resends an idempotent request once, by itself
    (RFC 9112 9.3.1.1). Our own retries already cover that case, with backoff, the per-host gate
    and a request count; a hidden second send would bypass all three. aiohttp offers no public
    switch for it (only a private retry-connection flag on ClientSession, which its own TestClient
    sets), but it resends only on ClientOSError / ServerDisconnectedError raised by the send:
    carried out of the session as `_Dropped`, the error ends this attempt and `_exchange` decides.
    tests/test_fetch.py shows the server sees exactly one request per attempt.
    """
    try:
        return await handler(request)
    except aiohttp.ServerDisconnectedError as exc:
        raise _Dropped("server closed the connection without an answer") from exc
    except aiohttp.ClientConnectorError:
        raise  # could not connect at all: nothing was sent, aiohttp does not resend it either
    except aiohttp.ClientOSError as exc:
        raise _Dropped(f"connection broken: {_reason(exc)}") from exc


def _parse_url(url: str) -> URL:
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise FetchError(str(url), "not a valid URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(str(url), "not an http(s) URL")
    return parsed.with_fragment(None)


def _redirect_target(current: URL, location: str) -> URL | None:
    """Where a Location header leads from `current` (None when it cannot be read as a URL)."""
    try:
        return current.join(URL(location)).with_fragment(None)
    except (ValueError, TypeError):
        return None


async def _read_robots(resp: aiohttp.ClientResponse, tally: Tally) -> str:
    """A robots.txt body, read up to its size cap and counted."""
    body = bytearray()
    async for chunk in resp.content.iter_chunked(_CHUNK):
        body += chunk
        tally.bytes_read += len(chunk)
        if len(body) >= ROBOTS_MAX_BYTES:
            break
    return bytes(body[:ROBOTS_MAX_BYTES]).decode("utf-8", "replace")


def _require_markup(url: URL, head: bytes) -> None:
    """No Content-Type: accept the body only if it starts like markup (after a BOM and whitespace)."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[len(bom):].decode(codec, "ignore").encode("utf-8")
            break
    if not head.lstrip().startswith(b"<"):
        raise NotHTML(str(url), "not HTML (no content type, and the body does not start with markup)")


def _validators(headers: CIMultiDictProxy[str], fallback: Validators | None = None) -> Validators:
    etag = headers.get("ETag")
    last_modified = headers.get("Last-Modified")
    if fallback is not None:
        etag = etag or fallback.etag
        last_modified = last_modified or fallback.last_modified
    return Validators(etag=etag, last_modified=last_modified)


def _reason(exc: BaseException | None) -> str:
    """A library exception → a one-line reason for an operator (no errno prefixes, no newlines)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    elif isinstance(exc, aiohttp.ClientResponseError):
        text = exc.message
    else:
        text = str(exc) if exc is not None else ""
    return " ".join(text.split()) or type(exc).__name__
