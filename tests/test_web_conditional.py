"""Conditional GET, content coding and HEAD on the feed routes, through the real app.

`warm()` renders a feed first, so most tests look at answers from the render cache (what an
aggregator's repeated poll gets); a few look at the first, rendering request too.
"""

from __future__ import annotations

import gzip
from email.utils import format_datetime

import pytest
from aiohttp import ClientResponse

from feedsvc.httpdate import etag_matches
from feedsvc.web.conditional import accepts_gzip
from feedsvc.web.conditional import parse_http_date_seconds as parse_http_date
from tests.web_fixtures import NOW, Web, site_fixture, store_fixture  # noqa: F401 (fixtures)

FEED = "/cxnews/cixi.rss"
# The newest time among the entries: their first_seen, the store's clock at insertion (NOW).
LAST_MODIFIED = format_datetime(NOW, usegmt=True)
CACHE_CONTROL_10M = "public, max-age=600, stale-while-revalidate=600, stale-if-error=86400"
NO_AE = ["Accept-Encoding"]  # aiohttp's client adds "gzip, deflate" unless told not to


async def get(w: Web, path: str = FEED, method: str = "GET", **headers: str) -> tuple[ClientResponse, bytes]:
    skip = [] if "Accept_Encoding" in headers else NO_AE
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    async with w.client.request(method, path, headers=hdrs, skip_auto_headers=skip) as resp:
        return resp, await resp.read()


async def warm(w: Web, path: str = FEED) -> tuple[str, str]:
    """Render the feed (the first request) and return the plain and gzip ETags."""
    plain, _ = await get(w, path)
    gz, _ = await get(w, path, Accept_Encoding="gzip")
    return plain.headers["ETag"], gz.headers["ETag"]


async def test_full_get_headers(site: Web) -> None:
    await warm(site)
    resp, body = await get(site)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    # cixi refreshes every 10m: fresh for that long, then servable stale while a cache revalidates
    # for another interval, and for a day while we are down (representation.py says why).
    assert resp.headers["Cache-Control"] == CACHE_CONTROL_10M
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["Last-Modified"] == LAST_MODIFIED
    assert "Content-Encoding" not in resp.headers
    assert int(resp.headers["Content-Length"]) == len(body)
    assert parse_http_date(resp.headers["Date"]) is not None
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith('W/')
    assert body.startswith(b"<?xml") and "慈溪新闻".encode() in body


@pytest.mark.parametrize("path,media_type", [
    ("/cxnews/cixi.atom", "application/atom+xml"), ("/cxnews/cixi.json", "application/feed+json")])
async def test_each_format_has_its_media_type_and_own_etag(site: Web, path: str, media_type: str) -> None:
    rss_etag, _ = await warm(site)
    etag, _ = await warm(site, path)
    resp, _ = await get(site, path)
    assert resp.headers["Content-Type"] == f"{media_type}; charset=utf-8"
    assert etag != rss_etag


@pytest.mark.parametrize("if_none_match,status", [
    ("{etag}", 304),
    ("W/{etag}", 304),  # weak comparison: a W/ prefix still matches
    ('"nope", {etag}', 304),
    ('"nope",W/{etag} , "other"', 304),
    ("*", 304),
    ('"nope"', 200),
    ('"nope", W/"other"', 200),
    ("{bare}", 200),  # an unquoted tag is not our ETag
    ("", 200),
    ("{gz_etag}", 200),  # the gzip representation's tag does not validate the identity one
])
async def test_if_none_match(site: Web, if_none_match: str, status: int) -> None:
    etag, gz_etag = await warm(site)
    value = if_none_match.format(etag=etag, gz_etag=gz_etag, bare=etag.strip('"'))
    resp, body = await get(site, If_None_Match=value)
    assert resp.status == status
    assert resp.headers["ETag"] == etag
    if status == 304:
        assert body == b""
        assert resp.headers["Last-Modified"] == LAST_MODIFIED
        assert resp.headers["Cache-Control"] == CACHE_CONTROL_10M
        assert resp.headers["Vary"] == "Accept-Encoding"
        assert resp.headers.get("Content-Length", "0") == "0"
    else:
        assert len(body) > 1000


