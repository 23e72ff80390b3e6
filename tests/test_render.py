"""Feed rendering: golden files, RFC 4287 schema, feedparser as the reader's oracle, determinism.

Goldens under tests/golden/ are rewritten only with UPDATE_GOLDEN=1 (then review the diff).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

from feedsvc.errors import NotFound
from feedsvc.extract.article import extract_article
from feedsvc.model import Entry, Feed, Rules
from feedsvc.render import FORMATS, render
from feedsvc.render.safe_urls import safe_content_html

GOLDEN = Path(__file__).parent / "golden"
SH = ZoneInfo("Asia/Shanghai")
ATOM = "{http://www.w3.org/2005/Atom}"

BODY_A = (
    "<p>昨天上午,市委、市政府召开全市疫情防控工作视频会议。市委书记林坚强调,要深入学习贯彻习近平总书记"
    "关于新冠肺炎疫情防控工作的重要指示批示精神,坚决贯彻上级决策部署,全面动员、迅速行动,守土有责、守土担责,"
    "“快准严细”坚决打好疫情防控阻击战。</p>"
    "<p>林坚强调,要强化精准防控,充分利用大数据手段和网格化排查,全面分析研判,加强主动排摸,"
    "及时落实人员精准管控。</p>"
    "<p>全媒体记者 熊洲</p>"
)
BODY_B = (
    '<p><img src="http://www.cxnews.cn/pic/2021-12/08/b1.jpg" alt="寒潮来袭"></p>'
    "<p>受强冷空气影响,本周我市气温将下降8～10℃,市气象台提醒市民做好防寒保暖 &amp; 出行安全。</p>"
    '<p>详情请见<a href="http://www.cxnews.cn/cx/2021-12/08/b2.html?from=a&amp;id=2">应对措施</a>。</p>'
)
BODY_C = "<p>市文明办发布倡议,号召广大市民参与“文明慈溪”志愿服务,共建美好家园。</p>"

ENTRY_A = Entry(
    url="http://www.cxnews.cn/cx/2021-12/08/content_a.htm",
    title="守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战",
    subtitle="章程作工作部署",
    author="全媒体记者 熊洲",
    source="慈溪新闻网-慈溪日报",
    editor="胡兴家",
    published=datetime(2021, 12, 8, 9, 58, tzinfo=SH),
    first_seen=datetime(2021, 12, 8, 10, 5, 31, tzinfo=SH),
    summary="市委、市政府召开全市疫情防控工作视频会议,林坚强调“快准严细”坚决打好疫情防控阻击战。",
    content_html=BODY_A,
    categories=("慈溪新闻",),
)
ENTRY_B = Entry(
    url="http://www.cxnews.cn/cx/2021-12/08/content_b.htm",
    title="寒潮来袭!我市气温将骤降 & 出行注意安全",
    author="通讯员 王丽",
    # Stored in UTC: every format must still show the site's +08:00 offset.
    published=datetime(2021, 12, 8, 0, 30, tzinfo=UTC),
    updated=datetime(2021, 12, 8, 11, 0, tzinfo=SH),  # content changed after publication: newest time
    first_seen=datetime(2021, 12, 8, 8, 45, tzinfo=SH),
    summary="受强冷空气影响,本周我市气温将下降8～10℃。",
    content_html=BODY_B,
    image="http://www.cxnews.cn/pic/2021-12/08/b1.jpg",
    categories=("慈溪新闻", "社会生活"),
)
ENTRY_C = Entry(  # the list page showed no date: first_seen stands in
    url="http://www.cxnews.cn/cx/2021-12/07/content_c.htm",
    title="市文明办发布“文明慈溪”志愿服务倡议",
    first_seen=datetime(2021, 12, 7, 16, 20, tzinfo=SH),
    summary="号召广大市民参与志愿服务。",
    content_html=BODY_C,
    categories=("慈溪新闻",),
)
FEED = Feed(
    site="cxnews",
    section="cixi",
    title="慈溪新闻",
    link="http://www.cxnews.cn/cx/",
    feed_url_base="http://127.0.0.1:8080/cxnews/cixi",
    description="慈溪新闻网 · 慈溪新闻",
    site_title="慈溪新闻网",
    site_home="http://www.cxnews.cn/",
    ttl_minutes=15,
    entries=(ENTRY_A, ENTRY_B, ENTRY_C),
)
EMPTY = replace(FEED, entries=())
IDS = [ENTRY_A.url, ENTRY_B.url, ENTRY_C.url]


@pytest.fixture(scope="module")
def atom_schema(atom_rng_path: Path) -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(atom_rng_path)))


def assert_valid_atom(schema: etree.RelaxNG, body: bytes) -> None:
    ok = schema.validate(etree.fromstring(body))
    assert ok, f"Atom fails atom.rng: {schema.error_log}"


def parse_clean(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, f"feedparser bozo: {parsed.get('bozo_exception')!r}"
    return parsed


# --- registry -------------------------------------------------------------------------------------


def test_registry_formats_and_media_types() -> None:
    assert {k: r.media_type for k, r in FORMATS.items()} == {
        "rss": "application/rss+xml",
        "atom": "application/atom+xml",
        "json": "application/feed+json",
    }
    for fmt in FORMATS:
        doc = render(fmt, FEED)
        assert (doc.format, doc.media_type) == (fmt, FORMATS[fmt].media_type)
        assert doc.updated == FEED.updated


def test_unknown_format_is_not_found() -> None:
    with pytest.raises(NotFound, match="'xml'.*rss, atom, json"):
        render("xml", FEED)


# --- golden files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_golden(fmt: str) -> None:
    path = GOLDEN / f"feed.{fmt}"
    body = render(fmt, FEED).body
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(body)
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 and review it"
    assert body == path.read_bytes(), f"{fmt} output differs from {path} (UPDATE_GOLDEN=1 to accept)"


# --- determinism ----------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", [FEED, EMPTY], ids=["three", "empty"])
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_same_feed_same_bytes_and_no_clock(fmt: str, feed: Feed) -> None:
    first = render(fmt, feed).body
    again = render(fmt, replace(feed, entries=tuple(replace(e) for e in feed.entries))).body
    assert first == again
    # feedgen stamps now() by default; the fixtures are from 2021, so the current year would betray it.
    assert str(datetime.now(UTC).year).encode() not in first
    # ...and its default generator carries its own version, which would change bytes on an upgrade.
    assert b"feedgen" not in first


# --- ids, order and dates agree across formats ----------------------------------------------------


def test_same_ids_in_same_order_in_all_formats() -> None:
    rss = parse_clean(render("rss", FEED).body)
    atom = parse_clean(render("atom", FEED).body)
    items = json.loads(render("json", FEED).body)["items"]
    assert [e.id for e in rss.entries] == IDS
    assert [e.id for e in atom.entries] == IDS
    assert [i["id"] for i in items] == IDS


def test_entries_keep_given_order_even_when_not_by_date() -> None:
    shuffled = replace(FEED, entries=(ENTRY_C, ENTRY_A, ENTRY_B))
    for fmt in ("rss", "atom"):
        assert [e.id for e in parse_clean(render(fmt, shuffled).body).entries] == [IDS[2], IDS[0], IDS[1]]
    assert [i["id"] for i in json.loads(render("json", shuffled).body)["items"]] == [IDS[2], IDS[0], IDS[1]]


def test_rss_pubdate_is_rfc822_with_site_offset() -> None:
    body = render("rss", FEED).body.decode()
    dates = re.findall(r"<pubDate>([^<]*)</pubDate>", body)
    assert dates == [
        "Wed, 08 Dec 2021 09:58:00 +0800",
        "Wed, 08 Dec 2021 08:30:00 +0800",  # stored as 00:30 UTC
    ]  # ENTRY_C has no published date: no pubDate (its first-seen time is no publication date)
    build = re.search(r"<lastBuildDate>([^<]*)</lastBuildDate>", body)
    assert build and build.group(1) == "Wed, 08 Dec 2021 11:00:00 +0800"
    assert parsedate_to_datetime(build.group(1)) == ENTRY_B.updated


def test_feed_updated_is_newest_entry_time_in_every_format() -> None:
    newest = FEED.updated
    assert newest == ENTRY_B.updated  # the model's rule, which the documents must follow
    atom = etree.fromstring(render("atom", FEED).body)
    assert atom.findtext(f"{ATOM}updated") == "2021-12-08T11:00:00+08:00"
    rss = parse_clean(render("rss", FEED).body)
    assert datetime(*rss.feed.updated_parsed[:6], tzinfo=UTC) == newest
    # A newer entry moves it; nothing else does.
    later = datetime(2021, 12, 9, 7, 0, tzinfo=SH)
    moved = replace(FEED, entries=(replace(ENTRY_C, first_seen=later), ENTRY_A, ENTRY_B))
    moved_atom = etree.fromstring(render("atom", moved).body)
    assert moved_atom.findtext(f"{ATOM}updated") == "2021-12-09T07:00:00+08:00"


def test_an_undated_entry_has_first_seen_only_as_atom_updated() -> None:
    atom = etree.fromstring(render("atom", FEED).body)
    entry_c = atom.findall(f"{ATOM}entry")[2]
    assert entry_c.find(f"{ATOM}published") is None
    assert entry_c.findtext(f"{ATOM}updated") == "2021-12-07T16:20:00+08:00"  # RFC 4287 requires one
    item_b, item_c = json.loads(render("json", FEED).body)["items"][1:]
    assert "date_published" not in item_c and "date_modified" not in item_c
    assert (item_b["date_published"], item_b["date_modified"]) == (
        "2021-12-08T08:30:00+08:00",
        "2021-12-08T11:00:00+08:00",
    )


# --- RSS --------------------------------------------------------------------------------------------


def test_rss_channel_and_items_as_readers_see_them() -> None:
    body = render("rss", FEED).body
    parsed = parse_clean(body)
    channel = parsed.feed
    assert channel.title == "慈溪新闻"
    assert channel.link == "http://www.cxnews.cn/cx/"
    assert channel.subtitle == "慈溪新闻网 · 慈溪新闻"
    assert channel.language == "zh-CN"
    assert {"rel": "self", "href": "http://127.0.0.1:8080/cxnews/cixi.rss", "type": "application/rss+xml"} in [
        dict(link) for link in channel.links
    ]
    assert channel.ttl == "15"
    a, b, c = parsed.entries
    assert a.title == ENTRY_A.title and a.link == ENTRY_A.url
    assert a.summary == ENTRY_A.summary
    assert "快准严细" in a.content[0].value
    assert a.author == "全媒体记者 熊洲"  # dc:creator, since RSS <author> must be an e-mail address
    assert b"<author>" not in body
    assert [t.term for t in b.tags] == ["慈溪新闻", "社会生活"]
    assert 'src="http://www.cxnews.cn/pic/2021-12/08/b1.jpg"' in b.content[0].value
    assert "防寒保暖 &amp; 出行安全" in b.content[0].value
    assert b.enclosures[0].href == ENTRY_B.image and b.enclosures[0].type == "image/jpeg"
    assert b.title == "寒潮来袭!我市气温将骤降 & 出行注意安全"
    assert "author" not in c


def test_rss_channel_description_falls_back_to_title() -> None:
    parsed = parse_clean(render("rss", replace(FEED, description="")).body)
    assert parsed.feed.subtitle == "慈溪新闻"


def test_rss_guid_is_permalink_only_when_it_is_the_url() -> None:
    body = render("rss", FEED).body.decode()
    assert body.count('<guid isPermaLink="true">') == 3

    class TagIdEntry(Entry):
        @property
        def id(self) -> str:
            return "tag:cxnews.cn,2021:a"

    odd = TagIdEntry(url=ENTRY_A.url, title=ENTRY_A.title, published=ENTRY_A.published)
    feed = replace(FEED, entries=(odd,))
    body = render("rss", feed).body.decode()
    assert '<guid isPermaLink="false">tag:cxnews.cn,2021:a</guid>' in body
    assert f"<link>{ENTRY_A.url}</link>" in body
    # ...and the other formats carry that same id.
    assert parse_clean(render("atom", feed).body).entries[0].id == "tag:cxnews.cn,2021:a"
    assert json.loads(render("json", feed).body)["items"][0]["id"] == "tag:cxnews.cn,2021:a"


# --- Atom -------------------------------------------------------------------------------------------


def test_atom_validates_against_rfc4287_schema(atom_schema: etree.RelaxNG) -> None:
    assert_valid_atom(atom_schema, render("atom", FEED).body)


def test_atom_feed_and_entries_as_readers_see_them() -> None:
    root = etree.fromstring(render("atom", FEED).body)
    assert root.findtext(f"{ATOM}id") == "http://127.0.0.1:8080/cxnews/cixi"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "慈溪新闻网"  # entries without an author inherit it
    links = {(ln.get("rel"), ln.get("href")) for ln in root.findall(f"{ATOM}link")}
    assert links == {("alternate", "http://www.cxnews.cn/cx/"), ("self", "http://127.0.0.1:8080/cxnews/cixi.atom")}
    a, b, c = root.findall(f"{ATOM}entry")
    assert a.findtext(f"{ATOM}author/{ATOM}name") == "全媒体记者 熊洲"
    assert c.find(f"{ATOM}author") is None
    assert a.find(f"{ATOM}content").get("type") == "html"
    assert a.findtext(f"{ATOM}content") == BODY_A
    assert a.findtext(f"{ATOM}summary") == ENTRY_A.summary
    assert a.findtext(f"{ATOM}published") == "2021-12-08T09:58:00+08:00"
    assert [ct.get("term") for ct in b.findall(f"{ATOM}category")] == ["慈溪新闻", "社会生活"]
    # RFC 4287 4.1.1: at most one rel=alternate per type; the image is an enclosure, not a second alternate.
    entry_links = [(ln.get("rel"), ln.get("type"), ln.get("href")) for ln in b.findall(f"{ATOM}link")]
    assert entry_links == [
        ("alternate", "text/html", ENTRY_B.url),
        ("enclosure", "image/jpeg", ENTRY_B.image),
    ]
    parsed = parse_clean(render("atom", FEED).body)
    assert parsed.entries[1].link == ENTRY_B.url
    assert parsed.entries[1].content[0].type == "text/html"


# --- JSON Feed ----------------------------------------------------------------------------------------


def test_json_feed_spec_fields() -> None:
    body = render("json", FEED).body
    assert "慈溪".encode() in body  # UTF-8, not \\u escapes
    doc = json.loads(body.decode("utf-8"))
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert (doc["title"], doc["home_page_url"], doc["feed_url"], doc["language"]) == (
        "慈溪新闻",
        "http://www.cxnews.cn/cx/",
        "http://127.0.0.1:8080/cxnews/cixi.json",
        "zh-CN",
    )
    a, b, c = doc["items"]
    assert a["url"] == a["id"] == ENTRY_A.url
    assert (a["title"], a["content_html"], a["summary"]) == (ENTRY_A.title, BODY_A, ENTRY_A.summary)
    assert a["authors"] == [{"name": "全媒体记者 熊洲"}]
    assert a["tags"] == ["慈溪新闻"]
    assert a["_feedsvc"] == {"source": "慈溪新闻网-慈溪日报", "editor": "胡兴家", "subtitle": "章程作工作部署"}
    assert b["image"] == ENTRY_B.image and "&amp;" in b["content_html"]
    assert "_feedsvc" not in b and "authors" not in c and "image" not in c


def test_json_feedsvc_extension_has_only_present_keys() -> None:
    feed = replace(FEED, entries=(replace(ENTRY_A, source=None, subtitle="  "),))
    item = json.loads(render("json", feed).body)["items"][0]
    assert item["_feedsvc"] == {"editor": "胡兴家"}


# --- hostile input and the empty feed -------------------------------------------------------------------


def test_control_characters_do_not_break_xml(atom_schema: etree.RelaxNG) -> None:
    dirty = replace(
        ENTRY_A,
        title="\x08守土有责\x1b 坚决打好\ufffe阻击战\x00",
        summary="摘要\x0c",
        content_html="<p>正文\x01\x02</p>",
        author="熊洲\x07",
        categories=("慈溪\x1f新闻",),
    )
    feed = replace(FEED, entries=(dirty,))
    for fmt in ("rss", "atom"):
        entry = parse_clean(render(fmt, feed).body).entries[0]
        assert entry.title == "守土有责 坚决打好阻击战"
        assert entry.author == "熊洲"
    assert_valid_atom(atom_schema, render("atom", feed).body)
    item = json.loads(render("json", feed).body)["items"][0]
    assert (item["title"], item["content_html"], item["tags"]) == ("守土有责 坚决打好阻击战", "<p>正文</p>", ["慈溪新闻"])


def test_entry_without_title_or_body_still_renders(atom_schema: etree.RelaxNG) -> None:
    bare = Entry(url="http://www.cxnews.cn/cx/2021-12/08/bare.htm", title="", first_seen=ENTRY_C.first_seen)
    feed = replace(FEED, entries=(bare,))
    assert_valid_atom(atom_schema, render("atom", feed).body)
    for fmt in ("rss", "atom"):
        assert parse_clean(render(fmt, feed).body).entries[0].id == bare.url
    assert json.loads(render("json", feed).body)["items"][0]["title"] == bare.url


def test_empty_feed_renders_valid_documents(atom_schema: etree.RelaxNG) -> None:
    assert EMPTY.updated is None
    atom = render("atom", EMPTY)
    assert_valid_atom(atom_schema, atom.body)
    assert atom.updated is None  # the web layer must not invent a Last-Modified
    assert etree.fromstring(atom.body).findtext(f"{ATOM}updated") == "1970-01-01T08:00:00+08:00"
    assert parse_clean(atom.body).entries == []
    rss = parse_clean(render("rss", EMPTY).body)
    assert rss.entries == [] and rss.feed.title == "慈溪新闻"
    doc = json.loads(render("json", EMPTY).body)
    assert doc["items"] == [] and doc["version"] == "https://jsonfeed.org/version/1.1"


# --- the URL guard's fast path ---------------------------------------------------------------------


@pytest.mark.parametrize("page", sorted((Path(__file__).parent / "fixtures" / "extract").glob("*.html")),
                         ids=lambda p: p.stem)
def test_extracted_content_passes_the_url_guard_untouched(page: Path) -> None:
    # The renderers re-clean only content that is not in the plain form extraction writes; extraction's
    # own output must be that form, or every render would pay for a second sanitizer pass.
    entry = extract_article(page.read_text("utf-8"), "http://www.cxnews.cn/cx/2021-12/08/content_1.htm", Rules(),
                            timezone="Asia/Shanghai", now=datetime(2021, 12, 9, tzinfo=UTC))
    assert entry.content_html and safe_content_html(entry.content_html) is entry.content_html
