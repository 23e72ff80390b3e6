"""List page → article links in page order, the next page's URL, and navigation links by label.
Configured rules (`links` CSS, `link_pattern` regex) win; else a heuristic picks the main list."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedsvc.errors import ExtractError
from feedsvc.extract.dates import date_from_url, parse_date
from feedsvc.extract.html import Node, clean_text, parse_html, raw_text, select, squash, text_of
from feedsvc.extract.list_page import ListPage, base_url, in_nav_area
from feedsvc.extract.urls import canonical_url, host_of, is_list_leaf, is_site_root, same_site, url_date
from feedsvc.model import ListedLink, Rules

# Anchors whose text is one of these are chrome, not headlines.
_NAV_WORDS = frozenset({
    "首页", "更多", "更多>>", "more", "更多新闻", "下一页", "上一页", "尾页", "末页", "返回", "返回首页",
    "网站首页", "详细", "详情", "全文", "阅读全文", "查看全文", "打印该文", "关闭窗口", "登录", "注册",
    "关于我们", "联系我们", "法律声明", "网站地图", "不良信息举报", "设为首页", "加入收藏",
})
_ARTICLE_LEAF_RE = re.compile(r"\.(s?html?|php|aspx?|jsp)$", re.I)
_NEXT_TEXTS = frozenset({"下一页", "下页", "下一頁", "后页", "›", ">", "»", ">>", "next", "下一页>", "下一页>>"})
_BARE_MONTH_DAY = re.compile(r"([01]?\d)[-/.]([0-3]?\d)")
_NEXT_STRIP = "[]【】()（）<> \u3000\xa0"

_DIGITS_RE = re.compile(r"\d+")
_LONG_NUMBER_RE = re.compile(r"\d{5,}")
# A URL scoring this much has a date or a long id in its path: an article's, not a page about the site.
_ARTICLE_SCORE = 3.0
# Of a home page's article shapes, those fewer links have are one-offs (a banner, an ad), not a block's.
_MIN_SHAPE_LINKS = 2


@dataclass
class _Anchor:
    el: Node
    url: str
    text: str
    score: float = 0.0
    item: Node | None = None


def _url_score(url: str) -> float:
    path = urlsplit(url).path
    leaf = path.rsplit("/", 1)[-1]
    if not leaf or is_list_leaf(leaf):
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
    counts: dict[Node, int] = {}
    for a in anchors:
        for anc in a.el.iterancestors():
            counts[anc] = counts.get(anc, 0) + 1
    for a in anchors:
        item = a.el
        for anc in a.el.iterancestors():
            if counts.get(anc, 0) > 1 or anc.tag in ("body", "html"):
                break
            # A lone link must not claim a whole column: a date printed far away is not "beside" it.
            if len(raw_text(anc)) > len(a.text) + 200:
                break
            item = anc
        a.item = item


def _text_outside(el: Node, skip: Node) -> list[str]:
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
    text = clean_text(" ".join(_text_outside(a.item, a.el)))
    if not any(c.isdigit() for c in text):
        return None
    # A year-less "12-08 16:40" takes its year from the article URL's date path when it has one.
    anchor = date_from_url(a.url, timezone=tz)
    found = parse_date(text, timezone=tz, now=now, anchor=anchor)
    if found is None and (m := _BARE_MONTH_DAY.fullmatch(text.strip(" []【】()（）\xa0"))):
        # A lone "12-08" beside a link is a date; in running text it could be anything, so
        # only the list item context makes it safe to read.
        found = parse_date(f"{m.group(1)}月{m.group(2)}日", timezone=tz, now=now, anchor=anchor)
    return found


def _collect(page: ListPage, page_url: str, *, text_test: Callable[[str], bool] | None = None,
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


def _anchor_text(el: Node) -> str:
    return text_of(el) or clean_text(el.get("title"))


def _dedup(anchors: list[_Anchor]) -> list[_Anchor]:
    seen: set[str] = set()
    out = []
    for a in anchors:
        if a.url not in seen:
            seen.add(a.url)
            out.append(a)
    return out


def _by_css(page: ListPage, selector: str) -> list[_Anchor]:
    picked: list[Node] = []
    for el in select(page.doc, selector):
        if el.tag in ("a", "area"):
            picked.append(el)
        else:
            picked.extend(el.iter("a", "area"))
    wanted = set(picked)
    out = []
    for el, href in page.hrefs():  # document order, whatever order the selector groups gave
        if el in wanted and (url := page.url(href)) is not None:
            out.append(_Anchor(el, url, text_of(el) or (el.get("title") or "").strip()))
    return out


def _main_list(page: ListPage, anchors: list[_Anchor], page_host: str, *, vouched: bool = False) -> list[_Anchor]:
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
    groups: dict[Node, list[_Anchor]] = {}
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


def _article_shape(url: str) -> str:
    """The path from its first numbered segment on, digits as 0: `/news/2024/05/01/12.shtml` and
    `/video/2024/05/02/345.shtml` are one shape; portals file one shape under many folders."""
    path = urlsplit(url).path
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if any(c.isdigit() for c in segment):
            return _DIGITS_RE.sub("0", "/".join(segments[i:]))
    return _DIGITS_RE.sub("0", path)


def _home_blocks(page: ListPage, anchors: list[_Anchor], page_host: str) -> list[_Anchor]:
    """A home page holds many lists (头条, 本地, 财经…), not one: every block of article links outside
    navigation, header, footer and sidebars, of the article shapes the page repeats; a block whose links
    mostly repeat a bigger block's (a 排行/热点 ranking) is left out."""
    cands = [a for a in anchors
             if _is_headline(a.text) and page.on_site(a.url, page_host) and _url_score(a.url) >= _ARTICLE_SCORE
             and page.chrome(a.el) >= 1.0 and not page.in_sidebar_list(a.el)]
    shapes: dict[str, int] = {}
    for a in cands:
        shapes[_article_shape(a.url)] = shapes.get(_article_shape(a.url), 0) + 1
    cands = [a for a in cands if shapes[_article_shape(a.url)] >= _MIN_SHAPE_LINKS]
    _assign_items(cands)
    blocks: dict[Node, list[_Anchor]] = {}
    for a in cands:
        if a.item is not None and (block := a.item.getparent()) is not None:
            blocks.setdefault(block, []).append(a)
    blocks_of: dict[str, set[Node]] = {}
    for block, members in blocks.items():
        for a in members:
            blocks_of.setdefault(a.url, set()).add(block)
    kept: set[int] = set()
    for block, members in blocks.items():
        if page.sidebar_heading(block):
            continue
        echoed = {other for a in members for other in blocks_of[a.url]} - {block}
        repeated = sum(1 for a in members if len(blocks_of[a.url]) > 1)
        if repeated * 2 >= len(members) > 1 and any(len(blocks[other]) >= len(members) for other in echoed):
            continue  # an echo of bigger lists: a ranking
        kept.update(id(a) for a in members)
    return [a for a in cands if id(a) in kept]


