"""A list page (parsed by extract/html.py) and what one call keeps asking of it: hrefs as canonical
URLs, and which areas are chrome (navigation, header, footer, sidebars like 24小时/排行/热点)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from feedsvc.extract.html import CHROME_TAGS, Node, base_href, class_and_id, is_element, text_of
from feedsvc.extract.urls import canonical_url, host_of, same_site

# Class/id words of areas that never hold the main list, and of areas that rarely do.
_CHROME_TOKEN_RE = re.compile(
    r"(?:^|[-_\s])(nav|navs|navbar|menu|header|footer|foot|copyright|crumbs?|breadcrumbs?|daohang|"
    r"friend|links|flink|yqlj|banner|topnav|topbar|bottom|weizhi|position)(?:[-_\s\d]|$)", re.I)
_SIDE_TOKEN_RE = re.compile(
    r"(?:^|[-_\s])(side|sidebar|right|rank|ranking|paihang|hot|hots|remen|tuijian|recommend|"
    r"share|ads?|related|xiangguan|24h|box24)(?:[-_\s\d]|$)", re.I)
_SIDEBAR_HEADING_RE = re.compile(r"24小时|排行|热点|热门|推荐|相关|猜你喜欢|友情链接|点击榜|热读|精彩图片")
_NAV_AREA_RE = re.compile(r"nav|menu|daohang|header|topbar|channel", re.I)
_NETLOC_RE = re.compile(r"https?://([^/?#]*)")


def base_url(doc: Node, page_url: str) -> str:
    """What relative hrefs resolve against: the page's <base href>, else its own URL."""
    href = base_href(doc)
    return page_url if href is None else canonical_url(href, page_url)


def in_nav_area(el: Node) -> bool:
    """Whether `el` sits inside <nav>, <header> or an element whose class/id says nav, menu, header..."""
    return any(anc.tag in ("nav", "header") or _NAV_AREA_RE.search(class_and_id(anc))
               for anc in el.iterancestors() if is_element(anc))


_FOOTER_AREA_RE = re.compile(r"(?:^|[-_\s])(footer|foot|copyright|bottom|bq|db)(?:[-_\s\d]|$)", re.I)


def in_footer_area(el: Node) -> bool:
    """Whether `el` sits inside <footer> or an element whose class/id says footer, copyright, bottom."""
    return any(anc.tag == "footer" or _FOOTER_AREA_RE.search(class_and_id(anc))
               for anc in el.iterancestors() if is_element(anc))


def _own_area(el: Node) -> float:
    """0 for nav/header/footer/menu elements, 0.3 for sidebar-looking ones, else 1.0."""
    if el.tag in CHROME_TAGS:
        return 0.0
    tokens = class_and_id(el)
    if tokens == " ":  # neither class nor id: most elements, and nothing to read
        return 1.0
    if _CHROME_TOKEN_RE.search(tokens):
        return 0.0
    if _SIDE_TOKEN_RE.search(tokens):
        return 0.3
    return 1.0


class ListPage:
    """A parsed page and what one call works out about it, each answer once (memos die with the call).

    Speed (bench/extract.py): the memos hold the canonical URL per href, the chrome verdict per
    element, the sidebar-heading verdict per container and the same-site verdict per host.
    """

    def __init__(self, doc: Node, page_url: str) -> None:
        self.doc = doc
        self.base = base_url(doc, page_url)
        self._urls: dict[str, str | None] = {}
        self._areas: dict[Node, float] = {}
        self._sidebar: dict[Node, bool] = {}
        self._sites: dict[str, bool] = {}

    def hrefs(self) -> Iterator[tuple[Node, str]]:
        """(anchor, stripped href) in document order, skipping empty and in-page (#...) hrefs."""
        for a in self.doc.iter("a", "area"):
            href = (a.get("href") or "").strip()
            if href and not href.startswith("#"):
                yield a, href

    def url(self, href: str) -> str | None:
        """canonical_url(href, base) when it is http(s), else None."""
        if href in self._urls:
            return self._urls[href]
        canonical = canonical_url(href, self.base)
        url = canonical if canonical.startswith(("http://", "https://")) else None
        self._urls[href] = url
        return url

    def chrome(self, el: Node) -> float:
        """1.0 for ordinary content, 0.3 inside sidebar-looking areas, 0 inside nav/header/footer/menus."""
        parent = el.getparent()
        if parent is None:
            return 1.0
        # Walk up to the nearest element already judged, then judge the ones below it on the way down.
        areas = self._areas
        chain: list[Node] = []
        node: Node | None = parent
        while node is not None and node not in areas:
            chain.append(node)
            node = node.getparent()
        factor = 1.0 if node is None else areas[node]
        for node in reversed(chain):
            factor = min(factor, _own_area(node))
            areas[node] = factor
        return areas[parent]

    def sidebar_heading(self, container: Node) -> bool:
        """Whether a heading just before or atop `container` names a sidebar list."""
        known = self._sidebar.get(container)
        if known is None:
            known = self._sidebar[container] = _heading_says_sidebar(container)
        return known

    def in_sidebar_list(self, el: Node) -> bool:
        """Whether `el` sits (at most five levels down) in a list or box headed like a sidebar."""
        for depth, anc in enumerate(el.iterancestors()):
            if depth > 4:
                return False
            if anc.tag in ("ul", "ol", "dl", "table", "div") and self.sidebar_heading(anc):
                return True
        return False

    def on_site(self, url: str, page_host: str) -> bool:
        """same_site(host_of(url), page_host), once per host: a canonical URL's host is its netloc's."""
        m = _NETLOC_RE.match(url)
        key = m.group(1) if m else url
        known = self._sites.get(key)
        if known is None:
            known = self._sites[key] = same_site(host_of(url), page_host)
        return known


def _heading_says_sidebar(container: Node) -> bool:
    """A list headed "24小时最新新闻", "热点排行"... is a sidebar even without telling class names."""
    el: Node | None = container
    for _ in range(3):
        if el is None:
            return False
        prev = el.getprevious()
        while prev is not None and not is_element(prev):
            prev = prev.getprevious()
        if prev is not None:
            label = text_of(prev)
            if len(label) <= 30 and _SIDEBAR_HEADING_RE.search(label):
                return True
        first = next((c for c in el if is_element(c)), None)
        if first is not None and first is not container and len(first) <= 3:
            label = text_of(first)
            if len(label) <= 30 and first.find(".//a") is None and _SIDEBAR_HEADING_RE.search(label):
                return True
        el = el.getparent()
    return False
