"""URL helpers for extraction: the canonical form that serves as entry id, hosts, dates in paths.

Pure string work (urllib.parse; which hosts are one site by feedsvc.public_suffix). The canonical URL is what the store keys entries by, so two
spellings of one article (tracking parameters, fragment, `:80`, upper-case host) must map to one string.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from feedsvc.public_suffix import registrable_domain

# Query parameters that only say who shared a link or from where; never part of an article's identity.
TRACKING_PARAMS = frozenset({
    "spm", "from", "isappinstalled", "share_token", "sharetoken", "share_source", "share_medium",
    "share_from", "share_id", "shareid", "sharer_sharetime", "sharer_shareid", "sharer_sharesource",
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "scene", "clicktime",
    "enterid", "wxfrom", "wx_header", "_wv", "ref", "ref_src", "tt_from", "app", "appinstalled",
    "srcid", "wfr", "timestamp", "tdsourcetag", "vd_source", "xhsshare", "mkt_tok",
})
_TRACKING_PREFIXES = ("utm_", "hmsr", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are in a path/query; everything else (spaces, CJK) is percent-encoded
# so that an encoded and an unencoded spelling of the same path compare equal.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "=%:@!$'()*+,;/?-._~"


_URL_DATE_RES = (
    # /2021/12/08/ , /2021-12/08/ , /2021_12/08
    re.compile(r"(?<!\d)(20\d{2}|19\d{2})[/_-](\d{1,2})[/_-](\d{1,2})(?!\d)"),
    # /202112/08/
    re.compile(r"(?<!\d)(20\d{2}|19\d{2})(\d{2})/(\d{2})(?!\d)"),
    # /20211208/ , t20211208_123.html, content_20211208_...
    re.compile(r"(?<![\d])(20\d{2}|19\d{2})(\d{2})(\d{2})(?=[/_.\-]|$)"),
)


# The leaf of a list page's URL (index.shtml, list_2.html, default.aspx), not an article's.
_LIST_LEAF_RE = re.compile(r"(index|default|list)(_\d+)?\.(s?html?|php|aspx?|jsp)", re.I)


def is_list_leaf(leaf: str) -> bool:
    """Whether the last path segment of a URL names a list page (index.shtml, list_2.html, default.aspx)."""
    return _LIST_LEAF_RE.fullmatch(leaf) is not None


_HOME_LEAF_RE = re.compile(r"(index|default|home|main)\.\w+", re.IGNORECASE)


def is_site_root(url: str) -> bool:
    """`http://x/`, `http://x` and `http://x/index.shtml`: the address a site's home page has."""
    parts = urlsplit(url)
    return not parts.query and parts.path.rpartition("/")[0] == "" and (
        parts.path.rpartition("/")[2] == "" or bool(_HOME_LEAF_RE.fullmatch(parts.path.rpartition("/")[2])))


def _is_tracking(name: str) -> bool:
    key = name.strip().lower()
    return key in TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        if seg == ".":
            if i == len(segments) - 1:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if i == len(segments) - 1:
                out.append("")
            continue
        out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


# Hrefs that are canonical as they stand (lower-case http(s) host, no port, userinfo, query or
# fragment; a path of unreserved characters without dot segments), and root-relative paths of the
# same kind. Most hrefs on a list page are one or the other, so they skip the parse-and-rebuild.
_PLAIN_URL_RE = re.compile(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[A-Za-z0-9_~./-]*")
_PLAIN_PATH_RE = re.compile(r"/(?:[A-Za-z0-9_~.-][A-Za-z0-9_~./-]*)?")
_ORIGIN_RE = re.compile(r"https?://[^/?#]+/")


def canonical_url(url: str, base: str | None = None) -> str:
    """The one spelling of `url` used as an entry id.

    Joined with `base` when relative; scheme and host lower-cased; default port, fragment and
    tracking parameters (utm_*, spm, from, share_token, ...) dropped; other parameters kept in
    their order; an empty path becomes `/`. Non-http(s) URLs (mailto:, javascript:) come back
    stripped but otherwise unchanged.
    """
    raw = (url or "").strip()
    if "/." not in raw:
        if _PLAIN_URL_RE.fullmatch(raw):
            return raw
        if base and _PLAIN_PATH_RE.fullmatch(raw):
            origin = _plain_origin(base.strip())
            if origin:
                return origin + raw
    return _canonical(raw, base)


@lru_cache(maxsize=256)
def _plain_origin(base: str) -> str:
    """`http://host` when joining a root-relative plain path to `base` only prefixes that, else ''."""
    origin = _canonical("/", base)
    return origin[:-1] if _ORIGIN_RE.fullmatch(origin) else ""


def _canonical(raw: str, base: str | None) -> str:
    """canonical_url the long way: parse, normalise every part, rebuild."""
    if base:
        raw = urljoin(base.strip(), raw)
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return raw
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:  # a malformed port: keep the URL recognisable rather than fail
        port = None
    netloc = host
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username:
        cred = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{cred}@{netloc}"
    path = quote(_remove_dot_segments(parts.path or "/"), safe=_PATH_SAFE) or "/"
    kept = []
    for pair in parts.query.split("&"):
        if not pair:
            continue
        name = unquote(pair.split("=", 1)[0].replace("+", " "))
        if not _is_tracking(name):
            kept.append(quote(pair, safe=_QUERY_SAFE + "&"))
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))


def http_url(url: str | None, base: str = "") -> str | None:
    """`url` as an absolute http(s) URL with a host (joined with `base` when relative), else None.

    The one test for a URL that may reach a feed (links and images in content, the lead image):
    `javascript:`, `vbscript:`, `data:` in any case, `mailto:`, scheme-relative or relative URLs
    without a base, and hostless ones come back as None.
    """
    raw = (url or "").strip()
    if not raw:
        return None
    try:
        joined = urljoin(base.strip(), raw) if base else raw
        parts = urlsplit(joined)
        host = parts.hostname
    except ValueError:  # an invalid IPv6 literal or port: not a URL a reader can open
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not host:
        return None
    return joined


def host_of(url: str) -> str:
    """Lower-case host name of `url` without port ('' when there is none)."""
    try:
        return (urlsplit((url or "").strip()).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def same_site(host_a: str, host_b: str) -> bool:
    """Same host, or two hosts under one registrable domain (www.x.cn and news.x.cn)."""
    a, b = host_a.lower().rstrip("."), host_b.lower().rstrip(".")
    return bool(a) and (a == b or registrable_domain(a) == registrable_domain(b))


def url_date(url: str) -> tuple[int, int, int] | None:
    """The (year, month, day) a URL's path carries, e.g. /system/2021/12/08/030312345.shtml."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    for pattern in _URL_DATE_RES:
        for m in pattern.finditer(path):
            y, mo, d = (int(g) for g in m.groups())
            if 1 <= mo <= 12 and 1 <= d <= 31:
                return (y, mo, d)
    return None
