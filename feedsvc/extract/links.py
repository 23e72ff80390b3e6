"""List page → article links (in page order), the next page's URL, and navigation links by label.

Pure functions over an HTML string (lxml). Configured rules win: `rules.links` (CSS) and/or
`rules.link_pattern` (regex on the absolute URL). Without them a heuristic finds the page's main
list: same-site anchors with headline-like text, grouped by the list they sit in, scored by how
article-like their URLs are; navigation, header, footer and sidebars ("24小时最新新闻", 排行, 热点)
are left out.

Speed (bench/extract.py): each call keeps a `_Page` of answers it will ask for again (canonical
URL per href, chrome verdict per element, sidebar heading per container); nothing outlives the call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import LxmlHTMLTranslator

from feedsvc.config import Rules
from feedsvc.extract.dates import parse_date
from feedsvc.extract.urls import canonical_url, host_of, same_site, url_date
from feedsvc.model import ListedLink

_WS_RE = re.compile(r"\s+")
# Anchors whose text is one of these are chrome, not headlines.
_NAV_WORDS = frozenset({
    "首页", "更多", "更多>>", "more", "更多新闻", "下一页", "上一页", "尾页", "末页", "返回", "返回首页",
    "网站首页", "详细", "详情", "全文", "阅读全文", "查看全文", "打印该文", "关闭窗口", "登录", "注册",
    "关于我们", "联系我们", "法律声明", "网站地图", "不良信息举报", "设为首页", "加入收藏",
})
# Structural tags that never hold the main list.
_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside"})
# Class/id words of areas that never hold the main list, and of areas that rarely do.
_CHROME_TOKEN_RE = re.compile(
    r"(?:^|[-_\s])(nav|navs|navbar|menu|header|footer|foot|copyright|crumbs?|breadcrumbs?|daohang|"
    r"friend|links|flink|yqlj|banner|topnav|topbar|bottom|weizhi|position)(?:[-_\s\d]|$)", re.I)
_SIDE_TOKEN_RE = re.compile(
    r"(?:^|[-_\s])(side|sidebar|right|rank|ranking|paihang|hot|hots|remen|tuijian|recommend|"
    r"share|ads?|related|xiangguan|24h|box24)(?:[-_\s\d]|$)", re.I)
_SIDEBAR_HEADING_RE = re.compile(r"24小时|排行|热点|热门|推荐|相关|猜你喜欢|友情链接|点击榜|热读|精彩图片")
_NAV_AREA_RE = re.compile(r"nav|menu|daohang|header|topbar|channel", re.I)
_ARTICLE_LEAF_RE = re.compile(r"\.(s?html?|php|aspx?|jsp)$", re.I)
_LIST_LEAF_RE = re.compile(r"^(index|default|list)(_\d+)?\.(s?html?|php|aspx?|jsp)$|^$", re.I)
_NEXT_TEXTS = frozenset({"下一页", "下页", "下一頁", "后页", "›", ">", "»", ">>", "next", "下一页>", "下一页>>"})
_BARE_MONTH_DAY = re.compile(r"([01]?\d)[-/.]([0-3]?\d)")
_NEXT_STRIP = "[]【】()（）<> \u3000\xa0"

_DIGITS_RE = re.compile(r"\d+")
_LONG_NUMBER_RE = re.compile(r"\d{5,}")
_NETLOC_RE = re.compile(r"https?://([^/?#]*)")
# What lxml.html's text_content() runs, without its per-element class lookup.
_STRING = etree.XPath("string()", smart_strings=False)


@dataclass
class _Anchor:
    el: etree._Element
    url: str
    text: str
    score: float = 0.0
    item: etree._Element | None = None


def _parse(html: str) -> etree._Element | None:
    if not html or not html.strip():
        return None
    # Bytes + explicit encoding: lxml refuses `str` with an XML declaration, and a stale
    # <meta charset=gb2312> must not re-decode text that is already decoded. Plain etree elements:
    # lxml.html's per-element class lookup cost more than all the rest of the anchor loop.
    data = html.encode("utf-8", "surrogatepass")
    try:
        return lxml.html.fromstring(data, parser=etree.HTMLParser(encoding="utf-8"))
    except AttributeError:  # merging several <body>s ("</body><body>"), lxml.html needs its own elements
        return _parse_html(data)
    except (etree.ParserError, ValueError):
        return None


def _parse_html(data: bytes) -> etree._Element | None:
    try:
        return lxml.html.fromstring(data, parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return None


def _raw_text(el: etree._Element) -> str:
    # Most anchors hold one text node: reading it beats an XPath string() evaluation.
    return (el.text or "") if len(el) == 0 else _STRING(el)


def _text(el: etree._Element) -> str:
    return _WS_RE.sub(" ", _raw_text(el)).strip()


def _base_url(doc: etree._Element, page_url: str) -> str:
    base = doc.find(".//base[@href]")
    if base is not None:
        return canonical_url(base.get("href", ""), page_url)
    return page_url


def _class_tokens(el: etree._Element) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}".strip()


def _own_area(el: etree._Element) -> float:
    """0 for nav/header/footer/menu elements, 0.3 for sidebar-looking ones, else 1.0."""
    if el.tag in _CHROME_TAGS:
        return 0.0
    tokens = _class_tokens(el)
    if tokens and _CHROME_TOKEN_RE.search(tokens):
        return 0.0
    if tokens and _SIDE_TOKEN_RE.search(tokens):
        return 0.3
    return 1.0


class _Page:
    """A parsed page and what one call works out about it, each answer once (memos die with the call)."""

    def __init__(self, doc: etree._Element, page_url: str) -> None:
        self.doc = doc
        self.base = _base_url(doc, page_url)
        self._urls: dict[str, str | None] = {}
        self._areas: dict[etree._Element, float] = {}
        self._sidebar: dict[etree._Element, bool] = {}
        self._sites: dict[str, bool] = {}

    def hrefs(self) -> Iterator[tuple[etree._Element, str]]:
        """(anchor, stripped href) in document order, skipping empty and in-page (#...) hrefs."""
        for a in self.doc.iter("a", "area"):
            href = (a.get("href") or "").strip()
            if href and not href.startswith("#"):
                yield a, href

    def url(self, href: str) -> str | None:
        """canonical_url(href, base) when it is http(s), else None."""
        if href in self._urls:
            return self._urls[href]
        url: str | None = canonical_url(href, self.base)
        if not url.startswith(("http://", "https://")):
            url = None
        self._urls[href] = url
        return url

    def chrome(self, el: etree._Element) -> float:
        """1.0 for ordinary content, 0.3 inside sidebar-looking areas, 0 inside nav/header/footer/menus."""
        parent = el.getparent()
        if parent is None:
            return 1.0
        # Walk up to the nearest element already judged, then judge the ones below it on the way down.
        areas, chain, node = self._areas, [], parent
        while node is not None and node not in areas:
            chain.append(node)
            node = node.getparent()
        factor = 1.0 if node is None else areas[node]
        for node in reversed(chain):
            factor = min(factor, _own_area(node))
            areas[node] = factor
        return areas[parent]

    def sidebar_heading(self, container: etree._Element) -> bool:
        known = self._sidebar.get(container)
        if known is None:
            known = self._sidebar[container] = _heading_says_sidebar(container)
        return known

    def on_site(self, url: str, page_host: str) -> bool:
        """same_site(host_of(url), page_host), once per host: a canonical URL's host is its netloc's."""
        m = _NETLOC_RE.match(url)
        key = m.group(1) if m else url
        known = self._sites.get(key)
        if known is None:
            known = self._sites[key] = same_site(host_of(url), page_host)
        return known


def _heading_says_sidebar(container: etree._Element) -> bool:
    """A list headed "24小时最新新闻", "热点排行"... is a sidebar even without telling class names."""
    el: etree._Element | None = container
    for _ in range(3):
        if el is None:
            return False
        prev = el.getprevious()
        while prev is not None and not isinstance(prev.tag, str):
            prev = prev.getprevious()
        if prev is not None:
            label = _text(prev)
            if len(label) <= 30 and _SIDEBAR_HEADING_RE.search(label):
                return True
        first = next((c for c in el if isinstance(c.tag, str)), None)
        if first is not None and first is not container and len(first) <= 3:
            label = _text(first)
            if len(label) <= 30 and first.find(".//a") is None and _SIDEBAR_HEADING_RE.search(label):
                return True
        el = el.getparent()
    return False


def _url_score(url: str) -> float:
    path = urlsplit(url).path
    leaf = path.rsplit("/", 1)[-1]
    if _LIST_LEAF_RE.match(leaf):
        return -3.0
    score = 1.0
    if url_date(url):
        score += 2.0
    if _LONG_NUMBER_RE.search(leaf):
        score += 1.5
    if _ARTICLE_LEAF_RE.search(leaf):
        score += 1.0
    return score


def _shape(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc + _DIGITS_RE.sub("0", parts.path)


def _is_headline(text: str) -> bool:
    return 6 <= len(text) <= 80 and text.lower() not in _NAV_WORDS


def _assign_items(anchors: list[_Anchor]) -> None:
    """Item = the highest ancestor holding only this one candidate anchor (li, tr, div.item...)."""
    counts: dict[etree._Element, int] = {}
    for a in anchors:
        for anc in a.el.iterancestors():
            counts[anc] = counts.get(anc, 0) + 1
    for a in anchors:
        item = a.el
        for anc in a.el.iterancestors():
            if counts.get(anc, 0) > 1 or anc.tag in ("body", "html"):
                break
            # A lone link must not claim a whole column: a date printed far away is not "beside" it.
            if len(_STRING(anc)) > len(a.text) + 200:
                break
            item = anc
        a.item = item


def _text_outside(el: etree._Element, skip: etree._Element) -> list[str]:
    """Text pieces of `el` except those inside `skip`, kept apart so "摘要3" and "2021-12-03" never fuse."""
    parts = [el.text or ""] if el is not skip and isinstance(el.tag, str) and el.tag not in ("script", "style") else []
    for child in el:
        if child is not skip:
            parts.extend(_text_outside(child, skip))
        parts.append(child.tail or "")
    return parts


def _date_beside(a: _Anchor, tz: str, now: datetime) -> datetime | None:
    """A date printed in the link's list item, outside the anchor (whose headline may hold numbers)."""
    if a.item is None or a.item is a.el:
        return None
    text = _WS_RE.sub(" ", " ".join(_text_outside(a.item, a.el))).strip()
    if not any(c.isdigit() for c in text):
        return None
    found = parse_date(text, timezone=tz, now=now)
    if found is None and (m := _BARE_MONTH_DAY.fullmatch(text.strip(" []【】()（）\xa0"))):
        # A lone "12-08" beside a link is a date; in running text it could be anything, so
        # only the list item context makes it safe to read.
        found = parse_date(f"{m.group(1)}月{m.group(2)}日", timezone=tz, now=now)
    return found


def _collect(page: _Page, page_url: str, *, text_test: Callable[[str], bool] | None = None,
             url_test: Callable[[str], object] | None = None) -> list[_Anchor]:
    """Anchors to other http(s) URLs than the page's own, in page order, passing the given tests.

    Which anchors a call keeps does not depend on the order of the tests, so the cheap one runs
    first: the heuristic drops most anchors on their text before their URL is worked out.
    """
    own = canonical_url(page_url)
    found = []
    for el, href in page.hrefs():
        text = None
        if text_test is not None:
            text = _anchor_text(el)
            if not text_test(text):
                continue
        url = page.url(href)
        if url is None or url == own or (url_test is not None and not url_test(url)):
            continue
        found.append(_Anchor(el, url, _anchor_text(el) if text is None else text))
    return found


def _anchor_text(el: etree._Element) -> str:
    return _text(el) or _WS_RE.sub(" ", el.get("title") or "").strip()


def _dedup(anchors: list[_Anchor]) -> list[_Anchor]:
    seen: set[str] = set()
    out = []
    for a in anchors:
        if a.url not in seen:
            seen.add(a.url)
            out.append(a)
    return out


@lru_cache(maxsize=128)
def _css_xpath(selector: str) -> str | None:
    # Translating CSS to XPath costs more than running it; the few configured selectors repeat.
    try:
        return LxmlHTMLTranslator().css_to_xpath(selector)
    except SelectorError:
        return None


def _css(doc: etree._Element, selector: str) -> list[etree._Element]:
    path = _css_xpath(selector)
    # As in article extraction: a bad selector matches nothing, heuristics carry on.
    return [] if path is None else list(doc.xpath(path))


def _by_css(page: _Page, selector: str) -> list[_Anchor]:
    picked: list[etree._Element] = []
    for el in _css(page.doc, selector):
        if el.tag in ("a", "area"):
            picked.append(el)
        else:
            picked.extend(el.iter("a", "area"))
    wanted = set(picked)
    out = []
    for el, href in page.hrefs():  # document order, whatever order the selector groups gave
        if el in wanted and (url := page.url(href)) is not None:
            out.append(_Anchor(el, url, _text(el) or (el.get("title") or "").strip()))
    return out


def _main_list(page: _Page, anchors: list[_Anchor], page_host: str, *, vouched: bool = False) -> list[_Anchor]:
    """The heuristic: the best-scoring list of article-like, same-site, headline-like anchors.

    `vouched` anchors matched the configured pattern: host, text and URL shape are not questioned,
    only which list they sit in.
    """
    cands = []
    for a in anchors:
        if not vouched and (not _is_headline(a.text) or not page.on_site(a.url, page_host)):
            continue
        factor = page.chrome(a.el)
        if factor == 0.0:
            continue
        score = max(_url_score(a.url), 1.0) if vouched else _url_score(a.url)
        if score <= 0:
            continue
        a.score = score * factor
        cands.append(a)
    if not cands:
        return []
    _assign_items(cands)
    groups: dict[etree._Element, list[_Anchor]] = {}
    for a in cands:
        container = a.item.getparent() if a.item is not None else None
        if container is None:
            continue
        groups.setdefault(container, []).append(a)
    scored = []
    for container, members in groups.items():
        total = sum(m.score for m in members)
        if page.sidebar_heading(container):
            total *= 0.2
        scored.append((total, container, members))
    if not scored:
        return []
    scored.sort(key=lambda t: t[0], reverse=True)
    best_total, best, members = scored[0]
    shapes = {_shape(m.url) for m in members}
    chosen = {best}
    # Long lists are often cut into several <ul>s of five under one parent: take same-shaped,
    # equally clean siblings along (not the next box over, which is another list).
    best_factor = min(page.chrome(m.el) for m in members)
    for total, container, group in scored[1:]:
        if total <= 0 or container.getparent() is not best.getparent():
            continue
        same_kind = any(_shape(m.url) in shapes for m in group)
        clean = not page.sidebar_heading(container) and min(page.chrome(m.el) for m in group) >= best_factor
        if same_kind and clean:
            chosen.add(container)
    return [a for a in cands if a.item is not None and a.item.getparent() in chosen]


def find_links(html: str, page_url: str, rules: Rules | None = None, *,
               timezone: str = "Asia/Shanghai", now: datetime | None = None) -> list[ListedLink]:
    """Article links of a list page, in page order, one per canonical URL.

    `rules.links` (CSS) picks anchors (or containers whose anchors count), and `rules.link_pattern`
    keeps the URLs it matches. A selector that matches nothing (the site changed) counts as unset.
    With a pattern and no selector, matches inside navigation, footer and sidebars are left out when
    others remain. With neither, the heuristic picks the main list (same-site links only; the
    configured rules may return other hosts, which the fetcher skips and counts).
    `published` is a date printed in the same list item, outside the anchor.
    """
    doc = _parse(html)
    if doc is None:
        return []
    rules = rules or Rules()
    now = now or datetime.now(ZoneInfo(timezone))
    pattern = re.compile(rules.link_pattern) if rules.link_pattern else None
    page_host = host_of(page_url)
    page = _Page(doc, page_url)

    picked: list[_Anchor] = []
    if rules.links:
        picked = [a for a in _by_css(page, rules.links) if not pattern or pattern.search(a.url)]
    if not picked and pattern:
        picked = _pattern_matches(page, _collect(page, page_url, url_test=pattern.search), page_host)
    elif not picked:
        picked = _main_list(page, _collect(page, page_url, text_test=_is_headline), page_host)
    picked = _dedup(picked)
    if any(a.item is None for a in picked):
        _assign_items(picked)
    return [ListedLink(url=a.url, text=a.text, published=_date_beside(a, timezone, now)) for a in picked]


def _pattern_matches(page: _Page, matching: list[_Anchor], page_host: str) -> list[_Anchor]:
    """Every match outside navigation, footer and sidebars; failing that, the best list of matches."""
    kept = [a for a in matching if page.chrome(a.el) > 0.0]
    clean = [a for a in kept if page.chrome(a.el) >= 1.0 and not _in_sidebar_list(page, a)]
    # The pattern is the operator's word, so a page whose matches all sit in chrome still yields them.
    return clean or _main_list(page, kept, page_host, vouched=True) or kept or matching


def _in_sidebar_list(page: _Page, a: _Anchor) -> bool:
    for depth, anc in enumerate(a.el.iterancestors()):
        if depth > 4:
            return False
        if anc.tag in ("ul", "ol", "dl", "table", "div") and page.sidebar_heading(anc):
            return True
    return False


def next_page_url(html: str, page_url: str, rules: Rules | None = None) -> str | None:
    """URL of the list's next page: `rules.next_page` (CSS), else rel=next, else a 下一页/›/> link."""
    doc = _parse(html)
    if doc is None:
        return None
    base = _base_url(doc, page_url)
    page = canonical_url(page_url)

    def usable(href: str | None) -> str | None:
        if not href or href.strip().startswith(("#", "javascript:")):
            return None
        url = canonical_url(href, base)
        return url if url.startswith(("http://", "https://")) and url != page else None

    if rules is not None and rules.next_page:
        for el in _css(doc, rules.next_page):
            target = el if el.tag == "a" else el.find(".//a[@href]")
            if target is not None and (url := usable(target.get("href"))):
                return url
    for el in doc.iter("a", "link"):
        if "next" in (el.get("rel") or "").lower().split() and (url := usable(el.get("href"))):
            return url
    for el in doc.iter("a"):
        squashed = _WS_RE.sub("", _raw_text(el))
        if (squashed.strip(_NEXT_STRIP).lower() in _NEXT_TEXTS or squashed in _NEXT_TEXTS) and (
                url := usable(el.get("href"))):
            return url
    return None


def find_nav_link(html: str, page_url: str, label: str) -> str | None:
    """URL of the anchor whose text (whitespace removed) equals `label`; navigation areas first."""
    doc = _parse(html)
    if doc is None:
        return None
    want = _WS_RE.sub("", label)
    page = _Page(doc, page_url)
    matches = []
    for el, href in page.hrefs():
        text = _WS_RE.sub("", _raw_text(el))
        if (text == want or (not text and _WS_RE.sub("", el.get("title") or "") == want)) and (
                url := page.url(href)):
            matches.append((el, url))
    if not matches:
        return None

    def in_nav(el: etree._Element) -> bool:
        return any(anc.tag in ("nav", "header") or _NAV_AREA_RE.search(_class_tokens(anc))
                   for anc in el.iterancestors() if isinstance(anc.tag, str))

    page_host = host_of(page_url)
    ranked = sorted(matches, key=lambda m: (not in_nav(m[0]), not same_site(host_of(m[1]), page_host)))
    return ranked[0][1]
