"""The admin API through HTTP against the real service (scheduler, fetcher, SQLite store) refreshing the
news fixture site: absent without a token, 401 without the right one, 404 for unknown names, and a
202 that really runs the sections, never twice at once and not while the site asked to wait (unless
forced). The token also comes from $FEEDSVC_ADMIN_TOKEN.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.app import build_app
from feedsvc.config import Config, load_config
from feedsvc.errors import ConfigError, NotFound
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.store import Store, open_store
from tests.support import until
from tests.support.news_site import HOST, FixtureSite, article_links, make_config

TOKEN = "s3cret-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def admin_config(port: int, db: Path, token: str | None = TOKEN) -> Config:
    """The news fixture site (sections a and b, refreshed hourly) with the admin token set."""
    data = make_config(port, str(db)).model_dump(exclude={"source_file"})
    data["server"]["admin_token"] = token
    data["cluster"]["replica_id"] = "web-1"
    data["defaults"]["refresh"] = timedelta(hours=1)  # no scheduled run but the first within a test
    data["store"]["max_age_days"] = 36500  # the wall clock is real here; the fixture articles are from 2021
    return Config.model_validate(data)


@asynccontextmanager
async def running_service(config: Config, port: int, *, schedule: bool = True) -> AsyncIterator[TestClient]:
    app = build_app(config, resolver=StaticResolver({HOST: ("127.0.0.1", port)}), schedule=schedule,
                    spread=timedelta(seconds=0.05))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@asynccontextmanager
async def opened(config: Config) -> AsyncIterator[Store]:
    store = open_store(config.store.url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()




async def first_runs_done(store: Store, fixture: FixtureSite) -> None:
    """Both sections refreshed once by the scheduler's start-up runs (entries stored, runs ended)."""
    async def done() -> bool:
        states = {s.section: s for s in await store.section_states()}
        return all(name in states and states[name].last_success is not None for name in ("a", "b"))
    await until(done, "the first runs of a and b")
    # A run ends a few milliseconds after its result is stored (it reads the state once more and places
    # the section's next job); until then an admin request rightly answers "already running".
    await asyncio.sleep(0.3)


# -- absent, refused, unknown ----------------------------------------------------------------------

async def test_without_a_token_the_admin_routes_do_not_exist(site, tmp_path):
    _, port = site
    config = admin_config(port, tmp_path / "admin.db", token=None)
    async with running_service(config, port, schedule=False) as client:
        for path in ("/admin/refresh/news/a", "/admin/refresh/news"):
            resp = await client.post(path, headers=AUTH)
            assert resp.status == 404
            assert "WWW-Authenticate" not in resp.headers
            # The same answer as a GET of any unknown path.
            assert await resp.text() == await (await client.get(path)).text()


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-wrong-token", f"Basic {TOKEN}",
                                           f"Bearer {TOKEN}x", "Bearer ", TOKEN])
async def test_without_the_right_token_the_answer_is_401(site, tmp_path, authorization):
    fixture, port = site
    config = admin_config(port, tmp_path / "admin.db")
    async with running_service(config, port, schedule=False) as client:
        headers = {"Authorization": authorization} if authorization is not None else {}
        for path in ("/admin/refresh/news/a", "/admin/refresh/news", "/admin/refresh/nosuch"):
            resp = await client.post(path, headers=headers)
            assert resp.status == 401, path
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert TOKEN not in await resp.text()
    assert fixture.hits == []  # nothing was run


async def test_unknown_site_or_section_is_404_in_the_configs_wording(site, tmp_path):
    _, port = site
    config = admin_config(port, tmp_path / "admin.db")
    async with running_service(config, port, schedule=False) as client:
        for path, site_name, section in (("/admin/refresh/nosuch", "nosuch", None),
                                         ("/admin/refresh/news/nosuch", "news", "nosuch"),
                                         ("/admin/refresh/nosuch/a", "nosuch", "a")):
            resp = await client.post(path, headers=AUTH)
            assert resp.status == 404, path
            with pytest.raises(NotFound) as expected:
                config.lookup(site_name, section)
            assert (await resp.json())["error"] == str(expected.value)


# -- queued runs -----------------------------------------------------------------------------------

async def test_a_section_is_refreshed_now_and_its_new_entry_stored(site, tmp_path):
    fixture, port = site
    config = admin_config(port, tmp_path / "admin.db")
    async with running_service(config, port) as client, opened(config) as store:
        await first_runs_done(store, fixture)
        assert len(await store.entries("news", "a")) == 4
        lists_a, lists_b = fixture.hits.count("/a/"), fixture.hits.count("/b/")
        fixture.links["a"] = [*article_links("a", 5)[4:], *fixture.links["a"]]
        resp = await client.post("/admin/refresh/news/a", headers=AUTH)
        assert resp.status == 202
        assert resp.headers["Cache-Control"] == "no-store"
        assert await resp.json() == {"queued": ["news/a"], "replica": "web-1",
                                     "sections": [{"site": "news", "section": "a", "outcome": "queued"}]}

        async def stored() -> bool:
            return len(await store.entries("news", "a")) == 5
        await until(stored, "the new article stored")
        assert fixture.hits.count("/a/") == lists_a + 1
        assert fixture.hits.count("/b/") == lists_b  # only the section asked for ran
        feed = await (await client.get("/news/a.json")).json()
        assert len(feed["items"]) == 5  # and the served feed shows it at once
        assert (await store.section_state("news", "a")).refreshed_by == "web-1"


