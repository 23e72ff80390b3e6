"""The pages over HTTP (the real app over a real SQLite store, read with BeautifulSoup): what `/` and a
section page say, that everything from a page or the config is escaped, the Content-Security-Policy
that allows only the inline style and script, and the pages without JavaScript. In a real browser:
tests/test_pages_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from bs4 import BeautifulSoup

from feedsvc.config import Config
from feedsvc.model import RefreshReport
from feedsvc.store import Store
from feedsvc.web import make_app
from tests.web_fixtures import (
    ENTRIES,
    NOW,
    PUBLIC,
    SITE,
    Web,
    fill,
    make_entry,
    site_fixture,  # noqa: F401 (fixture `site`)
    store_fixture,  # noqa: F401 (fixture `store`)
    web_config,
)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>"\' &amp;'


async def page(w: Web, path: str) -> BeautifulSoup:
    async with w.client.get(path) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        return BeautifulSoup(await resp.text(), "html.parser")


def card(doc: BeautifulSoup, section: str) -> BeautifulSoup:
    found = doc.select_one(f"article#{SITE}-{section}")
    assert found is not None, section
    return found


def text(node: BeautifulSoup) -> str:
    return re.sub(r"\s+", " ", node.get_text())


async def test_index_shows_status_count_update_and_error_of_each_section(site: Web) -> None:
    await site.store.record_attempt(RefreshReport(site=SITE, section="cixi", started=NOW, finished=NOW, ok=True))
    failed_at = NOW + timedelta(minutes=5)
    for _ in range(2):
        await site.store.record_attempt(RefreshReport(site=SITE, section="empty", started=failed_at,
                                                      finished=failed_at, ok=False, error="HTTP 503 <b>busy</b>"))
    doc = await page(site, "/")
    cixi, empty, mintong = card(doc, "cixi"), card(doc, "empty"), card(doc, "mintong")
    assert cixi.select_one(".badge").get_text() == "ok"
    assert f"{len(ENTRIES)} entries" in text(cixi)
    assert "updated 2021-12-09 04:00 UTC+8" in text(cixi)  # NOW (20:00 UTC) in Shanghai, zone written out
    assert "last refresh 2021-12-09 04:00 UTC+8" in text(cixi)
    assert cixi.select_one("time")["datetime"] == "2021-12-09T04:00:00+08:00"
    assert empty.select_one(".badge").get_text() == "failing"
    assert empty.select_one(".error").get_text() == "HTTP 503 <b>busy</b>"  # the error as text
    assert "failed 2 times in a row" in text(empty) and "never succeeded" in text(empty)
    assert mintong.select_one(".badge").get_text() == "pending"
    assert "not refreshed yet" in text(mintong)
    assert "1 site, 3 feeds, 1 failing" in text(doc.select_one("header"))
    assert doc.select_one('a[href="/feeds.opml"]') is not None
    async with site.client.get(doc.select_one('footer a[href="/status.json"]')["href"]) as resp:
        assert resp.status == 200 and (await resp.json())["sections"]["cxnews/empty"]["status"] == "failing"


async def test_index_gives_the_public_feed_urls_with_copy_buttons_and_subscribe_links(site: Web) -> None:
    cixi = card(await page(site, "/"), "cixi")
    urls = [code.get_text() for code in cixi.select("code")]
    assert urls == [f"{PUBLIC}/cxnews/cixi.{fmt}" for fmt in ("rss", "atom", "json")]
    buttons = cixi.select("button[data-copy]")
    assert [b["data-copy"] for b in buttons] == urls
    assert all(b.has_attr("hidden") for b in buttons)  # shown by the script: no dead button without it
    for button in buttons:
        assert cixi.select_one(f"code#{button['aria-controls']}").get_text() == button["data-copy"]
    subscribe = {a.get_text(): a["href"] for a in cixi.select(".subscribe a")}
    assert subscribe["Feedly"] == "https://feedly.com/i/subscription/feed/http%3A%2F%2Ffeeds.example.org%2Fcxnews%2Fcixi.atom"
    assert set(subscribe) == {"Feedly", "Inoreader", "NewsBlur"}


async def test_without_a_public_url_the_pages_give_the_address_they_were_asked_on(store: Store, tmp_path: Path) -> None:
    data = web_config(f"sqlite:///{tmp_path / 'web.db'}").model_dump(exclude={"source_file"})
    data["server"]["public_url"] = None
    async with TestClient(TestServer(make_app(Config.model_validate(data), store), host="127.0.0.1")) as client:
        async with client.get("/cxnews/cixi", headers={"Host": "news.example.net:8443"}) as resp:
            doc = BeautifulSoup(await resp.text(), "html.parser")
    assert doc.select_one("code").get_text() == "http://news.example.net:8443/cxnews/cixi.rss"


async def test_section_page_shows_each_entry_with_time_author_source_summary(site: Web) -> None:
    doc = await page(site, "/cxnews/cixi")
    entries = doc.select("li.entry")
    assert [e.select_one("h2 a").get_text() for e in entries] == [e.title for e in ENTRIES]
    assert [e.select_one("h2 a")["href"] for e in entries] == [e.url for e in ENTRIES]
    first = entries[0]
    assert first.select_one("time")["datetime"] == "2021-12-08T09:58:00+08:00"
    assert "2021-12-08 09:58 UTC+8 · by 陈章升 · source: 慈溪新闻网-慈溪日报" in text(first)
    assert first.select_one(".summary").get_text() == ENTRIES[0].summary
    assert doc.select_one("ol.entries")["lang"] == "zh-CN"
    assert {(link["type"], link["href"]) for link in doc.select('head link[rel="alternate"]')} == {
        ("application/rss+xml", "/cxnews/cixi.rss"), ("application/atom+xml", "/cxnews/cixi.atom"),
        ("application/feed+json", "/cxnews/cixi.json")}
    assert [c.get_text() for c in doc.select("code")] == [f"{PUBLIC}/cxnews/cixi.{f}" for f in ("rss", "atom", "json")]
    assert doc.select_one(".badge").get_text() == "pending"
    assert "Asia/Shanghai (UTC+8)" in text(doc.select_one("footer"))


async def test_section_page_shows_its_failure(site: Web) -> None:
    await site.store.record_attempt(RefreshReport(site=SITE, section="cixi", started=NOW, finished=NOW, ok=True))
    later = NOW + timedelta(hours=1)
    await site.store.record_attempt(RefreshReport(site=SITE, section="cixi", started=later, finished=later,
                                                  ok=False, error="timed out after 45 s"))
    doc = await page(site, "/cxnews/cixi")
    assert doc.select_one(".badge").get_text() == "failing"
    assert doc.select_one(".error").get_text() == "timed out after 45 s"
    assert "failed once; last attempt 2021-12-09 05:00 UTC+8, last success 2021-12-09 04:00 UTC+8" in text(doc)
    assert len(doc.select("li.entry")) == len(ENTRIES)  # a failing section keeps showing its entries


async def test_entries_without_a_date_or_an_article_say_so(site: Web) -> None:
    undated = make_entry(7, title="无日期的文章", published=None)
    partial = make_entry(8, title="只有标题", partial=True)
    await fill(site.store, "empty", [undated, partial], now=NOW)
    site.cache.invalidate(SITE, "empty")
    doc = await page(site, "/cxnews/empty")
    by_title = {e.select_one("h2 a").get_text(): text(e) for e in doc.select("li.entry")}
    assert "no date on the page; first seen 2021-12-09 04:00 UTC+8" in by_title["无日期的文章"]
    assert "article not read yet" in by_title["只有标题"]


async def test_a_long_section_page_lists_the_newest_fifty(site: Web) -> None:
    many = [make_entry(10 + i, title=f"第{i}条", published=NOW - timedelta(minutes=i)) for i in range(60)]
    await fill(site.store, "empty", many)
    site.cache.invalidate(SITE, "empty")
    doc = await page(site, "/cxnews/empty")
    assert [e.select_one("h2 a").get_text() for e in doc.select("li.entry")] == [f"第{i}条" for i in range(50)]
    assert "60 entries (the newest 50 shown; the feeds carry all)" in text(doc)


async def test_everything_from_pages_and_config_is_escaped(store: Store, tmp_path: Path) -> None:
    data = web_config(f"sqlite:///{tmp_path / 'web.db'}").model_dump(exclude={"source_file"})
    data["sites"][SITE]["title"] = f"站点{HOSTILE}"
    data["sites"][SITE]["sections"]["cixi"]["title"] = f"栏目{HOSTILE}"
    data["sites"][SITE]["sections"]["cixi"]["description"] = f"说明{HOSTILE}"
    hostile = make_entry(0, title=f"标题{HOSTILE}", summary=f"摘要{HOSTILE}", author=f"作者{HOSTILE}",
                         source=f"来源{HOSTILE}", url="javascript:alert(1)//http://www.cxnews.cn/a.shtml")
    await fill(store, "cixi", [hostile])
    await store.record_attempt(RefreshReport(site=SITE, section="cixi", started=NOW, finished=NOW, ok=False,
                                             error=f"错误{HOSTILE}"))
    async with TestClient(TestServer(make_app(Config.model_validate(data), store), host="127.0.0.1")) as client:
        bodies = [await (await client.get(path)).text() for path in ("/", "/cxnews/cixi")]
    for body in bodies:
        doc = BeautifulSoup(body, "html.parser")
        assert len(doc.select("script")) == 1 and doc.select_one("img") is None  # only the page's own script
        assert not [tag for tag in doc.find_all(True) if any(a.startswith("on") for a in tag.attrs)]
        assert not doc.select('a[href^="javascript"]')
        assert HOSTILE in doc.get_text()  # shown as the text it is
    section = BeautifulSoup(bodies[1], "html.parser")
    for field in ("标题", "摘要", "作者", "来源", "栏目", "说明", "错误"):
        assert field + HOSTILE in section.get_text(), field
    (entry,) = [e for e in section.select("li.entry") if "标题" in e.get_text()]
    assert entry.select_one("h2 a") is None and entry.select_one("h2 span")  # a javascript: URL is no link


async def test_pages_allow_only_their_own_inline_style_and_script(site: Web) -> None:
    for path in ("/", "/cxnews/cixi"):
        async with site.client.get(path) as resp:
            policy = resp.headers["Content-Security-Policy"]
            assert resp.headers["Cache-Control"] == "no-cache"  # live status: never a stale copy
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            doc = BeautifulSoup(await resp.text(), "html.parser")
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'"

        def digest(source: str) -> str:
            return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"

        (style,), (script,) = doc.select("style"), doc.select("script")
        assert directives["style-src"] == digest(style.string)
        assert directives["script-src"] == digest(script.string)
        # No external assets: nothing the page loads comes from elsewhere.
        assert not doc.select("link[rel=stylesheet], script[src], img[src], iframe")
        assert doc.select_one('link[rel="icon"]')["href"] == "data:,"


async def test_index_says_so_when_the_store_cannot_be_read(store: Store, tmp_path: Path) -> None:
    config = web_config(f"sqlite:///{tmp_path / 'web.db'}")
    async with TestClient(TestServer(make_app(config, store), host="127.0.0.1")) as client:
        await store.close()
        async with client.get("/") as resp:
            assert resp.status == 200  # the list of feeds is the config's: it stays readable
            doc = BeautifulSoup(await resp.text(), "html.parser")
    (banner,) = doc.select('.banner[role="alert"]')
    assert banner.get_text().startswith("The store cannot be read, so no section's status is known: ")
    assert [b.get_text() for b in doc.select(".badge")] == ["unknown"] * 3  # not "pending": nobody knows
    assert "entries unknown" in text(card(doc, "cixi"))
    assert len(doc.select("code")) == 9  # the feed URLs are still given
