"""WebSub: the real service refreshing the news fixture site advertises a fixture hub on 127.0.0.1 in
every feed and Link header, and publishes to it once per changed section per refresh, never for an
unchanged one; a failing hub never fails a refresh. The publisher's retries, timeouts and shutdown
are tried against the same fixture hub. Without a hub nothing of this appears.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from feedsvc.app import build_app
from feedsvc.config import Config, load_config
from feedsvc.errors import ConfigError
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.store import open_store
from feedsvc.web import make_app
from feedsvc.web.metrics import METRICS
from feedsvc.web.representation import link_header
from feedsvc.websub import WebSubPublisher, topic_urls
from tests.support import until
from tests.support.command import feedsvc, write_config
from tests.support.news_site import HOST, FixtureSite, article_links, make_config
from tests.support.upstream import serving

PUBLIC = "http://feeds.example.org"
FORMATS = ("rss", "atom", "json")


@dataclass
class Ping:
    mode: str
    urls: list[str]
    content_type: str
    user_agent: str


@dataclass
class FixtureHub:
    """A WebSub hub that records every POST; `statuses` scripts its answers (then 204 for ever)."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    pings: list[Ping] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.pings.append(Ping(str(form.get("hub.mode")), [str(v) for v in form.getall("hub.url", [])],
                               request.content_type, request.headers.get("User-Agent", "")))
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 204)

    def urls(self) -> list[str]:
        return [url for ping in self.pings for url in ping.urls]


@asynccontextmanager
async def running_hub(hub: FixtureHub | None = None) -> AsyncIterator[FixtureHub]:
    hub = hub or FixtureHub()
    app = web.Application()
    app.router.add_post("/hub", hub.handle)
    async with serving(app, access_log=False) as port:
        hub.url = f"http://127.0.0.1:{port}/hub"
        yield hub


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hub"


def service_config(port: int, db: Path, hub: str | None) -> Config:
    """The news fixture site's config, refreshed every second, served at PUBLIC, with `hub` if given."""
    data = make_config(port, str(db)).model_dump(exclude={"source_file"})
    data["server"]["public_url"] = PUBLIC
    data["server"]["websub_hub"] = hub
    data["defaults"]["refresh"] = timedelta(seconds=1)
    data["store"]["max_age_days"] = 36500  # the wall clock is real here; the fixture articles are from 2021
    return Config.model_validate(data)


@asynccontextmanager
async def running_service(config: Config, port: int) -> AsyncIterator[TestClient]:
    app = build_app(config, resolver=StaticResolver({HOST: ("127.0.0.1", port)}), spread=timedelta(seconds=0.05))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client




async def publish_count_at_least(client: TestClient, sent: int) -> bool:
    counts = websub_counts(await (await client.get("/metrics")).text())
    return counts.get("sent", 0) >= sent and counts.get("failed") == 0


def not_modified_lists(site: FixtureSite, section: str) -> int:
    return sum(1 for hit in site.upstream.hits if hit.path == f"/{section}/" and hit.status == 304)


# -- the running service ---------------------------------------------------------------------------

async def test_publishes_once_per_changed_section_per_refresh_and_never_for_an_unchanged_one(site, tmp_path):
    fixture, port = site
    async with running_hub() as hub:
        config = service_config(port, tmp_path / "ws.db", hub.url)
        async with running_service(config, port) as client:
            # First refresh: both sections fill, each is published with its three feed URLs.
            await until(lambda: len(hub.pings) >= 6, "the first refresh's pings")
            # build_app counts each published feed URL in GET /metrics.
            await until(lambda: publish_count_at_least(client, 6), "six publishes counted in /metrics")
            # Then both lists answer 304 (nothing changed)...
            await until(lambda: not_modified_lists(fixture, "a") >= 1 and not_modified_lists(fixture, "b") >= 1,
                        "an unchanged refresh of both sections")
            # ...and section a gets one new article: its next refresh stores it and publishes a again.
            fixture.links["a"] = [*article_links("a", 5)[4:], *fixture.links["a"]]
            await until(lambda: len(hub.pings) >= 9, "the ping for a's new article")
            b_unchanged = not_modified_lists(fixture, "b")
            await until(lambda: not_modified_lists(fixture, "b") >= b_unchanged + 2, "more unchanged refreshes of b")
        # The service is shut down: every ping it started has been sent (close waits for them).
    assert all(p.mode == "publish" and len(p.urls) == 1 for p in hub.pings), hub.pings
    assert all(p.content_type == "application/x-www-form-urlencoded" for p in hub.pings)
    assert all(p.user_agent.startswith("feedsvc/") for p in hub.pings)
    a, b = topic_urls(PUBLIC, "news", "a"), topic_urls(PUBLIC, "news", "b")
    assert a == [f"{PUBLIC}/news/a.{fmt}" for fmt in FORMATS]
    assert sorted(hub.urls()) == sorted(a * 2 + b)
    # The last three pings are a's second refresh; b was refreshed unchanged meanwhile and not published.
    assert sorted(hub.urls()[6:]) == sorted(a)