async def test_a_site_queues_all_its_sections(site, tmp_path):
    fixture, port = site
    config = admin_config(port, tmp_path / "admin.db")
    async with running_service(config, port) as client, opened(config) as store:
        await first_runs_done(store, fixture)
        lists_a, lists_b = fixture.hits.count("/a/"), fixture.hits.count("/b/")
        resp = await client.post("/admin/refresh/news", headers=AUTH)
        assert resp.status == 202
        body = await resp.json()
        assert body["queued"] == ["news/a", "news/b"]
        assert [s["outcome"] for s in body["sections"]] == ["queued", "queued"]
        await until(lambda: fixture.hits.count("/a/") == lists_a + 1 and fixture.hits.count("/b/") == lists_b + 1,
                    "both list pages asked for again")


async def test_a_running_section_is_not_run_twice(site, tmp_path):
    fixture, port = site
    config = admin_config(port, tmp_path / "admin.db")
    async with running_service(config, port) as client, opened(config) as store:
        await first_runs_done(store, fixture)
        lists_a = fixture.hits.count("/a/")
        fixture.modes["a"] = "timeout"  # the list page answers after 3 s: the run lasts until it times out
        first, second = [await client.post("/admin/refresh/news/a", headers=AUTH) for _ in range(2)]
        assert (await first.json())["queued"] == ["news/a"]
        assert (await second.json())["sections"][0]["outcome"] in ("already queued", "already running")
        await until(lambda: fixture.hits.count("/a/") > lists_a, "the queued run asking for the list")
        again = await client.post("/admin/refresh/news/a", headers=AUTH)
        assert again.status == 202
        assert await again.json() == {"queued": [], "replica": "web-1", "sections": [
            {"site": "news", "section": "a", "outcome": "already running"}]}

        async def failed() -> bool:
            return (await store.section_state("news", "a")).consecutive_failures == 1
        await until(failed, "the slow run to end")
        runs = fixture.hits.count("/a/")
        await asyncio.sleep(0.5)
        assert fixture.hits.count("/a/") == runs  # the refused requests queued nothing behind it
        assert runs == lists_a + 2  # the one queued run: its list request and the fetcher's one retry


async def test_a_deferred_section_waits_unless_forced(site, tmp_path):
    fixture, port = site
    fixture.modes["a"] = "429"  # Retry-After: 86400, beyond fetch.max_retry_after: stored as a deferral
    config = admin_config(port, tmp_path / "admin.db")
    async with running_service(config, port) as client, opened(config) as store:
        async def deferred() -> bool:
            return (await store.section_state("news", "a")).deferred_until is not None
        await until(deferred, "the site's Retry-After stored")
        lists_a = fixture.hits.count("/a/")
        outcomes: list[str] = []

        async def answered() -> bool:  # "already running" while the run that stored it is ending
            resp = await client.post("/admin/refresh/news/a", headers=AUTH)
            assert resp.status == 202
            body = await resp.json()
            assert body["queued"] == []
            outcomes.append(body["sections"][0]["outcome"])
            return outcomes[-1] != "already running"
        await until(answered, "the deferring run to end")
        assert outcomes[-1].startswith("deferred by the site until 20"), outcomes
        fixture.modes["a"] = "ok"
        forced = await client.post("/admin/refresh/news/a?force=1", headers=AUTH)
        assert (await forced.json())["queued"] == ["news/a"]

        async def stored() -> bool:
            return len(await store.entries("news", "a")) == 4
        await until(stored, "the forced run's entries")
        assert fixture.hits.count("/a/") == lists_a + 1  # the unforced request ran nothing


# -- the token from the environment ----------------------------------------------------------------

async def test_the_token_can_come_from_the_environment(site, tmp_path, monkeypatch):
    fixture, port = site
    config = admin_config(port, tmp_path / "admin.db", token=None)
    path = tmp_path / "config.yaml"
    path.write_text(config.model_dump_json(exclude={"source_file"}), encoding="utf-8")  # JSON is YAML
    monkeypatch.setenv("FEEDSVC_ADMIN_TOKEN", TOKEN)
    from_env = load_config(path)
    assert from_env.server.admin_token is not None
    assert from_env.server.admin_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(from_env)
    async with running_service(from_env, port) as client, opened(from_env) as store:
        await first_runs_done(store, fixture)
        assert (await client.post("/admin/refresh/news/b")).status == 401
        resp = await client.post("/admin/refresh/news/b", headers=AUTH)
        assert resp.status == 202 and (await resp.json())["queued"] == ["news/b"]

    monkeypatch.setenv("FEEDSVC_ADMIN_TOKEN", "short-secret")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "server.admin_token: is too short" in str(caught.value)
    assert "(from $FEEDSVC_ADMIN_TOKEN)" in str(caught.value)
    assert "short-secret" not in str(caught.value)


async def test_without_a_running_scheduler_the_answer_is_503(site, tmp_path):
    fixture, port = site
    config = admin_config(port, tmp_path / "admin.db")
    async with running_service(config, port, schedule=False) as client:
        resp = await client.post("/admin/refresh/news/a", headers=AUTH)
        assert resp.status == 503
        assert "scheduler is not running" in (await resp.json())["error"]
    assert fixture.hits == []
