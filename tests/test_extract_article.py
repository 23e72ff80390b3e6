"""Article pages → Entry (feedsvc.extract.article), on fixture pages under tests/fixtures/extract/.

Golden outputs live in tests/golden/extract/; rewrite them with UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from feedsvc.errors import ExtractError
from feedsvc.extract.article import extract_article
from feedsvc.model import Entry, ListedLink, Rules

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "extract"
GOLDEN = HERE / "golden" / "extract"
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 30, 10, 0, tzinfo=SH)  # the seed page was saved long after it was published
SEED_URL = "http://www.cxnews.cn/system/2021/12/08/030312345.shtml"

SEED_TITLE = "守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战"
CNNB_RULES = Rules(title="div.heading", published="div.source span.left", source="div.source span.left",
                   body="div#Zoom")


def seed_text() -> str:
    return (HERE / "fixtures" / "seed_article.txt").read_text("utf-8")


def seed_paragraphs() -> list[str]:
    """The article's paragraphs as the seed text prints them (indented lines), byline excluded."""
    return [ln.strip() for ln in seed_text().splitlines() if ln.startswith("  ") and len(ln.strip()) > 20]


def seed_chrome() -> list[str]:
    """Every line of the seed page that is page chrome, not article."""
    lines = [ln.strip() for ln in seed_text().splitlines() if ln.strip()]
    start = lines.index("24小时最新新闻")
    related = [ln.rstrip(".") for ln in lines[start + 1:] if not ln.startswith(("关于我们", "主管", "浙ICP"))]
    return [
        "首页", "新闻中心", "民生面对面", "慈溪概览", "桥城独家", "桥城视频", "数字电子报", "宁波晚报",
        "责任编辑", "范田圆", "胡兴家", "报料热线", "63012345", "cxnews@yeah.net", "打印该文", "关闭窗口",
        "24小时最新新闻", "关于我们", "法律声明", "主管:中共慈溪市委宣传部", "浙ICP备06028381号-1", "Copyright",
        "全媒体记者", "稿源", "2021-12-08", "林坚在全市疫情防控工作视频会议上强调", *related,
    ]


def load(name: str) -> str:
    return (FIXTURES / name).read_text("utf-8")


def extract(html: str, url: str = SEED_URL, rules: Rules | None = None, **kw) -> Entry:
    return extract_article(html, url, rules or Rules(), timezone="Asia/Shanghai", now=kw.pop("now", NOW), **kw)


def paragraphs(content_html: str) -> list[str]:
    if not content_html:
        return []
    root = lxml.html.fragment_fromstring(content_html, create_parent="div")
    return [re.sub(r"\s+", " ", p.text_content()).strip() for p in root.iter("p") if p.text_content().strip()]


def assert_seed_entry(entry: Entry) -> None:
    assert entry.url == SEED_URL
    assert entry.title == SEED_TITLE
    assert entry.published == datetime(2021, 12, 8, 9, 58, tzinfo=SH)
    assert entry.published.isoformat() == "2021-12-08T09:58:00+08:00"
    assert entry.source == "慈溪新闻网-慈溪日报"
    assert entry.author == "熊洲"
    assert entry.editor == "范田圆 胡兴家"
    assert paragraphs(entry.content_html) == seed_paragraphs()
    text = lxml.html.fragment_fromstring(entry.content_html, create_parent="div").text_content()
    for chrome in seed_chrome():
        assert chrome not in text, chrome
    assert "章程作工作部署" not in paragraphs(entry.content_html)  # the subtitle line (its words recur in the text)
    assert entry.summary.startswith("昨天上午,市委、市政府召开全市疫情防控工作视频会议。")
    assert len(entry.summary) <= 201


# --- the seed article ---------------------------------------------------------------------------


def test_seed_article_without_rules() -> None:
    entry = extract(load("cnnb_seed.html"))
    assert_seed_entry(entry)
    assert entry.subtitle == "林坚在全市疫情防控工作视频会议上强调 / 章程作工作部署"
    assert entry.image is None
    assert entry.partial is False


def test_seed_article_with_the_cnnb_selectors() -> None:
    assert_seed_entry(extract(load("cnnb_seed.html"), rules=CNNB_RULES))


def test_seed_entry_id_is_the_canonical_url() -> None:
    entry = extract(load("cnnb_seed.html"), url=SEED_URL.replace("http://www.cxnews.cn", "http://WWW.CXNEWS.CN:80")
                    + "?utm_source=wechat&spm=1.2#comments")
    assert entry.url == SEED_URL
    assert entry.id == SEED_URL


