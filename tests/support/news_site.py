"""A tiny misbehaving news site for refresh, scheduler and web tests, built on the upstream toolkit:
a home page with a nav, two sections whose list pages can be switched into a failure mode, articles."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from feedsvc.config import Config
from tests.support.upstream import (
    Handler,
    Upstream,
    by_pattern,
    conditional,
    drop_connection,
    page,
    redirect,
    running,
    slow,
    status,
    streamed,
)

HOST = "news.example"

ARTICLE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}_新闻网</title></head>
<body><div class="nav"><a href="/">首页</a> | <a href="/a/">要闻</a> | <a href="/b/">社会</a></div>
<div class="heading"><h1>{title}</h1></div>
<div class="source"><span class="left">2021-12-0{day} 09:{minute:02d}   稿源:测试日报</span></div>
<div id="Zoom"><p>{title}。这是第一段正文，讲述了本地发生的一件新鲜事，内容足够长以便被识别为正文内容。</p>
<p>第二段正文继续介绍有关情况，记者在现场进行了采访，群众纷纷表示满意。</p>
<p>全媒体记者 张三</p></div>
<div class="footer">Copyright(C) 2005-2024 news.example</div></body></html>"""


def list_page(links: list[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{href}">{text}</a> <span>2021-12-08</span></li>' for href, text in links)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>列表</title></head><body>
<div class="nav"><a href="/">首页</a> | <a href="/a/">要闻</a> | <a href="/b/">社会</a></div>
<ul class="list">{items}</ul><div class="footer">Copyright(C) 2005-2024</div></body></html>"""


def article_links(section: str, n: int) -> list[tuple[str, str]]:
    base = 100 if section == "a" else 200
    return [(f"/system/2021/12/0{1 + i % 8}/{base + i:09d}.shtml", f"{section}栏目第{i + 1}条新闻标题示例")
            for i in range(n)]


# What a list page answers in each failure mode ("ok" and "offsite" are built from the links).
FAILURE_MODES: dict[str, Handler] = {
    "timeout": slow(3, page("late")),
    "5xx": status(502),
    "429": status(429, {"Retry-After": "86400"}),
    "reset": drop_connection,
    "too-large": streamed(b"<p>" + "很长的页面".encode() * 400 + b"</p>", 64),
    "redirect-loop": redirect("/loop/1"),
    "not-html": page(b"%PDF-1.4 binary", charset=None, content_type="application/pdf"),
    "undecodable": page(bytes(range(256)) * 8, charset=None),
    "empty": page(b"", charset=None),
    "malformed": page("<html><body><div><ul><li><a href=<<<>>>" + "</b>" * 50),
    "vanished": page(list_page([])),
}


@dataclass
class FixtureSite:
    """The news site's state, changed by tests between refreshes. `hits` logs the pages asked for
    (home, lists, articles); the upstream's own log (`upstream.hits`) has every request."""

    modes: dict[str, str] = field(default_factory=dict)
    links: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: {"a": article_links("a", 4), "b": article_links("b", 3)})
    robots: str = "User-agent: *\nDisallow: /search/\n"
    hits: list[str] = field(default_factory=list)
    broken_articles: set[str] = field(default_factory=set)
    nav: dict[str, str] = field(default_factory=lambda: {"要闻": "/a/", "社会": "/b/"})
    upstream: Upstream = field(default_factory=Upstream)

    def __post_init__(self) -> None:
        self.upstream.fallback = by_pattern([
            (r"/robots\.txt", self.robots_txt),
            (r"/", self.home),
            (r"/loop/(?P<n>\d+)", self.loop),
            (r"/system/\d{4}/\d{2}/(?P<d>\d{2})/(?P<ident>\d+)\.shtml", self.article),
            (r"/(?P<section>[^/]+)/", self.list_handler),
        ])

    async def robots_txt(self, request: web.Request) -> web.StreamResponse:
        return await page(self.robots, content_type="text/plain")(request)

    async def loop(self, request: web.Request, n: str) -> web.StreamResponse:
        return await redirect(f"/loop/{int(n) + 1}")(request)

    async def article(self, request: web.Request, d: str, ident: str) -> web.StreamResponse:
        self.hits.append(request.path)
        if request.path in self.broken_articles:
            return await status(500)(request)
        number = int(ident)
        title = f"测试新闻标题第{number}号稿件"
        return await page(ARTICLE.format(title=title, day=d[-1], minute=number % 60))(request)

    async def home(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path)
        nav = " | ".join(f'<a href="{href}">{label}</a>' for label, href in self.nav.items())
        return await page(f'<html><body><div class="nav"><a href="/">首页</a> | {nav}</div></body></html>')(request)

    async def list_handler(self, request: web.Request, section: str) -> web.StreamResponse:
        self.hits.append(request.path)
        if section not in self.links:
            return await status(404)(request)
        mode = self.modes.get(section, "ok")
        if mode == "ok":  # with an ETag, as most servers send for static list pages
            body = list_page(self.links[section])
            etag = f'"{hashlib.sha1(body.encode()).hexdigest()[:16]}"'
            return await conditional(page(body), etag=etag)(request)
        if mode == "offsite":
            links = [(f"http://elsewhere.example{href}", text) for href, text in self.links[section]]
            return await page(list_page(links))(request)
        return await FAILURE_MODES[mode](request)


@asynccontextmanager
async def running_site(site: FixtureSite | None = None) -> AsyncIterator[tuple[FixtureSite, int]]:
    """Serve a news site on a free loopback port for the block; yields it and the port."""
    site = site or FixtureSite()
    async with running(site.upstream) as upstream:
        yield site, upstream.port


def make_config(port: int, db: str, **fetch: object) -> Config:
    """A config of the news site `news` (sections a and b) on a SQLite file, with fast fetch settings."""
    fetch_defaults = dict(connect_timeout="1s", read_timeout="0.5s", total_timeout="2s", min_delay="0.001s",
                          backoff="0.01s", retries=1, max_bytes=20000, max_redirects=3, max_retry_after="1s")
    fetch_defaults.update(fetch)
    return Config.model_validate({
        "store": {"url": f"sqlite:///{db}", "max_entries": 50, "max_age_days": 30},
        "fetch": fetch_defaults,
        "sites": {"news": {
            "title": "测试新闻网", "home": f"http://{HOST}/",
            "rules": {"title": "div.heading h1", "published": "div.source span.left", "body": "div#Zoom"},
            "sections": {"a": {"title": "要闻", "url": f"http://{HOST}/a/"},
                         "b": {"title": "社会", "url": f"http://{HOST}/b/"}},
        }},
    })
