"""Hot reload through HTTP against the real service (scheduler, fetcher, SQLite store) refreshing the news
fixture site, its config a real file on disk: an edited file is applied within 5 s (new sections served,
removed ones 404 with their entries kept, unchanged ones keep their ETag, changed intervals and fetch
settings apply from the next run); an invalid file changes nothing and is shown on `/`, in
`/status.json`, in the metrics and logged once; POST /admin/reload answers with what changed; SIGHUP
reloads a real `feedsvc serve`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from bs4 import BeautifulSoup
from prometheus_client.parser import text_string_to_metric_families

from feedsvc.app import build_app
from feedsvc.config import Config, load_config
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.reload import POLL_INTERVAL, plan_change
from feedsvc.store import Store, open_store
from feedsvc.web import FEED_CACHE
from tests.support import REPO, until
from tests.support.news_site import HOST, FixtureSite, article_links, running_site

TOKEN = "s3cret-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
APPLIED_WITHIN = 5.0  # seconds from the file changing to the change being served (the bound)


def config_text(db: Path, sections: dict[str, str], *, host: str = HOST, port: int = 8080,
                server: str = "", fetch: str = "", site_extra: str = "") -> str:
    """The news site's config file with `sections` (name: the section's YAML value)."""
    lines = "\n".join(f"      {name}: {value}" for name, value in sections.items())
    return f"""server:
  host: 127.0.0.1
  port: {port}
  admin_token: {TOKEN}
{server}store:
  url: sqlite:///{db}
  max_age_days: 36500
fetch:
  connect_timeout: 1s
  read_timeout: 1s
  total_timeout: 2s
  min_delay: 0.001s
  backoff: 0.01s
  retries: 1
{fetch}defaults:
  refresh: 1h