def test_seed_body_keeps_paragraphs_as_p() -> None:
    html = extract(load("cnnb_seed.html")).content_html
    assert html.startswith("<p>昨天上午")
    assert html.count("<p>") == len(seed_paragraphs())
    assert "&nbsp;" not in html and "\u3000" not in html  # typed indents are the page's styling


# --- rules --------------------------------------------------------------------------------------


def test_configured_selectors_beat_the_heuristics() -> None:
    rules = Rules(title="div.futi", subtitle="div.yinti", author="div.yinti", body="div.title_area")
    entry = extract(load("cnnb_seed.html"), rules=rules)
    assert entry.title == "章程作工作部署"
    assert entry.subtitle == "林坚在全市疫情防控工作视频会议上强调"
    assert entry.author == "林坚在全市疫情防控工作视频会议上强调"  # no label to read: the selected text as is
    # The configured body, less its repeated headline and its date line.
    assert paragraphs(entry.content_html) == ["林坚在全市疫情防控工作视频会议上强调", SEED_TITLE]


def test_rules_remove_drops_nodes_before_extraction() -> None:
    rules = Rules(remove=("div.yinti", "div#Zoom p:first-child", "div.topinfo"))
    entry = extract(load("cnnb_seed.html"), rules=rules)
    assert entry.subtitle == "章程作工作部署"
    assert paragraphs(entry.content_html) == seed_paragraphs()[1:]
    assert entry.editor == "胡兴家"  # the header's editor banner was removed


def test_a_selector_that_matches_nothing_falls_back_to_heuristics() -> None:
    rules = Rules(title="h1.nope", published="span.nope", body="div#nope", author="em.nope")
    assert_seed_entry(extract(load("cnnb_seed.html"), rules=rules))


def test_an_invalid_selector_is_ignored() -> None:
    # Config validation refuses such selectors; extraction still must not break on one (plain Rules
    # built in code are not validated).
    rules = Rules(title="div[[[", body="::nope(")
    assert_seed_entry(extract(load("cnnb_seed.html"), rules=rules))


# --- other layouts ------------------------------------------------------------------------------


def test_old_table_layout_without_selectors() -> None:
    entry = extract(load("table_layout.html"), url="http://www.cxnews.cn/system/2021/12/07/030312201.shtml")
    assert entry.title == "七旬老人义务巡河十年"
    assert entry.published == datetime(2021, 12, 7, 10, 12, tzinfo=SH)
    assert entry.source == "慈溪日报"
    assert entry.author == "胡蓉、陈佳"
    assert entry.editor == "孙佳怡"
    assert entry.image == "http://www.cxnews.cn/pic/2021/12/07/river.jpg"
    paras = paragraphs(entry.content_html)
    assert paras[0].startswith("每天早上7点")
    assert paras[-1] == "十年来，他记满了厚厚的六本巡河日记，发现并上报各类问题三百余个。"
    assert len([p for p in paras if p]) == 4
    for chrome in ("责任编辑", "打印本页", "关闭窗口", "相关新闻", "慈溪小家电产业链", "点击排行", "版权所有", "您现在的位置"):
        assert chrome not in entry.content_html, chrome
    assert '<a href="http://www.cxnews.cn/system/2021/12/01/030310000.shtml"' in entry.content_html


def test_page_with_only_meta_tags() -> None:
    entry = extract(load("meta_only.html"), url="https://news.example.com/economy/sign.html")
    assert entry.title == "杭州湾新区一批重大产业项目集中签约"
    assert entry.published == datetime(2021, 12, 3, 15, 42, tzinfo=SH)
    assert entry.author == "孙晓峰"
    assert entry.image == "https://news.example.com/pic/2021/12/03/sign.jpg"
    assert len(paragraphs(entry.content_html)) == 3
    assert "保留所有权利" not in entry.content_html


def test_page_whose_only_date_is_in_the_url() -> None:
    # The related list's dates and the footer's copyright years are not the article's date.
    entry = extract(load("url_date.html"), url="http://www.cxnews.cn/system/2021/12/24/030319999.shtml")
    assert entry.title == "市民广场灯光秀今晚上演"
    assert entry.published == datetime(2021, 12, 24, tzinfo=SH)
    assert "热点新闻" not in entry.content_html and "消防演练" not in entry.content_html


