"""Link discovery on list pages, canonical URLs, next-page and navigation links (feedsvc.extract.links/urls)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from feedsvc.extract.links import find_links, find_nav_link, next_page_url
from feedsvc.extract.urls import canonical_url, host_of, same_site, url_date
from feedsvc.model import Rules
from feedsvc.public_suffix import registrable_domain
from tests.support import NOW

CST = timezone(timedelta(hours=8))
PAGE = "http://www.cxnews.cn/cixi/index.shtml"

NAV = """<div class="nav"><a href="/">首页</a> | <a href="/cixi/">慈溪新闻</a> | <a href="/minetong/index.shtml">民e通</a>
| <a href="http://www.cxnews.cn/system/2021/12/01/030300001.shtml">置顶:全市干部大会召开暨动员部署会</a></div>"""
SIDEBAR = """<div class="right"><div class="box24"><div class="tit">24小时最新新闻</div><ul>
<li><a href="http://www.cnnb.com.cn/system/2026/01/20/030900000.shtml">寒潮来袭!浙江多举措应对极端天气 筑起...</a></li>
<li><a href="http://www.cxnews.cn/system/2026/01/22/031002603.shtml">初雪如约而至 市民踏雪而行</a></li>
<li><a href="http://www.cxnews.cn/system/2026/01/21/031002604.shtml">年货市集火热开张!超市3000支...</a></li>
<li><a href="http://www.cxnews.cn/system/2026/01/21/031002605.shtml">浙江迎来雨雪天气!交警部门相继发布行...</a></li>
</ul></div></div>"""
FOOTER = """<div class="footer"><a href="/about/">关于我们</a> | <a href="/about/law.shtml">法律声明</a>
<a href="http://www.cxnews.cn/system/2020/01/01/000000001.shtml">网站2020年度工作报告全文发布</a></div>"""


def list_page(items: str, extra: str = "") -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>慈溪新闻</title></head><body>
{NAV}<div class="main"><div class="list_left"><ul class="list">{items}</ul>{extra}</div>{SIDEBAR}</div>{FOOTER}
</body></html>"""


ITEMS = """
<li><a href="/system/2021/12/08/030312412.shtml" target="_blank">周巷镇:“网格+志愿”织密疫情防控网</a><span>2021-12-08 14:05</span></li>
<li><a href="http://www.cxnews.cn/system/2021/12/08/030312345.shtml?spm=a.b&utm_source=wx#top">守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战</a><span>2021-12-08 09:58</span></li>
<li><a href="../system/2021/12/07/030312258.shtml">观海卫镇冬季农产品展销会开幕</a><span>[12-07]</span></li>
<li><a href="/system/2021/12/08/030312412.shtml">周巷镇:“网格+志愿”织密疫情防控网</a><span>2021-12-08</span></li>
<li><a href="/system/2021/12/05/030311934.shtml">我市首批8个“口袋公园”建成开放</a> 2021年12月5日</li>
"""
EXPECTED = [
    "http://www.cxnews.cn/system/2021/12/08/030312412.shtml",
    "http://www.cxnews.cn/system/2021/12/08/030312345.shtml",
    "http://www.cxnews.cn/system/2021/12/07/030312258.shtml",
    "http://www.cxnews.cn/system/2021/12/05/030311934.shtml",
]


# --- canonical URLs -------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "base", "expected"), [
    ("HTTP://WWW.CXNews.CN:80", None, "http://www.cxnews.cn/"),
    ("https://www.cxnews.cn:443/a.shtml", None, "https://www.cxnews.cn/a.shtml"),
    ("http://www.cxnews.cn:8080/a.shtml", None, "http://www.cxnews.cn:8080/a.shtml"),
    ("/system/2021/12/08/1.shtml#comments", PAGE, "http://www.cxnews.cn/system/2021/12/08/1.shtml"),
    ("../system/1.shtml", PAGE, "http://www.cxnews.cn/system/1.shtml"),
    ("index_2.shtml", PAGE, "http://www.cxnews.cn/cixi/index_2.shtml"),
    ("http://a.cn/x?utm_source=wx&id=3&spm=1.2&from=timeline&isappinstalled=0&share_token=z&page=2",
     None, "http://a.cn/x?id=3&page=2"),
    ("http://a.cn/x?b=2&a=1", None, "http://a.cn/x?b=2&a=1"),  # order kept: some CMSs care
    ("http://a.cn/./x/../y.html", None, "http://a.cn/y.html"),
    ("http://a.cn/新闻 1.html", None, "http://a.cn/%E6%96%B0%E9%97%BB%201.html"),
    ("http://a.cn/%E6%96%B0%E9%97%BB%201.html", None, "http://a.cn/%E6%96%B0%E9%97%BB%201.html"),
    ("  http://a.cn/x.html  ", None, "http://a.cn/x.html"),
    ("javascript:void(0)", PAGE, "javascript:void(0)"),
])
def test_canonical_url(url, base, expected):
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent():
    for url in ("http://www.cxnews.cn/a/b.shtml?x=1&utm_medium=y#f", "https://A.cn:443", "http://a.cn/中文?q=慈溪"):
        once = canonical_url(url)
        assert canonical_url(once) == once


