"""The service's Prometheus metrics, each defined once, in one registry per `Metrics` (per app).

Label values come from the config or from small fixed sets, never from a request or a page: site,
section and host are the configured ones (an unconfigured host counts as "other"), a feed format is
one the renderers know, a route is a pattern of the route table. So the number of series is bounded
by the config, whatever clients ask for or upstream pages link to.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from datetime import datetime
from importlib import metadata

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, Metric

from feedsvc.model import RefreshReport

OTHER = "other"  # the one label value for anything outside the configured or known set

# Refreshes take from a 304 answered in milliseconds to a section deadline of minutes.
_REFRESH_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# The scheduler starts a job within milliseconds unless the loop is blocked or the machine slept.
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300)
# A render is a feed of at most a few hundred entries: milliseconds.
_RENDER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)


def status_class(status: int | None) -> str:
    """"2xx" … "5xx" for an HTTP status; "error" when no answer came (timeout, refused, reset)."""
    if status is None or not 100 <= status <= 599:
        return "error"
    return f"{status // 100}xx"


OUTCOMES = ("ok", "not_modified", "failed")
CONFIG_OUTCOMES = ("ok", "invalid")
WEBSUB_OUTCOMES = ("sent", "failed")


def _section_series(m: Metrics) -> list[tuple[Counter | Gauge | Histogram, tuple[str, ...]]]:
    """Every per-section family, with the values its one label after site and section takes (or none)."""
    return [(m.refreshes, OUTCOMES), (m.refresh_duration, ()), (m.last_success, ()), (m.consecutive_failures, ()),
            (m.articles, ("extracted", "failed")), (m.entries_stored, ("inserted", "updated"))]


class RequestCounts:
    """The per-request counters, as plain integers a collector exports when scraped.

    A prometheus_client `Counter` takes a lock on every `inc()` (and `labels()` another, with checks of
    its arguments): on the serving path that is a noticeable part of answering a cached feed
    (bench/serve.py --instructions). These counts are only ever changed on the event loop's thread, so
    `+= 1` needs no lock; a scrape (on the same thread) reads them whole. The keys are bounded as the
    labels are: a known format or "other", a route pattern, a status feedsvc answers with.
    """

    def __init__(self) -> None:
        self.feeds: dict[tuple[str, int], int] = {}  # (format, status) -> requests
        self.routes: dict[tuple[str, int], int] = {}  # (route pattern, status) -> requests
        self.cache_hits = 0
        self.cache_misses = 0
        self.created = time.time()
        # When each labelled series was first counted, by the dict it is counted in.
        self._created: dict[tuple[int, str, int], float] = {}

    def first(self, counts: dict[tuple[str, int], int], key: tuple[str, int]) -> None:
        """Count the first request of a series (`counts[key] += 1` raised KeyError)."""
        counts[key] = 1
        self._created[(id(counts), *key)] = time.time()

    def collect(self) -> Iterator[Metric]:
        """The families as a prometheus_client collector yields them (`registry.register(self)`)."""
        for name, doc, label, counts in (
                ("feedsvc_feed_requests", "Requests for /{site}/{section}.{format} by format and HTTP status.",
                 "format", self.feeds),
                ("feedsvc_http_requests", "Requests for anything but a feed, by route pattern and HTTP status.",
                 "route", self.routes)):
            family = CounterMetricFamily(name, doc, labels=[label, "status"])
            for (value, status), n in sorted(counts.items()):
                family.add_metric([value, str(status)], n, created=self._created.get((id(counts), value, status)))
            yield family
        yield CounterMetricFamily("feedsvc_feed_cache_hits", "Feed requests answered from a rendering already "
                                  "cached.", value=self.cache_hits, created=self.created)
        yield CounterMetricFamily("feedsvc_feed_cache_misses", "Feed requests that had to wait for a rendering.",
                                  value=self.cache_misses, created=self.created)


def refresh_outcome(report: RefreshReport) -> str:
    """"failed", "not_modified" (the list page answered 304) or "ok"."""
    if not report.ok:
        return "failed"
    return "not_modified" if report.list_not_modified else "ok"


class Metrics:
    """Every metric of one service instance; `registry` is what GET /metrics exposes.

    `hosts` are the upstream hosts the config allows (each site's `hosts()`, and its `*.domain`
    allowed_hosts entries, under which a subdomain counts): the only values the host label takes
    besides "other". Each of `sections` (site, section) has its refresh series from
    the start, at 0, so that `increase()` and alerts see a section that never refreshed."""

    def __init__(self, hosts: Iterable[str] = (), sections: Iterable[tuple[str, str]] = (), *,
                 version: str | None = None):
        self.hosts = frozenset(h.lower() for h in hosts)
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.refreshes = Counter(
            "feedsvc_refreshes", "Section refreshes by outcome (ok, not_modified, failed).",
            ["site", "section", "outcome"], registry=registry)
        self.refresh_duration = Histogram(
            "feedsvc_refresh_duration_seconds", "Time one section's refresh took, start to stored.",
            ["site", "section"], buckets=_REFRESH_BUCKETS, registry=registry)
        self.last_success = Gauge(
            "feedsvc_last_success_timestamp_seconds",
            "When each section last refreshed successfully (Unix time), as seen by this process.",
            ["site", "section"], registry=registry)
        self.consecutive_failures = Gauge(
            "feedsvc_section_consecutive_failures",
            "Refreshes of each section that failed in a row, as seen by this process (0 after a success).",
            ["site", "section"], registry=registry)
        self.scheduler_lag = Histogram(
            "feedsvc_scheduler_lag_seconds", "How late a scheduled refresh started after its planned time "
            "(due time plus jitter): a busy event loop or a suspended machine.",
            buckets=_LAG_BUCKETS, registry=registry)
        self.upstream_requests = Counter(
            "feedsvc_upstream_requests", "HTTP requests sent to sites (robots.txt, redirects and retries "
            "included) by status class; \"error\" when no answer came.",
            ["host", "status_class"], registry=registry)
        self.upstream_bytes = Counter(
            "feedsvc_upstream_bytes", "Body bytes read from sites.", ["host"], registry=registry)
        self.articles = Counter(
            "feedsvc_articles", "Article pages a refresh read: extracted into an entry, or failed "
            "(fetch or extraction; the entry keeps the list's text and the article is read again).",
            ["site", "section", "outcome"], registry=registry)
        self.entries_stored = Counter(
            "feedsvc_entries_stored", "Entries written to the store by refreshes: inserted or updated.",
            ["site", "section", "change"], registry=registry)
        self.render_duration = Histogram(
            "feedsvc_render_duration_seconds", "Time to render (and gzip) one feed or filtered view.",
            ["format"], buckets=_RENDER_BUCKETS, registry=registry)
        self.websub_publishes = Counter(
            "feedsvc_websub_publish", "Feed URLs published to the WebSub hub: sent (the hub took it) or failed "
            "(given up after its attempts, or refused).", ["outcome"], registry=registry)
        for outcome in WEBSUB_OUTCOMES:
            self.websub_publishes.labels(outcome)
        self.feed_cache_bytes = Gauge(
            "feedsvc_feed_cache_bytes", "Bytes the feed cache holds (rendered feeds in both encodings, views and "
            "the entries they came from; roughly), within server.feed_cache_bytes.", registry=registry)
        self.feed_cache_entries = Gauge(
            "feedsvc_feed_cache_entries", "Renderings, views and section snapshots the feed cache holds.",
            registry=registry)
        self.feed_cache_evictions = Counter(
            "feedsvc_feed_cache_evictions", "Renderings, views and section snapshots dropped to stay within "
            "server.feed_cache_bytes (rendered again from the store when next asked for).", registry=registry)
        self.change_signal_up = Gauge(
            "feedsvc_change_signal_up", "1 while the store's change signal (PostgreSQL LISTEN) is listening; 0 "
            "while it is lost (store revisions are polled meanwhile) and on SQLite (no signal: polled).",
            registry=registry)
        self.change_signal_losses = Counter(
            "feedsvc_change_signal_losses", "Times the store's change signal was lost (then re-established).",
            registry=registry)
        self.config_reloads = Counter(
            "feedsvc_config_reloads", "Config reloads (file changed, SIGHUP, POST /admin/reload) by outcome: "
            "ok (applied) or invalid (nothing changed, the old config keeps running).", ["outcome"], registry=registry)
        self.config_last_reload_ok = Gauge(
            "feedsvc_config_last_reload_successful", "1 when the config file last read was valid, 0 while "
            "it is invalid.", registry=registry)
        self.config_last_reload_time = Gauge(
            "feedsvc_config_last_reload_success_timestamp_seconds", "When the config was last loaded or "
            "reloaded successfully (Unix time).", registry=registry)
        for outcome in CONFIG_OUTCOMES:
            self.config_reloads.labels(outcome)
        self.config_last_reload_ok.set(1)
        self.config_last_reload_time.set(time.time())
        self.requests = RequestCounts()
        registry.register(self.requests)
        build = Info("feedsvc_build", "The running feedsvc's version and Python.", registry=registry)
        build.info({"version": version or _version(), "python": platform.python_version()})
        # Which replica this is (one series per process) and how many sites it holds the lease of now.
        self.replica_info = Info("feedsvc_replica", "This replica's id (cluster.replica_id).", registry=registry)
        self.site_leases = Gauge("feedsvc_site_leases_held", "Sites whose refresh lease this replica holds now "
                                 "(it alone fetches from them).", registry=registry)
        self.follow(self.hosts, added=sections)

    def replica(self, replica_id: str) -> None:
        self.replica_info.info({"replica": replica_id})

    def follow(self, hosts: Iterable[str], *, added: Iterable[tuple[str, str]] = (),
               removed: Iterable[tuple[str, str]] = ()) -> None:
        """The configured hosts and sections after a (re)load: added sections' series start at 0 and
        removed ones' go, so no series lingers for a section no longer configured."""
        self.hosts = frozenset(h.lower() for h in hosts)
        self._wildcards = tuple(sorted((h[1:] for h in self.hosts if h.startswith("*.")), key=len, reverse=True))
        for site, section in added:
            for outcome in OUTCOMES:
                self.refreshes.labels(site, section, outcome)
            self.consecutive_failures.labels(site, section)
        for site, section in removed:
            for family, values in _section_series(self):
                for value in values or (None,):
                    with suppress(KeyError):  # older prometheus-client raises for a series never made
                        family.remove(site, section, *(() if value is None else (value,)))

    def config_reloaded(self, outcome: str, when: datetime) -> None:
        """Count one config reload ("ok" or "invalid"; LiveConfig's on_outcome)."""
        self.config_reloads.labels(outcome).inc()
        self.config_last_reload_ok.set(1 if outcome == "ok" else 0)
        if outcome == "ok":
            self.config_last_reload_time.set(when.timestamp())

    # -- hooks: plain calls, handed to the rooms that see the events ----------------------------------

    def refreshed(self, report: RefreshReport) -> None:
        """Count one finished refresh (SectionRefresher's on_report)."""
        site, section = report.site, report.section
        self.refreshes.labels(site, section, refresh_outcome(report)).inc()
        seconds = (report.finished - report.started).total_seconds()
        self.refresh_duration.labels(site, section).observe(max(0.0, seconds))
        if report.ok:
            self.last_success.labels(site, section).set(report.finished.timestamp())
            self.consecutive_failures.labels(site, section).set(0)
        else:
            self.consecutive_failures.labels(site, section).inc()
        self.articles.labels(site, section, "extracted").inc(report.articles_fetched)
        self.articles.labels(site, section, "failed").inc(report.articles_failed)
        self.entries_stored.labels(site, section, "inserted").inc(report.inserted)
        self.entries_stored.labels(site, section, "updated").inc(report.updated)

    def upstream(self, host: str, status: int | None, body_bytes: int) -> None:
        """Count one request sent to a site (the Fetcher's on_request)."""
        label = self._host_label(host.lower())
        self.upstream_requests.labels(label, status_class(status)).inc()
        if body_bytes:
            self.upstream_bytes.labels(label).inc(body_bytes)

    def _host_label(self, host: str) -> str:
        if host in self.hosts:
            return host
        # A subdomain admitted by `*.domain` counts under that entry: one series per entry, not per host.
        return next((f"*{suffix}" for suffix in self._wildcards if host.endswith(suffix)), OTHER)

    def feed_cache(self, hit: bool) -> None:
        """Count one feed lookup in the render cache (FeedCache's on_lookup)."""
        counts = self.requests
        if hit:
            counts.cache_hits += 1
        else:
            counts.cache_misses += 1

    def watch_feed_cache(self, size: Callable[[], float], count: Callable[[], float]) -> None:
        """Read the feed cache's bytes and entries when scraped (nothing on the serving path)."""
        self.feed_cache_bytes.set_function(size)
        self.feed_cache_entries.set_function(count)

    def feed_cache_evicted(self, n: int) -> None:
        """Count evictions from the feed cache (FeedCache's on_evict)."""
        self.feed_cache_evictions.inc(n)

    def change_signal(self, up: bool) -> None:
        """The store's change signal went up or down (FeedCache's on_signal)."""
        self.change_signal_up.set(1 if up else 0)
        if not up:
            self.change_signal_losses.inc()

    def rendered(self, fmt: str, seconds: float) -> None:
        """Observe one render (FeedCache's on_render)."""
        self.render_duration.labels(fmt).observe(seconds)

    def websub_published(self, outcome: str) -> None:
        """Count one feed URL published to the hub, "sent" or "failed" (WebSubPublisher's on_ping)."""
        self.websub_publishes.labels(outcome).inc()


def _version() -> str:
    try:
        return metadata.version("feedsvc")
    except metadata.PackageNotFoundError:
        return "unknown"