def test_without_any_date_the_list_date_is_used_and_never_the_crawl_time() -> None:
    html = load("url_date.html")
    url = "http://www.cxnews.cn/shehui/light-show.shtml"
    assert extract(html, url=url).published is None
    listed = ListedLink(url=url, text="市民广场灯光秀今晚上演", published=datetime(2021, 12, 24, 17, 5, tzinfo=SH))
    assert extract(html, url=url, listed=listed).published == datetime(2021, 12, 24, 17, 5, tzinfo=SH)


def test_unsafe_markup_is_removed_and_links_made_absolute() -> None:
    entry = extract(load("hazards.html"), url="http://www.cxnews.cn/system/2021/12/07/030312258.shtml")
    html = entry.content_html
    for bad in ("<script", "document.write", "注入的广告", "<style", "<iframe", "ads.example.com", "onerror",
                "onclick", "onmouseover", "javascript:", "style=", "分享到"):
        assert bad not in html, bad
    # Lazy images: the real URL from data-original / data-src, resolved against <base href>.
    assert '<img src="http://www.cxnews.cn/pic/2021/12/07/fair-1.jpg" alt="展销会现场">' in html
    assert '<img src="http://www.cxnews.cn/pic/2021/12/07/fair-2.jpg" alt="西兰花">' in html
    assert "loading.gif" not in html and "data:image" not in html
    assert '<a href="http://www.cxnews.cn/detail/broccoli.shtml"' in html
    assert "点此领券" in html  # a javascript: link keeps its text, loses the link
    assert entry.image == "http://www.cxnews.cn/pic/2021/12/07/fair-1.jpg"
    assert entry.author == "陈晨" and entry.source == "慈溪日报"


def test_relative_links_resolve_against_the_page_url() -> None:
    html = """<html><head><title>镇街动态</title></head><body><h1>镇街动态</h1><div class="content">
    <p>周巷镇组织网格员和志愿者深入村社、企业开展排查，详见<a href="../07/030312201.shtml">此前报道</a>。</p>
    <p><img src="/pic/a.jpg"> 网格员逐户上门排查登记，确保不漏一户、不漏一人，织密基层疫情防控网。</p>
    <p>全镇400余名网格员分片包干，做到底数清、情况明，为疫情防控提供了坚实保障。</p></div></body></html>"""
    entry = extract(html, url="http://www.cxnews.cn/system/2021/12/08/030312412.shtml")
    assert 'href="http://www.cxnews.cn/system/2021/12/07/030312201.shtml"' in entry.content_html
    assert 'src="http://www.cxnews.cn/pic/a.jpg"' in entry.content_html
    assert entry.image == "http://www.cxnews.cn/pic/a.jpg"


# --- dates in context ---------------------------------------------------------------------------


NO_DATE_URL = "http://www.cxnews.cn/shehui/x.shtml"  # an article URL without a date in its path


def page(date_line: str, *, meta: str = "") -> str:
    return f"""<html><head><title>冬季无偿献血月启动_慈溪新闻网</title>{meta}</head><body>
    <div class="nav"><a href="/">首页</a></div><h1>冬季无偿献血月启动</h1><div class="info">{date_line}</div>
    <div class="text"><p>昨天，我市冬季无偿献血月活动正式启动，当天共有196名市民成功献血，献血量达6万多毫升。</p>
    <p>市中心血站工作人员介绍，冬季是血液供应的淡季，欢迎符合条件的市民踊跃献血。</p></div>
    <div class="foot">Copyright(C) 2005-2024 2021-01-01 00:00</div></body></html>"""


def test_year_less_date_takes_the_year_of_now() -> None:
    entry = extract(page("12-08 09:58 来源：慈溪新闻网"), now=datetime(2021, 12, 10, tzinfo=SH))
    assert entry.published == datetime(2021, 12, 8, 9, 58, tzinfo=SH)


def test_year_less_date_takes_the_year_of_the_meta_date() -> None:
    meta = '<meta itemprop="dateUpdate" content="2019-12-08 09:58:31">'
    entry = extract(page("发布时间：12-08 09:58", meta=meta), url="http://www.cxnews.cn/cx/content_1.htm")
    assert entry.published == datetime(2019, 12, 8, 9, 58, 31, tzinfo=SH)


def test_year_less_date_takes_the_year_of_the_url_before_the_meta_date() -> None:
    # A guessed year never contradicts the URL: /2021/12/08/ says 2021 whatever a stale meta says.
    meta = '<meta itemprop="dateUpdate" content="2019-12-08 09:58:31">'
    entry = extract(page("发布时间：12-08 09:58", meta=meta), url="http://www.cxnews.cn/system/2021/12/08/1.shtml")
    assert entry.published == datetime(2021, 12, 8, 9, 58, tzinfo=SH)