def test_hosts_and_url_dates():
    assert host_of("http://WWW.cxnews.cn:8080/x") == "www.cxnews.cn"
    assert host_of("not a url") == ""
    assert registrable_domain("news.cnnb.com.cn") == "cnnb.com.cn"
    assert same_site("www.cxnews.cn", "cxnews.cn") and same_site("m.cxnews.cn", "www.cxnews.cn")
    assert not same_site("www.cnnb.com.cn", "www.cxnews.cn")
    assert not same_site("a.com.cn", "b.com.cn")
    # The Public Suffix List, not a short list of our own: every suffix, private ones (github.io) too.
    assert registrable_domain("news.nbtv.zj.cn") == "nbtv.zj.cn" and registrable_domain("a.b.gov.hk") == "b.gov.hk"
    assert not same_site("alice.github.io", "bob.github.io") and same_site("a.x.github.io", "x.github.io")
    assert registrable_domain("127.0.0.1") == "127.0.0.1" and registrable_domain("com.cn") == "com.cn"
    assert url_date("http://www.cxnews.cn/system/2021/12/08/030312345.shtml") == (2021, 12, 8)
    assert url_date("http://x.cn/c/202112/08/t20211208_1.html") == (2021, 12, 8)
    assert url_date("http://x.cn/art/2021/12/7/art_1229_1.html") == (2021, 12, 7)
    assert url_date("http://x.cn/cixi/index.shtml") is None


# --- heuristic ------------------------------------------------------------------------------

def test_heuristic_finds_the_main_list_in_order_without_nav_sidebar_or_footer():
    links = find_links(list_page(ITEMS), PAGE, Rules(), timezone="Asia/Shanghai", now=NOW)
    assert [link.url for link in links] == EXPECTED


def test_dates_beside_links_in_the_sites_time_zone():
    links = find_links(list_page(ITEMS), PAGE, None, timezone="Asia/Shanghai", now=NOW)
    by_url = {link.url: link for link in links}
    assert by_url[EXPECTED[0]].published == datetime(2021, 12, 8, 14, 5, tzinfo=CST)
    assert by_url[EXPECTED[0]].text == "周巷镇:“网格+志愿”织密疫情防控网"
    assert by_url[EXPECTED[2]].published == datetime(2021, 12, 7, tzinfo=CST)  # "[12-07]", year from now
    assert by_url[EXPECTED[3]].published == datetime(2021, 12, 5, tzinfo=CST)


def test_year_less_date_in_january_belongs_to_last_year():
    html = list_page('<li><a href="/system/2021/12/30/030399999.shtml">跨年夜活动安排出炉 市民可就近参与</a>'
                     '<span>12-30</span></li>')
    links = find_links(html, PAGE, None, now=datetime(2022, 1, 2, 3, 0, tzinfo=UTC))
    assert links[0].published == datetime(2021, 12, 30, tzinfo=CST)


def test_headline_with_digits_is_not_read_as_the_date():
    html = list_page('<li><a href="/system/2021/12/08/030312999.shtml">12月6日起我市调整公交线路</a></li>')
    (link,) = find_links(html, PAGE, None, now=NOW)
    assert link.published is None


