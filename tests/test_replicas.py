"""Three real `feedsvc serve` processes on one PostgreSQL database share the refresh work of three sites
(one per loopback address, 127.0.0.1-3, so each is its own upstream host):

- each section is refreshed once per interval, whichever replica does it (the gaps between its list
  page's requests are never shorter than the interval), and each article is fetched once in all;
- per-host politeness holds across replicas: never more requests in flight at a host than
  `per_host_concurrency`, never two request starts closer than `min_delay` (halved, for the noise of a
  loaded machine between the client's clock and the server's);
- after `kill -9` of the replica holding a site's lease in the middle of a refresh, another replica
  refreshes the section within the lease's expiry (plus its retry), and the killed one left nothing
  behind: no lease, no half-written section, no open transaction.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from feedsvc.store import open_store
from tests.support import REPO, until
from tests.support.news_site import ARTICLE, article_links, list_page
from tests.support.postgres import pg_database_fixture, pg_url_fixture  # noqa: F401 (fixtures)
from tests.support.upstream import Upstream, by_pattern, page

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
SITES = {f"s{i + 1}": host for i, host in enumerate(HOSTS)}
SECTIONS = ("a", "b")
REFRESH = 6.0  # seconds; jitter adds up to a tenth
LEASE = 3.0
MIN_DELAY = 0.2
CONCURRENCY = 1
ARTICLES = 3
REPLICAS = ("r1", "r2", "r3")


class Fixture:
    """The three sites on one Upstream, listening on every address; `hang` makes the next list request
    of (host, path) wait until the client goes away."""

    def __init__(self) -> None:
        self.upstream = Upstream()
        self.hang: set[tuple[str, str]] = set()
        self.hung = asyncio.Event()
        for section in SECTIONS:
            self.upstream.route(f"/{section}/", self.list_page)
        self.upstream.route("/robots.txt", page("User-agent: *\nDisallow: /search/\n", content_type="text/plain"))
        self.upstream.fallback = by_pattern([(r"/system/\d{4}/\d{2}/\d{2}/(?P<ident>\d+)\.shtml", self.article)])

    async def list_page(self, request: web.Request) -> web.StreamResponse:
        key = (request.host.split(":")[0], request.path)
        if key in self.hang:
            self.hang.discard(key)
            self.hung.set()
            await asyncio.sleep(120)  # cancelled when the killed replica's connection closes
        await asyncio.sleep(0.1)  # a list page takes a moment: overlapping requests would show
        return await page(list_page(article_links(request.path.strip("/"), ARTICLES)))(request)

    async def article(self, request: web.Request, ident: str) -> web.StreamResponse:
        n = int(ident)
        return await page(ARTICLE.format(title=f"第{n}号新闻", day=1 + n % 8, minute=n % 60))(request)

    def list_hits(self, host: str, section: str) -> list[float]:
        return [h.at for h in self.upstream.hits if h.host == host and h.path == f"/{section}/"]


@asynccontextmanager
async def serving_everywhere(fixture: Fixture) -> AsyncIterator[int]:
    runner = web.AppRunner(fixture.upstream.app(), handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    try:
        first = web.TCPSite(runner, HOSTS[0], 0)
        await first.start()
        port = runner.addresses[0][1]
        for host in HOSTS[1:]:
            await web.TCPSite(runner, host, port).start()
        yield port
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, port: int, store_url: str) -> None:
    sites = {}
    for name, host in SITES.items():
        origin = f"http://{host}:{port}"
        sites[name] = {
            "title": f"站点{name}", "home": f"{origin}/",
            "rules": {"title": "div.heading h1", "published": "div.source span.left", "body": "div#Zoom"},
            "sections": {s: {"title": f"栏目{s}", "url": f"{origin}/{s}/"} for s in SECTIONS},
        }
    path.write_text(json.dumps({
        "server": {"host": "127.0.0.1"},
        "store": {"url": store_url, "max_age_days": 36500},
        "cluster": {"lease": f"{LEASE}s"},
        "fetch": {"retries": 0, "min_delay": f"{MIN_DELAY}s", "per_host_concurrency": CONCURRENCY,
                  "connect_timeout": "2s", "read_timeout": "60s", "total_timeout": "60s"},
        "defaults": {"refresh": f"{REFRESH}s"},
        "sites": sites,
    }), encoding="utf-8")


class Replicas:
    def __init__(self, tmp_path: Path, config: Path):
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
        env["PYTHONPATH"] = str(REPO)
        for name in REPLICAS:
            self.ports[name] = free_port()
            log = (tmp_path / f"{name}.log").open("wb")
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "feedsvc", "serve", "--config", str(config), "--port", str(self.ports[name]),
                 "--replica-id", name], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log)
            log.close()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(name="replicas")
def replicas_fixture() -> Iterator[list[Replicas]]:
    started: list[Replicas] = []
    yield started
    for r in started:
        r.stop()


async def ready(http: aiohttp.ClientSession, port: int) -> bool:
    try:
        async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


async def test_three_replicas_share_the_work_politely_and_take_over_a_killed_one(
    pg_url: str, tmp_path: Path, replicas: list[Replicas],
) -> None:
    fixture = Fixture()
    async with serving_everywhere(fixture) as port, aiohttp.ClientSession() as http:
        config = tmp_path / "config.yaml"
        write_config(config, port, pg_url)
        store = open_store(pg_url)
        await store.open()  # migrated here once; the replicas find it current
        group = Replicas(tmp_path, config)
        replicas.append(group)
        try:
            for name, p in group.ports.items():
                async def up(p: int = p) -> bool:
                    return await ready(http, p)
                await until(up, f"replica {name} ready", timeout=90)

            # -- sharing: a few intervals of scheduled refreshes --------------------------------------
            watch_from = time.monotonic()

            async def every_section_refreshed_thrice() -> bool:
                return all(len(fixture.list_hits(h, s)) >= 3 for h in HOSTS for s in SECTIONS)
            await until(every_section_refreshed_thrice, "three refreshes of every section", timeout=120)
            hits = list(fixture.upstream.hits)
            for host in HOSTS:
                for section in SECTIONS:
                    times = fixture.list_hits(host, section)
                    # once per interval: a second replica refreshing it too would show as a short gap
                    assert min(gaps(times)) >= REFRESH - 0.3, (host, section, gaps(times))
            articles: dict[str, int] = defaultdict(int)
            for hit in hits:
                if hit.path.startswith("/system/"):
                    articles[f"{hit.host}{hit.path}"] += 1
            assert len(articles) == len(HOSTS) * len(SECTIONS) * ARTICLES
            assert set(articles.values()) == {1}, articles  # each article fetched once, by one replica
            # politeness across replicas
            assert all(fixture.upstream.max_in_flight[h] <= CONCURRENCY for h in HOSTS), fixture.upstream.max_in_flight
            for host in HOSTS:
                starts = sorted(h.at for h in hits if h.host == host)
                assert min(gaps(starts)) >= MIN_DELAY / 2, (host, min(gaps(starts)))
            states = {(s.site, s.section): s for s in await store.section_states()}
            assert {s.refreshed_by for s in states.values()} <= set(REPLICAS)
            assert all(s.consecutive_failures == 0 for s in states.values())
            assert time.monotonic() - watch_from < 120

            # -- takeover: kill -9 the replica refreshing s1/a -----------------------------------------
            host = SITES["s1"]
            fixture.hang.add((host, "/a/"))
            await asyncio.wait_for(fixture.hung.wait(), timeout=REFRESH * 3)
            holders = await store.lease_holders()
            holder = holders["s1"][0]
            assert holder in REPLICAS
            before = len(fixture.list_hits(host, "a"))
            group.procs[holder].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            group.procs[holder].wait(timeout=10)

            async def taken_over() -> bool:
                return len(fixture.list_hits(host, "a")) > before
            await until(taken_over, "another replica refreshing s1/a", timeout=LEASE * 2 + 20)
            takeover = fixture.list_hits(host, "a")[before] - killed_at
            # the lease runs out after LEASE; the others retry a held site every quarter lease
            assert takeover <= LEASE + LEASE / 4 * 1.2 + 3.0, takeover

            async def recorded() -> bool:
                state = await store.section_state("s1", "a")
                return state.refreshed_by not in (None, holder) and state.last_attempt is not None
            await until(recorded, "the survivor's refresh of s1/a stored", timeout=15)
            state = await store.section_state("s1", "a")
            assert state.consecutive_failures == 0 and state.refreshed_by in set(REPLICAS) - {holder}
            # nothing left by the killed replica: its lease is gone, the section whole, no open transaction
            assert holder not in {h for h, _ in (await store.lease_holders()).values()}
            assert len(await store.entries("s1", "a")) == ARTICLES
            db = await asyncpg.connect(pg_url)
            try:
                idle_in_tx = await db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%'")
            finally:
                await db.close()
            assert idle_in_tx == 0
        finally:
            group.stop()
            await store.close()