def test_year_less_date_without_url_date_or_meta_is_the_most_recent_past_one() -> None:
    now = datetime(2022, 1, 2, 12, 0, tzinfo=SH)
    entry = extract(page("发布时间：12-31 09:58"), url="http://www.cxnews.cn/cx/content_1.htm", now=now)
    assert entry.published == datetime(2021, 12, 31, 9, 58, tzinfo=SH)


def test_relative_date_counts_back_from_now() -> None:
    now = datetime(2021, 12, 10, 12, 0, tzinfo=SH)
    assert extract(page("3小时前 来源：慈溪新闻网"), url=NO_DATE_URL, now=now).published == now - timedelta(hours=3)
    assert extract(page("昨天 09:58"), url=NO_DATE_URL, now=now).published == datetime(2021, 12, 9, 9, 58, tzinfo=SH)


def test_a_bare_relative_day_is_not_a_publication_time() -> None:
    # "昨天" alone gives no time of day; the URL's date is better evidence than the crawl clock.
    url = "http://www.cxnews.cn/system/2021/12/09/1.shtml"
    assert extract(page("昨天"), url=url, now=datetime(2021, 12, 10, 12, tzinfo=SH)).published == \
        datetime(2021, 12, 9, tzinfo=SH)


def test_printed_date_beats_a_disagreeing_meta_date() -> None:
    meta = '<meta property="article:published_time" content="2021-12-08T10:10:42+08:00">'
    assert extract(page("2021-12-08 09:58", meta=meta)).published == datetime(2021, 12, 8, 9, 58, tzinfo=SH)


def test_meta_adds_seconds_when_it_agrees_to_the_minute() -> None:
    meta = '<meta property="article:published_time" content="2021-12-08T09:58:42+08:00">'
    assert extract(page("2021-12-08 09:58", meta=meta)).published == datetime(2021, 12, 8, 9, 58, 42, tzinfo=SH)


def test_date_from_json_ld() -> None:
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",'
          '"headline": "冬季无偿献血月启动", "datePublished": "2021-12-04T14:18:00+08:00",'
          '"author": {"@type": "Person", "name": "陈晨"}}</script>')
    entry = extract(page("", meta=ld), url=NO_DATE_URL)
    assert entry.published == datetime(2021, 12, 4, 14, 18, tzinfo=SH)
    assert entry.author == "陈晨"


def test_time_element_outside_lists() -> None:
    html = page("").replace('<div class="text">', '<div class="text"><time datetime="2021-12-04T14:18:00+08:00">周六</time>')
    html = html.replace("</body>", '<ul><li><time datetime="2021-11-01T08:00:00+08:00">11-01</time></li></ul></body>')
    entry = extract(html, url=NO_DATE_URL)
    assert entry.published == datetime(2021, 12, 4, 14, 18, tzinfo=SH)
    assert entry.author is None  # 周六 (Saturday) is a weekday, not a name


def test_organization_author_in_json_ld_is_not_a_person() -> None:
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2021-12-04T14:18:00+08:00",'
          '"author": {"@type": "Organization", "name": "示例日报社"}}</script>')
    assert extract(page("", meta=ld)).author is None


def test_footer_dates_are_ignored() -> None:
    entry = extract(page(""), url="http://www.cxnews.cn/shehui/x.shtml")
    assert entry.published is None


# --- credits and chrome inside the body container -----------------------------------------------


def test_lead_credit_gives_authors_and_stays_in_the_body() -> None:
    html = """<html><head><title>一批重大产业项目集中签约</title></head><body><h1>一批重大产业项目集中签约</h1>
    <div class="info">2021-12-03 15:42 稿源：慈溪日报</div><div id="Zoom">
    <p>本报讯（全媒体记者 孙晓峰 通讯员 杨帆）昨天下午，宁波杭州湾新区举行重大产业项目集中签约活动，共有9个项目现场签约。</p>
    <p>据介绍，此次签约项目科技含量高、带动能力强，建成后预计可新增年产值两百多亿元。</p>
    <p>（责任编辑：陈立）</p>
    <p>相关新闻</p>
    <ul><li><a href="/a.shtml">我市出台十条措施助力中小微企业纾困解难</a></li>
    <li><a href="/b.shtml">前10个月我市小家电出口同比增长两成</a></li></ul>
    <p>版权所有：慈溪新闻网 未经授权禁止转载</p></div></body></html>"""
    entry = extract(html, url="http://www.cxnews.cn/system/2021/12/03/030311362.shtml")
    assert entry.author == "孙晓峰、杨帆"
    assert entry.editor == "陈立"
    assert entry.source == "慈溪日报"
    paras = paragraphs(entry.content_html)
    assert paras[0].startswith("本报讯（全媒体记者 孙晓峰 通讯员 杨帆）昨天下午")
    assert len(paras) == 2
    for chrome in ("责任编辑", "相关新闻", "纾困解难", "版权所有"):
        assert chrome not in entry.content_html