def test_list_split_into_several_uls_is_taken_whole():
    html = f"""<html><body>{NAV}<div class="list_left">
<ul>{''.join(f'<li><a href="/system/2021/12/0{d}/03031{d}00{i}.shtml">第{d}{i}条新闻的标题文字示例</a></li>' for d in (8, 7) for i in range(3))}</ul>
<div class="line"></div>
<ul>{''.join(f'<li><a href="/system/2021/12/0{d}/03031{d}00{i}.shtml">第{d}{i}条新闻的标题文字示例</a></li>' for d in (6, 5) for i in range(3))}</ul>
</div>{SIDEBAR}</body></html>"""
    links = find_links(html, PAGE, None, now=NOW)
    assert len(links) == 12
    assert links[0].url.endswith("/2021/12/08/030318000.shtml")
    assert links[-1].url.endswith("/2021/12/05/030315002.shtml")


def test_table_list_and_div_items():
    rows = "".join(f'<tr><td>·<a href="/art/2021/12/{d}/art_1229_{d}00.html">第{d}号新闻标题:镇街动态汇总</a></td>'
                   f'<td>2021-12-0{d}</td></tr>' for d in (8, 7, 6))
    html = f"<html><body>{NAV}<table class='newslist'>{rows}</table>{FOOTER}</body></html>"
    links = find_links(html, PAGE, None, now=NOW)
    assert [link.published.day for link in links] == [8, 7, 6]

    items = "".join(f'<div class="item"><h3><a href="/news/{n}.html">{"标题" * 4}{n}号</a></h3><p>摘要{n}</p>'
                    f'<p class="time">2021-12-0{n} 10:00</p></div>' for n in (3, 2, 1))
    html = f"<html><body>{NAV}<div class='items'>{items}</div>{SIDEBAR}</body></html>"
    links = find_links(html, PAGE, None, now=NOW)
    assert [link.url for link in links] == [f"http://www.cxnews.cn/news/{n}.html" for n in (3, 2, 1)]
    assert links[0].published == datetime(2021, 12, 3, 10, 0, tzinfo=CST)


def test_off_site_links_are_left_to_the_rules_not_the_heuristic():
    html = list_page('<li><a href="http://www.cnnb.com.cn/system/2021/12/08/030312000.shtml">中国宁波网:宁波全力保障群众生活物资</a></li>'
                     + ITEMS)
    assert [link.url for link in find_links(html, PAGE, None, now=NOW)] == EXPECTED
    ruled = find_links(html, PAGE, Rules(link_pattern=r"/system/\d{4}/\d{2}/\d{2}/\d+\.shtml"), now=NOW)
    assert ruled[0].url == "http://www.cnnb.com.cn/system/2021/12/08/030312000.shtml"


def test_no_list_no_links():
    assert find_links("", PAGE, None, now=NOW) == []
    assert find_links("   ", PAGE, None, now=NOW) == []
    assert find_links(f"<html><body>{NAV}{FOOTER}</body></html>", PAGE, None, now=NOW) == []
    assert find_links("<html><body><p>页面不存在</p></body></html>", PAGE, None, now=NOW) == []


def test_malformed_html_and_xml_declaration():
    html = '<?xml version="1.0" encoding="gb2312"?>' + list_page(ITEMS).replace("</li>", "", 3).replace("</ul>", "")
    assert [link.url for link in find_links(html, PAGE, None, now=NOW)] == EXPECTED


def test_base_href_is_honoured():
    html = list_page(ITEMS).replace("<head>", '<head><base href="http://www.cxnews.cn/other/">')
    links = find_links(html, PAGE, None, now=NOW)
    assert links[2].url == "http://www.cxnews.cn/system/2021/12/07/030312258.shtml"  # ../ from /other/


# --- rules ----------------------------------------------------------------------------------

def test_css_rule_picks_exactly_its_anchors_in_page_order():
    rules = Rules(links="div.right li a")
    links = find_links(list_page(ITEMS), PAGE, rules, now=NOW)
    assert [link.text for link in links][:2] == ["寒潮来袭!浙江多举措应对极端天气 筑起...", "初雪如约而至 市民踏雪而行"]
    assert len(links) == 4


def test_css_rule_on_containers_takes_their_anchors():
    links = find_links(list_page(ITEMS), PAGE, Rules(links="ul.list li"), now=NOW)
    assert [link.url for link in links] == EXPECTED


def test_css_and_pattern_combine():
    rules = Rules(links="a", link_pattern=r"/system/2021/12/0[78]/")
    links = find_links(list_page(ITEMS), PAGE, rules, now=NOW)
    assert [link.url for link in links] == EXPECTED[:3]