def _shift(date: str, seconds: int) -> str:
    from email.utils import formatdate

    return formatdate(parse_http_date(date) + seconds, usegmt=True)  # type: ignore[operator]


@pytest.mark.parametrize("since,status", [
    (LAST_MODIFIED, 304),  # equal
    (_shift(LAST_MODIFIED, 1), 304),  # after
    (_shift(LAST_MODIFIED, 86400 * 400), 304),
    (_shift(LAST_MODIFIED, -1), 200),  # before
    # Same instant in the obsolete formats: compared as dates, not strings.
    ("Wednesday, 08-Dec-21 20:00:00 GMT", 304),
    ("Wed Dec  8 20:00:00 2021", 304),
    ("Wed Dec  8 19:59:59 2021", 200),
    ("garbage", 200),  # unparseable: ignored
    ("", 200),
])
async def test_if_modified_since(site: Web, since: str, status: int) -> None:
    assert LAST_MODIFIED == "Wed, 08 Dec 2021 20:00:00 GMT"
    await warm(site)
    resp, body = await get(site, If_Modified_Since=since)
    assert resp.status == status
    assert (body == b"") == (status == 304)


async def test_if_none_match_wins_over_if_modified_since(site: Web) -> None:
    etag, _ = await warm(site)
    miss, _ = await get(site, If_None_Match='"nope"', If_Modified_Since=LAST_MODIFIED)
    assert miss.status == 200
    hit, _ = await get(site, If_None_Match=etag, If_Modified_Since=_shift(LAST_MODIFIED, -3600))
    assert hit.status == 304


async def test_list_fields_spread_over_several_lines(site: Web) -> None:
    etag, _ = await warm(site)
    two_inm = [("If-None-Match", '"a"'), ("If-None-Match", etag)]
    async with site.client.get(FEED, headers=two_inm, skip_auto_headers=NO_AE) as resp:
        assert resp.status == 304
    two_ae = [("Accept-Encoding", "br"), ("Accept-Encoding", "gzip")]
    async with site.client.get(FEED, headers=two_ae) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
    # Two If-Modified-Since fields: the request is not valid for it, so it is ignored (RFC 9110 §13.1.3).
    two_ims = [("If-Modified-Since", LAST_MODIFIED), ("If-Modified-Since", LAST_MODIFIED)]
    async with site.client.get(FEED, headers=two_ims, skip_auto_headers=NO_AE) as resp:
        assert resp.status == 200


async def test_gzip_representation(site: Web) -> None:
    etag, gz_etag = await warm(site)
    plain, plain_body = await get(site)
    resp, body = await get(site, Accept_Encoding="gzip, deflate, br")
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["Content-Type"] == plain.headers["Content-Type"]
    assert resp.headers["Last-Modified"] == plain.headers["Last-Modified"]
    assert resp.headers["ETag"] == gz_etag != etag
    assert int(resp.headers["Content-Length"]) == len(body) < len(plain_body)
    assert gzip.decompress(body) == plain_body
    not_modified, nm_body = await get(site, Accept_Encoding="gzip", If_None_Match=gz_etag)
    assert (not_modified.status, nm_body) == (304, b"")
    assert not_modified.headers["ETag"] == gz_etag
    assert "Content-Encoding" not in not_modified.headers or not_modified.headers["Content-Encoding"] == "gzip"
    # A client that moved to gzip but still holds the identity ETag gets the full gzip body.
    switched, switched_body = await get(site, Accept_Encoding="gzip", If_None_Match=etag)
    assert switched.status == 200 and gzip.decompress(switched_body) == plain_body


async def test_gzip_bytes_are_deterministic_across_apps(site: Web, tmp_path) -> None:
    from tests.web_fixtures import start_web

    _, gz_etag = await warm(site)
    _, body = await get(site, Accept_Encoding="gzip")
    other = await start_web(site.store, tmp_path)
    try:
        await warm(other)
        resp, other_body = await get(other, Accept_Encoding="gzip")
        assert resp.headers["ETag"] == gz_etag and other_body == body
    finally:
        await other.client.close()


