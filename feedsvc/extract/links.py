"""List page → article links (in page order), the next page's URL, and navigation links by label.

Pure functions over an HTML string (lxml). Configured rules win: `rules.links` (CSS) and/or
`rules.link_pattern` (regex on the absolute URL). Without them a heuristic finds the page's main
list: same-site anchors with headline-like text, grouped by the list they sit in, scored by how
article-like their URLs are; navigation, header, footer and sidebars ("24小时最新新闻", 排行, 热点)
are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from cssselect import SelectorError
from lxml import etree

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
    try:
        # Bytes + explicit encoding: lxml refuses `str` with an XML declaration, and a stale
        # <meta charset=gb2312> must not re-decode text that is already decoded.
        return lxml.html.fromstring(html.encode("utf-8", "surrogatepass"),
                                    parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return None


def _text(el: etree._Element) -> str:
    return _WS_RE.sub(" ", el.text_content()).strip()


def _base_url(doc: etree._Element, page_url: str) -> str:
    base = doc.find(".//base[@href]")
    if base is not None:
        return canonical_url(base.get("href", ""), page_url)
    return page_url


def _anchors(doc: etree._Element, base: str) -> Iterable[tuple[etree._Element, str]]:
    for a in doc.iter("a", "area"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        url = canonical_url(href, base)
        if url.startswith(("http://", "https://")):
            yield a, url


def _class_tokens(el: etree._Element) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}".strip()


def _chrome_factor(el: etree._Element) -> float:
    """1.0 for ordinary content, 0.3 inside sidebar-looking areas, 0 inside nav/header/footer/menus."""
    factor = 1.0
    for anc in el.iterancestors():
        tag = anc.tag if isinstance(anc.tag, str) else ""
        if tag in _CHROME_TAGS:
            return 0.0
        tokens = _class_tokens(anc)
        if tokens and _CHROME_TOKEN_RE.search(tokens):
            return 0.0
        if tokens and _SIDE_TOKEN_RE.search(tokens):
            factor = min(factor, 0.3)
    return factor


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
    if re.search(r"\d{5,}", leaf):
        score += 1.5
    if _ARTICLE_LEAF_RE.search(leaf):
        score += 1.0
    return score


def _shape(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc + re.sub(r"\d+", "0", parts.path)


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
            if len(anc.text_content()) > len(a.text) + 200:
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


def _collect(doc: etree._Element, page_url: str) -> list[_Anchor]:
    base = _base_url(doc, page_url)
    page = canonical_url(page_url)
    found = []
    for el, url in _anchors(doc, base):
        if url == page:
            continue
        text = _text(el) or _WS_RE.sub(" ", el.get("title") or "").strip()
        found.append(_Anchor(el, url, text))
    return found


def _dedup(anchors: Iterable[_Anchor]) -> list[_Anchor]:
    seen: set[str] = set()
    out = []
    for a in anchors:
        if a.url not in seen:
            seen.add(a.url)
            out.append(a)
    return out


def _css(doc: etree._Element, selector: str) -> list[etree._Element]:
    try:
        return list(doc.cssselect(selector))
    except SelectorError:  # as in article extraction: a bad selector matches nothing, heuristics carry on
        return []


def _by_css(doc: etree._Element, selector: str, page_url: str) -> list[_Anchor]:
    base = _base_url(doc, page_url)
    picked: list[etree._Element] = []
    for el in _css(doc, selector):
        if el.tag in ("a", "area"):
            picked.append(el)
        else:
            picked.extend(el.iter("a", "area"))
    wanted = set(picked)
    out = []
    for el, url in _anchors(doc, base):  # document order, whatever order the selector groups gave
        if el in wanted:
            out.append(_Anchor(el, url, _text(el) or (el.get("title") or "").strip()))
    return out


def _main_list(anchors: list[_Anchor], page_host: str, *, vouched: bool = False) -> list[_Anchor]:
    """The heuristic: the best-scoring list of article-like, same-site, headline-like anchors.

    `vouched` anchors matched the configured pattern: host, text and URL shape are not questioned,
    only which list they sit in.
    """
    cands = []
    for a in anchors:
        if not vouched and (not same_site(host_of(a.url), page_host) or not _is_headline(a.text)):
            continue
        factor = _chrome_factor(a.el)
        score = max(_url_score(a.url), 1.0) if vouched else _url_score(a.url)
        if factor == 0.0 or score <= 0:
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
        if _heading_says_sidebar(container):
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
    best_factor = min(_chrome_factor(m.el) for m in members)
    for total, container, group in scored[1:]:
        if total <= 0 or container.getparent() is not best.getparent():
            continue
        same_kind = any(_shape(m.url) in shapes for m in group)
        clean = not _heading_says_sidebar(container) and min(_chrome_factor(m.el) for m in group) >= best_factor
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

    picked: list[_Anchor] = []
    if rules.links:
        picked = [a for a in _by_css(doc, rules.links, page_url) if not pattern or pattern.search(a.url)]
    if not picked and pattern:
        picked = _pattern_matches(_collect(doc, page_url), pattern, page_host)
    elif not picked:
        picked = _main_list(_collect(doc, page_url), page_host)
    picked = _dedup(picked)
    if any(a.item is None for a in picked):
        _assign_items(picked)
    return [ListedLink(url=a.url, text=a.text, published=_date_beside(a, timezone, now)) for a in picked]


def _pattern_matches(anchors: list[_Anchor], pattern: re.Pattern[str], page_host: str) -> list[_Anchor]:
    """Every match outside navigation, footer and sidebars; failing that, the best list of matches."""
    matching = [a for a in anchors if pattern.search(a.url)]
    kept = [a for a in matching if _chrome_factor(a.el) > 0.0]
    clean = [a for a in kept if _chrome_factor(a.el) >= 1.0 and not _in_sidebar_list(a)]
    # The pattern is the operator's word, so a page whose matches all sit in chrome still yields them.
    return clean or _main_list(kept, page_host, vouched=True) or kept or matching


def _in_sidebar_list(a: _Anchor) -> bool:
    for depth, anc in enumerate(a.el.iterancestors()):
        if depth > 4:
            return False
        if anc.tag in ("ul", "ol", "dl", "table", "div") and _heading_says_sidebar(anc):
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
        label = _WS_RE.sub("", el.text_content()).strip(_NEXT_STRIP).lower()
        if (label in _NEXT_TEXTS or _WS_RE.sub("", el.text_content()) in _NEXT_TEXTS) and (
                url := usable(el.get("href"))):
            return url
    return None


def find_nav_link(html: str, page_url: str, label: str) -> str | None:
    """URL of the anchor whose text (whitespace removed) equals `label`; navigation areas first."""
    doc = _parse(html)
    if doc is None:
        return None
    want = _WS_RE.sub("", label)
    matches = [(el, url) for el, url in _anchors(doc, _base_url(doc, page_url))
               if _WS_RE.sub("", el.text_content()) == want or (
                   not _WS_RE.sub("", el.text_content()) and _WS_RE.sub("", el.get("title") or "") == want)]
    if not matches:
        return None

    def in_nav(el: etree._Element) -> bool:
        return any(anc.tag in ("nav", "header") or _NAV_AREA_RE.search(_class_tokens(anc))
                   for anc in el.iterancestors() if isinstance(anc.tag, str))

    page_host = host_of(page_url)
    ranked = sorted(matches, key=lambda m: (not in_nav(m[0]), not same_site(host_of(m[1]), page_host)))
    return ranked[0][1]
