"""The fetcher against real loopback servers reached under the site's own hostnames (StaticResolver)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from feedsvc.config import FetchConfig
from feedsvc.errors import (
    ConnectionFailed,
    DecodeError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NotHTML,
    OffSite,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
)
from feedsvc.fetch import Fetcher, StaticResolver
from feedsvc.model import Origins, Validators
from tests.support.upstream import (
    FakeTime,
    RawScript,
    RawUpstream,
    Upstream,
    close_silently,
    http_answer,
    page,
    raw_answer,
    raw_sequence,
    redirect,
    reset,
    running,
    running_raw,
    sequence,
    slow,
    status,
)

SITE = "www.cxnews.cn"
ALLOWED = Origins.of([SITE, "news.cxnews.cn"])
RAW_ALLOWED = Origins.of(["raw.cxnews.cn"])
HOME = f"http://{SITE}"
ARTICLE = "守土有责 守土担责 “快准严细” 坚决打好疫情防控阻击战"
PAGE = f"<html><head><title>{ARTICLE}</title></head><body><div id='Zoom'><p>{ARTICLE}</p></div></body></html>"

MakeFetcher = Callable[..., Fetcher]


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with running(Upstream()) as up:
        yield up


@pytest.fixture
async def raw() -> AsyncIterator[RawUpstream]:
    async with running_raw(RawUpstream()) as server:
        yield server


@pytest.fixture
def fake_time(upstream: Upstream) -> FakeTime:
    upstream.fake_time = FakeTime()
    return upstream.fake_time


@pytest.fixture
async def make_fetcher(
    upstream: Upstream, raw: RawUpstream, fake_time: FakeTime
) -> AsyncIterator[MakeFetcher]:
    """Fetchers on fake time with tiny delays; every site hostname resolves to a loopback server."""
    resolver = StaticResolver({
        SITE: ("127.0.0.1", upstream.port),
        "news.cxnews.cn": ("127.0.0.1", upstream.port),
        "evil.example": ("127.0.0.1", upstream.port),
        "raw.cxnews.cn": ("127.0.0.1", raw.port),
    })
    made: list[Fetcher] = []

    def make(*, real_time: bool = False, **overrides: object) -> Fetcher:
        settings: dict[str, object] = {"min_delay": 0.001, "backoff": 0.5, "retries": 2, **overrides}
        config = FetchConfig.model_validate(settings)
        if real_time:
            fetcher = Fetcher(config, resolver=resolver)
        else:
            fetcher = Fetcher(config, resolver=resolver, sleep=fake_time.sleep, clock=fake_time.clock)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        await fetcher.close()


# --- a good page, validators, conditional GET -------------------------------------------------

async def test_ok_page_carries_text_validators_and_counts(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/system/2021/12/08/030000001.shtml", page(PAGE, headers={
        "ETag": '"v1"', "Last-Modified": "Wed, 08 Dec 2021 01:58:00 GMT"}))
    fetcher = make_fetcher(user_agent="feedsvc-test/1.0")
    async with fetcher:
        result = await fetcher.get(f"{HOME}/system/2021/12/08/030000001.shtml", allowed=ALLOWED)

    assert result.status == 200
    assert result.url == f"{HOME}/system/2021/12/08/030000001.shtml"
    assert ARTICLE in (result.text or "")
    assert result.content_type == "text/html"
    assert result.charset == "utf-8"
    assert result.validators == Validators(etag='"v1"', last_modified="Wed, 08 Dec 2021 01:58:00 GMT")
    assert result.not_modified is False
    assert result.bytes_read == len(PAGE.encode())
    assert result.requests == 2  # robots.txt (404) and the page
    assert [h.path for h in upstream.hits] == ["/robots.txt", "/system/2021/12/08/030000001.shtml"]
    assert {h.headers["User-Agent"] for h in upstream.hits} == {"feedsvc-test/1.0"}
    assert {h.host for h in upstream.hits} == {SITE}


async def test_conditional_get_returns_not_modified(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    etag, modified = '"abc"', "Wed, 08 Dec 2021 01:58:00 GMT"

    async def list_page(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304)
        return web.Response(text=PAGE, content_type="text/html", headers={"ETag": etag, "Last-Modified": modified})

    upstream.route("/cxxw/", list_page)
    fetcher = make_fetcher()
    first = await fetcher.get(f"{HOME}/cxxw/", allowed=ALLOWED, robots=False)
    second = await fetcher.get(f"{HOME}/cxxw/", allowed=ALLOWED, robots=False, validators=first.validators)

    assert first.status == 200 and first.text
    assert second.not_modified is True
    assert second.status == 304
    assert second.text is None
    assert second.bytes_read == 0
    assert second.validators == Validators(etag=etag, last_modified=modified)  # kept though 304 omits them
    sent = upstream.hits[-1].headers
    assert sent["If-None-Match"] == etag
    assert sent["If-Modified-Since"] == modified
    assert "If-None-Match" not in upstream.hits[0].headers


async def test_not_modified_takes_fresh_validators(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/cxxw/", status(304, {"ETag": '"new"'}))
    result = await make_fetcher().get(
        f"{HOME}/cxxw/", allowed=ALLOWED, robots=False,
        validators=Validators(etag='"old"', last_modified="Tue, 07 Dec 2021 00:00:00 GMT"))
    assert result.not_modified
    assert result.validators == Validators(etag='"new"', last_modified="Tue, 07 Dec 2021 00:00:00 GMT")


# --- timeouts, resets, retries -----------------------------------------------------------------

async def test_timeout_is_retried_then_reported(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/slow", slow(5, page(PAGE)))
    fetcher = make_fetcher(read_timeout=0.1, total_timeout=5, retries=1)
    with pytest.raises(FetchTimeout, match=r"^timed out waiting for data \(read timeout 0.1s\) \(http://www.cxnews.cn/slow\)$"):
        await fetcher.get(f"{HOME}/slow", allowed=ALLOWED, robots=False)
    assert upstream.count("/slow") == 2


async def test_5xx_then_success_backs_off(upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime) -> None:
    upstream.route("/flaky", sequence(status(500), status(502), page(PAGE)))
    result = await make_fetcher(backoff=0.5, retries=2).get(f"{HOME}/flaky", allowed=ALLOWED, robots=False)
    assert ARTICLE in (result.text or "")
    assert result.requests == 3
    assert fake_time.sleeps == [0.5, 1.0]  # backoff, then twice the backoff


async def test_5xx_forever_is_bounded(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/down", status(500))
    with pytest.raises(HTTPStatusError) as err:
        await make_fetcher(retries=2).get(f"{HOME}/down", allowed=ALLOWED, robots=False)
    assert err.value.status == 500
    assert str(err.value) == f"HTTP 500 ({HOME}/down)"
    assert upstream.count("/down") == 3


async def test_4xx_is_not_retried(upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime) -> None:
    with pytest.raises(HTTPStatusError) as err:
        await make_fetcher(retries=3).get(f"{HOME}/gone", allowed=ALLOWED, robots=False)
    assert err.value.status == 404
    assert upstream.count("/gone") == 1
    assert fake_time.sleeps == []


async def test_429_waits_retry_after_seconds(upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime) -> None:
    upstream.route("/busy", sequence(status(429, {"Retry-After": "7"}), page(PAGE)))
    result = await make_fetcher().get(f"{HOME}/busy", allowed=ALLOWED, robots=False)
    assert result.status == 200
    assert result.requests == 2
    assert fake_time.sleeps == [7.0]


async def test_503_retry_after_http_date(upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime) -> None:
    # Measured against the response's own Date header: two minutes.
    upstream.route("/maint", sequence(
        status(503, {"Date": "Wed, 08 Dec 2021 01:58:00 GMT", "Retry-After": "Wed, 08 Dec 2021 02:00:00 GMT"}),
        page(PAGE)))
    result = await make_fetcher().get(f"{HOME}/maint", allowed=ALLOWED, robots=False)
    assert result.status == 200
    assert fake_time.sleeps == [120.0]


async def test_retry_after_over_cap_is_reported_not_waited(
    upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime
) -> None:
    upstream.route("/busy", status(429, {"Retry-After": "3600"}))
    with pytest.raises(HTTPStatusError) as err:
        await make_fetcher(max_retry_after=60).get(f"{HOME}/busy", allowed=ALLOWED, robots=False)
    assert (err.value.status, err.value.retry_after) == (429, 3600.0)
    assert upstream.count("/busy") == 1
    assert fake_time.sleeps == []


async def test_connection_reset(raw: RawUpstream, make_fetcher: MakeFetcher) -> None:
    raw.scripts["/reset"] = reset
    with pytest.raises(ConnectionFailed, match="connection broken"):
        await make_fetcher(retries=1).get("http://raw.cxnews.cn/reset", allowed=RAW_ALLOWED, robots=False)
    assert raw.paths == ["/reset", "/reset"]


async def test_body_cut_short(raw: RawUpstream, make_fetcher: MakeFetcher) -> None:
    raw.scripts["/cut"] = raw_answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<html><body>only a bit")
    with pytest.raises(ConnectionFailed, match="connection broke before the body was complete"):
        await make_fetcher(retries=0).get("http://raw.cxnews.cn/cut", allowed=RAW_ALLOWED, robots=False)


async def test_malformed_http_is_reported_not_retried(raw: RawUpstream, make_fetcher: MakeFetcher) -> None:
    raw.scripts["/bad"] = raw_answer(b"HTTP/1.1 abc\r\n\r\n")
    with pytest.raises(FetchError, match="^bad HTTP response: .*Invalid status code") as err:
        await make_fetcher(retries=2).get("http://raw.cxnews.cn/bad", allowed=RAW_ALLOWED, robots=False)
    assert "\n" not in str(err.value)
    assert raw.paths == ["/bad"]


def keep_alive_then_drop(*then: RawScript) -> RawScript:
    """The first request is answered on a keep-alive connection; the next one on it finds the server
    closing the connection (its keep-alive timeout ran out), and later ones get `then`."""
    first = raw_answer(http_answer(PAGE.encode(), headers={"Content-Type": "text/html; charset=utf-8"}),
                       keep_open=True)
    return raw_sequence(first, close_silently, *then)


async def test_a_dropped_keep_alive_connection_is_not_resent_behind_our_back(
    raw: RawUpstream, make_fetcher: MakeFetcher
) -> None:
    # aiohttp on its own would send the second request again on a new connection (RFC 9112 9.3.1.1),
    # outside our retry count, backoff and per-host gate: the server would see it three times.
    raw.scripts["/ka"] = keep_alive_then_drop(raw_answer(http_answer(PAGE.encode())))
    fetcher = make_fetcher(retries=0)
    first = await fetcher.get("http://raw.cxnews.cn/ka", allowed=RAW_ALLOWED, robots=False)
    assert ARTICLE in (first.text or "")
    with pytest.raises(ConnectionFailed, match="server closed the connection without an answer"):
        await fetcher.get("http://raw.cxnews.cn/ka", allowed=RAW_ALLOWED, robots=False)
    assert raw.paths == ["/ka", "/ka"]


async def test_a_dropped_keep_alive_connection_is_retried_by_our_rules(
    raw: RawUpstream, make_fetcher: MakeFetcher, fake_time: FakeTime
) -> None:
    raw.scripts["/ka"] = keep_alive_then_drop(raw_answer(http_answer(
        PAGE.encode(), headers={"Content-Type": "text/html; charset=utf-8"})))
    fetcher = make_fetcher(retries=1, backoff=0.5)
    await fetcher.get("http://raw.cxnews.cn/ka", allowed=RAW_ALLOWED, robots=False)
    result = await fetcher.get("http://raw.cxnews.cn/ka", allowed=RAW_ALLOWED, robots=False)
    assert ARTICLE in (result.text or "")
    assert result.requests == 2  # the dropped send and our retry, both counted
    assert 0.5 in fake_time.sleeps  # after our backoff
    assert raw.paths == ["/ka", "/ka", "/ka"]


async def test_total_timeout(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        await resp.prepare(request)
        for _ in range(100):
            await resp.write(b"<p>.</p>")
            await asyncio.sleep(0.02)
        return resp

    upstream.route("/trickle", trickle)
    with pytest.raises(FetchTimeout, match=r"timed out \(total timeout 0.2s\)"):
        await make_fetcher(read_timeout=1, total_timeout=0.2, retries=0).get(
            f"{HOME}/trickle", allowed=ALLOWED, robots=False)


async def test_unknown_host_fails_like_dns(make_fetcher: MakeFetcher) -> None:
    with pytest.raises(ConnectionFailed, match="cannot connect"):
        await make_fetcher(retries=0).get("http://nowhere.example/", allowed=Origins.of(["nowhere.example"]), robots=False)


# --- size, content type, decoding ----------------------------------------------------------------

async def test_body_over_cap_is_cut_while_streaming(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    total = 64 * 1024 * 1024
    written = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal written
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})  # chunked: no Content-Length
        await resp.prepare(request)
        chunk = b"<p>" + b"x" * 16380 + b"</p>"
        while written < total:
            await resp.write(chunk)
            written += len(chunk)
        await resp.write_eof()
        return resp

    upstream.route("/huge", endless)
    fetcher = make_fetcher(max_bytes=64 * 1024)
    with pytest.raises(TooLarge, match="over the 65536-byte cap"):
        await fetcher.get(f"{HOME}/huge", allowed=ALLOWED, robots=False)
    await asyncio.sleep(0.05)
    assert written < total  # the server was cut off, not drained


async def test_content_length_over_cap_is_not_read(raw: RawUpstream, make_fetcher: MakeFetcher) -> None:
    # The body never comes: reading it would end in a read timeout, not in TooLarge.
    raw.scripts["/big"] = raw_answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 200007\r\n\r\n<p>", keep_open=True)
    fetcher = make_fetcher(max_bytes=64 * 1024, read_timeout=5, retries=0)
    with pytest.raises(TooLarge, match="200007 bytes"):
        await fetcher.get("http://raw.cxnews.cn/big", allowed=RAW_ALLOWED, robots=False)


async def test_cap_applies_to_decompressed_bytes(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    encodings: list[str | None] = []

    async def bomb(request: web.Request) -> web.StreamResponse:
        resp = web.Response(text="<p>" + "慈" * 100_000 + "</p>", content_type="text/html")
        resp.enable_compression()
        await resp.prepare(request)
        encodings.append(resp.headers.get("Content-Encoding"))
        return resp

    upstream.route("/bomb", bomb)
    upstream.route("/small", bomb)
    with pytest.raises(TooLarge):
        await make_fetcher(max_bytes=64 * 1024).get(f"{HOME}/bomb", allowed=ALLOWED, robots=False)
    assert "gzip" in upstream.hits[-1].headers.get("Accept-Encoding", "")
    result = await make_fetcher(max_bytes=1024 * 1024).get(f"{HOME}/small", allowed=ALLOWED, robots=False)
    assert result.bytes_read == len(("<p>" + "慈" * 100_000 + "</p>").encode())  # counted after decompression
    assert encodings == ["deflate", "deflate"]  # really compressed on the wire


@pytest.mark.parametrize("content_type", ["application/pdf", "application/json", "image/jpeg", "text/plain"])
async def test_non_html_is_refused_unread(raw: RawUpstream, make_fetcher: MakeFetcher, content_type: str) -> None:
    # The body never comes: reading it would end in a read timeout, not in NotHTML.
    raw.scripts["/file"] = raw_answer(
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: 5000\r\n\r\n%PDF".encode(),
        keep_open=True)
    fetcher = make_fetcher(read_timeout=5, retries=0)
    with pytest.raises(NotHTML, match=f"not HTML \\(content type {content_type}\\)"):
        await fetcher.get("http://raw.cxnews.cn/file", allowed=RAW_ALLOWED, robots=False)


async def test_xhtml_is_html(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/x", page(PAGE, content_type="application/xhtml+xml"))
    result = await make_fetcher().get(f"{HOME}/x", allowed=ALLOWED, robots=False)
    assert result.content_type == "application/xhtml+xml"


async def test_missing_content_type_is_sniffed(raw: RawUpstream, make_fetcher: MakeFetcher) -> None:
    markup = ("\ufeff  " + PAGE).encode()
    raw.scripts["/page"] = raw_answer(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(markup), markup))
    png = b"\x89PNG\r\n\x1a\n" + bytes(2000)
    raw.scripts["/image"] = raw_answer(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(png), png))
    fetcher = make_fetcher()
    result = await fetcher.get("http://raw.cxnews.cn/page", allowed=RAW_ALLOWED, robots=False)
    assert ARTICLE in (result.text or "")
    assert result.content_type == "text/html"
    with pytest.raises(NotHTML, match="no content type"):
        await fetcher.get("http://raw.cxnews.cn/image", allowed=RAW_ALLOWED, robots=False)


async def test_undecodable_bytes(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    rng = random.Random(3)
    upstream.route("/garbage", page(bytes(rng.randrange(256) for _ in range(8000)), charset=None))
    with pytest.raises(DecodeError, match=r"undecodable bytes .*\(http://www.cxnews.cn/garbage\)"):
        await make_fetcher().get(f"{HOME}/garbage", allowed=ALLOWED, robots=False)


@pytest.mark.parametrize("body", [b"", b"  \r\n  "])
async def test_empty_page(upstream: Upstream, make_fetcher: MakeFetcher, body: bytes) -> None:
    upstream.route("/empty", page(body))
    with pytest.raises(DecodeError, match="empty page"):
        await make_fetcher().get(f"{HOME}/empty", allowed=ALLOWED, robots=False)


async def test_gbk_pages(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    meta_page = PAGE.replace("<head>", '<head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
    upstream.route("/gbk-header", page(PAGE.encode("gbk"), charset="gbk"))
    upstream.route("/gbk-meta", page(meta_page.encode("gbk"), charset=None))
    upstream.route("/says-gb2312-is-utf8", page(meta_page.encode("utf-8"), charset="gb2312"))
    upstream.route("/bom", page(b"\xef\xbb\xbf" + PAGE.encode("utf-8"), charset="gbk"))
    fetcher = make_fetcher()
    for path, charset in [("/gbk-header", "gb18030"), ("/gbk-meta", "gb18030"),
                          ("/says-gb2312-is-utf8", "utf-8"), ("/bom", "utf-8")]:
        result = await fetcher.get(f"{HOME}{path}", allowed=ALLOWED, robots=False)
        assert ARTICLE in (result.text or ""), path
        assert result.charset == charset, path


# --- redirects and hosts --------------------------------------------------------------------

async def test_redirect_is_followed_within_the_site(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/old", redirect("http://news.cxnews.cn/new#top", 301))
    upstream.route("/new", redirect("/final"))  # relative Location
    upstream.route("/final", page(PAGE))
    result = await make_fetcher().get(f"{HOME}/old", allowed=ALLOWED, robots=False)
    assert result.url == "http://news.cxnews.cn/final"
    assert result.requests == 3
    assert [(h.host, h.path) for h in upstream.hits] == [
        (SITE, "/old"), ("news.cxnews.cn", "/new"), ("news.cxnews.cn", "/final")]


async def test_redirect_loop(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/a", redirect("/b"))
    upstream.route("/b", redirect("/a"))
    with pytest.raises(TooManyRedirects, match="redirect loop"):
        await make_fetcher().get(f"{HOME}/a", allowed=ALLOWED, robots=False)
    assert (upstream.count("/a"), upstream.count("/b")) == (1, 1)


async def test_redirect_cap(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    for n in range(10):
        upstream.route(f"/r{n}", redirect(f"/r{n + 1}"))
    with pytest.raises(TooManyRedirects, match="more than 3 redirects"):
        await make_fetcher(max_redirects=3).get(f"{HOME}/r0", allowed=ALLOWED, robots=False)
    assert [h.path for h in upstream.hits] == ["/r0", "/r1", "/r2", "/r3"]


async def test_redirect_off_site_is_not_followed(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/go", redirect("http://evil.example/landing"))
    with pytest.raises(OffSite, match=r"redirected to http://evil.example:80, which is not one of the site's origins"):
        await make_fetcher().get(f"{HOME}/go", allowed=ALLOWED)
    assert upstream.count("/landing") == 0
    assert {h.host for h in upstream.hits} == {SITE}


async def test_off_site_url_sends_no_request(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/", page(PAGE))
    with pytest.raises(OffSite, match=r"http://evil.example:80 is not one of the site's origins \(news.cxnews.cn, "
                       r"www.cxnews.cn\) \(http://evil.example/\)"):
        await make_fetcher().get("http://evil.example/", allowed=ALLOWED)
    assert upstream.hits == []


@pytest.mark.parametrize("url", ["ftp://www.cxnews.cn/x", "not a url", "javascript:alert(1)"])
async def test_non_http_url_is_refused(upstream: Upstream, make_fetcher: MakeFetcher, url: str) -> None:
    with pytest.raises(FetchError):
        await make_fetcher().get(url, allowed=ALLOWED)
    assert upstream.hits == []


async def test_a_host_port_origin_allows_that_port_whatever_the_case(
    upstream: Upstream, make_fetcher: MakeFetcher
) -> None:
    upstream.route("/", page(PAGE))
    allowed = Origins.of(host_ports=[("www.CXNEWS.cn", 8080)])
    result = await make_fetcher().get("http://WWW.cxnews.cn:8080/", allowed=allowed, robots=False)
    assert ARTICLE in (result.text or "")


# The static resolver sends every port of a host to the same server: a refusal here is the origin
# check's, not a closed port's.
async def test_another_port_of_an_allowed_host_is_refused_unasked(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/", page(PAGE))
    with pytest.raises(OffSite, match=r"http://www.cxnews.cn:8080 is not one of the site's origins"):
        await make_fetcher().get(f"{HOME}:8080/", allowed=ALLOWED, robots=False)
    assert upstream.hits == []


@pytest.mark.parametrize("location", [f"{HOME}:8080/b", "https://www.cxnews.cn:80/b", "http://www.cxnews.cn:443/b"])
async def test_a_redirect_to_another_port_is_refused(
    upstream: Upstream, make_fetcher: MakeFetcher, location: str
) -> None:
    upstream.route("/a", redirect(location))
    with pytest.raises(OffSite, match="which is not one of the site's origins"):
        await make_fetcher().get(f"{HOME}/a", allowed=ALLOWED, robots=False)
    assert [h.path for h in upstream.hits] == ["/a"]


async def test_a_redirect_between_http_and_https_on_default_ports_is_followed(
    upstream: Upstream, make_fetcher: MakeFetcher
) -> None:
    upstream.route("/a", redirect("https://www.cxnews.cn/b"))
    # The static resolver leads https to a plain-HTTP server: the TLS handshake fails, after the check let it through.
    with pytest.raises(ConnectionFailed):
        await make_fetcher(retries=0).get(f"{HOME}/a", allowed=ALLOWED, robots=False)


# --- robots.txt -----------------------------------------------------------------------------

async def test_robots_disallow_is_honoured_and_cached(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/robots.txt", page("User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    upstream.route("/private/a.shtml", page(PAGE))
    upstream.route("/public.shtml", page(PAGE))
    fetcher = make_fetcher()
    with pytest.raises(RobotsDisallowed, match=r"disallowed by robots.txt \(http://www.cxnews.cn/private/a.shtml\)"):
        await fetcher.get(f"{HOME}/private/a.shtml", allowed=ALLOWED)
    result = await fetcher.get(f"{HOME}/public.shtml", allowed=ALLOWED)
    assert result.requests == 1  # robots.txt came from the cache
    assert upstream.count("/private/a.shtml") == 0
    assert upstream.count("/robots.txt") == 1


async def test_robots_rules_for_our_agent(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/robots.txt", page("User-agent: feedsvc\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
                                       content_type="text/plain"))
    upstream.route("/", page(PAGE))
    with pytest.raises(RobotsDisallowed):
        await make_fetcher(user_agent="feedsvc/0.1 (+https://example.org)").get(f"{HOME}/", allowed=ALLOWED)
    result = await make_fetcher(user_agent="otherbot/2.0").get(f"{HOME}/", allowed=ALLOWED)
    assert result.status == 200


async def test_robots_404_allows_everything(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/private/a.shtml", page(PAGE))
    fetcher = make_fetcher()
    first = await fetcher.get(f"{HOME}/private/a.shtml", allowed=ALLOWED)
    second = await fetcher.get(f"{HOME}/private/a.shtml", allowed=ALLOWED)
    assert (first.requests, second.requests) == (2, 1)
    assert upstream.count("/robots.txt") == 1


async def test_robots_opt_out(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/robots.txt", page("User-agent: *\nDisallow: /\n", content_type="text/plain"))
    upstream.route("/", page(PAGE))
    result = await make_fetcher().get(f"{HOME}/", allowed=ALLOWED, robots=False)
    assert result.status == 200
    assert upstream.count("/robots.txt") == 0


async def test_robots_server_error_allows_but_is_asked_again_soon(
    upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime
) -> None:
    upstream.route("/robots.txt", sequence(status(503), page("User-agent: *\nDisallow: /\n", content_type="text/plain")))
    upstream.route("/", page(PAGE))
    fetcher = make_fetcher()
    assert (await fetcher.get(f"{HOME}/", allowed=ALLOWED)).status == 200
    assert (await fetcher.get(f"{HOME}/", allowed=ALLOWED)).requests == 1  # still cached
    fake_time.now += 120
    with pytest.raises(RobotsDisallowed):
        await fetcher.get(f"{HOME}/", allowed=ALLOWED)
    assert upstream.count("/robots.txt") == 2


async def test_robots_timeout_allows(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    async def stuck(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(text="User-agent: *\nDisallow: /\n")

    upstream.route("/robots.txt", stuck)
    upstream.route("/", page(PAGE))
    result = await make_fetcher(read_timeout=0.1).get(f"{HOME}/", allowed=ALLOWED)
    assert result.status == 200
    assert result.requests == 2


async def test_robots_cache_expires(upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime) -> None:
    upstream.route("/robots.txt", sequence(page("User-agent: *\nAllow: /\n", content_type="text/plain"),
                                          page("User-agent: *\nDisallow: /\n", content_type="text/plain")))
    upstream.route("/", page(PAGE))
    fetcher = make_fetcher()
    await fetcher.get(f"{HOME}/", allowed=ALLOWED)
    fake_time.now += 1800
    await fetcher.get(f"{HOME}/", allowed=ALLOWED)
    assert upstream.count("/robots.txt") == 1
    fake_time.now += 1801
    with pytest.raises(RobotsDisallowed):
        await fetcher.get(f"{HOME}/", allowed=ALLOWED)


async def test_robots_fetched_once_under_concurrency(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/robots.txt", page("User-agent: *\nAllow: /\n", content_type="text/plain"))
    upstream.route("/", page(PAGE))
    fetcher = make_fetcher(per_host_concurrency=4)
    results = await asyncio.gather(*(fetcher.get(f"{HOME}/", allowed=ALLOWED) for _ in range(6)))
    assert upstream.count("/robots.txt") == 1
    assert sum(r.requests for r in results) == 7


# --- politeness ------------------------------------------------------------------------------

async def test_per_host_concurrency_is_capped(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/slow", slow(0.05, page(PAGE)))
    fetcher = make_fetcher(per_host_concurrency=2)
    urls = [f"http://{host}/slow" for host in (SITE, "news.cxnews.cn") for _ in range(6)]
    await asyncio.gather(*(fetcher.get(u, allowed=ALLOWED, robots=False) for u in urls))
    assert upstream.max_in_flight == {SITE: 2, "news.cxnews.cn": 2}
    assert upstream.max_in_flight_total > 2  # one host's queue does not hold up another's


async def test_min_delay_spaces_request_starts(
    upstream: Upstream, make_fetcher: MakeFetcher, fake_time: FakeTime
) -> None:
    upstream.route("/", page(PAGE))
    fetcher = make_fetcher(min_delay=2, per_host_concurrency=4)
    for _ in range(3):
        await fetcher.get(f"{HOME}/", allowed=ALLOWED, robots=False)
    starts = [h.fake_at for h in upstream.hits]
    assert starts == [1000.0, 1002.0, 1004.0]


async def test_min_delay_holds_for_concurrent_requests_in_real_time(
    upstream: Upstream, make_fetcher: MakeFetcher
) -> None:
    upstream.route("/", page(PAGE))
    fetcher = make_fetcher(real_time=True, min_delay=0.05, per_host_concurrency=4)
    await asyncio.gather(*(fetcher.get(f"{HOME}/", allowed=ALLOWED, robots=False) for _ in range(4)))
    starts = sorted(h.at for h in upstream.hits)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 3
    assert min(gaps) >= 0.03  # lower bound only: the machine may be slow, never faster than the delay


async def test_session_is_shared_and_closed(upstream: Upstream, make_fetcher: MakeFetcher) -> None:
    upstream.route("/", page(PAGE))
    fetcher = make_fetcher()
    await fetcher.get(f"{HOME}/", allowed=ALLOWED, robots=False)  # starts lazily
    session = fetcher._session
    await fetcher.get(f"{HOME}/", allowed=ALLOWED, robots=False)
    assert fetcher._session is session
    await fetcher.close()
    assert session is not None and session.closed
    assert upstream.count("/") == 2


# A subdomain wildcard (`*.cxnews.cn` in allowed_hosts) admits each host under the domain, and every
# check (request, redirect hop, port) applies to each as to a named host.
WILD = Origins.of(subdomains_of=[("cxnews.cn", None)])


async def test_a_subdomain_wildcard_allows_its_subdomains_and_follows_redirects_between_them(
    upstream: Upstream, make_fetcher: MakeFetcher
) -> None:
    upstream.route("/a", redirect("http://news.cxnews.cn/b"))
    upstream.route("/b", page(PAGE))
    result = await make_fetcher().get(f"{HOME}/a", allowed=WILD, robots=False)
    assert ARTICLE in (result.text or "") and result.url == "http://news.cxnews.cn/b"
    assert str(WILD) == "*.cxnews.cn"


@pytest.mark.parametrize("location", ["http://evil.example/b", "http://news.cxnews.cn:8080/b", "http://cxnews.cn.evil.example/b"])
async def test_a_subdomain_wildcard_refuses_redirects_elsewhere_and_other_ports(
    upstream: Upstream, make_fetcher: MakeFetcher, location: str
) -> None:
    upstream.route("/a", redirect(location))
    with pytest.raises(OffSite, match="which is not one of the site's origins"):
        await make_fetcher().get(f"{HOME}/a", allowed=WILD, robots=False)
    assert [h.path for h in upstream.hits] == ["/a"]


def test_a_subdomain_wildcard_is_not_the_domain_itself_nor_a_lookalike() -> None:
    assert WILD.allows("http", "a.b.cxnews.cn", 80) and WILD.allows("https", "NEWS.cxnews.cn.", 443)
    assert not WILD.allows("http", "cxnews.cn", 80)
    assert not WILD.allows("http", "evilcxnews.cn", 80)
    assert not WILD.allows("http", "news.cxnews.cn", 8080)
    on_port = Origins.of(subdomains_of=[("cxnews.cn", 8080)])
    assert on_port.allows("http", "news.cxnews.cn", 8080) and not on_port.allows("http", "news.cxnews.cn", 80)
