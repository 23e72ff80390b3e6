"""The renderers' last guard on URLs: whatever the store holds, only absolute http(s) URLs leave a feed.

Extraction already keeps nothing else (extract/sanitize.py, extract/urls.py); this guard is for what
an older version, another writer or a bug may have stored. Entry links and images go through
`web_url`; content HTML through `safe_content_html`, which returns the stored HTML unchanged when
it is in the plain form extraction writes (the usual case, checked by one regex pass) and otherwise
cleans it with nh3, dropping every URL that is not absolute http(s).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nh3

__all__ = ["safe_content_html", "web_url"]

_WEB_SCHEMES = ("http", "https")

# Tags and attributes the extraction allow-list writes; URLs only in href, src and poster.
_PLAIN_TAGS = frozenset({
    "p", "br", "a", "img", "strong", "b", "em", "i", "u", "s", "sub", "sup", "small", "mark",
    "blockquote", "q", "cite", "pre", "code", "ul", "ol", "li", "dl", "dt", "dd",
    "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "table", "thead", "tbody", "tfoot",
    "tr", "td", "th", "caption", "hr", "video", "audio", "source",
})
_PLAIN_ATTRS = frozenset({"alt", "title", "width", "height", "colspan", "rowspan", "controls", "type", "start", "rel"})
_URL_ATTRS = frozenset({"href", "src", "poster"})
# A tag as html5ever (nh3) serializes one: lower-case names, every value double-quoted.
_TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)((?:\s+[a-z][a-z0-9_.:-]*(?:="[^"]*")?)*)\s*/?>')
_ATTR = re.compile(r'\s+([a-z][a-z0-9_.:-]*)(?:="([^"]*)")?')

# Anything else is cleaned: a broad allow-list (nh3's defaults and the media tags) that keeps what a
# reader shows, with every URL attribute held to absolute http(s).
_GUARD_TAGS = set(nh3.ALLOWED_TAGS) | set(_PLAIN_TAGS)
_GUARD_ATTRS: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag, _attrs in {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                     "video": {"src", "poster", "controls"}, "audio": {"src", "controls"},
                     "source": {"src", "type"}}.items():
    _GUARD_ATTRS.setdefault(_tag, set()).update(_attrs)


def _keep_web_urls(tag: str, attr: str, value: str) -> str | None:
    # nh3 checks schemes but lets relative URLs through: a feed has no base to resolve them against.
    if attr in ("href", "src", "poster", "cite", "srcset", "longdesc", "action", "data"):
        return value if web_url(value) else None
    return value


_GUARD = nh3.Cleaner(tags=_GUARD_TAGS, attributes=_GUARD_ATTRS, url_schemes=set(_WEB_SCHEMES),
                     attribute_filter=_keep_web_urls, link_rel="noopener noreferrer", strip_comments=True)


def web_url(url: str | None) -> str | None:
    """`url` stripped when it is an absolute http(s) URL with a host, else None."""
    value = (url or "").strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return None
    return value if parts.scheme.lower() in _WEB_SCHEMES and host else None


def safe_content_html(html: str) -> str:
    """`html` as it is when plain (known tags, known attributes, http(s) URLs), else cleaned by the guard."""
    return html if _is_plain(html) else _GUARD.clean(html)


def _is_plain(html: str) -> bool:
    # Every "<" must open a tag of the plain form (a "<" in text or in a value is escaped there).
    tags = _TAG.findall(html)
    if html.count("<") != len(tags) or not {name for _, name, _ in tags} <= _PLAIN_TAGS:
        return False
    for name, value in _ATTR.findall("".join(attrs for _, _, attrs in tags)):
        if name in _URL_ATTRS:
            if not value.startswith(("http://", "https://")):
                return False
        elif name not in _PLAIN_ATTRS:
            return False
    return True
