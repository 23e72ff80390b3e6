"""Pure helpers for `feedsvc discover`: a home page's navigation links and site name, slugs for
sites and sections, and one regex that all of a site's article URLs share."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedsvc.errors import ExtractError
from feedsvc.extract.html import Node, parse_html, text_of
from feedsvc.extract.list_page import ListPage, in_footer_area, in_nav_area
from feedsvc.extract.urls import canonical_url, host_of, is_list_leaf, url_date
from feedsvc.model import SLUG_RE
from feedsvc.public_suffix import registrable_domain

# Navigation labels are a few words; longer anchor text in a header is a headline or a slogan.
MAX_LABEL = 16
# A nav link's group is its nearest block-level ancestor: the <ul> of a menu, the <div> of a bar.
_GROUP_TAGS = frozenset({"ul", "ol", "dl", "div", "nav", "header", "p", "td", "tr", "table", "section"})
_HOME_LEAF_RE = re.compile(r"^(index|default|home)\.(s?html?|php|aspx?|jsp)$", re.I)
_TITLE_SPLIT_RE = re.compile(
    r"\s+[-–—|·•:]\s+|[_|｜丨—–·•]|(?<=[\u3000-\u9fff])\s*[-:：]\s*|\s*[-:：]\s*(?=[\u3000-\u9fff])")
# Title parts that name the page, not the site ("首页 - 慈溪新闻网", "慈溪新闻网_官方网站").
_GENERIC_TITLE_PARTS = frozenset({
    "首页", "主页", "网站首页", "官网", "官方网站", "门户网站", "欢迎访问", "欢迎光临", "home", "homepage",
    "home page", "index", "welcome",
})
_NUMBER_RE = re.compile(r"\d+|\D+")
# More shapes than this and the article URLs have no obvious common pattern.
MAX_SHAPES = 6
# Links about the site, not sections of it: about, ads, contact, jobs, sitemap, login, apps, help.
_SERVICE_LABEL_RE = re.compile(
    r"简介|介绍|关于|广告|联系|诚聘|招聘|人才|英才|加入我们|网站地图|站点地图|地图|登录|登陆|注册|投稿|版权|声明|隐私|"
    r"帮助|反馈|留言|举报|客户端|手机版|APP|订阅|RSS|English|设为首页|收藏|合作|服务条款|友情链接|"
    r"about|contact|sitemap|login|register|privacy|help", re.I)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str


def nav_links(html: str, page_url: str) -> list[NavLink]:
    """Same-site links with short labels in the page's navigation areas, one per URL, main menu first.

    The home page itself is left out. When two menus link one URL (新闻中心 in the top bar, 慈溪新闻
    in the main menu), the label in the larger menu wins: that is the one the site calls the section.
    Menus are ordered largest first, links within a menu in page order.
    """
    try:
        doc = parse_html(html)
    except ExtractError:
        return []
    page = ListPage(doc, page_url)
    page_host = host_of(page_url)
    home = _home_key(canonical_url(page_url))
    groups: dict[Node, list[NavLink]] = {}
    for el, href in page.hrefs():
        label = text_of(el)
        if (not 2 <= len(label) <= MAX_LABEL or not any(c.isalpha() for c in label) or not in_nav_area(el)
                or is_service_label(label) or in_footer_area(el)):
            continue
        url = page.url(href)
        if url is None or not page.on_site(url, page_host) or _home_key(url) == home:
            continue
        groups.setdefault(_group_of(el), []).append(NavLink(label, url))
    ranked = sorted(groups.values(), key=len, reverse=True)  # stable: equal menus keep page order
    seen: set[str] = set()
    out = []
    for group in ranked:
        for link in group:
            if link.url not in seen:
                seen.add(link.url)
                out.append(link)
    return out


def is_service_label(label: str) -> bool:
    """网站简介, 广告服务, 联系方式, 诚聘英才, 网站地图, 登录, "支站 :"…: links about the site or a heading
    (a label ending in a colon), never a section that lists articles."""
    return bool(_SERVICE_LABEL_RE.search(label)) or label.rstrip().endswith((":", "："))


def _group_of(el: Node) -> Node:
    for anc in el.iterancestors():
        if anc.tag in _GROUP_TAGS:
            return anc
    return el


def _home_key(url: str) -> str:
    """`http://x/`, `http://x/index.shtml` and `http://x` are all the home page."""
    parts = urlsplit(url)
    path = parts.path.rsplit("/", 1)
    if parts.query or path[0] or not (path[-1] == "" or _HOME_LEAF_RE.match(path[-1])):
        return url
    return f"{parts.scheme}://{parts.netloc}/"


def page_title(html: str) -> str:
    """The page's <title> text, whitespace collapsed ('' when there is none)."""
    try:
        el = parse_html(html).find(".//title")
    except ExtractError:
        return ""
    return text_of(el) if el is not None else ""


def site_name(title: str) -> str:
    """A home page title cleaned of its suffixes and prefixes: "首页 - 慈溪新闻网_官方网站" → "慈溪新闻网"."""
    parts = [p.strip() for p in _TITLE_SPLIT_RE.split(title or "")]
    named = [p for p in parts if p and p.lower() not in _GENERIC_TITLE_PARTS]
    return named[0] if named else (title or "").strip()


