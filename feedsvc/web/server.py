"""Serving the app until a signal: aiohttp's `web.AppRunner` + `web.TCPSite`, access log on.

uvloop is used when it is installed (`pip install 'feedsvc[fast]'`) and never required:
bench/serve.py measures the service with and without it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web
from aiohttp.log import access_logger

from feedsvc.web.access_log import AccessLog


def make_runner(app: web.Application) -> web.AppRunner:
    """The runner `serve` uses: aiohttp's own, logging every request to the "aiohttp.access" logger
    (aiohttp's default line, see access_log.py)."""
    return web.AppRunner(app, access_log=access_logger, access_log_class=AccessLog)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when uvloop is importable, else None (asyncio's default loop)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def serve_until_signal(
    app: web.Application, *, host: str, port: int, on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve `app` until SIGINT/SIGTERM, then shut down in order.

    The signals only set an event (rather than raising GracefulExit inside the loop, as aiohttp's own
    handler does), so the app's cleanup runs while its tasks are still alive: the scheduler cancels
    its refreshes itself and the store closes last.
    """
    runner = make_runner(app)
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
    """`serve_until_signal` in a new event loop (uvloop's when installed)."""
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(serve_until_signal(app, host=host, port=port, on_ready=on_ready))
    except KeyboardInterrupt:
        pass
