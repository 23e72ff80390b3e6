"""The one HTML toolkit (feedsvc.extract.html): parsing, CSS selection and its validation, text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from lxml.cssselect import CSSSelector

from feedsvc.errors import ExtractError
from feedsvc.extract.discovery import page_title
from feedsvc.extract.html import (
    Node,
    SelectorError,
    class_and_id,
    clean_text,
    compile_selector,
    elements,
    hint_pattern,
    parse_html,
    raw_text,
    select,
    squash,
    text_of,
)
from feedsvc.extract.links import find_nav_link


def one(root: Node, path: str) -> Node:
    found = root.find(path)
    assert found is not None, path
    return found


PAGE = """<html><head><title>页面</title></head><body>
<div id="main"><p class="b">第二</p><!-- 列表开始 --><p class="a">第一 <b>加粗</b></p>
<input type="checkbox" checked><a href="/x">链接</a></div></body></html>"""


# --- compile_selector: what the config validates with --------------------------------------------


def test_a_valid_selector_compiles_once_and_the_cached_object_is_what_select_runs() -> None:
    compiled = compile_selector("div#main p.a")
    assert isinstance(compiled, CSSSelector)
    assert compile_selector("div#main p.a") is compiled
    root = parse_html(PAGE)
    matched = elements(compiled(root))
    assert [el.get("class") for el in matched] == ["a"]
    assert select(root, "div#main p.a") == matched


@pytest.mark.parametrize("css", ["div#Zoom >", "p[class=", "ul[[[", "::nope(", "", " ", "div..x", "a >> b"])
def test_an_invalid_selector_is_a_selector_error_naming_it(css: str) -> None:
    with pytest.raises(SelectorError) as caught:
        compile_selector(css)
    assert isinstance(caught.value, ValueError)  # what pydantic validators report as a field error
    assert str(caught.value).startswith(f"{css!r} is not a valid CSS selector: ")
    assert str(caught.value) != f"{css!r} is not a valid CSS selector: "  # and says what is wrong


@pytest.mark.parametrize(("css", "problem"), [
    (":focus-within", "The pseudo-class :focus-within is unknown"),
    (":dir(ltr)", "The pseudo-class :dir() is unknown"),
    ("p:first-line", "Pseudo-elements are not supported"),
    ("p::before", "Pseudo-elements are not supported"),
    ("*:last-of-type", "*:last-of-type is not implemented"),
])
def test_pseudo_classes_cssselect_does_not_support_are_refused(css: str, problem: str) -> None:
    with pytest.raises(SelectorError, match=re.escape(problem)):
        compile_selector(css)


def test_html_pseudo_classes_cssselect_supports_are_accepted_and_run() -> None:
    root = parse_html(PAGE)
    assert [el.tag for el in select(root, "input:checked")] == ["input"]
    assert [el.tag for el in select(root, "a:link")] == ["a"]
    assert [el.get("class") for el in select(root, "p:contains('第一')")] == ["a"]
    assert [el.get("class") for el in select(root, "p:last-of-type")] == ["a"]  # with an element name


def test_a_selector_that_compiles_but_cannot_run_is_refused() -> None:
    # `ns|a` translates to XPath with a namespace prefix lxml cannot resolve: it would fail on every page.
    with pytest.raises(SelectorError, match="lxml cannot run it"):
        compile_selector("ns|a")
    # An escape that comes out as a control character, which lxml refuses in an XPath expression.
    with pytest.raises(SelectorError):
        compile_selector("\\1")
    assert select(parse_html(PAGE), "ns|a") == []


def test_an_invalid_selector_refused_once_is_refused_again() -> None:
    for _ in range(2):  # the second answer comes from the cache
        with pytest.raises(SelectorError, match="'p\\[class=' is not a valid CSS selector"):
            compile_selector("p[class=")


_CSS_RULES = ("links", "next_page", "title", "subtitle", "published", "author", "source", "editor", "body", "image")


def _shipped_selectors(node: object) -> list[str]:
    """Every CSS selector under a `rules:` block of a parsed YAML document."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "rules" and isinstance(value, dict):
                found += [value[k] for k in _CSS_RULES if isinstance(value.get(k), str)]
                found += list(value.get("remove") or [])
            else:
                found += _shipped_selectors(value)
    elif isinstance(node, list):
        for item in node:
            found += _shipped_selectors(item)
    return found


def test_every_selector_the_shipped_config_holds_compiles_and_runs(repo_root: Path) -> None:
    shipped = _shipped_selectors(yaml.safe_load((repo_root / "config.yaml").read_text("utf-8")))
    assert len(shipped) >= 8  # the cxnews site rules and its sections' `links`
    root = parse_html(PAGE)
    for css in shipped:
        assert isinstance(compile_selector(css), CSSSelector), css
        select(root, css)


# --- select -------------------------------------------------------------------------------------


