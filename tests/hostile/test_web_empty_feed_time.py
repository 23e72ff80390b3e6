"""Hardening #16: an empty feed does not advertise 1970. Its time (HTTP Last-Modified, Atom `updated`,
RSS `lastBuildDate`) is the section's last refresh as the store keeps it, or, for a section never
refreshed yet, when this server first served it; stable from one request to the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from feedsvc.config import load_config
from feedsvc.store import open_store
from feedsvc.web import make_app
from tests.hostile.cli_site import LIST_PATH, SECTION, SITE, read_feeds, refresh_cli, write_config
from tests.support.upstream import RawUpstream, http_response
from tests.web_fixtures import NOW, Web, site_fixture, store_fixture  # noqa: F401 (fixtures)

ATOM = "{http://www.w3.org/2005/Atom}"
EMPTY_LIST = "<html><body><h1>要闻</h1><ul class='list'></ul><p>暂无内容</p></body></html>"


def atom_updated(body: bytes) -> datetime:
    return datetime.fromisoformat(etree.fromstring(body).findtext(f"{ATOM}updated") or "")


def rss_build_date(body: bytes) -> datetime:
    return parsedate_to_datetime(etree.fromstring(body).findtext("channel/lastBuildDate") or "")


async def test_an_empty_section_after_a_refresh_is_dated_by_that_refresh(tmp_path: Path) -> None:
    async with RawUpstream() as up:
        up.routes[LIST_PATH] = http_response(200, EMPTY_LIST)
        config = write_config(tmp_path, up.origin)
        before = datetime.now(UTC).replace(microsecond=0)
        await refresh_cli(config)  # ok or failed ("no links"): either way the store now knows the section
        after = datetime.now(UTC) + timedelta(seconds=1)
    feeds = await read_feeds(config)
    assert isinstance(feeds["atom"], bytes) and isinstance(feeds["rss"], bytes)
    last_modified = parsedate_to_datetime(str(feeds["last-modified"]))
    assert before <= last_modified <= after, feeds["last-modified"]
    assert atom_updated(feeds["atom"]) == last_modified
    assert rss_build_date(feeds["rss"]) == last_modified
    assert await read_feeds(config) == feeds  # the same store gives the same bytes


async def test_a_section_never_refreshed_is_dated_when_first_served_and_stays_put(tmp_path: Path) -> None:
    config = load_config(str(write_config(tmp_path, "http://127.0.0.1:9")))
    store = open_store(config.store.url)
    await store.open()
    before = datetime.now(UTC).replace(microsecond=0)
    try:
        async with TestClient(TestServer(make_app(config, store), host="127.0.0.1")) as client:
            first = await client.get(f"/{SITE}/{SECTION}.atom")
            body = await first.read()
            again = await client.get(f"/{SITE}/{SECTION}.atom",
                                     headers={"If-Modified-Since": first.headers["Last-Modified"]})
    finally:
        await store.close()
    assert first.status == 200 and again.status == 304
    last_modified = parsedate_to_datetime(first.headers["Last-Modified"])
    assert before <= last_modified <= datetime.now(UTC), first.headers["Last-Modified"]
    assert atom_updated(body) == last_modified
    assert again.headers["ETag"] == first.headers["ETag"]


async def test_a_filtered_view_that_keeps_nothing_is_dated_like_its_section(site: Web) -> None:
    whole = await site.client.get("/cxnews/cixi.atom")
    none = await site.client.get("/cxnews/cixi.atom?q=没有这个词", headers={"Accept-Encoding": "identity"})
    assert whole.status == none.status == 200
    assert none.headers["Last-Modified"] == whole.headers["Last-Modified"] == format_datetime(NOW, usegmt=True)
    assert atom_updated(await none.read()) == NOW
