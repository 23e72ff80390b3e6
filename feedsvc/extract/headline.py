"""The headline of an article page, and the kicker/subtitle lines printed around it.

The headline is the heading (h1-h6 or an element classed as a title) that best matches the page's
`<title>`, og:title or JSON-LD headline: a match at the start of `<title>` counts fully, one further
in (usually the site's name in the suffix) half. A badge printed before the headline ("原创") is
left out. When nothing matches, the last heading before the body wins, then `<title>` itself.

Subtitle rule: the kicker line printed directly above the headline (引题) and the subtitle line
directly below it (副题), in page order, joined with " / ".
"""

from __future__ import annotations

import re
from datetime import datetime

from feedsvc.extract.bylines import find_authors, find_source
from feedsvc.extract.dates import find_dates
from feedsvc.extract.html import Node, class_and_id, hint_pattern, is_element, select, squash, text_of
from feedsvc.extract.page import Page, as_text
from feedsvc.model import Rules

__all__ = ["find_subtitle", "find_title"]

_TITLE_HINT = hint_pattern(r"title|headline|heading|biaoti|\btit\b|subject|arti_?tit|news_?tit")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_TAG_WEIGHT = {"h1": 1.0, "h2": 0.9, "h3": 0.7, "h4": 0.6, "h5": 0.6, "h6": 0.5}
_TITLE_SEPARATORS = re.compile(r"\s*(?:_|\||｜|--|—|–|-|::|·)\s*")


def find_title(page: Page, rules: Rules, body_el: Node | None) -> tuple[str, Node | None]:
    """The headline and its element (None when it comes from <title> or meta tags only)."""
    for el in select(page.root, rules.title):
        text = text_of(el)
        if text:
            return text, el
    refs = [t for t in (page.html_title, page.meta_first("og:title", "twitter:title"),
                        as_text(page.jsonld_first("headline", "name"))) if t]
    ref_keys = [squash(r) for r in refs]
    best: tuple[float, str, Node | None] = (0.0, "", None)
    candidates = _title_candidates(page.root)
    # `夜雨_原文、翻译及赏析_某某网`: a short headline is the first part of <title>, exactly.
    first_part = squash(next(iter(p for p in _TITLE_SEPARATORS.split(page.html_title) if p), ""))
    for el, text in candidates:
        key = squash(text)
        affinity = 0.0
        if len(key) < 4:
            if key == first_part and el.tag in ("h1", "h2", "h3"):
                best = max(best, (0.9, text, el), key=lambda b: b[0])
            continue
        for ref, ref_key in zip(refs, ref_keys, strict=True):
            if key == ref_key:
                affinity = max(affinity, 1.0)
            elif key in ref_key:
                # Headlines open <title>; a match further in is usually the site's name in its suffix.
                share = len(key) / len(ref_key)
                affinity = max(affinity, share if ref_key.startswith(key) else share / 2)
            elif ref_key in key and len(ref_key) >= 4 and len(key) - len(ref_key) <= 4:
                # A badge printed before the headline ("原创") is not part of it.
                affinity = max(affinity, 0.95)
                text = ref if key.endswith(ref_key) else text
        score = affinity + 0.05 * _TAG_WEIGHT.get(el.tag, 0.6)
        if affinity >= 0.3 and score > best[0]:
            best = (score, text, el)
    if best[2] is not None:
        return best[1], best[2]
    # Nothing matches <title> (a section name there): the last heading before the body.
    fallback = _heading_before_body(page, body_el, candidates)
    if fallback is not None:
        return fallback
    if page.html_title:
        parts = [p for p in _TITLE_SEPARATORS.split(page.html_title) if p]
        title = max(parts[:2], key=len) if parts else page.html_title
        return title, _printed(page.root, title)
    meta = page.meta_first("og:title", "twitter:title")
    return (meta or ""), None


def _printed(root: Node, title: str) -> Node | None:
    """The element that prints `title` as its whole text (`<td><b>…</b></td>` on a page with no heading
    tags), so the lines under it are read as the header: date, source, byline."""
    key = squash(title)
    if len(key) < 4:
        return None
    body = root.find("body")
    for el in (body if body is not None else root).iter("b", "strong", "font", "td", "div", "span", "p", "center"):
        if len(el) == 0 and el.text and squash(el.text) == key and not any(a.tag == "a" for a in el.iterancestors()):
            return el  # (the same words in a link are a menu or a list of other articles)
    return None



def _title_candidates(root: Node) -> list[tuple[Node, str]]:
    body = root.find("body")
    scope = body if body is not None else root
    out = []
    for el in scope.iter(*_HEADINGS, "div", "span", "p", "td", "strong", "font", "b"):
        if el.tag in _HEADINGS or ((el.get("class") or el.get("id"))
                                   and _TITLE_HINT.search(class_and_id(el))):
            text = text_of(el)
            if 4 <= len(text) <= 150 or (2 <= len(text) < 4 and el.tag in ("h1", "h2", "h3")):
                out.append((el, text))
    return out


def _heading_before_body(
    page: Page, body_el: Node | None, candidates: list[tuple[Node, str]]
) -> tuple[str, Node] | None:
    if body_el is None:
        return None
    order = page.order
    start = order.get(body_el, 0)
    inside = set(body_el.iterancestors()) | {body_el}  # a heading left unclosed swallows the page
    before = [(el, t) for el, t in candidates
              if order.get(el, 0) < start and 6 <= len(t) <= 100 and el.getparent() is not None and el not in inside
              and not any(a.tag == "a" for a in el.iterancestors()) and el.find(".//a") is None]
    if not before:
        return None
    el, text = before[-1]
    return text, el


def find_subtitle(root: Node, rules: Rules, title_el: Node | None, now: datetime) -> str:
    """Kicker above and subtitle below the headline, joined with " / " (see the module docstring)."""
    if rules.subtitle:
        texts = [text_of(el) for el in select(root, rules.subtitle)]
        return " / ".join(t for t in texts if t)
    if title_el is None:
        return ""
    anchor, parent = title_el, title_el.getparent()
    # An <h1> alone in its wrapper: the kicker lines are the wrapper's neighbours.
    while parent is not None and parent.tag not in ("body", "html") and \
            sum(1 for c in parent if is_element(c)) == 1:
        anchor, parent = parent, parent.getparent()
    above = _kicker(anchor.getprevious(), now)
    below = _kicker(anchor.getnext(), now)
    return " / ".join(t for t in (above, below) if t)


def _kicker(el: Node | None, now: datetime) -> str:
    while el is not None and not is_element(el):
        el = el.getprevious()
    if el is None or el.tag in ("ul", "ol", "table", "form", "nav", "img", "br", "hr", "a"):
        return ""
    text = text_of(el)
    if not 6 <= len(text) <= 60 or el.find(".//a") is not None or el.find(".//img") is not None:
        return ""
    if find_dates(text, now=now) or re.search(r"[：:>›»|]", text):
        return ""
    if find_authors([text]) or find_source([text]) or text.endswith(("。", "！", "？")):
        return ""
    return text
