"""Article page → `Entry`: title, subtitle, date, credits, body, summary and lead image.

Pure and synchronous. Every field tries the configured CSS selector (`Rules`) first, then
heuristics: headline and subtitle (headline.py), the date (published.py), credits from labelled
lines (bylines.py: 全媒体记者 熊洲, 稿源:…, 责任编辑:…), the body as the densest text block (body.py),
sanitized (sanitize.py). Bylines are taken out of the body into `author`; editor, copyright,
share/print and related-news lines are dropped from it.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from lxml import etree

from feedsvc.errors import ExtractError
from feedsvc.extract.body import Body, announced_table, build_body, is_dateline
from feedsvc.extract.bylines import find_authors, find_editors, find_source, split_names
from feedsvc.extract.dates import find_dates
from feedsvc.extract.density import score_blocks
from feedsvc.extract.headline import find_subtitle, find_title
from feedsvc.extract.html import Node, clean_text, drop_tree, select, text_of, xml_safe
from feedsvc.extract.page import Line, Page, as_text
from feedsvc.extract.published import find_published
from feedsvc.extract.sanitize import sanitize_element
from feedsvc.extract.urls import canonical_url, http_url
from feedsvc.model import Entry, ListedLink, Rules

__all__ = ["extract_article"]

_META_AUTHOR_KEYS = ("author", "article:author", "dc.creator", "byl")
_META_IMAGE_KEYS = ("og:image", "og:image:url", "twitter:image", "twitter:image:src", "image")
_SUMMARY_CHARS = 200
_SENTENCE_END = re.compile(r"[。！？；，]")
# Names alone, without a label: one to three of two or three Chinese characters (traditional included).
_LONE_NAME = re.compile(r"[\u4e00-\u9fa5]{2,3}(?:[ 、][\u4e00-\u9fa5]{2,3}){0,2}")
_TIME_WORD = re.compile(r"^(?:周|星期|礼拜)[一二三四五六日天]|^[今昨明前]天|^(?:上午|下午|晚上|凌晨|中午|早上)")
_ONE_NAME = re.compile(r"[\u4e00-\u9fa5]{2,3}|[A-Za-z][A-Za-z .\-]{1,30}")
_OUTLET = re.compile(r"[社网报台]$|新闻|日报|晚报|频道")
_CLOSING_CREDIT = re.compile(r"[（(]([^（()）]{2,24})[）)]\s*$")
# (新华社) or (中新网) name an outlet, (图) or (摄) a picture: not a reporter.
_PHOTO_CREDIT = re.compile(r"摄|图|[社网报台部局院会厅处办站刊电]$|完|待续|来源|编辑|责编")
_AUTHOR_HINT = re.compile(r"author|byline|writer|reporter|zuozhe|jizhe", re.I)
_AUTHOR_TAGS = frozenset({"span", "div", "p", "em", "a", "address", "strong", "i", "font", "li"})
_HEADER_LINES = 8


def extract_article(
    html: str, url: str, rules: Rules, *, timezone: str, now: datetime, listed: ListedLink | None = None
) -> Entry:
    """Parse one article page. Raises ExtractError when it yields neither a title nor a body."""
    page = Page.parse(html)
    tz = ZoneInfo(timezone)
    for selector in rules.remove:
        for el in select(page.root, selector):
            drop_tree(el)
    page.prune()
    root = page.root

    configured_body = next(iter(select(root, rules.body)), None)
    scores = score_blocks(root) if configured_body is None else None
    body_el = configured_body if scores is None else scores.choose()
    title, title_el = find_title(page, rules, body_el)
    if scores is not None and title_el is not None:
        near = scores.choose(headline=title_el)
        body_el = near if near is not None else body_el
    lines = page.lines()
    header = _header_lines(page, lines, title_el, body_el)
    subtitle = find_subtitle(root, rules, title_el, now)
    opening = _opening_datelines(page, lines, body_el)
    published = find_published(page, rules, header, lines, body_el, url, tz, now, listed, opening)

    # Configured selectors are read before the body is rebuilt (which moves its nodes).
    selected = {"author": _selected_text(root, rules.author), "source": _selected_text(root, rules.source),
                "editor": _selected_text(root, rules.editor)}
    body = Body()
    if body_el is not None:
        configured = select(root, rules.body)
        table = announced_table(body_el) if not configured else None
        for container in configured or [body_el, *([table] if table is not None else [])]:
            part = build_body(container, title=title, configured=bool(configured))
            body.blocks.extend(part.blocks)
            body.credits.extend(part.credits)
    body_text = body.text
    if not title and not body_text:
        raise ExtractError(f"no title and no article text found ({url})")
    if not title:
        # No headline: the list link's text, else the text's first line (a title holds no line break).
        title = listed.text if listed and listed.text else body_text.split("\n", 1)[0][:60]

    header_text = [ln.text for ln in header]
    blocks_text = [text_of(b) for b in body.blocks]
    source = selected["source"] or find_source(header_text + body.credits) or _dateline_outlet(header, now)
    editors = find_editors([ln.text for ln in lines] + body.credits)
    editor = selected["editor"] or " ".join(editors)
    not_authors = {*editors, *split_names(page.meta_first("editor") or "")}
    scope = _article_scope(title_el, body_el)
    author = selected["author"] or _author(page, header_text, body.credits, blocks_text, source, not_authors, scope)
    if rules.source and source:
        source = find_source([source]) or source
    if rules.author and author:
        author = "、".join(find_authors([author])) or author
    if rules.editor and editor:
        editor = " ".join(find_editors([editor])) or editor

    # A <base href="javascript:..."> would make every relative link one: only an http(s) base counts.
    base = (http_url(page.base_href, url) if page.base_href else None) or url
    content_html = _content_html(body, base)
    image = _image(page, rules, body, base)
    # The parsed page holds no character XML forbids, but JSON-LD strings (`\\u0001`) reach fields too.
    return Entry(
        url=canonical_url(url),
        title=xml_safe(title),
        subtitle=_safe(subtitle),
        author=_safe(author),
        source=_safe(source),
        editor=_safe(editor),
        published=published,
        summary=xml_safe(_summary(body_text)),
        content_html=xml_safe(content_html),
        image=_safe(image),
    )


def _safe(text: str | None) -> str | None:
    """Text with what XML forbids removed, None when nothing is left."""
    return (xml_safe(text).strip() or None) if text else None


def _selected_text(root: Node, selector: str | None) -> str:
    for el in select(root, selector):
        text = text_of(el)
        if text:
            return text
    return ""


# --- body ---------------------------------------------------------------------------------------


def _opening_datelines(page: Page, lines: list[Line], body_el: Node | None) -> list[str]:
    """A date line printed inside the body container, above the text (`2003-7-24 钱江晚报`)."""
    if body_el is None or body_el not in page.order:
        return []
    start = page.order[body_el]
    out = []
    for ln in [ln for ln in lines if ln.pos >= start][:_HEADER_LINES]:
        inside = ln.block is body_el or any(a is body_el for a in ln.block.iterancestors())
        if inside and len(ln.text) <= 80 and is_dateline(ln.text):
            out.append(ln.text)
    return out


def _header_lines(page: Page, lines: list[Line], title_el: Node | None,
                  body_el: Node | None) -> list[Line]:
    """The lines between headline and body: where date, source and byline are printed."""
    body_start = page.order.get(body_el, 10**9) if body_el is not None else 10**9
    if title_el is not None:
        title_pos = page.order.get(title_el, -1)
        title_end = max((page.order.get(d, title_pos) for d in title_el.iterdescendants()), default=title_pos)
        after = [ln for ln in lines if ln.pos > title_end]
        if body_start > title_pos:
            after = [ln for ln in after if ln.pos < body_start] or after[:1]
        out = []
        for ln in after[:_HEADER_LINES]:
            if len(ln.text) > 150:
                break  # the article text has begun
            out.append(ln)
        return out
    before = [ln for ln in lines if ln.pos < body_start]
    return before[-_HEADER_LINES:]


def _content_html(body: Body, url: str) -> str:
    wrapper = etree.Element("div")
    for block in body.blocks:
        wrapper.append(block)
    cleaned = sanitize_element(wrapper, url)
    # A paragraph that held only a dropped widget leaves an empty <p> behind.
    return re.sub(r"<p>\s*</p>", "", cleaned)


def _summary(text: str) -> str:
    text = clean_text(text.replace("\n", " "))
    if len(text) <= _SUMMARY_CHARS:
        return text
    cut = text[:_SUMMARY_CHARS]
    stop = max(cut.rfind(ch) for ch in "。！？!?")
    return cut[: stop + 1] if stop >= _SUMMARY_CHARS * 0.6 else cut.rstrip() + "…"


# --- credits and image --------------------------------------------------------------------------


def _author(page: Page, header: list[str], credits: list[str], blocks: list[str], source: str | None,
            editors: set[str], scope: Node | None) -> str:
    """Bylines from labelled lines, else an element classed as the author, else the reporter's name
    closing the text, else meta/JSON-LD; never a name the page credits as its editor."""
    lead = next((b for b in blocks if len(b) >= 20), "")
    names = find_authors(header + credits + _opening_lines(blocks), lead=lead)
    if not names:
        names = _classed_author(scope if scope is not None else page.root)
    if not names:
        names = _closing_credit(blocks)
    if not names:
        # Meta authors are often the site or the outlet, which are not bylines.
        meta = page.meta_first(*_META_AUTHOR_KEYS) or _jsonld_person(page.jsonld_first("author"))
        not_people = {page.meta_first("og:site_name") or "", source or ""}
        if meta and meta not in not_people and meta not in page.html_title:
            names = find_authors([meta]) or split_names(meta)
    return "、".join(n for n in names if n not in editors)


def _opening_lines(blocks: list[str]) -> list[str]:
    """Short lines before the first sentence of the text: where a byline without brackets stands
    (`河南商报记者 马俊峰/文`), or a lone author's name under an essay's title."""
    out = []
    for text in blocks[:3]:
        if len(text) > 45 or _SENTENCE_END.search(text):
            break
        out.append(text)
        if _LONE_NAME.fullmatch(text) and not _TIME_WORD.search(text):
            out.append(f"作者：{text}")
    return out


def _closing_credit(blocks: list[str]) -> list[str]:
    """`…取得好的效果。（记者 张倩）` or `(李楠)`: the reporter's name in brackets ending the text."""
    for text in reversed(blocks[-3:]):
        m = _CLOSING_CREDIT.search(text)
        if not m:
            continue
        inner = m.group(1).strip()
        if _PHOTO_CREDIT.search(inner):
            return []
        names = find_authors([inner])
        if not names and _LONE_NAME.fullmatch(inner):
            names = split_names(inner)
        return names
    return []