def test_select_returns_document_order_and_nothing_for_no_or_a_bad_selector() -> None:
    root = parse_html(PAGE)
    assert [el.get("class") for el in select(root, "p.a, p.b")] == ["b", "a"]
    assert select(root, None) == []
    assert select(root, "") == []
    assert select(root, "div[[[") == []
    assert select(root, "p.none") == []


# --- parse_html ---------------------------------------------------------------------------------


@pytest.mark.parametrize("html", ["", "   \n\t", "<!-- only a comment -->", "\x00\x01", "<?php echo 1 ?>"])
def test_an_empty_or_unreadable_page_is_an_extract_error(html: str) -> None:
    with pytest.raises(ExtractError, match="empty page"):
        parse_html(html)


def test_parse_html_reads_what_lxml_would_refuse_as_str() -> None:
    root = parse_html('<?xml version="1.0" encoding="gb2312"?><html><body><p>慈溪\x00新闻\x0b网</p></body></html>')
    assert text_of(one(root, ".//p")) == "慈溪新闻网"


def test_a_lone_surrogate_does_not_cut_the_page_short() -> None:
    # Only a surrogateescape decoder makes them; lxml's own str parsing stopped reading at the first one.
    root = parse_html("<html><body><p>前</p>\udcff<p>后</p></body></html>")
    assert [text_of(p) for p in root.iter("p")] == ["前", "后"]


def test_a_stray_end_of_page_mid_body_does_not_end_the_page() -> None:
    # A special-topic banner included at the top of a portal's body with its page's </body></html>: browsers
    # (the HTML5 rules) read on, and so do we; libxml2 alone stopped there and saw one link of 51.
    html = ("<html><body><div class='zt'><a href='/zt/'>专题</a></div></body></html><div class='nav'>"
            + "".join(f"<a href='/news/{n}.html'>新闻{n}</a>" for n in range(50)) + "</div></body></html>")
    root = parse_html(html)
    assert len(root.findall(".//a")) == 51
    assert [el.tag for el in root] == ["head", "body"] and len(root.findall(".//body")) == 1


def test_a_table_gets_its_tbody_as_in_a_browser() -> None:
    # The HTML5 rules insert <tbody>: a `table > tr` selector matches nothing, as in a browser's devtools.
    root = parse_html("<html><body><table><tr><td>一</td></tr></table></body></html>")
    assert [el.tag for el in root.iter("table", "tbody", "tr")] == ["table", "tbody", "tr"]


def test_a_stale_meta_charset_does_not_re_decode_the_text() -> None:
    root = parse_html('<html><head><meta charset="gb2312"></head><body><p>慈溪新闻</p></body></html>')
    assert text_of(one(root, ".//p")) == "慈溪新闻"


def test_comments_and_processing_instructions_are_dropped() -> None:
    root = parse_html("<html><body><p>前<!-- 注释 -->后<?php echo 1 ?></p></body></html>")
    p = one(root, ".//p")
    assert len(p) == 0
    assert raw_text(p) == "前后"


def test_list_extraction_answers_nothing_for_an_empty_page() -> None:
    assert page_title("") == ""
    assert find_nav_link(" ", "http://x.cn/", "新闻") is None
    assert page_title(PAGE) == "页面"


# --- text ---------------------------------------------------------------------------------------


def test_clean_text_collapses_every_kind_of_space() -> None:
    assert clean_text(" 慈溪\u00a0\u00a0新闻\u3000网 \u200b\ufeff今日\n\t头条 ") == "慈溪 新闻 网 今日 头条"
    assert clean_text(None) == ""
    assert squash(" 慈溪\u00a0新闻\u3000网\u200b ") == "慈溪新闻网"
    assert squash(None) == ""


def test_raw_text_keeps_whitespace_and_reads_nested_elements() -> None:
    root = parse_html("<html><body><div><p> 一 <b>二\u3000</b> 三 </p>尾</div><a> 单 </a></body></html>")
    p = one(root, ".//p")
    assert raw_text(p) == " 一 二\u3000 三 "  # not the tail "尾"
    assert raw_text(p) == "".join(str(t) for t in p.itertext())
    assert raw_text(one(root, ".//a")) == " 单 "
    assert text_of(p) == "一 二 三"


# --- class/id hints -------------------------------------------------------------------------------


def test_hint_patterns_match_as_their_word_boundaries_say_on_the_lowercased_class_and_id() -> None:
    hint = hint_pattern(r"comment|\bnav\b|\bad(?:s)?\b|\bside")
    written = re.compile(r"comment|\bnav\b|\bads?\b|\bside", re.I)
    classes = ["nav", "top-nav", "Top NAV", "sidenav", "navbar", "ads", "AD", "bad", "load", "x-ads-2", "sidebar",
               "inside", "CommentList", "", "正文 nav_1"]
    for cls in classes:
        root = parse_html(f"<html><body><div class='{cls}' id='X1'>一</div></body></html>")
        key = class_and_id(one(root, ".//div"))
        assert key == key.lower()
        assert bool(hint.search(key)) == bool(written.search(f"{cls} X1")), cls
