"""The allow-list sanitizer for article bodies (feedsvc.extract.sanitize)."""

from __future__ import annotations

import pytest

from feedsvc.extract.sanitize import sanitize_html

BASE = "http://www.cxnews.cn/system/2021/12/08/030312345.shtml"


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>正文<script>alert(1)</script></p>", "<p>正文</p>"),
        ("<p>正文<style>p{color:red}</style></p>", "<p>正文</p>"),
        ('<p onclick="steal()" style="color:red" class="x">正文</p>', "<p>正文</p>"),
        ('<img src="/a.jpg" onerror="alert(1)">', '<img src="http://www.cxnews.cn/a.jpg">'),
        ('<a href="javascript:alert(1)">点我</a>', "点我"),
        ('<a href="#top">回到顶部</a>', "回到顶部"),
        ('<iframe src="http://ads.example.com/"></iframe><p>正文</p>', "<p>正文</p>"),
        ('<form action="/x"><input name="q"><button>搜索</button></form>', ""),
        ("<div><span>正文</span></div>", "正文"),
        ('<svg onload="alert(1)"><text>图</text></svg>正文', "正文"),
    ],
)
def test_unsafe_markup_is_removed(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty, BASE) == clean


def test_allowed_markup_survives() -> None:
    html = ('<p><strong>重要</strong>通知：<em>今晚</em>起<a href="http://www.cxnews.cn/a.shtml" title="详情">详见</a></p>'
            '<ul><li>一</li><li>二</li></ul><blockquote>引文</blockquote><table><tbody><tr><td colspan="2">表</td></tr>'
            '</tbody></table><h3>小标题</h3>')
    out = sanitize_html(html, BASE)
    for kept in ("<strong>重要</strong>", "<em>今晚</em>", 'href="http://www.cxnews.cn/a.shtml"', 'title="详情"',
                 "<li>一</li>", "<blockquote>引文</blockquote>", '<td colspan="2">表</td>', "<h3>小标题</h3>"):
        assert kept in out, kept
    assert 'rel="noopener noreferrer"' in out


def test_relative_urls_become_absolute() -> None:
    out = sanitize_html('<a href="../07/1.shtml">前文</a><img src="/pic/a.jpg"><a href="//cdn.example.cn/b">b</a>', BASE)
    assert 'href="http://www.cxnews.cn/system/2021/12/07/1.shtml"' in out
    assert 'src="http://www.cxnews.cn/pic/a.jpg"' in out
    assert 'href="http://cdn.example.cn/b"' in out


@pytest.mark.parametrize(
    "img",
    [
        '<img src="/images/loading.gif" data-original="/pic/real.jpg">',
        '<img data-src="/pic/real.jpg">',
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-lazy-src="/pic/real.jpg">',
        '<img src="/images/blank.gif" data-actualsrc="/pic/real.jpg">',
        '<img src="/pic/thumb.jpg" data-original="/pic/real.jpg">',
    ],
)
def test_lazy_images_get_their_real_source(img: str) -> None:
    assert sanitize_html(img, BASE) == '<img src="http://www.cxnews.cn/pic/real.jpg">'


def test_a_real_src_is_kept_when_the_lazy_attribute_is_a_placeholder() -> None:
    out = sanitize_html('<img src="/pic/real.jpg" data-url="data:image/png;base64,AAAA">', BASE)
    assert out == '<img src="http://www.cxnews.cn/pic/real.jpg">'


def test_empty_input() -> None:
    assert sanitize_html("", BASE) == ""
    assert sanitize_html("   ", BASE) == ""