def find_links(html: str, page_url: str, rules: Rules | None = None, *,
               timezone: str = "Asia/Shanghai", now: datetime | None = None) -> list[ListedLink]:
    """Article links of a list page, in page order, one per canonical URL.

    `rules.links` (CSS) picks anchors (or containers whose anchors count), and `rules.link_pattern`
    keeps the URLs it matches. A selector that matches nothing (the site changed) counts as unset.
    With a pattern and no selector, matches inside navigation, footer and sidebars are left out when
    others remain. With neither, the heuristic picks the main list (same-site links only; the
    configured rules may return other hosts, which the fetcher skips and counts); on a site's home
    page (`/`, `/index.html`) it takes every block of article links instead (`_home_blocks`).
    `published` is a date printed in the same list item, outside the anchor.
    """
    try:
        doc = parse_html(html)
    except ExtractError:
        return []  # an empty list page lists nothing; the fetcher has already judged the response
    now = now or datetime.now(ZoneInfo(timezone))
    links_css = rules.links if rules is not None else None
    link_pattern = rules.link_pattern if rules is not None else None
    pattern = re.compile(link_pattern) if link_pattern else None
    page_host = host_of(page_url)
    page = ListPage(doc, page_url)

    picked: list[_Anchor] = []
    if links_css:
        picked = [a for a in _by_css(page, links_css) if not pattern or pattern.search(a.url)]
    if not picked and pattern:
        picked = _pattern_matches(page, _collect(page, page_url, url_test=pattern.search), page_host)
    elif not picked:
        headlines = _collect(page, page_url, text_test=_is_headline)
        if is_site_root(page_url):
            picked = _home_blocks(page, headlines, page_host)
        if not picked:
            picked = _main_list(page, headlines, page_host)
    picked = _dedup(picked)
    if any(a.item is None for a in picked):
        _assign_items(picked)
    return [ListedLink(url=a.url, text=a.text, published=_date_beside(a, timezone, now)) for a in picked]


def _pattern_matches(page: ListPage, matching: list[_Anchor], page_host: str) -> list[_Anchor]:
    """Every match outside navigation, footer and sidebars; failing that, the best list of matches."""
    kept = [a for a in matching if page.chrome(a.el) > 0.0]
    clean = [a for a in kept if page.chrome(a.el) >= 1.0 and not page.in_sidebar_list(a.el)]
    # The pattern is the operator's word, so a page whose matches all sit in chrome still yields them.
    return clean or _main_list(page, kept, page_host, vouched=True) or kept or matching


def next_page_url(html: str, page_url: str, rules: Rules | None = None) -> str | None:
    """URL of the list's next page: `rules.next_page` (CSS), else rel=next, else a 下一页/›/> link."""
    try:
        doc = parse_html(html)
    except ExtractError:
        return None
    base = base_url(doc, page_url)
    page = canonical_url(page_url)

    def usable(href: str | None) -> str | None:
        if not href or href.strip().startswith(("#", "javascript:")):
            return None
        url = canonical_url(href, base)
        return url if url.startswith(("http://", "https://")) and url != page else None

    if rules is not None and rules.next_page:
        for el in select(doc, rules.next_page):
            target = el if el.tag == "a" else el.find(".//a[@href]")
            if target is not None and (url := usable(target.get("href"))):
                return url
    for el in doc.iter("a", "link"):
        if "next" in (el.get("rel") or "").lower().split() and (url := usable(el.get("href"))):
            return url
    for el in doc.iter("a"):
        squashed = squash(raw_text(el))
        if (squashed.strip(_NEXT_STRIP).lower() in _NEXT_TEXTS or squashed in _NEXT_TEXTS) and (
                url := usable(el.get("href"))):
            return url
    return None


def find_nav_link(html: str, page_url: str, label: str) -> str | None:
    """URL of the anchor whose text (whitespace removed) equals `label`; navigation areas first."""
    try:
        doc = parse_html(html)
    except ExtractError:
        return None
    want = squash(label)
    page = ListPage(doc, page_url)
    matches = []
    for el, href in page.hrefs():
        text = squash(raw_text(el))
        if (text == want or (not text and squash(el.get("title")) == want)) and (
                url := page.url(href)):
            matches.append((el, url))
    if not matches:
        return None

    page_host = host_of(page_url)
    ranked = sorted(matches, key=lambda m: (not in_nav_area(m[0]), not same_site(host_of(m[1]), page_host)))
    return ranked[0][1]
