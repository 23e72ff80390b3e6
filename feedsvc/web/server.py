"""Serving the app until a signal: aiohttp's `web.AppRunner` on a socket bound first, access log on.

The port is bound before the app starts (its start-up runs the scheduler), so a busy port fails the
command at once with one line, before any refresh begins. The bound socket is served with asyncio's
`loop.create_server`, the runner's `server` being the protocol factory aiohttp documents it to be
(aiohttp's TCPSite does the same, but can only bind after the app has started).

uvloop is used when it is installed (`pip install 'feedsvc[fast]'`) and never required:
bench/serve.py measures the service with and without it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
from collections.abc import Callable

from aiohttp import web
from aiohttp.log import access_logger

from feedsvc.web import access_log
from feedsvc.web.access_log import AccessLog
from feedsvc.web.connections import BACKLOG, ConnectionGuard, ConnectionLimits, open_file_limit
from feedsvc.web.server_log import ServerLog


def make_runner(app: web.Application, *, idle_timeout: float = ConnectionLimits.idle_timeout) -> web.AppRunner:
    """The runner `serve` uses: aiohttp's own, logging every request to the "aiohttp.access" logger
    (aiohttp's default line, see access_log.py) and a malformed request as one line (server_log.py);
    idle keep-alive connections closed after `idle_timeout` seconds (aiohttp's default is an hour)."""
    return web.AppRunner(app, access_log=access_logger, access_log_class=AccessLog, logger=ServerLog(),
                         keepalive_timeout=idle_timeout)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when uvloop is importable, else None (asyncio's default loop)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


class Listener:
    """A bound port that accepts nothing until `start(factory)`: binding can then come first."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self._factory: Callable[[], asyncio.BaseProtocol] | None = None

    @classmethod
    async def bind(cls, host: str, port: int) -> Listener:
        """Bind every address `host` names; an unusable address raises OSError with one clear line
        (socket.gaierror for a host name that resolves to nothing)."""
        listener = cls()
        loop = asyncio.get_running_loop()
        try:
            listener.server = await loop.create_server(
                listener._protocol, host, port, backlog=BACKLOG, start_serving=False)
        except socket.gaierror as exc:
            raise socket.gaierror(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        except OSError as exc:
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise OSError(exc.errno or errno.EADDRNOTAVAIL, f"cannot listen on {host}:{port}: {reason}") from exc
        return listener

    def _protocol(self) -> asyncio.BaseProtocol:
        assert self._factory is not None  # nothing is accepted before start()
        return self._factory()

    async def start(self, factory: Callable[[], asyncio.BaseProtocol]) -> None:
        assert self.server is not None
        self._factory = factory
        await self.server.start_serving()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def serve_until_signal(
    app: web.Application, *, host: str, port: int, on_ready: Callable[[], None] | None = None,
    limits: ConnectionLimits | None = None,
) -> None:
    """Serve `app` until SIGINT/SIGTERM, then shut down in order. Connections are kept within
    `limits` (connections.py: idle ones closed after a timeout, a cap on how many are open).

    The signals only set an event (rather than raising GracefulExit inside the loop, as aiohttp's own
    handler does), so the app's cleanup runs while its tasks are still alive: the scheduler cancels
    its refreshes itself and the store closes last.
    """
    listener = await Listener.bind(host, port)  # first: a busy port fails before the scheduler starts
    limits = limits or ConnectionLimits()
    guard = ConnectionGuard(limits, open_file_limit())
    app.middlewares.insert(0, guard.middleware)  # outermost: the connection is busy for all of a request
    runner = make_runner(app, idle_timeout=limits.idle_timeout)
    sweeper: asyncio.Task[None] | None = None
    try:
        await runner.setup()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        server = runner.server
        assert server is not None  # set by setup()
        sweeper = asyncio.create_task(guard.sweep_forever(), name="feedsvc-idle-connections")
        await listener.start(guard.serve(server))
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        listener.close()  # no new connections while the open ones are shut down
        if sweeper is not None:
            sweeper.cancel()
        await runner.cleanup()
        access_log.flush()  # the last requests' lines, buffered on the direct path


def run_app(app: web.Application, *, host: str, port: int, on_ready: Callable[[], None] | None = None,
            limits: ConnectionLimits | None = None) -> None:
    """`serve_until_signal` in a new event loop (uvloop's when installed)."""
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(serve_until_signal(app, host=host, port=port, on_ready=on_ready, limits=limits))
    except KeyboardInterrupt:
        pass
