"""GET /metrics through HTTP against the real service: refreshes of the fixture site move the refresh,
article, entry and upstream counters with the configured labels; feed requests are counted by format
and status (200, 304, 404, 400) and cache hits/misses and renders with them; no label value comes
from a URL or query string. The exposition is read back with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from feedsvc.app import build_app
from feedsvc.config import Config
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.store import open_store
from feedsvc.web import make_app
from feedsvc.web.metrics import METRICS
from tests.support import NOW, REPO
from tests.support.news_site import HOST, make_config

Labels = dict[str, str]


def samples(text: str) -> list[tuple[str, Labels, float]]:
    """Every sample of an exposition: (name, labels, value)."""
    return [(s.name, dict(s.labels), s.value)
            for family in text_string_to_metric_families(text) for s in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
    return sum(v for n, found, v in samples(text) if n == name and labels.items() <= found.items())


async def scrape(client: TestClient[Any, Any]) -> str:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return await resp.text()


@pytest.fixture
async def service(site, tmp_path) -> AsyncIterator[tuple[Any, TestClient[Any, Any]]]:
    """The whole service (scheduler on) over the fixture site: (the site's state, a client)."""
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    app = build_app(config, resolver=StaticResolver({HOST: ("127.0.0.1", port)}),
                    spread=timedelta(seconds=0.01), clock=lambda: NOW)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield fixture, client


async def refreshed(client: TestClient[Any, Any], count: int) -> str:
    """The exposition once `count` refreshes are counted (bounded wait for the scheduler)."""
    for _ in range(300):
        text = await scrape(client)
        if value(text, "feedsvc_refreshes_total") >= count:
            return text
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} refreshes counted:\n{text}")


async def test_refresh_moves_refresh_article_entry_and_upstream_counters(service):
    fixture, client = service
    text = await refreshed(client, 2)
    for section, articles in (("a", 4), ("b", 3)):
        assert value(text, "feedsvc_refreshes_total", site="news", section=section, outcome="ok") == 1
        assert value(text, "feedsvc_refresh_duration_seconds_count", site="news", section=section) == 1
        assert value(text, "feedsvc_articles_total", site="news", section=section, outcome="extracted") == articles
        assert value(text, "feedsvc_articles_total", site="news", section=section, outcome="failed") == 0
        assert value(text, "feedsvc_entries_stored_total", site="news", section=section,
                     change="inserted") == articles
        assert value(text, "feedsvc_last_success_timestamp_seconds", site="news",
                     section=section) == NOW.timestamp()
    # Every request the site saw (robots.txt included) is counted, under the configured host.
    sent = len(fixture.upstream.hits)
    assert sent > 7
    assert value(text, "feedsvc_upstream_requests_total") == sent
    assert value(text, "feedsvc_upstream_requests_total", host=HOST, status_class="2xx") == sent
    assert value(text, "feedsvc_upstream_bytes_total", host=HOST) > 1000
    assert value(text, "feedsvc_build_info") == 1
    assert value(text, "feedsvc_scheduler_lag_seconds_count") == 2
    assert 0 <= value(text, "feedsvc_scheduler_lag_seconds_sum") < 5


async def test_a_failing_section_counts_a_failed_refresh_and_its_5xx_answers(site, tmp_path):
    fixture, port = site
    fixture.modes["a"] = "5xx"
    config = make_config(port, str(tmp_path / "f.db"))
    app = build_app(config, resolver=StaticResolver({HOST: ("127.0.0.1", port)}),
                    spread=timedelta(seconds=0.01), clock=lambda: NOW)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        text = await refreshed(client, 2)
    assert value(text, "feedsvc_refreshes_total", section="a", outcome="failed") == 1
    assert value(text, "feedsvc_refreshes_total", section="a", outcome="ok") == 0
    assert value(text, "feedsvc_refreshes_total", section="b", outcome="ok") == 1
    assert value(text, "feedsvc_last_success_timestamp_seconds", section="a") == 0
    assert value(text, "feedsvc_section_consecutive_failures", section="a") == 1
    assert value(text, "feedsvc_section_consecutive_failures", section="b") == 0
    # retries=1: the list page was asked twice, both answered 502.
    assert value(text, "feedsvc_upstream_requests_total", host=HOST, status_class="5xx") == 2


