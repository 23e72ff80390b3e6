"""feedsvc.extract.discovery: navigation links, site name, slugs and the common article URL pattern."""

from __future__ import annotations

import re

import pytest

from feedsvc.extract.discovery import (
    NavLink,
    common_url_pattern,
    nav_links,
    page_title,
    section_slug,
    site_name,
    site_slug,
)
from feedsvc.model import SLUG_RE

HOME = """<html><head><title>首页 - 示例新闻网</title></head><body>
<div class="topbar"><a href="/">首页</a> <a href="/local/">新闻中心</a> <a href="/help/">帮助</a></div>
<div id="menu"><ul>
  <li><a href="http://www.example.cn/index.html">首页</a></li>
  <li><a href="/local/">本地新闻</a></li>
  <li><a href="/shehui/list.html">社会</a></li>
  <li><a href="http://m.example.cn/">手机版</a></li>
  <li><a href="http://district.example.cn/">区县</a></li>
  <li><a href="http://www.elsewhere.com/">友站</a></li>
  <li><a href="/long/">这是一个很长很长很长很长很长的标语而不是栏目名</a></li>
  <li><a href="/logo/"><img src="logo.png"></a></li>
  <li><a href="/p/">12</a></li>
</ul></div>
<div class="content"><ul><li><a href="/news/2024/05/01/1001.html">本地新闻</a></li></ul></div>
</body></html>"""


def test_nav_links_main_menu_first_one_per_url_same_site_short_labels() -> None:
    links = nav_links(HOME, "http://www.example.cn/")
    assert links == [
        NavLink("本地新闻", "http://www.example.cn/local/"),  # the main menu's label, not the top bar's 新闻中心
        NavLink("社会", "http://www.example.cn/shehui/list.html"),
        NavLink("区县", "http://district.example.cn/"),  # same site, other host: the caller decides
    ]  # 手机版 and 帮助 are about the site, not sections of it


@pytest.mark.parametrize("label", ["网站简介", "广告服务", "联系方式", "诚聘英才", "网站地图", "支站 :", "登录", "关于我们"])
def test_service_and_footer_links_are_not_sections(label: str) -> None:
    home = f"""<html><body><div class="nav"><a href="/local/">本地新闻</a> <a href="/svc/">{label}</a></div>
    <div class="footer-nav"><a href="/ads/">刊例价格</a></div></body></html>"""
    assert nav_links(home, "http://www.example.cn/") == [NavLink("本地新闻", "http://www.example.cn/local/")]


def test_nav_links_of_a_page_without_navigation() -> None:
    assert nav_links("<html><body><p><a href='/a/'>本地</a></p></body></html>", "http://x.cn/") == []
    assert nav_links("", "http://x.cn/") == []


@pytest.mark.parametrize(("title", "name"), [
    ("首页 - 示例新闻网", "示例新闻网"),
    ("慈溪新闻网", "慈溪新闻网"),
    ("慈溪新闻网_慈溪日报官方网站", "慈溪新闻网"),
    ("中国宁波网-首页", "中国宁波网"),
    ("Hi-Tech News | Home", "Hi-Tech News"),
    ("首页", "首页"),
])
def test_site_name_drops_suffixes_and_generic_parts(title: str, name: str) -> None:
    assert site_name(title) == name


def test_page_title() -> None:
    assert page_title(HOME) == "首页 - 示例新闻网"
    assert page_title("<html><body>x</body></html>") == ""


@pytest.mark.parametrize(("host", "slug"), [
    ("www.cxnews.cn", "cxnews"), ("cxnews.cn", "cxnews"), ("news.cnnb.com.cn", "news-cnnb"),
    ("127.0.0.1", "127-0-0-1"), ("localhost", "localhost"),
])
def test_site_slug(host: str, slug: str) -> None:
    assert site_slug(host) == slug and SLUG_RE.match(slug)


@pytest.mark.parametrize(("url", "slug"), [
    ("http://x.cn/cixi/", "cixi"),
    ("http://x.cn/minetong/index.shtml", "minetong"),
    ("http://x.cn/news/Local.html", "local"),
    ("http://x.cn/col/col123/index_2.html", "col123"),
    ("http://x.cn/", None),
    ("http://x.cn/%E6%96%B0%E9%97%BB/", None),  # a Chinese folder name: numbered by the caller
])
def test_section_slug(url: str, slug: str | None) -> None:
    assert section_slug(url) == slug