sites:
  news:
    title: 测试新闻网
    home: http://{host}/
{site_extra}    rules: {{title: div.heading h1, published: div.source span.left, body: 'div#Zoom'}}
    sections:
{lines}
"""


def section(name: str, title: str, *, host: str = HOST, extra: str = "") -> str:
    return f'{{title: {title}, url: "http://{host}/{name}/"{extra}}}'


MORE = "more.example"  # a second site's host, served by the same fixture site
A = section("a", "要闻")
B = section("b", "社会")
C = section("c", "民生")


def write(path: Path, text: str) -> None:
    """Replace the file as an editor saving in place does."""
    path.write_text(text, encoding="utf-8")


@asynccontextmanager
async def running_service(path: Path, port: int, *, watch: float | None = POLL_INTERVAL) -> AsyncIterator[TestClient]:
    app = build_app(load_config(path), resolver=StaticResolver({HOST: ("127.0.0.1", port), MORE: ("127.0.0.1", port)}),
                    spread=timedelta(seconds=0.05), watch=watch)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@asynccontextmanager
async def opened(db: Path) -> AsyncIterator[Store]:
    store = open_store(f"sqlite:///{db}")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def refreshed(store: Store, *sections: str) -> None:
    async def done() -> bool:
        states = {s.section: s for s in await store.section_states()}
        return all(name in states and states[name].last_success is not None for name in sections)
    await until(done, f"the first runs of {', '.join(sections)}")


async def json_of(client: TestClient, path: str) -> Any:
    resp = await client.get(path)
    assert resp.status == 200, (path, resp.status)
    return await resp.json()


async def metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = await (await client.get("/metrics")).text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def series(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
async def news() -> AsyncIterator[tuple[FixtureSite, int]]:
    fixture = FixtureSite()
    fixture.links["c"] = article_links("c", 2)
    async with running_site(fixture) as running:
        yield running


# -- a valid file ----------------------------------------------------------------------------------

async def test_an_edited_file_is_applied_within_5s_section_by_section(news, tmp_path):
    fixture, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A, "b": B}))
    async with running_service(path, port) as client, opened(db) as store:
        await refreshed(store, "a", "b")
        first = await client.get("/news/a.atom")
        etag = first.headers["ETag"]
        lists_a = fixture.hits.count("/a/")
        before = await metrics(client)
        assert series(before, "feedsvc_refreshes_total", site="news", section="b", outcome="ok") == 1

        write(path, config_text(db, {"a": A, "c": C}))  # b removed, c added, a untouched

        async def applied() -> bool:
            return (await client.get("/news/b.json")).status == 404
        await until(applied, "b removed", timeout=APPLIED_WITHIN)
        # c is served at once (empty until its first run, which starts now), then with its entries.
        await until(lambda: _items(client, "/news/c.json", 2), "c's entries", timeout=APPLIED_WITHIN)

        # a keeps its rendering (served without rendering again): a conditional GET is still answered
        # 304, and a was not run again.
        cache = client.server.app[FEED_CACHE]
        renders = cache.renders
        again = await client.get("/news/a.atom", headers={"If-None-Match": etag})
        assert again.status == 304
        assert cache.renders == renders
        assert fixture.hits.count("/a/") == lists_a
        # b is no longer served nor listed, but its entries stay in the store.
        assert len(await store.entries("news", "b")) == 3
        status = await json_of(client, "/status.json")
        assert list(status["sections"]) == ["news/a", "news/c"]
        assert status["config"]["valid"] is True and status["config"]["errors"] == []
        index = await (await client.get("/")).text()
        assert "/news/c.atom" in index and "/news/b.atom" not in index
        assert (await client.get("/readyz")).status == 200
        # The metrics follow: c's series exist, b's are gone, the reload is counted.
        after = await metrics(client)
        assert series(after, "feedsvc_refreshes_total", site="news", section="c", outcome="failed") == 0
        assert not [key for key in after if ("section", "b") in key[1]]
        assert series(after, "feedsvc_config_reloads_total", outcome="ok") == 1
        assert series(after, "feedsvc_config_reloads_total", outcome="invalid") == 0
        assert series(after, "feedsvc_config_last_reload_successful") == 1
        assert series(after, "feedsvc_config_last_reload_success_timestamp_seconds") > series(
            before, "feedsvc_config_last_reload_success_timestamp_seconds")
        # Feeds configured at start have exact routes, c (added) is served by the pattern route: the
        # same answers and the same counting either way. b's 404 names what exists, as any unknown one.
        assert series(after, "feedsvc_feed_requests_total", format="json", status="200") >= 1  # c
        assert series(after, "feedsvc_feed_requests_total", format="json", status="404") >= 1  # b
        gone = await client.get("/news/b.rss")
        assert gone.status == 404 and (await gone.text()) == "unknown section 'b' of site 'news'; sections: a, c\n"

        write(path, config_text(db, {"a": A, "b": B, "c": C}))  # b back: its exact routes serve it again
        await until(lambda: _items(client, "/news/b.json", 3), "b served again", timeout=APPLIED_WITHIN)


async def _items(client: TestClient, path: str, count: int) -> bool:
    resp = await client.get(path)
    return resp.status == 200 and len((await resp.json())["items"]) == count


async def test_a_new_sites_host_is_counted_by_name(news, tmp_path):
    fixture, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A}))
    async with running_service(path, port) as client, opened(db) as store:
        await refreshed(store, "a")
        more = f"""  more:
    title: 更多新闻
    home: http://{MORE}/
    sections:
      c: {section("c", "民生", host=MORE)}
