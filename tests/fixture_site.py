"""A tiny misbehaving news site for refresh, scheduler and web tests: list pages switch into failure modes."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from feedsvc.config import Config

HOST = "news.example"
NOW = datetime(2021, 12, 9, 12, 0, tzinfo=UTC)

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


@dataclass
class FixtureSite:
    """A tiny news site whose list pages can be switched into a failure mode per section."""

    modes: dict[str, str] = field(default_factory=dict)
    links: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: {"a": article_links("a", 4), "b": article_links("b", 3)})
    robots: str = "User-agent: *\nDisallow: /search/\n"
    hits: list[str] = field(default_factory=list)
    broken_articles: set[str] = field(default_factory=set)
    nav: dict[str, str] = field(default_factory=lambda: {"要闻": "/a/", "社会": "/b/"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/robots.txt", self.robots_txt)
        app.router.add_get("/", self.home)
        app.router.add_get("/{section}/", self.list_handler)
        app.router.add_get("/loop/{n}", self.loop)
        app.router.add_get("/system/{y}/{m}/{d}/{id}.shtml", self.article)
        return app

    async def robots_txt(self, request: web.Request) -> web.Response:
        return web.Response(text=self.robots)

    async def loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/loop/{int(request.match_info['n']) + 1}")

    async def article(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        if request.path in self.broken_articles:
            return web.Response(status=500, text="oops")
        ident = int(request.match_info["id"])
        title = f"测试新闻标题第{ident}号稿件"
        return web.Response(text=ARTICLE.format(title=title, day=request.match_info["d"][-1], minute=ident % 60),
                            content_type="text/html")

    async def home(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        nav = " | ".join(f'<a href="{href}">{label}</a>' for label, href in self.nav.items())
        return web.Response(text=f'<html><body><div class="nav"><a href="/">首页</a> | {nav}</div></body></html>',
                            content_type="text/html")

    async def list_handler(self, request: web.Request) -> web.StreamResponse:
        section = request.match_info["section"]
        self.hits.append(request.path)
        if section not in self.links:
            raise web.HTTPNotFound()
        mode = self.modes.get(section, "ok")
        html = "text/html"
        if mode == "ok":  # with an ETag, as most servers send for static list pages
            body = list_page(self.links[section])
            etag = f'"{hashlib.sha1(body.encode()).hexdigest()[:16]}"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(text=body, content_type=html, headers={"ETag": etag})
        if mode == "timeout":
            await asyncio.sleep(3)
            return web.Response(text="late", content_type=html)
        if mode == "5xx":
            return web.Response(status=502, text="bad gateway")
        if mode == "429":
            return web.Response(status=429, headers={"Retry-After": "86400"})
        if mode == "reset":
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(0.1)
            return web.Response(text="never")
        if mode == "too-large":
            resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
            await resp.prepare(request)
            for _ in range(64):
                await resp.write(b"<p>" + "很长的页面".encode() * 400 + b"</p>")
            return resp
        if mode == "redirect-loop":
            raise web.HTTPFound("/loop/1")
        if mode == "not-html":
            return web.Response(body=b"%PDF-1.4 binary", content_type="application/pdf")
        if mode == "undecodable":
            return web.Response(body=bytes(range(256)) * 8, headers={"Content-Type": "text/html"})
        if mode == "empty":
            return web.Response(body=b"", content_type=html)
        if mode == "malformed":
            return web.Response(text="<html><body><div><ul><li><a href=<<<>>>" + "</b>" * 50, content_type=html)
        if mode == "offsite":
            links = [(f"http://elsewhere.example{href}", text) for href, text in self.links[section]]
            return web.Response(text=list_page(links), content_type=html)
        if mode == "vanished":
            return web.Response(text=list_page([]), content_type=html)
        raise AssertionError(mode)


def make_config(port: int, db: str, **fetch: object) -> Config:
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
