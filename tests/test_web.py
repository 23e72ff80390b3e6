"""The feed server's routes and render cache: pages, health, 404/400, query variants, rebuilds.

Runs the real app (make_app) over a real SQLite store filled through the store API; feeds are
checked with feedparser. `cache.renders` (a counter the cache keeps) shows when a feed is rendered.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from bs4 import BeautifulSoup
from multidict import CIMultiDict

from feedsvc.model import Entry, RefreshReport
from feedsvc.web.cache import SectionSnapshot
from feedsvc.web.query import BadQuery, FeedQuery, parse_query
from tests.web_fixtures import (
    ENTRIES,
    NOW,
    PUBLIC,
    SITE,
    TITLES,
    Web,
    fill,
    make_entry,
    site_fixture,  # noqa: F401 (fixture `site`)
    start_web,
    store_fixture,  # noqa: F401 (fixture `store`)
)

FEED = "/cxnews/cixi.rss"


def newest(title: str) -> Entry:
    """A new article, published after every fixture entry (so it heads the feed)."""
    return make_entry(9, title=title, published=ENTRIES[0].published + timedelta(hours=1))


async def fetch(w: Web, path: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
    async with w.client.get(path, headers=headers, skip_auto_headers=["Accept-Encoding"]) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


async def titles(w: Web, path: str) -> list[str]:
    status, _, body = await fetch(w, path)
    assert status == 200, body
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    return [e.title for e in parsed.entries]


# -- pages -----------------------------------------------------------------------------------------

async def test_index_lists_every_feed_with_discovery_links(site: Web) -> None:
    status, headers, body = await fetch(site, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    page = BeautifulSoup(body, "html.parser")
    alternates = {(link["type"], link["href"]) for link in page.select('head link[rel="alternate"]')}
    for section in ("cixi", "mintong", "empty"):
        assert ("application/rss+xml", f"/cxnews/{section}.rss") in alternates
        assert ("application/atom+xml", f"/cxnews/{section}.atom") in alternates
        assert ("application/feed+json", f"/cxnews/{section}.json") in alternates
    hrefs = {a["href"] for a in page.select("body a")}
    assert {"/cxnews/cixi.rss", "/cxnews/cixi.atom", "/cxnews/cixi.json", "/cxnews/cixi"} <= hrefs
    assert "慈溪新闻" in page.get_text() and "慈溪新闻网" in page.get_text()
    for href in sorted(h for h in hrefs if h.startswith("/cxnews/")):  # every link on it works
        assert (await fetch(site, href))[0] == 200, href


async def test_opml_lists_every_section_feed_for_one_step_import(site: Web) -> None:
    status, headers, body = await fetch(site, "/feeds.opml")
    assert status == 200 and headers["Content-Type"] == "text/x-opml; charset=utf-8"
    from lxml import etree

    doc = etree.fromstring(body)
    assert doc.get("version") == "2.0"
    feeds = doc.findall(".//outline[@xmlUrl]")
    assert sorted(o.get("xmlUrl") for o in feeds) == sorted(
        f"{PUBLIC}/cxnews/{s}.atom" for s in ("cixi", "mintong", "empty"))
    assert {o.getparent().get("text") for o in feeds} == {"慈溪新闻网"}
    for outline in feeds:
        assert (await fetch(site, outline.get("xmlUrl").removeprefix(PUBLIC)))[0] == 200


async def test_section_page_lists_entries(site: Web) -> None:
    status, headers, body = await fetch(site, "/cxnews/cixi")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = BeautifulSoup(body, "html.parser")
    assert [a.get_text() for a in page.select("li a")] == [e.title for e in ENTRIES]
    assert page.select_one('link[rel="alternate"][type="application/atom+xml"]')["href"] == "/cxnews/cixi.atom"
    assert "2021-12-08 09:58" in page.get_text()  # the site's local time, not UTC


async def test_status_json_reports_each_section(site: Web) -> None:
    recently = datetime.now(UTC) - timedelta(minutes=6)  # the app reads the real clock here
    await site.store.record_attempt(RefreshReport(
        site=SITE, section="cixi", started=recently, finished=recently, ok=True))
    failed_at = recently + timedelta(minutes=5)
    await site.store.record_attempt(RefreshReport(
        site=SITE, section="empty", started=failed_at, finished=failed_at, ok=False, error="HTTP 503"))
    status, headers, body = await fetch(site, "/status.json")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "no-store"
    doc = json.loads(body)
    assert doc["status"] == "degraded"  # one of the two tried sections is failing
    sections = doc["sections"]
    assert set(sections) == {"cxnews/cixi", "cxnews/mintong", "cxnews/empty"}
    assert sections["cxnews/cixi"]["status"] == "ok"
    assert sections["cxnews/empty"]["status"] == "failing"
    assert sections["cxnews/empty"]["consecutive_failures"] == 1
    assert sections["cxnews/empty"]["last_error"] == "HTTP 503"
    assert (sections["cxnews/mintong"]["status"], sections["cxnews/mintong"]["last_attempt"]) == ("pending", None)


async def test_status_json_age_uses_the_injected_clock(store, tmp_path) -> None:
    await store.record_attempt(RefreshReport(site=SITE, section="cixi", started=NOW, finished=NOW, ok=True))
    w = await start_web(store, tmp_path, clock=lambda: NOW + timedelta(minutes=7))
    try:
        _, _, body = await fetch(w, "/status.json")
        assert json.loads(body)["sections"]["cxnews/cixi"]["age_seconds"] == 420
    finally:
        await w.client.close()


# -- what a feed says --------------------------------------------------------------------------------

async def test_feed_built_from_config(site: Web) -> None:
    _, _, body = await fetch(site, "/cxnews/cixi.atom")
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    assert parsed.feed.title == "慈溪新闻网 · 慈溪新闻"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == f"{PUBLIC}/cxnews/cixi.atom"
    assert links["alternate"] == "http://www.cxnews.cn/cxnews/"
    assert [e.title for e in parsed.entries] == TITLES
    _, _, rss = await fetch(site, FEED)
    assert b"<ttl>10</ttl>" in rss and b"<language>zh-CN</language>" in rss


async def test_nav_section_links_to_its_resolved_url(site: Web) -> None:
    await site.store.set_resolved_url(SITE, "mintong", "http://www.cxnews.cn/mint/")
    _, _, body = await fetch(site, "/cxnews/mintong.json")
    doc = json.loads(body)
    assert doc["home_page_url"] == "http://www.cxnews.cn/mint/"
    assert doc["feed_url"] == f"{PUBLIC}/cxnews/mintong.json"


# -- 404 and 400 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,message", [
    ("/nosite/cixi.rss", "unknown site 'nosite'; sites: cxnews"),
    ("/cxnews/x.rss", "unknown section 'x' of site 'cxnews'; sections: cixi, mintong, empty"),
    ("/cxnews/cixi.html", "unknown format 'html'; formats: rss, atom, json"),
    ("/cxnews/x", "unknown section 'x' of site 'cxnews'; sections: cixi, mintong, empty"),
    ("/a/b/c.rss", "not found: /a/b/c.rss; feeds are at /{site}/{section}.{rss|atom|json}, listed at /"),
])
async def test_unknown_names_get_404_naming_what_exists(site: Web, path: str, message: str) -> None:
    status, headers, body = await fetch(site, path)
    assert status == 404
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.decode() == message + "\n"


@pytest.mark.parametrize("query,reason", [
    ("limit=abc", "bad limit 'abc': use a whole number from 1 to 1000"),
    ("limit=0", "bad limit '0': use a whole number from 1 to 1000"),
    ("limit=1001", "bad limit '1001': use a whole number from 1 to 1000"),
    ("limit=-1", "bad limit '-1': use a whole number from 1 to 1000"),
    ("limit=2.5", "bad limit '2.5': use a whole number from 1 to 1000"),
    ("limit=", "bad limit '': use a whole number from 1 to 1000"),
    ("limit=1&limit=2", "bad query: limit given 2 times; give it once"),
    ("q=", "bad q: empty; give a word, e.g. ?q=慈溪"),
    ("q=%20%20", "bad q: empty; give a word, e.g. ?q=慈溪"),
    ("exclude=", "bad exclude: empty; give a word, e.g. ?exclude=慈溪"),
])
async def test_bad_query_values_get_400_with_one_line(site: Web, query: str, reason: str) -> None:
    status, headers, body = await fetch(site, f"{FEED}?{query}")
    assert status == 400
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.decode() == reason + "\n"


async def test_404_before_400(site: Web) -> None:
    assert (await fetch(site, "/cxnews/nope.rss?limit=abc"))[0] == 404


async def test_post_is_not_allowed(site: Web) -> None:
    async with site.client.post(FEED) as resp:
        assert resp.status == 405


# -- query variants ----------------------------------------------------------------------------------

async def test_limit_q_exclude(site: Web) -> None:
    assert await titles(site, f"{FEED}?limit=2") == TITLES[:2]
    assert await titles(site, f"{FEED}?limit=1000") == TITLES
    assert await titles(site, "/cxnews/cixi.atom?q=疫情") == [TITLES[0], TITLES[4]]  # title or summary
    assert await titles(site, f"{FEED}?q=NINGBO") == [TITLES[2]]  # case-insensitive
    assert await titles(site, f"{FEED}?exclude=疫情") == [TITLES[1], TITLES[2], TITLES[3]]
    assert await titles(site, f"{FEED}?exclude=ningbo&limit=1") == [TITLES[0]]
    assert await titles(site, f"{FEED}?q=疫情&exclude=人大") == [TITLES[0]]
    assert await titles(site, f"{FEED}?q=%E5%91%A8%E5%B7%B7") == [TITLES[3]]  # percent-encoded 周巷
    assert await titles(site, f"{FEED}?q=nothing-matches") == []


async def test_unknown_parameters_are_ignored_and_share_the_cached_feed(site: Web) -> None:
    _, plain, _ = await fetch(site, FEED)
    renders = site.cache.renders
    status, busted, _ = await fetch(site, f"{FEED}?_=1712345&utm_source=reader")
    assert status == 200 and busted["ETag"] == plain["ETag"]
    assert site.cache.renders == renders


async def test_variants_are_cached_and_bounded(site: Web) -> None:
    site.cache.max_variants = 2
    await fetch(site, f"{FEED}?q=ningbo")
    await fetch(site, f"{FEED}?q=疫情")
    renders = site.cache.renders
    await fetch(site, f"{FEED}?q=NingBo")  # casefolded: the same variant as q=ningbo
    await fetch(site, f"{FEED}?q=舟山")  # another word keeping the same entry as q=ningbo: the same view
    await fetch(site, f"{FEED}?q=疫情")
    assert site.cache.renders == renders
    await fetch(site, f"{FEED}?q=周巷")  # evicts the least recently used (q=ningbo)
    await fetch(site, f"{FEED}?q=ningbo")
    assert site.cache.renders == renders + 2


def test_parse_query_directly() -> None:
    from multidict import MultiDict

    assert parse_query(MultiDict()) == FeedQuery()
    assert parse_query(MultiDict(limit=" 7 ", q="Ningbo")) == FeedQuery(limit=7, q="ningbo")
    with pytest.raises(BadQuery):
        parse_query(MultiDict(q="x" * 201))


# -- the render cache --------------------------------------------------------------------------------

async def test_unchanged_feed_is_rendered_once(site: Web) -> None:
    assert site.cache.renders == 0
    _, first, body = await fetch(site, FEED)
    for _ in range(5):
        _, again, again_body = await fetch(site, FEED)
        assert again_body == body and again["ETag"] == first["ETag"]
        await fetch(site, FEED, **{"If-None-Match": first["ETag"], "Accept-Encoding": "gzip"})
    assert site.cache.renders == 1
    for fmt in ("atom", "json"):
        await fetch(site, f"/cxnews/cixi.{fmt}")
        await fetch(site, f"/cxnews/cixi.{fmt}")
    assert site.cache.renders == 3


async def test_herd_of_requests_renders_once(site: Web) -> None:
    results = await asyncio.gather(*(fetch(site, FEED) for _ in range(20)))
    assert {r[0] for r in results} == {200}
    assert len({r[1]["ETag"] for r in results}) == 1
    assert site.cache.renders == 1


async def test_invalidate_rebuilds_after_a_write(site: Web) -> None:
    _, before, _ = await fetch(site, FEED)
    new = newest("慈溪新增一条新闻")
    await fill(site.store, "cixi", [new, *ENTRIES], now=NOW + timedelta(minutes=15))
    # Without invalidation or a poll the cached bytes are served: the cache never asks the store.
    assert (await fetch(site, FEED))[1]["ETag"] == before["ETag"]
    site.cache.invalidate(SITE, "cixi")
    _, after, _ = await fetch(site, FEED)
    assert after["ETag"] != before["ETag"]
    assert after["Last-Modified"] != before["Last-Modified"]
    assert (await titles(site, FEED))[0] == "慈溪新增一条新闻"
    # The old validator no longer matches: a reader polling with it gets the new feed.
    assert (await fetch(site, FEED, **{"If-None-Match": before["ETag"]}))[0] == 200


async def test_revision_poll_rebuilds_only_changed_sections(site: Web) -> None:
    _, cixi, _ = await fetch(site, FEED)
    _, empty, _ = await fetch(site, "/cxnews/empty.rss")
    assert await site.cache.poll_once() == []  # nothing changed: nothing dropped
    renders = site.cache.renders
    await fill(site.store, "cixi", [newest("另一条新闻"), *ENTRIES])
    assert await site.cache.poll_once() == [(SITE, "cixi")]
    assert (await fetch(site, FEED))[1]["ETag"] != cixi["ETag"]
    assert (await fetch(site, "/cxnews/empty.rss"))[1]["ETag"] == empty["ETag"]
    assert site.cache.renders == renders + 1


async def test_background_poll_picks_up_another_writer(store, tmp_path) -> None:
    from feedsvc.store import open_store

    w = await start_web(store, tmp_path, poll_interval=0.05)
    try:
        _, before, _ = await fetch(w, FEED)
        # A second connection to the same file, as `feedsvc refresh` in another process would use.
        writer = open_store(f"sqlite:///{tmp_path / 'web.db'}")
        await writer.open()
        try:
            await fill(writer, "cixi", [newest("另一进程写入的新闻"), *ENTRIES])
        finally:
            await writer.close()
        for _ in range(200):  # bounded wait for the poll; no timing is asserted
            _, after, _ = await fetch(w, FEED)
            if after["ETag"] != before["ETag"]:
                break
            await asyncio.sleep(0.05)
        assert after["ETag"] != before["ETag"]
        assert (await titles(w, FEED))[0] == "另一进程写入的新闻"
    finally:
        await w.client.close()


async def test_identical_reupsert_keeps_etag(site: Web) -> None:
    _, before, body = await fetch(site, FEED)
    _, gz_before, _ = await fetch(site, FEED, **{"Accept-Encoding": "gzip"})
    await fill(site.store, "cixi", list(ENTRIES), now=NOW + timedelta(hours=2))
    site.cache.invalidate(SITE, "cixi")  # forces a re-render from the store
    renders = site.cache.renders
    _, after, again = await fetch(site, FEED)
    _, gz_after, _ = await fetch(site, FEED, **{"Accept-Encoding": "gzip"})
    assert site.cache.renders == renders + 1
    assert after["ETag"] == before["ETag"] and again == body
    assert after["Last-Modified"] == before["Last-Modified"]
    assert gz_after["ETag"] == gz_before["ETag"]


async def test_a_build_overtaken_by_invalidate_is_served_but_not_kept(site: Web) -> None:
    """A refresh that lands while a render is in flight: that render is from before the write, so
    it may answer the request that started it, but the next request renders again."""
    cache = site.cache
    building = asyncio.ensure_future(cache.feed(SITE, "cixi", "rss"))
    for _ in range(10_000):  # until the build has read the entries; it renders them next
        if cache._cached.get((SITE, "cixi")) is not None:  # the section's snapshot is stored
            break
        await asyncio.sleep(0)
    cache.invalidate(SITE, "cixi")  # same loop turn: the render cannot have been stored yet
    await building
    renders = cache.renders
    await fetch(site, FEED)
    assert cache.renders == renders + 1


async def test_store_failure_is_a_503_with_one_line(store, tmp_path) -> None:
    w = await start_web(store, tmp_path)
    try:
        await store.close()
        status, headers, body = await fetch(w, FEED)
        assert status == 503
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        text = body.decode()
        assert text.startswith("feed cxnews/cixi.rss is unavailable: ") and text.count("\n") == 1
        status, _, _ = await fetch(w, "/status.json")
        assert status == 503
        status, _, _ = await fetch(w, "/readyz")
        assert status == 503
        status, _, _ = await fetch(w, "/healthz")  # alive all the same
        assert status == 200
    finally:
        await w.client.close()


async def test_gzip_of_a_variant_decompresses_to_it(site: Web) -> None:
    _, _, plain = await fetch(site, f"{FEED}?limit=1")
    _, headers, body = await fetch(site, f"{FEED}?limit=1", **{"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == plain


def test_snapshot_is_frozen() -> None:
    snap = SectionSnapshot(feed=None, revision=1, generation=0)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        snap.revision = 2  # type: ignore[misc]
    assert replace(snap, revision=2).revision == 2