"""
        write(path, config_text(db, {"a": A}) + more)
        await refreshed(store, "a", "c")
        found = await metrics(client)
        assert series(found, "feedsvc_upstream_requests_total", host=MORE, status_class="2xx")
        assert series(found, "feedsvc_refreshes_total", site="more", section="c", outcome="ok") == 1
        assert series(found, "feedsvc_upstream_requests_total", host="other", status_class="2xx") is None


async def test_a_changed_interval_applies_from_now_and_others_keep_their_schedule(news, tmp_path):
    fixture, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A, "b": B}))
    async with running_service(path, port) as client, opened(db) as store:
        await refreshed(store, "a", "b")
        await asyncio.sleep(0.3)  # the first runs end (their next jobs placed an hour ahead)
        lists_a, lists_b = fixture.hits.count("/a/"), fixture.hits.count("/b/")
        write(path, config_text(db, {"a": section("a", "要闻", extra=", refresh: 2s"), "b": B}))
        # Due 2 s after its last run (plus at most 0.2 s of jitter): run again at once, and every 2 s.
        await until(lambda: fixture.hits.count("/a/") >= lists_a + 2, "a run twice on its new interval",
                    timeout=APPLIED_WITHIN + 4)
        assert fixture.hits.count("/b/") == lists_b  # b's hour is untouched
        status = await json_of(client, "/status.json")
        assert status["sections"]["news/b"]["next_due"] > status["sections"]["news/a"]["next_due"]


async def test_changed_fetch_settings_take_a_new_fetcher_for_the_next_run(news, tmp_path):
    fixture, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A}))
    async with running_service(path, port, watch=None) as client, opened(db) as store:
        await refreshed(store, "a")
        assert all("feedsvc" in hit.headers["User-Agent"] for hit in fixture.upstream.hits)
        write(path, config_text(db, {"a": A}, fetch="  user_agent: reloaded-agent/2.0\n"))
        resp = await client.post("/admin/reload", headers=AUTH)
        assert resp.status == 200
        assert await resp.json() == {"outcome": "ok", "file": str(path.resolve()), "added": [], "removed": [],
                                     "changed": [], "needs_restart": []}
        seen = len(fixture.upstream.hits)
        assert (await client.post("/admin/refresh/news/a", headers=AUTH)).status == 202
        await until(lambda: any(h.path == "/a/" for h in fixture.upstream.hits[seen:]), "a's list page asked again")
        assert {h.headers["User-Agent"] for h in fixture.upstream.hits[seen:]} == {"reloaded-agent/2.0"}


def test_what_a_change_touches(tmp_path):
    """A section is changed by its own settings and its site's, not by a sibling added or removed."""
    db = tmp_path / "x.db"

    def read(text: str) -> Config:
        path = tmp_path / "config.yaml"
        write(path, text)
        return load_config(path)

    old = read(config_text(db, {"a": A, "b": B}))
    sibling = plan_change(old, old, read(config_text(db, {"a": A, "c": C})))
    assert ([r.key for r in sibling.added], [r.key for r in sibling.removed], sibling.changed) == (
        ["news/c"], ["news/b"], ())
    site_wide = plan_change(old, old, read(config_text(db, {"a": A, "b": B}, site_extra="    refresh: 2h\n")))
    assert [r.key for r in site_wide.changed] == ["news/a", "news/b"]
    assert site_wide.rescheduled == ("news/a", "news/b")
    rules = plan_change(old, old, read(config_text(db, {"a": section("a", "要闻", extra=", rules: {body: 'div.x'}"),
                                                        "b": B})))
    assert [r.key for r in rules.changed] == ["news/a"] and rules.rescheduled == ()
    moved = plan_change(old, old, read(config_text(tmp_path / "y.db", {"a": A, "b": B}, port=9)))
    assert moved.needs_restart == ("server.port", "store.url") and moved.changed == ()
    assert moved.new.server.port == 8080 and moved.new.store.url == old.store.url  # the running values kept


# -- an invalid file -------------------------------------------------------------------------------

async def test_an_invalid_file_changes_nothing_and_is_reported_once_until_fixed(news, tmp_path, caplog):
    fixture, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A, "b": B}))
    caplog.set_level(logging.INFO, logger="feedsvc.reload")
    async with running_service(path, port) as client, opened(db) as store:
        await refreshed(store, "a", "b")
        etag = (await client.get("/news/b.rss")).headers["ETag"]
        # b removed and c added, but a's interval is not a duration: the whole file is refused.
        broken = config_text(db, {"a": section("a", "要闻", extra=", refresh: soon"), "c": C})
        write(path, broken)
        line = next(n for n, text in enumerate(broken.splitlines(), 1) if "refresh: soon" in text)
        expected = f"{path.resolve()}:{line}: sites.news.sections.a.refresh:"

        async def reported() -> bool:
            return bool((await json_of(client, "/status.json"))["config"]["errors"])
        await until(reported, "the error in /status.json", timeout=APPLIED_WITHIN)
        config = (await json_of(client, "/status.json"))["config"]
        assert config["valid"] is False
        assert config["file"] == str(path.resolve())
        assert len(config["errors"]) == 1 and config["errors"][0].startswith(expected), config["errors"]
        assert config["errors_since"] is not None
        # The old config keeps running: b still served (same ETag), c unknown.
        assert (await client.get("/news/b.rss", headers={"If-None-Match": etag})).status == 304
        assert (await client.get("/news/c.rss")).status == 404
        assert list((await json_of(client, "/status.json"))["sections"]) == ["news/a", "news/b"]
        index = await (await client.get("/")).text()
        assert "is invalid" in index and expected in index
        # The store still answers: the banner is about the file, the sections keep their known status.
        badges = [b.get_text() for b in BeautifulSoup(index, "html.parser").select(".badge")]
        assert len(badges) == 2 and "unknown" not in badges, badges
        found = await metrics(client)
        assert series(found, "feedsvc_config_reloads_total", outcome="invalid") == 1
        assert series(found, "feedsvc_config_last_reload_successful") == 0
        assert (await client.get("/readyz")).status == 200

        # Logged once: not again on later polls, nor when the file is saved again unchanged.
        await asyncio.sleep(POLL_INTERVAL * 2.5)
        os.utime(path)
        write(path, broken)
        await asyncio.sleep(POLL_INTERVAL * 2.5)
        logged = [r for r in caplog.records if r.levelno == logging.ERROR and expected in r.getMessage()]
        assert len(logged) == 1
        assert series(await metrics(client), "feedsvc_config_reloads_total", outcome="invalid") == 1

        write(path, config_text(db, {"a": A, "c": C}))  # fixed: applied, the banner goes

        async def fixed() -> bool:
            return (await client.get("/news/c.rss")).status == 200
        await until(fixed, "the fixed file applied", timeout=APPLIED_WITHIN)
        config = (await json_of(client, "/status.json"))["config"]
        assert config["valid"] is True and config["errors"] == [] and config["errors_since"] is None
        assert "is invalid" not in await (await client.get("/")).text()
        assert (await client.get("/news/b.rss")).status == 404
        assert series(await metrics(client), "feedsvc_config_last_reload_successful") == 1