def test_a_long_comment_section_is_not_the_body() -> None:
    comment = "<div class='cmt'><p>网友{0}：这个活动很好，希望以后多搞一些，价格也能再优惠一点，农村也需要新能源车，充电桩也要跟上，不然买了也不方便。</p></div>"
    html = f"""<html><head><title>新能源车下乡活动启动</title></head><body><div class="wrap has-sidebar">
    <h1>新能源车下乡活动启动</h1><div class="time">2021-12-08 10:00 来源：示例日报</div>
    <div class="article"><p>昨天，新能源汽车下乡活动在我市启动，多家车企带来数十款车型供市民选购。</p><p>活动持续一个月。</p></div>
    <div class="comment-list"><h3>网友评论</h3>{"".join(comment.format(n) for n in "甲乙丙丁戊")}</div></div></body></html>"""
    entry = extract(html, url="http://news.example.cn/a/1.shtml")
    assert paragraphs(entry.content_html) == ["昨天，新能源汽车下乡活动在我市启动，多家车企带来数十款车型供市民选购。", "活动持续一个月。"]
    assert entry.source == "示例日报"


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("html", ["", "   \n ", "<html><body></body></html>",
                                  "<html><body><div><span> </span></div><script>var a = 1;</script></body></html>"])
def test_no_title_and_no_text_raises_extract_error(html: str) -> None:
    with pytest.raises(ExtractError):
        extract(html)


def test_malformed_html_still_extracts() -> None:
    html = ("<html><head><title>观海卫镇冬季农产品展销会开幕</title><body><h1>观海卫镇冬季农产品展销会开幕<div class=text>"
            "<p>来自全镇的40余家农业企业、合作社和家庭农场带来了西兰花、葡萄、草莓、年糕等上百种特色农产品。<p>展销会为期三天，"
            "市民可以在现场品尝和选购。<table><tr><td>未闭合的表格")
    entry = extract(html)
    assert entry.title == "观海卫镇冬季农产品展销会开幕"
    assert "上百种特色农产品" in entry.content_html


def test_control_characters_do_not_break_parsing() -> None:
    html = "<html><title>标\x00题</title><body><h1>标\x00题</h1><p>正文\x01内容比较长的一段文字，用于测试解析。</p></body></html>"
    entry = extract(html)
    assert entry.title == "标题"
    assert paragraphs(entry.content_html) == ["正文内容比较长的一段文字，用于测试解析。"]


def test_xml_declaration_and_title_only_page() -> None:
    html = '<?xml version="1.0" encoding="gb2312"?><html><head><title>仅有标题的页面</title></head><body></body></html>'
    entry = extract(html)
    assert entry.title == "仅有标题的页面"
    assert entry.content_html == "" and entry.summary == ""


# --- golden outputs -----------------------------------------------------------------------------

GOLDEN_CASES = {
    "cnnb_seed": ("cnnb_seed.html", SEED_URL),
    "table_layout": ("table_layout.html", "http://www.cxnews.cn/system/2021/12/07/030312201.shtml"),
    "meta_only": ("meta_only.html", "https://news.example.com/economy/sign.html"),
    "url_date": ("url_date.html", "http://www.cxnews.cn/system/2021/12/24/030319999.shtml"),
    "hazards": ("hazards.html", "http://www.cxnews.cn/system/2021/12/07/030312258.shtml"),
}


def as_record(entry: Entry) -> dict:
    return {
        "url": entry.url, "title": entry.title, "subtitle": entry.subtitle, "published":
        entry.published.isoformat() if entry.published else None, "author": entry.author, "source": entry.source,
        "editor": entry.editor, "image": entry.image, "summary": entry.summary, "content_html": entry.content_html,
    }


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_extraction(name: str) -> None:
    fixture, url = GOLDEN_CASES[name]
    record = as_record(extract(load(fixture), url=url))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", "utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 and review the new file"
    assert record == json.loads(path.read_text("utf-8"))