async def test_feeds_advertise_the_hub_and_themselves(site, tmp_path, atom_rng_path):
    fixture, port = site
    async with running_hub() as hub:
        config = service_config(port, tmp_path / "ws.db", hub.url)
        async with running_service(config, port) as client:
            await until(lambda: len(hub.pings) >= 3, "a section refreshed and published")
            self_urls = {}
            for fmt in FORMATS:
                resp = await client.get(f"/news/a.{fmt}")
                assert resp.status == 200
                body = await resp.read()
                self_url = f"{PUBLIC}/news/a.{fmt}"
                self_urls[fmt] = self_url
                assert resp.headers.getall("Link") == [f'<{hub.url}>; rel="hub", <{self_url}>; rel="self"']
                assert str(resp.links["hub"]["url"]) == hub.url and str(resp.links["self"]["url"]) == self_url
                # A conditional request answered 304 still says where to subscribe.
                again = await client.get(f"/news/a.{fmt}", headers={"If-None-Match": resp.headers["ETag"]})
                assert again.status == 304
                assert again.headers.getall("Link") == resp.headers.getall("Link")
                if fmt == "json":
                    doc = await resp.json(content_type=None)
                    assert doc["hubs"] == [{"type": "WebSub", "url": hub.url}]
                    assert doc["feed_url"] == self_url
                    continue
                parsed = feedparser.parse(body)
                assert not parsed.bozo, parsed.get("bozo_exception")
                links = {(link.rel, link.href) for link in parsed.feed.links}
                assert {("hub", hub.url), ("self", self_url)} <= links, links
                if fmt == "atom":
                    schema = etree.RelaxNG(etree.parse(str(atom_rng_path)))
                    assert schema.validate(etree.fromstring(body)), schema.error_log
            # A filtered view names the same hub and the plain feed it filters as self.
            view = await client.get("/news/a.atom", params={"q": "测试"})
            assert view.status == 200
            assert view.headers["Link"] == f'<{hub.url}>; rel="hub", <{self_urls["atom"]}>; rel="self"'
    # What the hub heard of are exactly the feeds' self URLs.
    assert set(hub.urls()) >= set(self_urls.values())


async def test_without_a_hub_feeds_carry_no_hub_and_nothing_is_published(site, tmp_path):
    fixture, port = site
    async with running_hub() as hub:  # running, but not configured: it must hear nothing
        config = service_config(port, tmp_path / "ws.db", None)
        async with running_service(config, port) as client:
            await until(lambda: fixture.hits.count("/a/") >= 1 and fixture.hits.count("/b/") >= 1, "a refresh")
            store = open_store(config.store.url)
            await store.open()
            try:
                await until(lambda: _has_entries(store, "a"), "entries in section a")
            finally:
                await store.close()
            for fmt in FORMATS:
                resp = await client.get(f"/news/a.{fmt}")
                assert resp.status == 200
                assert "Link" not in resp.headers
                body = await resp.read()
                assert b"hub" not in body
                assert f"{PUBLIC}/news/a.{fmt}".encode() in body  # the self URL is there, as always
    assert hub.pings == []


async def _has_entries(store: Any, section: str) -> bool:
    return bool(await store.entries("news", section))