def _slugify(text: str) -> str | None:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug if slug and SLUG_RE.match(slug) else None


def site_slug(host: str) -> str | None:
    """`www.cxnews.cn` → `cxnews`, `news.cnnb.com.cn` → `news-cnnb`; None when nothing URL-safe is left."""
    host = host.lower().rstrip(".").removeprefix("www.")
    if re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):  # an address has no suffix to drop
        return _slugify(host.replace(".", "-").replace(":", "-"))
    domain = registrable_domain(host)
    suffix = domain.partition(".")[2]
    name = host[: -len(suffix) - 1] if suffix and host.endswith("." + suffix) else host
    return _slugify(name.replace(".", "-"))


def section_slug(url: str) -> str | None:
    """A slug from a list page's path: `/cixi/` → `cixi`, `/minetong/index.shtml` → `minetong`,
    `/news/local.html` → `local`; None when the path holds nothing URL-safe."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if segments and (is_list_leaf(segments[-1]) or "." in segments[-1]):
        leaf = segments.pop()
        if not is_list_leaf(leaf):
            segments.append(leaf.rsplit(".", 1)[0])
    for segment in reversed(segments):
        # A percent-encoded (Chinese) folder name would slug to hex soup: let the caller number it.
        if "%" not in segment and (slug := _slugify(segment)):
            return slug
    return None


def _split(url: str) -> tuple[list[str], str]:
    """(leading folders, the rest): the rest starts at the first path segment holding a digit, e.g.
    `/news/local/2024/05/01/12.shtml` → (['news', 'local'], '/2024/05/01/12.shtml'). Portals file one
    article shape under many folders, so the folders are not the shape."""
    parts = urlsplit(url)
    segments = parts.path.split("/")[1:]
    query = f"?{parts.query}" if parts.query else ""
    for i, segment in enumerate(segments):
        if any(c.isdigit() for c in segment) or (i == len(segments) - 1 and query and any(c.isdigit() for c in query)):
            return segments[:i], "/" + "/".join(segments[i:]) + query
    return segments, query


def _shape_regex(rests: Sequence[str], dated: bool) -> str:
    """One regex for URL tails of one shape: text kept, numbers generalised (fixed width in dated folders)."""
    tokens_list = [_NUMBER_RE.findall(r) for r in rests]
    first = tokens_list[0]
    out = []
    for i, token in enumerate(first):
        if not token.isdigit():
            out.append(_escape(token))
            continue
        widths = {len(tokens[i]) for tokens in tokens_list}
        in_folder = "/" in "".join(first[i + 1:])
        # Dates in folders (/2021/12/08/, /202112/08/) have fixed widths; ids in leaves grow.
        if dated and in_folder and len(widths) == 1 and (width := widths.pop()) in (2, 4, 6, 8):
            out.append(rf"\d{{{width}}}")
        else:
            out.append(r"\d+")
    return "".join(out)


def _shared_folders(folder_lists: Sequence[list[str]]) -> str:
    """The folders right before the shape that every URL has (`/system`), as a regex prefix."""
    shared: list[str] = []
    for depth in range(1, min(len(f) for f in folder_lists) + 1):
        names = {f[-depth] for f in folder_lists}
        if len(names) != 1:
            break
        shared.insert(0, names.pop())
    return "".join(f"/{_escape(name)}" for name in shared)


def _escape(text: str) -> str:
    # re.escape also escapes `-`, which outside a [set] needs none: patterns an operator reads stay plain.
    return re.escape(text).replace("\\-", "-")


def common_url_pattern(urls: Sequence[str]) -> str | None:
    """A regex (for `rules.link_pattern`, searched) that every URL matches, built from their shapes:
    the part of the path from its first numbered segment on, digits as `\\d+`, date folders as
    `\\d{4}/\\d{2}/\\d{2}`; folders before it are kept only when all of a shape's URLs share them, so
    `/news/…`, `/video/…` and `/finance/…` articles of one shape give one pattern. None when the URLs
    have no common shape (more than MAX_SHAPES shapes, or URLs without numbers, which would only list
    the URLs themselves)."""
    if not urls:
        return None
    by_shape: dict[tuple[str, ...], list[tuple[list[str], str, str]]] = {}
    for url in dict.fromkeys(urls):
        folders, rest = _split(url)
        if not any(c.isdigit() for c in rest):
            return None
        shape = tuple("0" if t.isdigit() else t for t in _NUMBER_RE.findall(rest))
        by_shape.setdefault(shape, []).append((folders, rest, url))
    if len(by_shape) > MAX_SHAPES:
        return None
    groups = sorted(by_shape.values(), key=len, reverse=True)
    regexes = [_shared_folders([g[0] for g in group]) + _shape_regex([g[1] for g in group],
                                                                      all(url_date(g[2]) for g in group))
               for group in groups]
    pattern = regexes[0] + "$" if len(regexes) == 1 else "(?:" + "|".join(regexes) + ")$"
    compiled = re.compile(pattern)
    # Built to match; checked anyway, since a pattern that misses an article would drop it for good.
    return pattern if all(compiled.search(u) for u in urls) else None