def test_pattern_alone_leaves_out_nav_sidebar_and_footer_matches():
    rules = Rules(link_pattern=r"/system/\d{4}/\d{2}/\d{2}/\d+\.shtml")
    links = find_links(list_page(ITEMS), PAGE, rules, now=NOW)
    assert [link.url for link in links] == EXPECTED
    assert links[1].published == datetime(2021, 12, 8, 9, 58, tzinfo=CST)


def test_selector_that_matches_nothing_falls_back_to_the_pattern_then_the_heuristic():
    html = list_page(ITEMS)
    assert [x.url for x in find_links(html, PAGE, Rules(links="div.gone a"), now=NOW)] == EXPECTED
    with_pattern = Rules(links="div.gone a", link_pattern=r"030312\d+")
    assert [x.url for x in find_links(html, PAGE, with_pattern, now=NOW)] == EXPECTED[:3]


def test_pattern_matching_nothing_yields_nothing():
    rules = Rules(link_pattern=r"/content/\d+\.htm")
    assert find_links(list_page(ITEMS), PAGE, rules, now=NOW) == []


# --- next page and navigation ----------------------------------------------------------------

def test_next_page_by_text_rel_and_rule():
    pager = '<div class="page"><a href="index.shtml">首页</a> <span>1</span> <a href="index_2.shtml">2</a> ' \
            '<a href="index_2.shtml">下一页</a> <a href="index_9.shtml">尾页</a></div>'
    html = list_page(ITEMS, pager)
    assert next_page_url(html, PAGE, None) == "http://www.cxnews.cn/cixi/index_2.shtml"
    assert next_page_url(list_page(ITEMS, '<a href="?page=2">[下一页]</a>'), PAGE, None) == PAGE + "?page=2"
    assert next_page_url(list_page(ITEMS, '<a href="p3.html">›</a>'), PAGE, None) == "http://www.cxnews.cn/cixi/p3.html"
    rel = list_page(ITEMS).replace("<head>", '<head><link rel="next" href="/cixi/index_4.shtml">')
    assert next_page_url(rel, PAGE, None) == "http://www.cxnews.cn/cixi/index_4.shtml"
    ruled = list_page(ITEMS, '<div class="pg"><a class="n" href="/cixi/list-2.html">more</a></div>')
    assert next_page_url(ruled, PAGE, Rules(next_page="div.pg a.n")) == "http://www.cxnews.cn/cixi/list-2.html"


def test_no_next_page_on_the_last_page():
    last = list_page(ITEMS, '<div class="page"><a href="index.shtml">首页</a> <a href="index.shtml">上一页</a> '
                            '<span>2</span> <a href="javascript:void(0)">下一页</a></div>')
    assert next_page_url(last, PAGE, None) is None
    self_link = list_page(ITEMS, '<a href="index.shtml">下一页</a>')
    assert next_page_url(self_link, PAGE, None) is None
    assert next_page_url("", PAGE, None) is None


def test_nav_link_by_label_prefers_the_navigation():
    html = f"""<html><body><div class="list_left"><a href="/wrong/">民e通</a></div>{NAV}
<div class="menu"><a href="/cixi/"> 慈溪\u3000新闻 </a></div></body></html>"""
    assert find_nav_link(html, "http://www.cxnews.cn/", "民e通") == "http://www.cxnews.cn/minetong/index.shtml"
    assert find_nav_link(html, "http://www.cxnews.cn/", "慈溪新闻") == "http://www.cxnews.cn/cixi/"
    assert find_nav_link(html, "http://www.cxnews.cn/", "慈溪") is None  # whole label, not a prefix
    assert find_nav_link(html, "http://www.cxnews.cn/", "不存在") is None
    assert find_nav_link("", "http://www.cxnews.cn/", "首页") is None


def test_pattern_on_a_page_whose_main_list_sits_in_a_right_column():
    """Government-style templates put the list in div.right: the pattern still yields that list, not the sidebar."""
    html = f"""<html><body>{NAV}<div class="left"><ul><li><a href="/cixi/">慈溪新闻栏目</a></li></ul></div>
<div class="right"><ul class="list">{ITEMS}</ul></div>
<div class="right_side"><div class="tit">热点排行</div><ul>
<li><a href="/system/2021/11/30/030300077.shtml">上月热文:全市秋冬季森林防火工作部署</a></li></ul></div>{FOOTER}</body></html>"""
    rules = Rules(link_pattern=r"/system/\d{4}/\d{2}/\d{2}/\d+\.shtml")
    assert [link.url for link in find_links(html, PAGE, rules, now=NOW)] == EXPECTED
    assert [link.url for link in find_links(html, PAGE, None, now=NOW)] == EXPECTED


