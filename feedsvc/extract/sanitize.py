"""Make extracted article HTML safe and self-contained for feed readers.

Lazy-load attributes become `src`, relative links and images become absolute, links and images that
are not absolute http(s) then go (a link keeps its text), and the nh3 allow-list removes everything
else: scripts, styles, frames, event handlers.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import nh3
from lxml import etree

from feedsvc.extract.html import Node, drop_tag, drop_tree, parse_html
from feedsvc.extract.urls import http_url

__all__ = ["LAZY_SRC_ATTRS", "absolutize", "clean_html", "drop_non_web_urls", "resolve_lazy_images",
           "sanitize_element", "sanitize_html", "unwrap_dead_links"]

# Where lazy-loading scripts keep the real image URL until the image scrolls into view.
LAZY_SRC_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-lazy", "data-actualsrc",
                  "data-original-src", "data-url", "data-echo", "file")
_URL_ATTRS = ("href", "src", "poster")
# Feeds carry only links a reader can open in any reader: mailto: and tel: links keep their text only.
_SCHEMES = ("http", "https")
_PLACEHOLDER_HINTS = ("data:image", "blank.", "placeholder", "loading.", "lazy.", "grey.gif", "spacer.gif", "1x1")

_TAGS = {
    "p", "br", "a", "img", "strong", "b", "em", "i", "u", "s", "sub", "sup", "small", "mark",
    "blockquote", "q", "cite", "pre", "code", "ul", "ol", "li", "dl", "dt", "dd",
    "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "table", "thead", "tbody", "tfoot",
    "tr", "td", "th", "caption", "hr", "video", "audio", "source",
}
# These go with everything inside them, not just the tag.
_DROP_WITH_CONTENT = {"script", "style", "iframe", "noscript", "object", "embed", "template", "textarea",
                      "select", "button", "svg", "math", "canvas", "applet", "frame", "frameset", "head", "title"}
_ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "video": {"src", "poster", "controls"},
    "audio": {"src", "controls"},
    "source": {"src", "type"},
    "ol": {"start"},
}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_DROP_WITH_CONTENT,
    attributes=_ATTRS,
    url_schemes=set(_SCHEMES),
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def _is_placeholder(src: str | None) -> bool:
    if not src or not src.strip():
        return True
    low = src.strip().lower()
    return any(hint in low for hint in _PLACEHOLDER_HINTS)


def resolve_lazy_images(root: Node) -> None:
    """Copy the real URL of lazy-loaded images into `src` (in place)."""
    for img in root.iter("img"):
        src = img.get("src")
        for attr in LAZY_SRC_ATTRS:
            lazy = img.get(attr)
            if lazy and lazy.strip() and not lazy.strip().startswith("data:") and (
                _is_placeholder(src) or attr in ("data-original", "data-src", "data-lazy-src")
            ):
                img.set("src", lazy.strip())
                break
        if _is_placeholder(img.get("src")) and img.get("srcset"):
            img.set("src", img.get("srcset", "").split(",")[0].strip().split(" ")[0])


def absolutize(root: Node, base_url: str) -> None:
    """Resolve every link and image against the page URL (in place); unparseable URLs are dropped."""
    if not base_url:
        return
    for el in root.iter(etree.Element):
        for attr in _URL_ATTRS:
            value = el.get(attr)
            if value is None:
                continue
            try:
                el.set(attr, urljoin(base_url, value.strip()))
            except ValueError:  # e.g. an invalid IPv6 host: such a link cannot be followed anyway
                del el.attrib[attr]


def unwrap_dead_links(root: Node) -> None:
    """Links that lead nowhere a reader can follow (javascript:, #, none) keep their text, lose the tag."""
    for a in list(root.iter("a")):
        href = (a.get("href") or "").strip().lower()
        scheme = re.match(r"([a-z][a-z0-9+.\-]*):", href)
        dead = not href or href.startswith("#") or (scheme is not None and scheme.group(1) not in _SCHEMES)
        if dead and a.getparent() is not None:
            drop_tag(a)


def drop_non_web_urls(root: Node) -> None:
    """After `absolutize`: a link whose href is not absolute http(s) keeps its text and loses the tag, such
    an image goes, and other such URL attributes (video `poster`, `src`) are removed (in place)."""
    for el in list(root.iter(etree.Element)):
        for attr in _URL_ATTRS:
            value = el.get(attr)
            if value is None or http_url(value) is not None:
                continue
            if el.tag == "a" and attr == "href" and el.getparent() is not None:
                drop_tag(el)
            elif el.tag == "img" and el.getparent() is not None:
                drop_tree(el)
            else:
                del el.attrib[attr]
            break


def sanitize_element(root: Node, base_url: str) -> str:
    """Serialize `root` (lazy images resolved, links absolute http(s)) through the allow-list (mutates `root`)."""
    resolve_lazy_images(root)
    unwrap_dead_links(root)
    absolutize(root, base_url)
    drop_non_web_urls(root)
    raw = etree.tostring(root, encoding="unicode", method="html")
    return clean_html(raw)


def clean_html(raw: str) -> str:
    """The allow-list itself, for HTML that is already absolute."""
    cleaned = _CLEANER.clean(raw)
    return cleaned.strip()


def sanitize_html(fragment: str, base_url: str = "") -> str:
    """Sanitize an HTML fragment given as text (lazy images, absolute links, allow-list)."""
    if not fragment or not fragment.strip():
        return ""
    container = parse_html(f"<div>{fragment}</div>").find("body/div")
    if container is None:
        return ""
    return sanitize_element(container, base_url)