async def test_a_missing_or_unreadable_file_is_an_error_not_a_crash(news, tmp_path):
    _, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A}))
    async with running_service(path, port, watch=None) as client:
        path.unlink()
        resp = await client.post("/admin/reload", headers=AUTH)
        assert resp.status == 422
        body = await resp.json()
        assert body["outcome"] == "invalid"
        assert body["errors"] == [f"{path.resolve()}: file not found (looked for {path.resolve()})"]
        write(path, "sites: [\n")
        body = await (await client.post("/admin/reload", headers=AUTH)).json()
        assert body["errors"][0].startswith(f"{path.resolve()}:")
        assert (await client.get("/news/a.json")).status == 200


# -- the admin route and what needs a restart ------------------------------------------------------

async def test_post_admin_reload_needs_the_token_and_answers_what_changed(news, tmp_path):
    _, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A, "b": B}))
    async with running_service(path, port, watch=None) as client:
        write(path, config_text(db, {"a": section("a", "头条"), "c": C}))
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}):
            resp = await client.post("/admin/reload", headers=headers)
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await client.get("/news/c.json")).status == 404  # not applied by a refused request
        resp = await client.post("/admin/reload", headers=AUTH)
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-store"
        assert await resp.json() == {"outcome": "ok", "file": str(path.resolve()), "added": ["news/c"],
                                     "removed": ["news/b"], "changed": ["news/a"], "needs_restart": []}
        feed = await json_of(client, "/news/a.json")
        assert feed["title"] == "测试新闻网 · 头条"  # a changed setting reaches the rendered feed at once
        assert (await client.get("/news/c.json")).status == 200
        # Nothing changed since: 200, nothing listed.
        body = await (await client.post("/admin/reload", headers=AUTH)).json()
        assert (body["added"], body["removed"], body["changed"]) == ([], [], [])
        write(path, "sites: {news: {title: x}}\n")
        resp = await client.post("/admin/reload", headers=AUTH)
        assert resp.status == 422
        body = await resp.json()
        assert body["outcome"] == "invalid" and body["errors"]
        assert all(e.startswith(f"{path.resolve()}:") for e in body["errors"])
        assert TOKEN not in await resp.text()