@pytest.mark.parametrize("accept_encoding,gzipped", [
    ("gzip", True), ("GZIP", True), ("x-gzip", True), ("*", True), ("deflate, gzip;q=0.5", True),
    ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
    ("gzip;q=0", False), ("gzip;q=0.000", False), ("gzip;q=0, *", False), ("*;q=0", False),
    ("deflate", False), ("br", False), ("identity", False), ("", False), ("gzip;q=abc", False),
])
async def test_accept_encoding(site: Web, accept_encoding: str, gzipped: bool) -> None:
    await warm(site)
    resp, body = await get(site, Accept_Encoding=accept_encoding)
    assert resp.status == 200
    assert (resp.headers.get("Content-Encoding") == "gzip") == gzipped
    assert resp.headers.get("Content-Encoding") in (None, "gzip")  # never deflate
    assert body.startswith(b"\x1f\x8b") == gzipped


async def test_no_accept_encoding_gets_identity(site: Web) -> None:
    resp, body = await get(site)
    assert "Content-Encoding" not in resp.headers and body.startswith(b"<?xml")


@pytest.mark.parametrize("accept_encoding", [None, "gzip"])
async def test_head_has_get_headers_and_no_body(site: Web, accept_encoding: str | None) -> None:
    await warm(site)
    extra = {"Accept_Encoding": accept_encoding} if accept_encoding else {}
    full, body = await get(site, **extra)
    head, head_body = await get(site, method="HEAD", **extra)
    assert head.status == 200 and head_body == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert head.headers[name] == full.headers[name], name
    assert head.headers.get("Content-Encoding") == full.headers.get("Content-Encoding")
    assert int(head.headers["Content-Length"]) == len(body)
    cond, cond_body = await get(site, method="HEAD", If_None_Match=full.headers["ETag"], **extra)
    assert (cond.status, cond_body) == (304, b"")


async def test_empty_section_has_fixed_last_modified(site: Web) -> None:
    resp, body = await get(site, "/cxnews/empty.atom")
    assert resp.status == 200
    # Never refreshed: dated when this server first served it (not 1970), and it stays put.
    first_served = parse_http_date(resp.headers["Last-Modified"])
    assert first_served is not None and first_served > 86400 * 365 * 50
    assert resp.headers["Cache-Control"] == (
        "public, max-age=3600, stale-while-revalidate=3600, stale-if-error=86400")
    again, _ = await get(site, "/cxnews/empty.atom", If_Modified_Since=resp.headers["Last-Modified"])
    assert again.status == 304


async def test_query_variants_are_conditional_too(site: Web) -> None:
    resp, _ = await get(site, FEED + "?limit=2")
    assert resp.status == 200
    again, body = await get(site, FEED + "?limit=2", If_None_Match=resp.headers["ETag"])
    assert (again.status, body) == (304, b"")
    base, _ = await get(site)
    assert base.headers["ETag"] != resp.headers["ETag"]


# -- the pure functions, on cases the HTTP tests above do not reach ----------------------------------

def test_etag_matches_edge_cases() -> None:
    assert etag_matches('"a"', '"a"')
    assert etag_matches(' W/"a" ', '"a"')
    assert not etag_matches('"a-gz"', '"a"')
    assert not etag_matches("W/", '"a"')
    assert not etag_matches('"A"', '"a"')  # opaque tags compare case-sensitively


def test_accepts_gzip_edge_cases() -> None:
    assert accepts_gzip("gzip;Q=0.5")
    assert not accepts_gzip(None)
    assert not accepts_gzip("gzip;q=2")  # out of range: ignored
    assert accepts_gzip("gzip;q=0, x-gzip")  # the better of two names wins


def test_parse_http_date_forms() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777
    assert parse_http_date("tomorrow") is None
