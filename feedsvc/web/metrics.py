"""GET /metrics (Prometheus text format, by prometheus_client) and the middleware counting requests.

A feed request (`/{site}/{section}.{format}`, by its exact route or the pattern) is counted by format
and status; any other request by its route's pattern and status. A format no renderer knows, and a path only the catch-all route
matches, count under "other": no label value comes from what a client typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client.exposition import choose_encoder

from feedsvc.config import Config
from feedsvc.config.fields import split_allowed_host
from feedsvc.metrics import OTHER, Metrics
from feedsvc.reload import ConfigChange
from feedsvc.render import FORMATS
from feedsvc.web.representation import SERVER

METRICS = web.AppKey("feedsvc.metrics", Metrics)
FEED_ROUTE = "/{site}/{section}.{fmt}"
_CATCH_ALL = "/{tail}"  # the canonical form of make_app's last route, "/{tail:.*}"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _hosts(config: Config) -> list[str]:
    """Every host label value: the sites' hosts and their `*.domain` allowed_hosts entries."""
    wildcards = (f"*.{domain}" for site in config.sites.values()
                 for domain, _, wild in map(split_allowed_host, site.allowed_hosts) if wild)
    return [*(host for site in config.sites.values() for host in site.hosts()), *wildcards]


def metrics_for(config: Config) -> Metrics:
    """A new registry of every metric, its host label bounded by the configured sites' hosts."""
    return Metrics(_hosts(config), ((ref.site_name, ref.name) for ref in config.section_refs()))


def follow_config(metrics: Metrics) -> Callable[[ConfigChange], None]:
    """A LiveConfig listener: after a reload the host and section labels are the new config's."""

    def follow(change: ConfigChange) -> None:
        metrics.follow(_hosts(change.new), added=[(ref.site_name, ref.name) for ref in change.added],
                       removed=[(ref.site_name, ref.name) for ref in change.removed])

    return follow


def request_counter(metrics: Metrics, feed_routes: Mapping[web.AbstractResource, str]) -> Middleware:
    """An aiohttp middleware counting every request, once, by its answer's status. `feed_routes` are
    the exact feed paths' resources with their formats (read when each is first seen: fill it as the
    routes are added)."""
    counts = metrics.requests
    feeds, routes, first = counts.feeds, counts.routes, counts.first
    known = frozenset(FORMATS)
    # Where each route's requests count and under which label, found once: afterwards one dict lookup
    # by the resource object (bounded: the route table's; None for aiohttp's own 404/405 answers).
    # None for the feed pattern route, whose format comes from the request's match.
    labels: dict[web.AbstractResource | None, tuple[dict[tuple[str, int], int], str] | None] = {}

    def label_of(resource: web.AbstractResource | None) -> tuple[dict[tuple[str, int], int], str] | None:
        if resource is not None and resource in feed_routes:
            found: tuple[dict[tuple[str, int], int], str] | None = (feeds, feed_routes[resource])
        else:
            pattern = resource.canonical if resource is not None else OTHER
            found = None if pattern == FEED_ROUTE else (routes, OTHER if pattern == _CATCH_ALL else pattern)
        labels[resource] = found
        return found

    def count(request: web.Request, status: int) -> None:
        info = request.match_info
        resource = info.route.resource
        try:
            found = labels[resource]
        except KeyError:
            found = label_of(resource)
        if found is None:
            fmt = info.get("fmt", "")
            where, key = feeds, (fmt if fmt in known else OTHER, status)
        else:
            where, key = found[0], (found[1], status)
        try:
            where[key] += 1
        except KeyError:
            first(where, key)

    @web.middleware
    async def counted(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            count(request, exc.status)
            raise
        except Exception:
            count(request, 500)
            raise
        count(request, response.status)
        return response

    return counted


def metrics_view(metrics: Metrics) -> Handler:
    """The GET /metrics handler: the app's registry in the Prometheus text format."""

    async def exposition(request: web.Request) -> web.Response:
        # The format the scraper's Accept asks for (Prometheus text or OpenMetrics), as the library picks it.
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(metrics.registry), headers={
            "Content-Type": content_type, "Cache-Control": "no-store", "Server": SERVER})

    return exposition
