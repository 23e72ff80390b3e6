"""`feedsvc demo`: the whole service, offline, against the bundled replica of www.cxnews.cn; and the
replica on a loopback port for `preview --seeds` and `discover --seeds`.

The demo's store is a temporary folder, removed however the demo ends: Ctrl-C, SIGTERM, or a start
that fails (a busy port)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from feedsvc.app import build_app, setup_logging
from feedsvc.commands import EXIT_OK
from feedsvc.config import Config, load_config
from feedsvc.errors import ConfigError
from feedsvc.fetch import StaticResolver
from feedsvc.seed_site import replica_app
from feedsvc.web import serve_until_signal

DEMO_HOSTS = ("www.cxnews.cn", "cxnews.cn")


def replica_dir(seeds_dir: str) -> Path:
    """The replica's data folder; ConfigError when it holds no replica site."""
    seeds = Path(seeds_dir)
    if not (seeds / "site").is_dir():
        raise ConfigError(
            f"{seeds}: no replica site here (expected {seeds / 'site'}); run from the repository root or pass --seeds")
    return seeds


@asynccontextmanager
async def serve_replica(seeds: Path) -> AsyncIterator[tuple[StaticResolver, int]]:
    """The replica on a loopback port, with a resolver that sends DEMO_HOSTS there; yields both."""
    runner = web.AppRunner(replica_app(seeds), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        yield StaticResolver({host: ("127.0.0.1", port) for host in DEMO_HOSTS}), port
    finally:
        await runner.cleanup()


def demo_config(config: Config, store_dir: str, port: int | None = None) -> Config:
    """The shipped config, changed only where a demo must: the store is a fresh file in `store_dir`,
    politeness delays are short (the replica is our own server) and entries are kept whatever their
    age (the replica's articles date from December 2021)."""
    data = config.model_dump(mode="python", exclude={"source_file"})
    data["store"] = {**data["store"], "url": f"sqlite:///{store_dir}/demo.db", "max_age_days": 36500}
    data["fetch"] = {**data["fetch"], "min_delay": timedelta(seconds=0.01), "backoff": timedelta(seconds=0.1)}
    if port is not None:
        data["server"] = {**data["server"], "port": port, "public_url": None}
    return Config.model_validate(data)


def run(config_path: str | None, seeds_dir: str, port: int | None = None) -> int:
    """Serve the replica site on loopback and run the whole service against it, offline."""
    # The config is read here, not by the caller: the demo swaps its store and the site's address.
    config = load_config(config_path)
    seeds = replica_dir(seeds_dir)
    with _sigterm_interrupts(), _temporary_folder("feedsvc-demo-") as tmp:
        return _serve_demo(demo_config(config, tmp, port), seeds, tmp)


@contextmanager
def _temporary_folder(prefix: str) -> Iterator[str]:
    """A fresh folder, removed with everything in it when the block ends, however it ends."""
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt for the block, as Ctrl-C does. While serving, the event loop's
    own handler stops the service in order; outside it (starting up, shutting down) the default action
    would end the process on the spot and leave the temporary store behind."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve_demo(config: Config, seeds: Path, tmp: str) -> int:
    setup_logging()

    async def main() -> None:
        async with serve_replica(seeds) as (resolver, replica_port):
            app = build_app(config, resolver=resolver, spread=timedelta(seconds=0.2))

            def ready() -> None:
                print(f"feedsvc demo: replica of www.cxnews.cn on 127.0.0.1:{replica_port}, store {tmp}/demo.db\n"
                      f"feeds at {config.server.base_url}/ (Ctrl-C to stop)", file=sys.stderr)

            await serve_until_signal(app, host=config.server.host, port=config.server.port, on_ready=ready)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return EXIT_OK
