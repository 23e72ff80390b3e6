"""Client connections kept within bounds: idle ones closed after a timeout, a cap on how many are open.

A connection that never completes a request head, or sits idle between keep-alive requests, holds a
file descriptor. Enough of them (a slow-loris client, a port scan, a broken proxy) exhaust the
open-file limit and every later request waits in the kernel's backlog. `ConnectionGuard` keeps:

- idle connections closed after `idle_timeout` (a connection is idle from when it opens, or when its
  last request was answered, until its next request head is complete);
- at most `max_connections` open: a new connection past it closes the longest idle one first, so a
  flood of idle sockets pushes out its own oldest sockets while a client that sends its request at
  once is answered (nginx reuses idle keep-alive connections the same way when it runs out);
- the cap within the process's open-file limit (`ulimit -n`), with room left for the store, the
  fetcher and one burst of accepts.

All on aiohttp's public ground: no aiohttp API tells when a request head arrives, nor lets one wrap
its protocol. What is public: the runner's `server` is the protocol factory for `loop.create_server`
(each call is one accepted connection), `server.connections` lists the open ones, a middleware sees
each request start and end (`request.protocol` names its connection), and `RequestHandler.force_close()`
closes one. aiohttp's own `keepalive_timeout` (passed the same value) also closes idle keep-alive
connections, and in recent releases (3.14.5 here) connections that never send a request; the guard
does not depend on which aiohttp is installed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger("feedsvc.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Accepted in one go when the listening socket turns readable (asyncio accepts up to `backlog`):
# descriptors the cap must leave room for, beside the store's, the fetcher's and the logs'.
BACKLOG = 128
OTHER_FILES = 32


@dataclass(frozen=True)
class ConnectionLimits:
    idle_timeout: float = 15.0  # seconds
    max_connections: int = 512


def connection_cap(wanted: int, open_files: int | None) -> int:
    """`wanted`, lowered so that the cap, one burst of accepts and the other files fit `open_files`."""
    if open_files is None:
        return wanted
    return max(8, min(wanted, open_files - BACKLOG - OTHER_FILES, open_files * 3 // 4))


def open_file_limit() -> int | None:
    """The process's soft limit on open files, or None when unlimited or unknown (not POSIX)."""
    try:
        import resource
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


class ConnectionGuard:
    """Wraps the runner's protocol factory and watches requests through a middleware (see module)."""

    def __init__(self, limits: ConnectionLimits, open_files: int | None = None) -> None:
        self.idle_timeout = limits.idle_timeout
        self.max_connections = connection_cap(limits.max_connections, open_files)
        if self.max_connections < limits.max_connections:
            log.warning("server.max_connections %d lowered to %d: the open-file limit (ulimit -n) is %s",
                        limits.max_connections, self.max_connections, open_files)
        self.closed_idle = 0  # connections closed for idling past the timeout
        self.evicted = 0  # idle connections closed to make room for a new one
        # Idle connections, longest idle first: the value is when each became idle.
        self._idle: OrderedDict[web.RequestHandler, float] = OrderedDict()
        self._busy: dict[web.RequestHandler, int] = {}
        # Handlers just made for an accepted socket, with when: asyncio connects them to their socket a
        # moment later. Until then `transport` is None, as it is again once closed, so they join
        # `_idle` only when seen connected; a pending one never seen connected is dropped after the
        # timeout (it closed before we looked).
        self._pending: OrderedDict[web.RequestHandler, float] = OrderedDict()

    # -- the protocol factory ----------------------------------------------------------------------

    def serve(self, server: web.Server) -> Callable[[], asyncio.BaseProtocol]:
        """The protocol factory for `loop.create_server`: `server`'s, with room made first."""

        def accept() -> asyncio.BaseProtocol:
            now = asyncio.get_running_loop().time()
            self._admit(now)
            self._make_room(len(server.connections))
            handler = server()
            self._pending[handler] = now
            return handler

        return accept

    def _admit(self, now: float) -> None:
        """Move pending handlers now connected to `_idle`; forget those pending past the timeout."""
        for handler, accepted in list(self._pending.items()):
            if handler.transport is not None:
                del self._pending[handler]
                self._idle[handler] = accepted
            elif accepted < now - self.idle_timeout:
                del self._pending[handler]

    def _make_room(self, open_now: int) -> None:
        while open_now >= self.max_connections and self._idle:
            handler, _ = self._idle.popitem(last=False)
            if handler.transport is not None:  # None: it closed already and no longer counts
                handler.force_close()
                self.evicted += 1
                open_now -= 1

    # -- requests ----------------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Marks the request's connection busy while the request is handled."""
        conn = request.protocol
        busy = self._busy
        if conn in busy:  # busy already: neither idle nor pending
            busy[conn] += 1
        else:
            if self._idle.pop(conn, None) is None:  # an idle connection is no longer pending (_admit)
                self._pending.pop(conn, None)
            busy[conn] = 1
        try:
            return await handler(request)
        finally:
            left = busy.pop(conn) - 1
            if left:
                busy[conn] = left
            elif conn.transport is not None:
                self._idle[conn] = asyncio.get_running_loop().time()

    # -- the timeout -------------------------------------------------------------------------------

    def close_idle(self, now: float) -> int:
        """Close every connection idle since before `now - idle_timeout`; how many were open."""
        self._admit(now)
        closed = 0
        deadline = now - self.idle_timeout
        while self._idle:
            handler, since = next(iter(self._idle.items()))
            if since > deadline:
                break
            del self._idle[handler]
            if handler.transport is not None:
                handler.force_close()
                closed += 1
        self.closed_idle += closed
        return closed

    async def sweep_forever(self) -> None:
        """Close idle connections every quarter timeout (at most a second apart), until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout / 4))
            self.close_idle(loop.time())
