"""HTTP content negotiation and conditional requests (RFC 9110 §12.5.3, §13): pure functions.

`select` picks which prebuilt representation of a cached feed a request gets, and whether the
answer is a 304; the feed handler sends what it picks.
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import hdrs
from multidict import CIMultiDictProxy

from feedsvc.httpdate import etag_matches, parse_http_date
from feedsvc.web.representation import CachedFeed, Representation


@lru_cache(maxsize=512)
def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding value admits gzip: listed (or `x-gzip`, or `*`) with q > 0.

    Cached because clients send the same few strings over and over.
    """
    if not accept_encoding:
        return False
    gzip_q: float | None = None
    star_q: float | None = None
    for member in accept_encoding.split(","):
        coding, _, params = member.partition(";")
        coding = coding.strip().lower()
        q = _qvalue(params)
        if q is None:
            continue  # a malformed member is ignored rather than guessed at
        if coding in ("gzip", "x-gzip"):
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif coding == "*":
            star_q = q
    if gzip_q is None:
        gzip_q = star_q
    return bool(gzip_q)


def _qvalue(params: str) -> float | None:
    q = 1.0
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            if not 0.0 <= q <= 1.0:
                return None
    return q


def parse_http_date_seconds(value: str) -> int | None:
    """An HTTP-date as Unix seconds; None when unparseable."""
    parsed = parse_http_date(value)
    return None if parsed is None else int(parsed.timestamp())


def select(feed: CachedFeed, headers: CIMultiDictProxy[str]) -> tuple[Representation, bool]:
    """The representation to send (gzip or identity) and whether the answer is 304 Not Modified.

    If-None-Match, when present, decides alone; If-Modified-Since counts only without it, is
    compared as a date, and is ignored when unparseable or repeated (RFC 9110 §13.1.3).
    `headers` are the request's (`request.headers`).
    """
    rep = feed.gzip if accepts_gzip(_joined(headers, hdrs.ACCEPT_ENCODING)) else feed.plain
    inm = _joined(headers, hdrs.IF_NONE_MATCH)
    if inm is not None:
        return rep, etag_matches(inm, rep.etag)
    ims = headers.getall(hdrs.IF_MODIFIED_SINCE, None)
    if ims is not None and len(ims) == 1:
        since = parse_http_date_seconds(ims[0])
        if since is not None and feed.last_modified <= since:
            return rep, True
    return rep, False


def _joined(headers: CIMultiDictProxy[str], name: str) -> str | None:
    """A list-valued field sent on one line or several (RFC 9110 §5.3), as one value."""
    values = headers.getall(name, None)
    if values is None:
        return None
    return values[0] if len(values) == 1 else ", ".join(values)
