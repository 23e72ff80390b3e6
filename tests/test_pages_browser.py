"""The pages in a real headless Chromium (tests/chromium.py over the DevTools protocol): no console
errors, autodiscovery links that resolve to valid feeds, no horizontal overflow at phone and desktop
widths (a screenshot written for each), dark scheme, copy buttons, and a page that works without
JavaScript.

The app is the real one over a SQLite store filled by a real refresh of the replica of www.cxnews.cn
(the shipped config, plus one section whose list page is missing, so one section is failing and its
title tries an injection). Skipped only when chromium is missing and FEEDSVC_TEST_CHROMIUM is unset.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import feedparser
import pytest
from aiohttp.test_utils import TestServer

from feedsvc.commands.refresh import refresh_once
from feedsvc.config import Config
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.seed_site import replica_app
from feedsvc.store import open_store
from feedsvc.web import make_app
from tests.chromium import Chromium, Tab, chromium_binary
from tests.support import NOW, REPO
from tests.test_e2e import shipped_config

pytestmark = pytest.mark.skipif(
    chromium_binary() is None and not os.environ.get("FEEDSVC_TEST_CHROMIUM"),
    reason="no chromium (install Debian's chromium, or set FEEDSVC_TEST_CHROMIUM=1 to fail instead)")

PHONE, DESKTOP = 390, 1280
HOSTILE_TITLE = '坏掉的栏目 <script>document.title="injected"</script><img src=x onerror=alert(1)>'
SECTIONS = ("latest", "cixi", "minetong", "qiaocheng", "zhenjie", "waimei", "pinglun", "caijing", "shehui")


def browser_config(db: Path) -> Config:
    """The shipped config, its entries kept however old, plus a section whose list page is missing."""
    data = shipped_config(db).model_dump(exclude={"source_file"})
    data["store"]["max_age_days"] = 36500
    data["sites"]["cxnews"]["sections"]["broken"] = {"title": HOSTILE_TITLE,
                                                     "url": "http://www.cxnews.cn/no-such-list/"}
    return Config.model_validate(data)


async def _refresh_replica(config: Config) -> None:
    server = TestServer(replica_app(REPO / "seeds"), host="127.0.0.1")
    await server.start_server()
    try:
        resolver = StaticResolver({h: ("127.0.0.1", server.port) for h in ("www.cxnews.cn", "cxnews.cn")})
        reports = await refresh_once(config, config.section_refs(), resolver=resolver, clock=lambda: NOW)
    finally:
        await server.close()
    assert [r.section for r in reports if not r.ok] == ["broken"], [(r.section, r.error) for r in reports]


@pytest.fixture(scope="module")
def refreshed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled once for the module by a real refresh of the replica."""
    db = tmp_path_factory.mktemp("browser") / "pages.db"
    asyncio.run(_refresh_replica(browser_config(db)))
    return db


@dataclass
class Served:
    base: str  # http://127.0.0.1:port
    browser: Chromium
    shots: Path  # where screenshots go