async def test_an_unconfigured_host_counts_as_other(site, tmp_path):
    """A redirect target the config allows nowhere is never a label value (nor is it fetched)."""
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    app = build_app(config, resolver=StaticResolver({HOST: ("127.0.0.1", port)}), schedule=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        metrics = app[METRICS]
        metrics.upstream("cdn.elsewhere.example", None, 0)
        metrics.upstream(HOST.upper(), 200, 10)
        text = await scrape(client)
    assert value(text, "feedsvc_upstream_requests_total", host="other", status_class="error") == 1
    assert value(text, "feedsvc_upstream_requests_total", host=HOST, status_class="2xx") == 1
    assert "elsewhere" not in text


async def test_a_subdomain_counts_under_its_wildcard_entry(site, tmp_path):
    """Hosts admitted by `*.domain` share that entry's label: bounded by the config, never per host."""
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    news = config.sites["news"].model_copy(update={"allowed_hosts": ["*.portal.example", "*.cdn.example:8080"]})
    config = config.model_copy(update={"sites": {"news": news}})
    app = build_app(config, resolver=StaticResolver({HOST: ("127.0.0.1", port)}), schedule=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        metrics = app[METRICS]
        metrics.upstream("city.portal.example", 200, 10)
        metrics.upstream("News.Portal.Example", 404, 0)
        metrics.upstream("img.cdn.example", 200, 5)
        metrics.upstream("portal.example", 200, 0)  # the domain itself is not under its wildcard
        text = await scrape(client)
    assert value(text, "feedsvc_upstream_requests_total", host="*.portal.example") == 2
    assert value(text, "feedsvc_upstream_bytes_total", host="*.portal.example") == 10
    assert value(text, "feedsvc_upstream_requests_total", host="*.cdn.example") == 1
    assert value(text, "feedsvc_upstream_requests_total", host="other") == 1
    assert "city.portal" not in text and "img.cdn" not in text


@pytest.fixture
async def web_client(tmp_path) -> AsyncIterator[TestClient[Any, Any]]:
    """The web app alone over a real (empty) SQLite store of the fixture site's config."""
    config: Config = make_config(1, str(tmp_path / "w.db"))
    store = open_store(config.store.url)
    await store.open()
    try:
        async with TestClient(TestServer(make_app(config, store), host="127.0.0.1")) as client:
            yield client
    finally:
        await store.close()


async def test_feed_requests_are_counted_by_format_and_status(web_client):
    client = web_client
    first = await client.get("/news/a.rss")
    assert first.status == 200
    assert (await client.get("/news/a.rss")).status == 200
    etag = first.headers["ETag"]
    assert (await client.get("/news/a.rss", headers={"If-None-Match": etag})).status == 304
    assert (await client.get("/news/a.atom")).status == 200
    assert (await client.get("/news/nosuch.json")).status == 404
    assert (await client.get("/news/a.xml")).status == 404
    assert (await client.get("/news/a.rss?limit=secret-word")).status == 400
    assert (await client.get("/no/such/path?token=secret-word")).status == 404
    assert (await client.get("/healthz")).status == 200
    text = await scrape(client)

    assert value(text, "feedsvc_feed_requests_total", format="rss", status="200") == 2
    assert value(text, "feedsvc_feed_requests_total", format="rss", status="304") == 1
    assert value(text, "feedsvc_feed_requests_total", format="rss", status="400") == 1
    assert value(text, "feedsvc_feed_requests_total", format="atom", status="200") == 1
    assert value(text, "feedsvc_feed_requests_total", format="json", status="404") == 1
    assert value(text, "feedsvc_feed_requests_total", format="other", status="404") == 1
    assert value(text, "feedsvc_http_requests_total", route="other", status="404") == 1
    assert value(text, "feedsvc_http_requests_total", route="/healthz", status="200") == 1
    # The cache: each format's first request renders (a miss), the rss repeats are hits.
    assert value(text, "feedsvc_feed_cache_misses_total") == 2
    assert value(text, "feedsvc_feed_cache_hits_total") == 2
    assert value(text, "feedsvc_render_duration_seconds_count", format="rss") == 1
    assert value(text, "feedsvc_render_duration_seconds_count", format="atom") == 1
    # No label carries what a client typed.
    assert "secret-word" not in text and "nosuch" not in text and "xml" not in text
    labels = {v for _, found, _ in samples(text) for v in found.values()}
    assert not any("/no/" in v or "?" in v for v in labels)


async def test_a_scraper_asking_for_openmetrics_gets_it(web_client):
    assert (await web_client.get("/news/a.rss")).status == 200
    resp = await web_client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    text = await resp.text()
    assert text.rstrip().endswith("# EOF") and "feedsvc_build_info" in text
    # The request counts (plain integers behind a collector) as counters, with when each series began.
    assert "# TYPE feedsvc_feed_requests counter" in text
    assert 'feedsvc_feed_requests_total{format="rss",status="200"} 1.0' in text
    created = re.search(r'^feedsvc_feed_requests_created\{format="rss",status="200"\} (\S+)$', text, re.M)
    assert created and abs(float(created.group(1)) - time.time()) < 600, text
    assert "feedsvc_feed_cache_misses_total 1.0" in text
    assert resp.headers["Cache-Control"] == "no-store"


async def test_each_app_has_its_own_registry(web_client, tmp_path):
    assert (await web_client.get("/news/a.rss")).status == 200
    config = make_config(1, str(tmp_path / "other.db"))
    store = open_store(config.store.url)
    await store.open()
    try:
        async with TestClient(TestServer(make_app(config, store), host="127.0.0.1")) as other:
            text = await scrape(other)
    finally:
        await store.close()
    assert value(text, "feedsvc_feed_requests_total") == 0
    assert value(await scrape(web_client), "feedsvc_feed_requests_total", format="rss") == 1


ALERTS = REPO / "deploy" / "alerts.yml"
ALERT_TESTS = REPO / "tests" / "fixtures" / "alerts.test.yml"
# Metrics the rules read that Prometheus itself (up) or blackbox_exporter (probe_success) makes.
EXTERNAL = {"up", "probe_success"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: its identifiers, less label matchers, strings,
    ranges, function calls and keywords."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings first: they may hold braces
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    names = set(re.findall(r"(?<![\w.])([A-Za-z_:][\w:]*)\b(?!\s*\()", bare))
    return {n for n in names if n.lower() not in PROMQL_WORDS}


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert set(doc) == {"groups"}
    assert all(set(group) == {"name", "rules"} and group["name"] for group in doc["groups"])
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_metric_names_reads_identifiers_only():
    expr = 'sum by (instance) (increase(x_total{a="b}"}[1h])) == 0 and on(a) rate(y[5m]) > bool 2'
    assert metric_names(expr) == {"x_total", "y"}


def test_alert_rules_are_well_formed():
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {"FeedsvcSectionFailing", "FeedsvcNothingRefreshed", "FeedsvcNotReady"}
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description"} <= set(rule["annotations"])


async def test_every_metric_the_alert_rules_read_is_exposed(web_client):
    """A section that never refreshed already has the series the alerts read (at 0)."""
    used = set().union(*(metric_names(rule["expr"]) for rule in alert_rules())) - EXTERNAL
    assert used, "the rules read no feedsvc metric"
    exposed = {name for name, _, _ in samples(await scrape(web_client))}
    assert used <= exposed, used - exposed


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)")
def test_promtool_checks_the_alert_rules_and_their_unit_tests():
    check = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(["promtool", "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent,
                          capture_output=True, text=True)
    assert unit.returncode == 0, unit.stdout + unit.stderr
