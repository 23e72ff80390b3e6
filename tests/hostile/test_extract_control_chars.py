"""Characters XML cannot carry (C0 controls, U+FFFE/U+FFFF, lone surrogates), raw or as `&#x1;`
references, are dropped from every field; the article is read, stored and served in feeds that parse."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
from lxml import etree

from feedsvc.extract.article import extract_article
from feedsvc.extract.links import find_links
from feedsvc.model import Rules
from tests.hostile.cli_site import news_site, read_feeds, refresh_cli, write_config
from tests.support.upstream import RawUpstream, http_response

ARTICLE_PATH = "/system/2021/12/08/000001.shtml"
# What XML 1.0 forbids, as a page can spell it: character references and raw characters.
REFS = "&#x1;&#x0b;&#x1f;&#xfffe;&#65535;&#1;&#X8;"
RAW = "\ufffe\uffff"
BODY = "这是正文第一段，讲述了本地发生的一件新鲜事，内容足够长以便被识别为正文内容。"


def article_bytes() -> bytes:
    """A short article page with raw control bytes in its title and forbidden references in its body."""
    page = (
        "<html><head><meta charset='utf-8'><title>控制\x01字符\x08标题\x1b</title>"
        f"<meta name='description' content='摘要{REFS}'></head><body>"
        f"<h1>控制\x01字符\x08标题\x1b{REFS}</h1><div class='info'>2021-12-08 09:58 来源：测试日报{REFS}</div>"
        f"<div id='content'><p>{BODY}{REFS}{RAW}</p><p title='t{REFS}'>第二段{REFS}继续介绍有关情况，记者在现场进行了采访。</p>"
        f"<p><img src='/pic/1.jpg' alt='图{REFS}'></p></div></body></html>"
    )
    return page.encode("utf-8")


def xml_forbidden(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c not in "\t\n\r") or c in "\ufffe\uffff"
            or 0xD800 <= ord(c) <= 0xDFFF]


async def test_a_page_with_control_characters_is_refreshed_and_its_feeds_parse(tmp_path) -> None:
    list_html = f"<html><body><ul><li><a href='{ARTICLE_PATH}'>控制字符新闻标题示例一</a></li></ul></body></html>"
    async with RawUpstream() as up:
        up.routes.update(news_site(list_html, {ARTICLE_PATH: http_response(200, article_bytes())}))
        config = write_config(tmp_path, up.origin)
        code, out = await refresh_cli(config)
        assert code == 0, out
        feeds = await read_feeds(config)
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(feeds[fmt])
        assert not parsed.bozo, (fmt, parsed.bozo_exception)
        (entry,) = parsed.entries
        assert entry.title == "控制字符标题"  # the article page was read: not the list link's text
        assert BODY in entry.content[0].value if fmt == "atom" else BODY in entry.content[0].value
        etree.fromstring(feeds[fmt])  # a strict XML parser agrees
    (item,) = json.loads(feeds["json"])["items"]
    assert item["title"] == "控制字符标题" and BODY in item["content_html"]
    assert not xml_forbidden(json.dumps(item, ensure_ascii=False))


async def test_a_short_page_with_raw_control_bytes_in_its_title_is_read_not_refused_as_binary(tmp_path) -> None:
    # Five stray bytes in a 300-character page: over 1 %, which the fetcher once took for a binary body.
    page = ("<html><head><title>短稿\x01\x02\x03\x08\x1b标题</title></head><body><h1>短稿标题</h1>"
            f"<p>2021-12-08 09:58</p><div><p>{BODY}{BODY}{BODY}{BODY}</p></div></body></html>")
    assert 250 < len(page) < 350
    list_html = f"<html><body><ul><li><a href='{ARTICLE_PATH}'>列表上的标题文字示例</a></li></ul></body></html>"
    async with RawUpstream() as up:
        up.routes.update(news_site(list_html, {ARTICLE_PATH: page}))
        config = write_config(tmp_path, up.origin)
        code, out = await refresh_cli(config)
        assert code == 0, out
        feeds = await read_feeds(config)
    (item,) = json.loads(feeds["json"])["items"]
    assert item["title"] == "短稿标题" and BODY in item["content_html"], out


def test_every_extracted_field_is_free_of_characters_xml_cannot_carry() -> None:
    # A lone surrogate and JSON-LD escapes reach fields without passing the HTML parser's text.
    ld = ('{"@type": "NewsArticle", "headline": "JSON\\u0001标题", "author": {"@type": "Person", "name": "张\\u0002三\\ud800"}, '
          '"image": "http://news.example/pic\\u0001\\ud800.jpg"}')
    html = article_bytes().decode().replace("</head>", f"<script type='application/ld+json'>{ld}</script></head>")
    entry = extract_article(html, f"http://news.example{ARTICLE_PATH}", Rules(), timezone="Asia/Shanghai",
                            now=datetime(2021, 12, 9, tzinfo=UTC))
    for name, value in vars(entry).items():
        if isinstance(value, str):
            assert not xml_forbidden(value), name
    assert entry.title == "控制字符标题" and BODY in entry.content_html


def test_list_link_texts_are_free_of_characters_xml_cannot_carry() -> None:
    html = f"<ul><li><a href='{ARTICLE_PATH}'>列表\x01链接{REFS}标题文字示例</a> 2021-12-08</li></ul>"
    (link,) = find_links(html, "http://news.example/list/", Rules(), now=datetime(2021, 12, 9, tzinfo=UTC))
    assert link.text == "列表链接标题文字示例"