async def test_without_a_token_or_a_file_there_is_no_reload_route_or_nothing_to_reload(news, tmp_path):
    _, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A}).replace(f"  admin_token: {TOKEN}\n", ""))
    async with running_service(path, port, watch=None) as client:
        resp = await client.post("/admin/reload", headers=AUTH)
        assert resp.status == 404  # as any unknown path: the admin API is off
    write(path, config_text(db, {"a": A}))
    unfiled = Config.model_validate(load_config(path).model_dump(exclude={"source_file"}))
    app = build_app(unfiled, resolver=StaticResolver({HOST: ("127.0.0.1", port)}), schedule=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        resp = await client.post("/admin/reload", headers=AUTH)
        assert resp.status == 409
        assert "not read from a file" in (await resp.json())["error"]
        assert (await json_of(client, "/status.json"))["config"]["file"] is None


async def test_server_and_store_url_changes_wait_for_a_restart_and_say_so(news, tmp_path, caplog):
    _, port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    write(path, config_text(db, {"a": A}))
    caplog.set_level(logging.WARNING, logger="feedsvc.reload")
    async with running_service(path, port, watch=None) as client:
        other = tmp_path / "other.db"
        write(path, config_text(other, {"a": A, "b": B}, port=9999,
                                server="  public_url: https://feeds.example.org\n"))
        body = await (await client.post("/admin/reload", headers=AUTH)).json()
        assert body["needs_restart"] == ["server.port", "server.public_url", "store.url"]
        assert body["added"] == ["news/b"]  # the rest of the file is applied
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("server.port, server.public_url, store.url changed" in m for m in warned), warned
        status = await json_of(client, "/status.json")
        assert status["config"]["needs_restart"] == ["server.port", "server.public_url", "store.url"]
        assert "until feedsvc is restarted" in await (await client.get("/")).text()
        # The running values are kept: feeds still name this server, the store is the old one.
        feed = await json_of(client, "/news/a.json")
        assert not feed["feed_url"].startswith("https://feeds.example.org")
        assert not other.exists()
        # The file put back as it was: nothing waits for a restart any more.
        write(path, config_text(db, {"a": A, "b": B}))
        body = await (await client.post("/admin/reload", headers=AUTH)).json()
        assert body["needs_restart"] == []
        assert (await json_of(client, "/status.json"))["config"]["needs_restart"] == []


# -- SIGHUP on a real `feedsvc serve` ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="SIGHUP is Unix only")
async def test_sighup_reloads_a_running_feedsvc_serve(news, tmp_path):
    fixture, site_port = news
    path, db = tmp_path / "config.yaml", tmp_path / "reload.db"
    host = f"127.0.0.1:{site_port}"
    port = free_port()
    site_extra = f"    allowed_hosts: ['{host}']\n"
    # Titles of one byte length, so the edit below keeps the file's size: with its mtime put back, the
    # file's stat is unchanged and the watcher cannot see it; only the signal can reload it.
    before = config_text(db, {"a": section("a", "要闻", host=host)}, host=host, port=port, site_extra=site_extra)
    after = before.replace("title: 要闻", "title: 头条")
    assert len(after.encode()) == len(before.encode())
    write(path, before)
    log = (tmp_path / "serve.log").open("w+")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FEEDSVC_ADMIN_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "feedsvc", "serve", "--config", str(path)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async def title() -> str | None:
                try:
                    async with http.get(f"{base}/news/a.json") as resp:
                        return (await resp.json())["title"] if resp.status == 200 else None
                except aiohttp.ClientError:
                    return None

            async def serving() -> bool:
                return await title() == "测试新闻网 · 要闻"
            await until(serving, "feedsvc serve answering", timeout=30)
            stat = path.stat()
            write(path, after)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            await asyncio.sleep(POLL_INTERVAL * 2.5)
            assert await title() == "测试新闻网 · 要闻"  # not seen by the watcher
            proc.send_signal(signal.SIGHUP)

            async def reloaded() -> bool:
                return await title() == "测试新闻网 · 头条"
            await until(reloaded, "the SIGHUP reload applied", timeout=APPLIED_WITHIN)

            # An invalid file on SIGHUP: the process keeps serving, the error is logged and shown.
            write(path, after.replace("refresh: 1h", "refresh: never"))
            proc.send_signal(signal.SIGHUP)

            async def shown() -> bool:
                async with http.get(f"{base}/status.json") as resp:
                    return bool((await resp.json())["config"]["errors"])
            await until(shown, "the invalid file reported", timeout=APPLIED_WITHIN)
            assert await title() == "测试新闻网 · 头条"
            assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.seek(0)
    text = log.read()
    assert "config reloaded (SIGHUP)" in text
    assert "config reload (SIGHUP):" in text and "defaults.refresh" in text
    assert "Traceback" not in text
    assert fixture.hits  # the subprocess really refreshed from the fixture site