@pytest.mark.parametrize("hub_kind", ["500", "refused"])
async def test_a_failing_hub_never_fails_a_refresh(site, tmp_path, hub_kind):
    fixture, port = site
    async with running_hub(FixtureHub(statuses=[500] * 100)) as hub:
        hub_url = hub.url if hub_kind == "500" else closed_port_url()
        config = service_config(port, tmp_path / "ws.db", hub_url)
        async with running_service(config, port) as client:
            store = open_store(config.store.url)
            await store.open()
            try:
                await until(lambda: _has_entries(store, "a"), "entries in section a")
                await until(lambda: _has_entries(store, "b"), "entries in section b")
                if hub_kind == "500":
                    await until(lambda: len(hub.pings) >= 6, "the pings the hub refused")
                for section in ("a", "b"):
                    state = await store.section_state("news", section)
                    assert state.last_success is not None and state.consecutive_failures == 0, state
            finally:
                await store.close()
            resp = await client.get("/news/a.json")
            assert resp.status == 200 and (await resp.json(content_type=None))["items"]
            assert resp.headers["Link"].startswith(f"<{hub_url}>")


async def test_the_one_off_refresh_command_never_publishes(site, tmp_path):
    fixture, port = site
    async with running_hub() as hub:
        write_config(tmp_path, port, public_url=PUBLIC, websub_hub=hub.url)
        code, out, err = await feedsvc(tmp_path, "--log-format", "json", "refresh")
        assert code == 0, err
        # Both sections stored new entries, the case a scheduled refresh would publish...
        assert [line.split()[:4] for line in out.splitlines()[1:3]] == [["news/a", "ok", "4", "4"],
                                                                        ["news/b", "ok", "3", "3"]]
        await asyncio.sleep(0.5)  # a ping the command had started would have arrived by now
    # ...and the hub heard nothing: `feedsvc refresh` does not publish (README, "WebSub").
    assert hub.pings == []
    assert "websub" not in err.lower()


def websub_counts(exposition: str) -> dict[str, float]:
    return {sample.labels["outcome"]: sample.value
            for family in text_string_to_metric_families(exposition) if family.name == "feedsvc_websub_publish"
            for sample in family.samples if sample.name == "feedsvc_websub_publish_total"}


async def test_metrics_count_websub_publishes_by_outcome(site, tmp_path):
    # The publisher reports each feed URL to the app's metrics as build_app is to wire it
    # (on_ping=metrics.websub_published), scraped through GET /metrics.
    fixture, port = site
    config = service_config(port, tmp_path / "ws.db", None)
    store = open_store(config.store.url)
    app = make_app(config, store)
    async with running_hub(FixtureHub(statuses=[204, 204, 204, 400, 400, 400])) as hub, \
            TestClient(TestServer(app, host="127.0.0.1")) as client:
        before = websub_counts(await (await client.get("/metrics")).text())
        assert before == {"sent": 0.0, "failed": 0.0}  # both series exist from the start
        publisher = WebSubPublisher(hub.url, PUBLIC, attempts=3, backoff=0.01, on_ping=app[METRICS].websub_published)
        await publisher.publish("news", "a")  # the hub takes the three feed URLs
        await publisher.publish("news", "b")  # and refuses the next three: final, not retried
        await publisher.close()
        after = websub_counts(await (await client.get("/metrics")).text())
    assert after == {"sent": 3.0, "failed": 3.0}
    assert (publisher.sent, publisher.failed) == (3, 3) and len(hub.pings) == 6


# -- the publisher against the fixture hub --------------------------------------------------------

async def test_publisher_retries_a_5xx_and_a_429_then_stops(tmp_path):
    async with running_hub(FixtureHub(statuses=[503, 429])) as hub:
        publisher = WebSubPublisher(hub.url, PUBLIC + "/", attempts=3, backoff=0.01)
        await publisher.publish("news", "a")
        await publisher.close()
    # Three URLs; the first two answers were 503 and 429, each retried once more.
    assert len(hub.pings) == 5
    assert sorted(set(hub.urls())) == sorted(topic_urls(PUBLIC, "news", "a"))
    assert (publisher.sent, publisher.failed) == (3, 0)


