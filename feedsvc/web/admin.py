"""The admin API, present only when `server.admin_token` is set: `POST /admin/refresh/{site}[/{section}]`
queues a refresh now and answers 202 with what was queued; `POST /admin/reload` reads the config file
again and answers with what changed (200) or the file's errors (422). A bearer token, compared in
constant time, guards it; without one a request is refused with 401 and never learns whether the site exists.

The web room does not import the scheduler: the wiring puts whatever runs sections (a `RefreshQueue`)
into `app[REFRESH_QUEUE].queue` once it has started it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from feedsvc.errors import ConfigError, NotFound
from feedsvc.reload import LiveConfig
from feedsvc.web.representation import SERVER

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RefreshQueue(Protocol):
    async def run_now(self, keys: list[str], *, force: bool = False) -> dict[str, str]:
        """Queue an immediate run of each `site/section` key; per key what happened."""
        ...


class QueueSlot:
    """Where the wiring puts the running scheduler (None while it is not running, or scheduling is off)."""

    def __init__(self) -> None:
        self.queue: RefreshQueue | None = None
        self.replica: str | None = None  # which replica answers (it runs what it queues, under the site's lease)


REFRESH_QUEUE = web.AppKey("feedsvc.refresh_queue", QueueSlot)


def _answer(status: int, body: dict[str, object], **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers={"Server": SERVER, "Cache-Control": "no-store", **headers})


class AdminViews:
    """The admin routes over the live config and its token (a restart changes it); `add_routes` adds
    nothing without a token."""

    def __init__(self, live: LiveConfig):
        self.live = live
        token = live.current.server.admin_token
        self.token = token.get_secret_value().encode() if token is not None else None

    def add_routes(self, app: web.Application, *, not_found: Handler) -> None:
        """The admin routes; without a token `not_found` answers there, as on any unknown path (and not
        405, which a POST elsewhere gets from the catch-all GET route)."""
        if self.token is None:
            app.router.add_post("/admin/{tail:.*}", not_found)
            return
        app[REFRESH_QUEUE] = QueueSlot()
        app.router.add_post("/admin/refresh/{site}", self.refresh)
        app.router.add_post("/admin/refresh/{site}/{section}", self.refresh)
        app.router.add_post("/admin/reload", self.reload)

    def _authorized(self, request: web.Request) -> bool:
        assert self.token is not None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # compare_digest on bytes: its time does not depend on where the first wrong byte is.
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token)

    def _refused(self, request: web.Request) -> web.Response | None:
        if self._authorized(request):
            return None
        return _answer(401, {"error": "a valid 'Authorization: Bearer <admin token>' is required"},
                       **{"WWW-Authenticate": 'Bearer realm="feedsvc admin"'})

    async def refresh(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        site, section = request.match_info["site"], request.match_info.get("section")
        try:
            refs = self.live.current.lookup(site, section)
        except NotFound as exc:
            return _answer(404, {"error": str(exc)})
        queue = request.app[REFRESH_QUEUE].queue
        if queue is None:
            return _answer(503, {"error": "the scheduler is not running in this process"})
        force = request.query.get("force", "") in ("1", "true", "yes")
        outcomes = await queue.run_now([ref.key for ref in refs], force=force)
        sections = [{"site": ref.site_name, "section": ref.name, "outcome": outcomes[ref.key]} for ref in refs]
        return _answer(202, {"queued": [f"{s['site']}/{s['section']}" for s in sections
                                        if s["outcome"] == "queued"], "sections": sections,
                             "replica": request.app[REFRESH_QUEUE].replica})

    async def reload(self, request: web.Request) -> web.Response:
        """Read the config file now: 200 with the sections added, removed and changed (and the keys that
        wait for a restart), or 422 with the file's errors while the running config is kept."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            result = await self.live.reload("POST /admin/reload")
        except ConfigError as exc:  # not read from a file: nothing to reload
            return _answer(409, {"outcome": "unavailable", "error": str(exc)})
        if result.change is None:
            return _answer(422, {"outcome": result.outcome, "errors": list(result.errors),
                                 "file": str(self.live.path)})
        return _answer(200, {"outcome": result.outcome, "file": str(self.live.path), **result.change.summary()})