def _article_scope(title_el: Node | None, body_el: Node | None) -> Node | None:
    """The nearest element holding both the headline and the body (before the body is rebuilt): where
    the article's own byline is printed, away from the page's other stories."""
    if title_el is None or body_el is None:
        return None
    around = {id(a) for a in title_el.iterancestors()} | {id(title_el)}
    for el in (body_el, *body_el.iterancestors()):
        if id(el) in around:
            return el
    return None


def _classed_author(scope: Node) -> list[str]:
    """`<div class="author"><a href="/reporter/899">謝明俊</a></div>`: a short element classed as the author."""
    for el in scope.iter(*_AUTHOR_TAGS):
        cls, ident = el.get("class"), el.get("id")
        if not (cls or ident) or not _AUTHOR_HINT.search(f"{cls} {ident}"):
            continue
        text = text_of(el)
        if not text or len(text) > 30 or re.search(r"\d", text):
            continue
        names = find_authors([text]) or (split_names(text) if _ONE_NAME.fullmatch(text) else [])
        names = [n for n in names if not _OUTLET.search(n)]
        if names:
            return names
    return []


def _jsonld_person(value: object) -> str:
    """A JSON-LD author that is a person (an Organization author is the outlet)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict) and value.get("@type") not in (None, "Person"):
        return ""
    return as_text(value)


def _dateline_outlet(header: list[Line], now: datetime) -> str:
    """`2019年11月25日 18:57 参考消息`: a short name printed right after the date, without a label."""
    for line in header:
        found = find_dates(line.text, now=now)
        if not found:
            continue
        rest = line.text[found[0].end:].strip()
        m = re.fullmatch(r"([\u4e00-\u9fa5A-Za-z][\u4e00-\u9fa5A-Za-z\-]{1,20})(?:\[[^\]]*\])?", rest)
        if m and not re.search(r"来源|作者|编辑|记者|浏览|阅读|评论|分享|字号|举报|收藏|打印", m.group(1)):
            return m.group(1)
        return ""
    return ""


def _image(page: Page, rules: Rules, body: Body, url: str) -> str | None:
    """The lead image: configured selector, else og:image and the like, else the body's first real image;
    only an absolute http(s) URL counts (a `data:` or `javascript:` one is passed over)."""
    for el in select(page.root, rules.image):
        image = http_url(el.get("src") or el.get("content") or el.get("href"), url)
        if image:
            return image
    for meta in (page.meta_first(*_META_IMAGE_KEYS), as_text(page.jsonld_first("image"))):
        image = http_url(meta, url)
        if image:
            return image
    for block in body.blocks:
        for img in block.iter("img"):
            image = http_url(img.get("src"), url)
            if image and not _tiny(img):
                return image
    return None


def _tiny(img: Node) -> bool:
    for attr in ("width", "height"):
        value = re.match(r"\d+", img.get(attr) or "")
        if value and int(value.group()) < 60:
            return True
    return False
