"""Correct dates, or none, from page to feed: refreshed by the real CLI, read back over HTTP.

- A page with no findable date gets no published date (RSS pubDate and JSON date_published absent);
  its first-seen time appears only as Atom's required entry `updated`.
- A feed's updated time (Atom updated, RSS lastBuildDate, Last-Modified) is when its newest entry was
  stored, never a date a page prints for itself in the future.
- A year-less date ("12-08 16:40") takes its year from the article URL's date path.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import feedparser
from lxml import etree

from tests.hostile.cli_site import news_site, read_feeds, refresh_cli, write_config
from tests.support.upstream import RawUpstream, http_response

SH = ZoneInfo("Asia/Shanghai")
ATOM = "{http://www.w3.org/2005/Atom}"
PROSE = "这是正文第一段，讲述了本地发生的一件新鲜事，内容足够长以便被识别为正文内容，记者在现场进行了采访。"


def article(title: str, dateline: str = "") -> str:
    return (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
            f"<div class='info'>{dateline}</div><div id='content'><p>{PROSE}</p><p>{PROSE}</p></div></body></html>")


def list_page(*items: tuple[str, str, str]) -> str:
    lis = "".join(f"<li><a href='{href}'>{text}</a> <span>{date}</span></li>" for href, text, date in items)
    return f"<html><body><ul class='list'>{lis}</ul></body></html>"


async def refresh_and_read(tmp_path, routes) -> dict[str, bytes | str]:
    async with RawUpstream() as up:
        up.routes.update(routes)
        config = write_config(tmp_path, up.origin)
        code, out = await refresh_cli(config)
        assert code == 0, out
        first = await read_feeds(config)
        assert await read_feeds(config) == first  # deterministic: the same store gives the same bytes
        return first


def as_bytes(value: bytes | str) -> bytes:
    assert isinstance(value, bytes)
    return value


# --- no date found: no published date --------------------------------------------------------------


async def test_a_page_without_a_date_has_no_published_date_in_any_feed(tmp_path) -> None:
    path = "/news/story-one.html"  # no date in the URL, none beside the link, none on the page
    before = datetime.now(UTC).replace(microsecond=0)
    feeds = await refresh_and_read(tmp_path, news_site(
        list_page((path, "没有日期的新闻标题示例", "")), {path: article("没有日期的新闻")}))
    after = datetime.now(UTC)
    rss = as_bytes(feeds["rss"])
    assert b"<pubDate>" not in rss
    (item,) = json.loads(feeds["json"])["items"]
    assert item["title"] == "没有日期的新闻"
    assert "date_published" not in item and "date_modified" not in item
    (entry,) = etree.fromstring(as_bytes(feeds["atom"])).findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}published") is None
    updated = datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or "")
    assert before <= updated <= after  # the first-seen time, where Atom requires a time
    assert not feedparser.parse(rss).bozo


# --- the feed's updated time: when its newest entry was stored -------------------------------------


async def test_a_page_dated_in_the_future_does_not_put_the_feed_time_ahead_of_the_clock(tmp_path) -> None:
    # E-paper editions are often dated the next day; the feed still changed when the entry was stored.
    tomorrow = (datetime.now(SH) + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
    path = "/news/epaper.html"
    before = datetime.now(UTC).replace(microsecond=0)
    feeds = await refresh_and_read(tmp_path, news_site(
        list_page((path, "明日报纸头版新闻标题", "")),
        {path: article("明日报纸头版", tomorrow.strftime("%Y-%m-%d %H:%M"))}))
    after = datetime.now(UTC) + timedelta(seconds=1)
    (item,) = json.loads(feeds["json"])["items"]
    assert datetime.fromisoformat(item["date_published"]) == tomorrow  # the printed date is kept
    last_modified = parsedate_to_datetime(str(feeds["last-modified"]))
    assert before <= last_modified <= after
    atom_updated = datetime.fromisoformat(etree.fromstring(as_bytes(feeds["atom"])).findtext(f"{ATOM}updated") or "")
    assert before <= atom_updated <= after
    rss = feedparser.parse(feeds["rss"])
    assert before <= datetime(*rss.feed.updated_parsed[:6], tzinfo=UTC) <= after


# --- year-less dates: the year of the URL's date path -----------------------------------------------


async def test_a_year_less_list_date_takes_the_year_of_the_article_url(tmp_path) -> None:
    # The article page fails, so the entry keeps its list link and the date printed beside it.
    path = "/system/2021/12/08/030312345.shtml"
    feeds = await refresh_and_read(tmp_path, news_site(
        list_page((path, "列表上只有月日的新闻标题", "12-08 16:40")), {path: http_response(500, "oops")}))
    (item,) = json.loads(feeds["json"])["items"]
    assert item["date_published"] == "2021-12-08T16:40:00+08:00"


async def test_a_year_less_article_date_takes_the_year_of_the_article_url(tmp_path) -> None:
    path = "/system/2021/12/08/030312346.shtml"
    feeds = await refresh_and_read(tmp_path, news_site(
        list_page((path, "文章页只有月日的新闻标题", "")), {path: article("只有月日的新闻", "12-08 16:40 来源：测试日报")}))
    (item,) = json.loads(feeds["json"])["items"]
    assert item["title"] == "只有月日的新闻"
    assert item["date_published"] == "2021-12-08T16:40:00+08:00"
