"""Only absolute http(s) URLs reach a feed: entry links, images (RSS enclosure, Atom rel=enclosure, JSON
`image`) and links and images in content. `javascript:`, `vbscript:`, `DATA:` (any case, entity-spelt),
`mailto:` and relative URLs are dropped at extraction and again by every renderer, whatever the store holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
import pytest
from lxml import etree, html

from feedsvc.extract.article import extract_article
from feedsvc.model import Entry, Feed, Rules
from feedsvc.render import render
from tests.hostile.cli_site import news_site, read_feeds, refresh_cli, write_config
from tests.support.upstream import RawUpstream

URL_ATTRS = ("href", "src", "poster", "cite", "srcset", "action", "data", "background")
HOSTILE_CONTENT = (
    '<p>正文<a href="javascript:alert(2)">链接一</a><a href="JaVaScRiPt:alert(3)">链接二</a>'
    '<a href="&#106;avascript:alert(4)">链接三</a><a href="vbscript:msgbox(1)">链接四</a>'
    '<a href="/relative/path.html">链接五</a><a href="mailto:x@news.example">链接六</a>'
    '<img src="DATA:image/png;base64,AAAA" alt="图一"><img src="data:image/gif;base64,R0lG" alt="图二">'
    '<video poster="javascript:alert(5)" src="http://news.example/v.mp4" controls></video>'
    '<a href="http://news.example/kept.html">好链接</a></p>'
)
GOOD_CONTENT = ('<p><a href="http://news.example/b.html" rel="noopener noreferrer">好链接</a>'
                '<img src="https://news.example/c.jpg" alt="好图"></p>')
T0 = datetime(2021, 12, 8, 1, 58, tzinfo=UTC)


def hostile_feed() -> Feed:
    entries = (
        Entry(url="javascript:alert(1)", title="坏链接", image="DATA:image/svg+xml;base64,PHN2Zz4=",
              content_html=HOSTILE_CONTENT, published=T0),
        Entry(url="http://news.example/a/1.html", title="好条目", image="http://news.example/i.jpg",
              content_html=GOOD_CONTENT, published=T0),
        Entry(url="http://news.example/a/2.html", title="坏图片", image=" vbscript:msgbox(1)", published=T0),
        Entry(url="http://news.example/a/3.html", title="相对图片", image="/pic/1.jpg", published=T0),
    )
    return Feed(site="s", section="x", title="测试", link="javascript:alert(9)", site_home="http://news.example/",
                feed_url_base="http://127.0.0.1:8080/s/x", entries=entries)


def content_urls(fragment: str) -> list[str]:
    """Every URL-bearing attribute value in an HTML fragment, as a browser would read it."""
    if not fragment.strip():
        return []
    root = html.fragment_fromstring(fragment, create_parent="div")
    return [el.get(attr) for el in root.iter() for attr in URL_ATTRS if el.get(attr) is not None]


def feed_urls(fmt: str, body: bytes) -> tuple[list[str], list[str]]:
    """(links and images of entries and feed, URLs inside content) of a rendered feed."""
    if fmt == "json":
        doc = json.loads(body)
        urls = [doc["home_page_url"]] + [item[k] for item in doc["items"] for k in ("url", "image") if k in item]
        return urls, [u for item in doc["items"] for u in content_urls(item["content_html"])]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    root = etree.fromstring(body)
    if fmt == "rss":
        urls = [el.text or "" for el in root.iter("link")] + [el.get("url", "") for el in root.iter("enclosure")]
        # feedgen writes the content as <description> when an item has no summary.
        contents = [el.text or "" for el in root.iter("{http://purl.org/rss/1.0/modules/content/}encoded",
                                                      "description")]
    else:
        ns = "{http://www.w3.org/2005/Atom}"
        urls = [el.get("href", "") for el in root.iter(f"{ns}link")]
        contents = [el.text or "" for el in root.iter(f"{ns}content")]
    return urls, [u for c in contents for u in content_urls(c)]


def is_web(url: str) -> bool:
    return url.startswith(("http://", "https://"))


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_no_renderer_emits_a_url_that_is_not_absolute_http_whatever_the_store_holds(fmt: str) -> None:
    body = render(fmt, hostile_feed()).body
    urls, in_content = feed_urls(fmt, body)
    assert urls and all(is_web(u) for u in urls), urls
    assert in_content and all(is_web(u) for u in in_content), in_content
    # What was fine stays: the good entry's link, image and content, and the dropped links' text.
    assert {"http://news.example/a/1.html", "http://news.example/i.jpg"} <= set(urls)
    assert {"http://news.example/kept.html", "http://news.example/v.mp4", "https://news.example/c.jpg"} <= set(in_content)
    text = body.decode()
    assert all(word in text for word in ("链接一", "链接四", "链接六", "好链接"))
    assert "pic/1.jpg" not in text  # a relative image has no base in a feed


def test_plain_extracted_content_is_emitted_unchanged() -> None:
    doc = json.loads(render("json", hostile_feed()).body)
    assert doc["items"][1]["content_html"] == GOOD_CONTENT


ARTICLE_PATH = "/system/2021/12/08/000001.shtml"
PROSE = "这是正文第一段，讲述了本地发生的一件新鲜事，内容足够长以便被识别为正文内容，记者在现场进行了采访。"
ARTICLE = f"""<html><head><meta charset="utf-8"><title>恶意链接测试稿件</title>
<meta property="og:image" content="JAVASCRIPT:alert(1)"><base href="javascript:alert(0)//">
<script type="application/ld+json">{{"@type": "NewsArticle", "image": "DATA:image/png;base64,AAAA"}}</script>
</head><body><h1>恶意链接测试稿件</h1><div class="info">2021-12-08 09:58 来源：测试日报</div>
<div id="content"><p>{PROSE}<a href="javascript:alert(2)">链接一</a>{PROSE}<a href="DaTa:text/html,x">链接二</a></p>
<p>{PROSE}<a href="vbscript:msgbox(1)">链接三</a>{PROSE}<a href="mailto:x@news.example">链接四</a></p>
<p>{PROSE}<img data-src="vbscript:msgbox(2)" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="600"></p>
<p>{PROSE}<img src="DATA:image/png;base64,AAAA" width="600"><a href="/next.html">相对链接</a></p></div></body></html>"""


def test_a_hostile_article_page_yields_only_http_urls() -> None:
    entry = extract_article(ARTICLE, f"http://news.example{ARTICLE_PATH}", Rules(), timezone="Asia/Shanghai",
                            now=datetime(2021, 12, 9, tzinfo=UTC))
    assert entry.image is None
    urls = content_urls(entry.content_html)
    assert urls == ["http://news.example/next.html"]  # resolved against the page, not the javascript: <base>
    assert all(word in entry.content_html for word in ("链接一", "链接二", "链接三", "链接四", "第一段"))


async def test_a_hostile_article_page_refreshed_by_the_cli_gives_feeds_with_only_http_urls(tmp_path) -> None:
    list_html = f"<html><body><ul><li><a href='{ARTICLE_PATH}'>恶意链接测试稿件列表标题</a></li></ul></body></html>"
    async with RawUpstream() as up:
        up.routes.update(news_site(list_html, {ARTICLE_PATH: ARTICLE}))
        config = write_config(tmp_path, up.origin)
        code, out = await refresh_cli(config)
        assert code == 0, out
        feeds = await read_feeds(config)
    for fmt in ("rss", "atom", "json"):
        body = feeds[fmt]
        assert isinstance(body, bytes)
        urls, in_content = feed_urls(fmt, body)
        assert all(is_web(u) for u in urls + in_content), (fmt, urls, in_content)
        assert "第一段" in body.decode(), fmt  # the article was read, not only its list link


def test_the_atom_feed_stays_valid_when_links_are_dropped(atom_rng_path) -> None:
    schema = etree.RelaxNG(etree.parse(str(atom_rng_path)))
    assert schema.validate(etree.fromstring(render("atom", hostile_feed()).body)), schema.error_log
