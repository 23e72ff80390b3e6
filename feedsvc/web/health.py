"""Health routes for monitors: `/healthz` (alive), `/readyz` (config loaded, store answering) and
`/status.json` (every section's refresh state and one overall ok | degraded | failing).

None of them is ever cached (Cache-Control: no-store): a monitor must see now, not a proxy's copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from feedsvc.clock import Clock
from feedsvc.errors import FeedsvcError
from feedsvc.reload import LiveConfig
from feedsvc.section_status import SectionReport, StatusReport, read_status
from feedsvc.store import Store
from feedsvc.web.representation import SERVER

HEADERS = {"Cache-Control": "no-store", "Server": SERVER}


def iso(when: datetime | None) -> str | None:
    """ISO 8601 with its zone (the store's times are UTC: `+00:00`), or None."""
    return when.isoformat() if when is not None else None


def seconds(span: timedelta | None) -> float | None:
    return round(span.total_seconds(), 3) if span is not None else None


def section_json(report: SectionReport, now: datetime) -> dict[str, Any]:
    return {
        "site": report.site,
        "section": report.section,
        "status": report.status,
        "last_attempt": iso(report.last_attempt),
        "last_success": iso(report.last_success),
        "age_seconds": round((now - report.last_success).total_seconds()) if report.last_success else None,
        "next_due": iso(report.next_due),
        "consecutive_failures": report.consecutive_failures,
        "entries_stored": report.entries_stored,
        "last_error": report.last_error,
        "last_duration_seconds": seconds(report.last_duration),
        "deferred_until": iso(report.deferred_until),
        "refreshed_by": report.refreshed_by,
    }


def config_json(live: LiveConfig) -> dict[str, Any]:
    """The config file's state: when it was last applied, its errors while it is invalid (the running
    config is then the previous one), and the keys it changed that wait for a restart."""
    return {
        "file": str(live.path) if live.path else None,
        "loaded_at": iso(live.loaded_at),
        "valid": not live.errors,
        "errors": list(live.errors),
        "errors_since": iso(live.errors_at),
        "needs_restart": list(live.needs_restart),
    }


def status_json(report: StatusReport, live: LiveConfig | None = None) -> dict[str, Any]:
    """The `/status.json` document: sections keyed `site/section`, in config order; `config` the file's state."""
    doc = {
        "status": report.status,
        "now": iso(report.now),
        "counts": report.counts(),
        "sections": {s.key: section_json(s, report.now) for s in report.sections},
    }
    if live is not None:
        doc["config"] = config_json(live)
    return doc


class HealthViews:
    """The three routes over the live config and one store; `clock` says what now is."""

    def __init__(self, live: LiveConfig, store: Store, clock: Clock,
                 signal: Callable[[], dict[str, str | None] | None] | None = None):
        self.signal = signal  # the store's change signal's state, shown by /readyz
        self.live = live
        self.store = store
        self.clock = clock

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.alive)
        app.router.add_get("/readyz", self.ready)
        app.router.add_get("/status.json", self.status)

    async def alive(self, request: web.Request) -> web.Response:
        """200 whenever the process answers: liveness only, nothing is read."""
        return web.json_response({"status": "alive"}, headers=HEADERS)

    async def ready(self, request: web.Request) -> web.Response:
        """200 when the store answers a query (the config is loaded: the app exists); 503 with why not.
        With a change signal (PostgreSQL), `change_signal` says whether it listens: a lost one does not
        make the replica unready, as it polls the store's revisions until the signal is back."""
        signal = self.signal() if self.signal is not None else None
        extra = {"change_signal": signal} if signal is not None else {}
        try:
            await self.store.section_states()
        except FeedsvcError as exc:
            return web.json_response({"status": "unready", "reason": f"store not answering: {exc}", **extra},
                                     status=503, headers=HEADERS)
        return web.json_response({"status": "ready", **extra}, headers=HEADERS)

    async def status(self, request: web.Request) -> web.Response:
        """Every section's state and the overall status; 503 (status failing) when the store cannot answer."""
        try:
            report = await read_status(self.live.current.section_refs(), self.store, self.clock())
        except FeedsvcError as exc:
            return web.json_response({"status": "failing", "error": f"store not answering: {exc}"},
                                     status=503, headers=HEADERS)
        return web.json_response(status_json(report, self.live), headers=HEADERS)
