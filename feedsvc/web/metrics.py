"""GET /metrics (Prometheus text format, by prometheus_client) and the middleware counting requests.

A feed request (`/{site}/{section}.{format}`) is counted by format and status; any other request by
its route's pattern and status. A format no renderer knows, and a path only the catch-all route
matches, count under "other": no label value comes from what a client typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
_FEED = "\0feed"  # the label of the feed route, compared by identity (no pattern looks like it)

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


def request_counter(metrics: Metrics) -> Middleware:
    """An aiohttp middleware counting every request, once, by its answer's status."""
    counts = metrics.requests
    feeds, routes, first = counts.feeds, counts.routes, counts.first
    known = frozenset(FORMATS)
    # Each route's label, found from its pattern once: afterwards one dict lookup by the resource
    # object (bounded: the route table's resources; None for aiohttp's own 404/405 answers).
    labels: dict[web.AbstractResource | None, str] = {}

    def label_of(resource: web.AbstractResource | None) -> str:
        pattern = resource.canonical if resource is not None else OTHER
        label = labels[resource] = _FEED if pattern == FEED_ROUTE else OTHER if pattern == _CATCH_ALL else pattern
        return label

    def count(request: web.Request, status: int) -> None:
        info = request.match_info
        resource = info.route.resource
        try:
            label = labels[resource]
        except KeyError:
            label = label_of(resource)
        if label is _FEED:
            fmt = info.get("fmt", "")
            key = (fmt if fmt in known else OTHER, status)
            try:
                feeds[key] += 1
            except KeyError:
                first(feeds, key)
        else:
            key = (label, status)
            try:
                routes[key] += 1
            except KeyError:
                first(routes, key)

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