def unchecked_rules(**fields: object) -> Rules:
    """Rules as code may build them, skipping the validation that refuses bad selectors in config files."""
    return Rules(**fields)


def test_invalid_css_selector_counts_as_unset():
    bad = unchecked_rules(links="ul[[[")
    assert [x.url for x in find_links(list_page(ITEMS), PAGE, bad, now=NOW)] == EXPECTED
    pager = list_page(ITEMS, '<a href="index_2.shtml">下一页</a>')
    assert next_page_url(pager, PAGE, unchecked_rules(next_page="::bad(")) == "http://www.cxnews.cn/cixi/index_2.shtml"


def test_a_lone_link_does_not_take_a_date_from_far_away():
    html = f"""<html><body>{NAV}<div class="main"><div class="box"><h3>
<a href="/system/2021/12/08/030312345.shtml">守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战</a></h3></div>
<div class="intro">{"慈溪新闻网是慈溪市的综合新闻门户。" * 20} 2020-01-01</div></div></body></html>"""
    (link,) = find_links(html, PAGE, Rules(links="div.box a"), now=NOW)
    assert link.published is None


def test_canonical_urls_shortcut_for_plain_hrefs_agrees_with_the_long_way():
    """canonical_url skips parsing for plain absolute and root-relative hrefs; it must change nothing."""
    import itertools
    import random

    from feedsvc.extract.urls import _canonical

    bases = ["http://www.cxnews.cn/cixi/", "https://www.cxnews.cn:443/a/b.shtml?x=1#f", "http://WWW.CXNEWS.CN:80/",
             "http://www.cxnews.cn:8080/list/", "http://user@www.cxnews.cn/", "http://www.cxnews.cn./", None]
    hrefs = ["http://www.cxnews.cn/system/2021/12/08/030312345.shtml", "/system/2021/12/08/030312345.shtml",
             "/", "/a/./b", "/a/../b", "/.hidden", "/a/b/", "http://www.cxnews.cn/", "https://x.y-z.cn/p_q~r.s",
             "/a b", "/a%20b", "/中文.html", "//cdn.example/x.js", "http://www.cxnews.cn", "/a?utm_source=x",
             "HTTP://www.cxnews.cn/a", "http://www.cxnews.cn:80/a", "/a#frag", "relative/path.html"]
    rng = random.Random(7)
    alphabet = "abcXYZ019_~.-/%?#:@ 中"
    hrefs += ["/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(300)]
    hrefs += ["http://a.b/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(300)]
    for href, base in itertools.product(hrefs, bases):
        assert canonical_url(href, base) == _canonical(href.strip(), base), (href, base)


def _block(cls: str, idents: range, folder: str = "news") -> str:
    items = "".join(f'<li><a href="/{folder}/2024/05/0{n % 9 + 1}/{100000 + n}.shtml">第{n}条新闻的标题在这里</a></li>'
                    for n in idents)
    return f'<div class="{cls}"><ul>{items}</ul></div>'


def test_a_home_page_without_rules_takes_every_block_but_an_unlabelled_echo_of_them() -> None:
    # No class or heading says "ranking" here: the first box only repeats links of the two after it, so
    # taking it would put its order (9, 2, 4) first.
    home = ("<html><body><div class='nav'><a href='/news/'>新闻</a><a href='/about/'>关于我们</a></div>"
            + '<div class="box0"><ul>' + "".join(
                f'<li><a href="/{"news" if n < 8 else "video"}/2024/05/0{n % 9 + 1}/{100000 + n}.shtml">'
                f'第{n}条新闻的标题在这里</a></li>' for n in (9, 2, 4)) + "</ul></div>"
            + _block("box1", range(0, 8)) + _block("box2", range(8, 14), "video")
            + "<div class='footer'><a href='/2024/ads/123456.html'>广告服务与刊例价格</a></div></body></html>")
    links = [link.url for link in find_links(home, "http://www.x.cn/", Rules())]
    assert links == [f"http://www.x.cn/{'news' if n < 8 else 'video'}/2024/05/0{n % 9 + 1}/{100000 + n}.shtml"
                     for n in range(14)]
    # Not a site's root: the one main list, as before.
    assert len(find_links(home, "http://www.x.cn/news/", Rules())) == 8