async def test_publisher_gives_up_after_its_attempts_and_on_a_refusal():
    async with running_hub(FixtureHub(statuses=[500] * 9)) as hub:
        publisher = WebSubPublisher(hub.url, PUBLIC, attempts=3, backoff=0.01)
        await publisher.publish("news", "a")
        assert (len(hub.pings), publisher.sent, publisher.failed) == (9, 0, 3)
        hub.statuses = [400] * 3  # a refusal is final: asking again changes nothing
        await publisher.publish("news", "b")
        await publisher.close()
    assert len(hub.pings) == 12 and (publisher.sent, publisher.failed) == (0, 6)


async def test_publisher_does_not_follow_a_redirect():
    async with running_hub(FixtureHub(statuses=[307] * 3)) as hub:
        publisher = WebSubPublisher(hub.url, PUBLIC, attempts=3, backoff=0.01)
        await publisher.publish("news", "a")
        await publisher.close()
    assert len(hub.pings) == 3 and publisher.failed == 3


async def test_publisher_times_out_a_silent_hub_and_gives_up_on_a_refused_connection():
    async with running_hub(FixtureHub(delay=5)) as hub:
        publisher = WebSubPublisher(hub.url, PUBLIC, attempts=2, backoff=0.01, timeout=0.2)
        started = time.monotonic()
        await publisher.publish("news", "a")
        assert time.monotonic() - started < 2
        assert (len(hub.pings), publisher.failed) == (6, 3)
        await publisher.close()
    refused = WebSubPublisher(closed_port_url(), PUBLIC, attempts=2, backoff=0.01)
    await refused.publish("news", "a")
    await refused.close()
    assert (refused.sent, refused.failed) == (0, 3)


async def test_changes_during_a_publish_are_published_once_more_after_it():
    async with running_hub(FixtureHub(delay=0.3)) as hub:
        publisher = WebSubPublisher(hub.url, PUBLIC)
        first = publisher.publish("news", "a")
        await until(lambda: len(hub.pings) == 3, "the first round to reach the hub")
        # Three more changes while the hub is still answering: one more round, not three.
        again = [publisher.publish("news", "a") for _ in range(3)]
        other = publisher.publish("news", "b")  # another section is published on its own
        assert all(task is first for task in again) and other is not first
        await first
        await other
        await publisher.close()
    assert sorted(hub.urls()) == sorted(topic_urls(PUBLIC, "news", "a") * 2 + topic_urls(PUBLIC, "news", "b"))
    assert (publisher.sent, publisher.failed) == (9, 0)


async def test_close_cancels_pings_still_waiting_after_the_grace():
    async with running_hub(FixtureHub(delay=30)) as hub:
        publisher = WebSubPublisher(hub.url, PUBLIC, timeout=60)
        task = publisher.publish("news", "a")
        await until(lambda: len(hub.pings) == 3, "the pings to arrive")
        started = time.monotonic()
        await publisher.close(grace=0.1)
        assert time.monotonic() - started < 2
        assert task.cancelled()


def test_link_header_keeps_each_url_one_ascii_reference():
    assert link_header("https://中文.example/hub?k=<1>", f"{PUBLIC}/news/a.atom") == (
        '<https://xn--fiq228c.example/hub?k=%3C1%3E>; rel="hub", '
        f'<{PUBLIC}/news/a.atom>; rel="self"')


# -- the setting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["ftp://hub.example.org/", "hub.example.org", "https://", "http://hub example/"])
def test_websub_hub_must_be_an_absolute_http_url(tmp_path, value):
    path = tmp_path / "config.yaml"
    path.write_text(f"server:\n  websub_hub: {value!r}\nsites: {{}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert "server.websub_hub" in str(caught.value) and "http(s) URL" in str(caught.value)


def test_websub_hub_accepts_an_https_hub(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("server:\n  websub_hub: https://pubsubhubbub.appspot.com/\nsites: {}\n", encoding="utf-8")
    assert load_config(str(path)).server.websub_hub == "https://pubsubhubbub.appspot.com/"