@pytest.fixture
async def served(refreshed_db: Path, tmp_path: Path) -> AsyncIterator[Served]:
    """The real app on 127.0.0.1 over a copy of the refreshed store, and a headless Chromium."""
    db = tmp_path / "pages.db"
    shutil.copy(refreshed_db, db)
    config = browser_config(db)
    store = open_store(config.store.url)
    await store.open()
    server = TestServer(make_app(config, store, clock=lambda: NOW, poll_interval=3600), host="127.0.0.1")
    await server.start_server()
    shots = Path(os.environ.get("FEEDSVC_TEST_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        async with Chromium.launch(tmp_path) as browser:
            yield Served(f"http://127.0.0.1:{server.port}", browser, shots)
    finally:
        await server.close()
        await store.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def feed_titles(media_type: str, body: bytes) -> list[str]:
    """The entry titles of a valid feed: RSS and Atom read by feedparser, JSON Feed checked as JSON."""
    if media_type == "application/feed+json":
        doc = json.loads(body)
        assert doc["version"] == "https://jsonfeed.org/version/1.1" and isinstance(doc["items"], list)
        return [item["title"] for item in doc["items"]]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version in ("rss20", "atom10"), parsed.version
    return [entry.title for entry in parsed.entries]


async def overflow(tab: Tab) -> tuple[int, int]:
    """(document scroll width, window inner width): wider content scrolls sideways."""
    width, inner = await tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return width, inner


@pytest.mark.parametrize("path", ["/", "/cxnews/cixi", "/cxnews/broken"])
async def test_pages_render_without_console_errors_and_fit_phone_and_desktop(served: Served, path: str) -> None:
    for width in (PHONE, DESKTOP):
        tab = await served.browser.open(served.base + path, width=width)
        await asyncio.sleep(0.2)  # late reports (a refused script, a failed load) arrive after load
        assert not tab.errors, tab.errors
        assert await tab.evaluate("document.title") != "injected"
        scroll, inner = await overflow(tab)
        # A phone's browser widens its window to content that does not fit: compare with the width asked.
        assert scroll <= width and inner == width, f"{path} at {width}px: content {scroll}px, window {inner}px"
        name = ("index" if path == "/" else path.strip("/").replace("/", "-")) + f"-{width}.png"
        shot = await tab.screenshot(served.shots / name)
        assert png_size(shot)[0] == width


async def test_index_shows_every_section_with_status_count_and_the_failing_error(served: Served) -> None:
    tab = await served.browser.open(served.base + "/", width=DESKTOP)
    cards = await tab.evaluate("""[...document.querySelectorAll('article.card')].map(c => ({
        id: c.id, status: c.querySelector('.badge').textContent, text: c.innerText,
        urls: [...c.querySelectorAll('code')].map(e => e.textContent)}))""")
    assert [c["id"] for c in cards] == [f"cxnews-{s}" for s in (*SECTIONS, "broken")]
    for card in cards[:-1]:
        assert card["status"] == "ok", card
        assert re.search(r"(^|\s)[1-9][0-9]* entr(y|ies) ", card["text"]), card["text"]
        assert "UTC+8" in card["text"]  # times carry their zone
    broken = cards[-1]
    assert broken["status"] == "failing"
    assert "404" in broken["text"] and HOSTILE_TITLE.split(" ")[0] in broken["text"]
    assert "<script>" in broken["text"]  # the title shown as text, not run
    public = "http://127.0.0.1:8080"  # the shipped config's public_url: what a reader is given
    assert cards[1]["urls"] == [f"{public}/cxnews/cixi.{fmt}" for fmt in ("rss", "atom", "json")]


async def test_autodiscovery_links_resolve_to_valid_feeds(served: Served) -> None:
    for path in ("/", "/cxnews/cixi"):
        tab = await served.browser.open(served.base + path, width=DESKTOP)
        links = await tab.evaluate(
            "[...document.querySelectorAll('link[rel=alternate]')].map(l => [l.type, l.href])")
        expected = 3 * (len(SECTIONS) + 1) if path == "/" else 3
        assert len(links) == expected
        async with aiohttp.ClientSession() as http:
            for media_type, href in links:
                assert href.startswith(served.base + "/"), href  # resolved by the browser against the page
                async with http.get(href) as resp:
                    assert resp.status == 200, href
                    assert resp.content_type == media_type, href
                    body = await resp.read()
                titles = feed_titles(media_type, body)
                if href.startswith(served.base + "/cxnews/cixi."):
                    assert titles, href


async def test_section_page_shows_real_entries_linking_to_the_originals(served: Served) -> None:
    tab = await served.browser.open(served.base + "/cxnews/cixi", width=PHONE)
    entries = await tab.evaluate("""[...document.querySelectorAll('li.entry')].map(e => ({
        title: e.querySelector('h2 a').textContent, href: e.querySelector('h2 a').href,
        time: e.querySelector('time') && e.querySelector('time').dateTime, text: e.innerText}))""")
    assert len(entries) >= 5
    assert all(e["href"].startswith("http://www.cxnews.cn/") for e in entries), entries
    seed = next(e for e in entries if e["title"] == "守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战")
    assert seed["time"] == "2021-12-08T09:58:00+08:00"
    assert "2021-12-08 09:58 UTC+8" in seed["text"]
    assert "熊洲" in seed["text"] and "慈溪新闻网-慈溪日报" in seed["text"]
    assert await tab.evaluate("document.documentElement.lang") == "en"
    assert await tab.evaluate("document.querySelector('ol.entries').lang") == "zh-CN"  # CJK glyph choice


async def test_dark_scheme_follows_the_system_setting(served: Served) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    light = await (await served.browser.open(served.base + "/", width=PHONE)).evaluate(background)
    dark_tab = await served.browser.open(served.base + "/", width=PHONE, dark=True)
    dark = await dark_tab.evaluate(background)
    assert light == "rgb(250, 250, 247)" and dark == "rgb(18, 19, 22)"
    assert not dark_tab.errors, dark_tab.errors
    await dark_tab.screenshot(served.shots / f"index-dark-{PHONE}.png")


async def test_copy_button_copies_the_feed_url(served: Served) -> None:
    tab = await served.browser.open(served.base + "/cxnews/cixi", width=DESKTOP)
    await served.browser.call("Browser.grantPermissions", origin=served.base,
                              permissions=["clipboardReadWrite", "clipboardSanitizedWrite"])
    button = "document.querySelector('button[data-copy]')"
    assert await tab.evaluate(f"{button}.hidden") is False  # the script shows the buttons
    box = await tab.evaluate(f"(r => [r.x + r.width / 2, r.y + r.height / 2])({button}.getBoundingClientRect())")
    for kind in ("mousePressed", "mouseReleased"):  # a real click: the clipboard wants a user gesture
        await tab.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
    for _ in range(50):
        if await tab.evaluate(f"{button}.textContent") != "Copy":
            break
        await asyncio.sleep(0.05)
    assert await tab.evaluate(f"{button}.textContent") == "Copied"
    assert await tab.evaluate("navigator.clipboard.readText()") == "http://127.0.0.1:8080/cxnews/cixi.rss"
    assert not tab.errors, tab.errors


async def test_pages_work_without_javascript(served: Served) -> None:
    tab = await served.browser.open(served.base + "/", width=PHONE, javascript=False)
    assert not tab.errors, tab.errors
    state = await tab.evaluate("""({
        buttons: [...document.querySelectorAll('button')].filter(b => b.offsetParent !== null).length,
        urls: [...document.querySelectorAll('code')].filter(c => c.offsetParent !== null).length,
        text: document.body.innerText})""")
    assert state["buttons"] == 0  # no copy button that would do nothing
    assert state["urls"] == 3 * (len(SECTIONS) + 1)
    assert "http://127.0.0.1:8080/cxnews/cixi.atom" in state["text"]
    scroll, inner = await overflow(tab)
    assert scroll <= PHONE and inner == PHONE
