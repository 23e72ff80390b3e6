"""A rendered feed as HTTP representations: identity and gzip bodies, their ETags and response headers.

Built once per render (see cache.py) so that answering a request is choosing one of two prebuilt
representations (conditional.py) and handing its bytes and headers to aiohttp.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from feedsvc import __version__
from feedsvc.httpdate import format_http_date

SERVER = f"feedsvc/{__version__}"
# Last-Modified of a feed with no entry and no `Feed.checked` time (never the case for a served feed).
EMPTY_FEED_TIME = 0
# How long past max-age a cache may keep serving a feed, beside our own refresh interval (max-age):
# - stale-while-revalidate = one refresh interval: a feed changes at most once per interval, so a
#   copy up to one more interval old is what a reader polling on that interval could see anyway;
#   the cache answers at once and revalidates in the background (usually a 304 from the render
#   cache) instead of holding the reader while it asks us.
# - stale-if-error = one day: when feedsvc is down or restarting, yesterday's entries are still
#   correct entries, and a reader is better served by them than by a 502 that some readers count
#   towards dropping a subscription. Longer would hide an outage from readers for too long.
STALE_IF_ERROR = 86400


def cache_control(max_age: int) -> str:
    """Our Cache-Control for a feed refreshed every `max_age` seconds."""
    return (f"public, max-age={max_age}, stale-while-revalidate={max_age}, "
            f"stale-if-error={STALE_IF_ERROR}")


def link_header(hub: str, self_url: str) -> str:
    """WebSub discovery (W3C WebSub 4): `Link: <hub>; rel="hub", <self>; rel="self"`. Each URL in its
    ASCII form (yarl: IDNA host, percent-encoded path and query), so no `>` or `"` ends it early."""
    return f'<{URL(hub)}>; rel="hub", <{URL(self_url)}>; rel="self"'


def feed_timestamp(updated: datetime | None) -> int:
    """Whole seconds (HTTP dates have no fractions) of a feed's newest entry time."""
    if updated is None:
        return EMPTY_FEED_TIME
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    return int(updated.timestamp())


@dataclass(frozen=True, slots=True)
class Representation:
    """One encoding (identity or gzip) of one rendered feed, with everything a response needs."""

    etag: str  # quoted, strong: "…" (gzip: "…-gz")
    body: bytes
    headers: CIMultiDictProxy[str]  # a 200's headers for aiohttp (it adds Content-Length and Date)
    headers_304: CIMultiDictProxy[str]


@dataclass(frozen=True, slots=True)
class CachedFeed:
    plain: Representation
    gzip: Representation
    last_modified: int  # Unix seconds of the feed's time (newest entry, or when an empty one was checked)
    revision: int  # the section's store revision this was rendered from


def represent(media_type: str, body: bytes, last_modified: int, *, max_age: int, revision: int,
              link: str | None = None) -> CachedFeed:
    """Both encodings of one rendered body. gzip uses mtime=0 so the same body gives the same bytes.
    `link`, when given, is a Link header sent with every answer, 304s included (WebSub discovery)."""
    tag = hashlib.sha256(body).hexdigest()[:24]
    lm = format_http_date(last_modified)

    def one(etag: str, payload: bytes, encoding: str | None) -> Representation:
        validators = [
            ("ETag", etag),
            ("Last-Modified", lm),
            ("Cache-Control", cache_control(max_age)),
            ("Vary", "Accept-Encoding"),
        ]
        if link:
            validators.append(("Link", link))
        full = [("Content-Type", f"{media_type}; charset=utf-8"), *validators]
        if encoding:
            full.append(("Content-Encoding", encoding))
        full.append(("Server", SERVER))
        validators.append(("Server", SERVER))
        return Representation(etag=etag, body=payload, headers=CIMultiDictProxy(CIMultiDict(full)),
                              headers_304=CIMultiDictProxy(CIMultiDict(validators)))

    return CachedFeed(
        plain=one(f'"{tag}"', body, None),
        gzip=one(f'"{tag}-gz"', gzip.compress(body, compresslevel=6, mtime=0), "gzip"),
        last_modified=last_modified,
        revision=revision,
    )
