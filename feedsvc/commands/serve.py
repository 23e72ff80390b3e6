"""`feedsvc serve`: serve the feeds and refresh them on schedule until SIGINT/SIGTERM; the config file is
watched and SIGHUP reloads it (feedsvc.reload)."""

from __future__ import annotations

import sys

from feedsvc.app import build_app, setup_logging
from feedsvc.commands import EXIT_OK
from feedsvc.config import Config
from feedsvc.reload import POLL_INTERVAL
from feedsvc.web import ConnectionLimits, run_app


def with_address(config: Config, host: str | None = None, port: int | None = None) -> Config:
    """The config listening on `host`/`port` where given (the command line overrides server.*)."""
    overrides: dict[str, object] = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    if not overrides:
        return config
    server = config.server
    if server.public_url and server.public_url.rstrip("/") == f"http://{server.host}:{server.port}":
        overrides["public_url"] = None  # it only spelled out the old address: follow the new one
    return config.model_copy(update={"server": server.model_copy(update=overrides)})


def run(config: Config, *, host: str | None = None, port: int | None = None, replica_id: str | None = None) -> int:
    file_config, config = config, with_address(config, host, port)
    if replica_id is not None:
        config = config.model_copy(update={"cluster": config.cluster.model_copy(update={"replica_id": replica_id})})
    setup_logging()
    app = build_app(config, file_config=file_config, watch=POLL_INTERVAL, sighup=True)
    server = config.server
    limits = ConnectionLimits(idle_timeout=server.idle_timeout.total_seconds(), max_connections=server.max_connections)
    run_app(app, host=server.host, port=server.port, limits=limits,
            on_ready=lambda: print(f"feedsvc serving {server.base_url}/", file=sys.stderr))
    return EXIT_OK