CXNEWS = [
    "http://www.cxnews.cn/system/2021/12/08/030312345.shtml",
    "http://www.cxnews.cn/system/2021/12/07/030312201.shtml",
    "http://www.cxnews.cn/system/2021/11/30/0303.shtml",
]


def test_common_url_pattern_generalises_dates_and_ids() -> None:
    pattern = common_url_pattern(CXNEWS)
    assert pattern == r"/system/\d{4}/\d{2}/\d{2}/\d+\.shtml$"
    assert all(re.search(pattern, u) for u in CXNEWS)
    assert not re.search(pattern, "http://www.cxnews.cn/cixi/index.shtml")
    assert not re.search(pattern, "http://www.cxnews.cn/system/2021/12/08/")


@pytest.mark.parametrize(("urls", "pattern"), [
    (["http://z.cn/zjnews/202601/t20260124_32000004.shtml", "http://z.cn/zjnews/202512/t20251204_3200.shtml"],
     r"/zjnews/\d{6}/t\d+_\d+\.shtml$"),
    (["http://a.cn/show.php?id=12", "http://a.cn/show.php?id=1234"], r"/show\.php\?id=\d+$"),
    (["http://a.cn/2021/1/8/1.html", "http://a.cn/2021/12/18/22.html"], r"/\d{4}/\d+/\d+/\d+\.html$"),
])
def test_common_url_pattern_other_shapes(urls: list[str], pattern: str) -> None:
    assert common_url_pattern(urls) == pattern
    assert all(re.search(pattern, u) for u in urls)


def test_common_url_pattern_one_shape_across_many_folders_and_hosts() -> None:
    urls = [f"http://{host}.example.com.cn/{folder}/2024/05/0{n}/12345{n}.shtml"
            for n, (host, folder) in enumerate([("news", "news"), ("news", "video"), ("nb", "finance/gn"),
                                                ("www", "a/b/c")], 1)]
    assert common_url_pattern(urls) == r"/\d{4}/\d{2}/\d{2}/\d+\.shtml$"


def test_common_url_pattern_the_usual_portal_shapes_in_one_pattern() -> None:
    urls = ["http://news.x.com.cn/news/2024/05/01/123456.shtml", "http://nb.x.com.cn/video/2024/05/02/123457.shtml",
            "http://nb.x.com.cn/finance/20240503/123458.html", "http://sh.x.com.cn/local/20240504/123459.html",
            "http://qx.x.com.cn/zw/202405/t20240512_123456.html", "http://qx.x.com.cn/gk/202404/t20240411_99.html",
            "http://www.x.com.cn/content/2024-05/12/content_123456.shtml",
            "http://www.x.com.cn/content/2024-04/02/content_1234.shtml"]
    pattern = common_url_pattern(urls)
    assert pattern is not None and all(re.search(pattern, u) for u in urls)
    assert "news" not in pattern and "video" not in pattern and "finance" not in pattern  # folders are not the shape
    assert r"/content/\d{4}-\d{2}/\d{2}/content_\d+\.shtml" in pattern  # shared by all of its shape: kept
    for other in ["http://news.x.com.cn/news/", "http://news.x.com.cn/col/col123/index.html",
                  "http://www.x.com.cn/about/contact.html", "http://qx.x.com.cn/zw/202405/"]:
        assert not re.search(pattern, other), other


def test_common_url_pattern_two_shapes_become_one_alternation_matching_both() -> None:
    urls = [*CXNEWS, "http://www.cxnews.cn/system/2021/12/08/030312345_2.shtml"]
    pattern = common_url_pattern(urls)
    assert pattern is not None and pattern.startswith("(?:")
    assert all(re.search(pattern, u) for u in urls)


@pytest.mark.parametrize("urls", [
    [],
    ["http://a.cn/news/spring-festival.html", "http://a.cn/news/flood-warning.html"],  # no numbers: no shape
    [f"http://a.cn/a/{n}{kind}.html" for n, kind in enumerate("abcdefg")],  # too many shapes
])
def test_common_url_pattern_none_without_an_obvious_shape(urls: list[str]) -> None:
    assert common_url_pattern(urls) is None
