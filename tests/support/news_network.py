"""A network of news sites in cnnb style on one loopback port, for bench/refresh.py, built on the
upstream toolkit; run it as its own process so its CPU time stays out of the figures measured there:

    python -m tests.support.news_network --sections 500 --hosts 5     (prints "PORT <n>", then serves)

Every host answers on the one port (the Host header picks the site). Section list pages
(/col/colNNNN/index.html) list 20 articles (/system/YYYY/MM/DD/NNNNNNNNN.shtml) with dates; each
section shares 4 of its articles with the next section of the same host. List pages carry an
ETag and Last-Modified and answer 304 to a matching conditional request. GET /__bench/stats
sums up the request log by kind (and clears it with ?reset=1); POST /__bench/add?every=10 puts
one new article on top of every 10th section. The process stops when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aiohttp import web

from tests.support import REPO
from tests.support.upstream import Hit, Upstream, by_pattern, conditional, not_found, page, serving

LIST_LEN = 20
OWN = 16  # articles only this section lists; the other 4 are the next section's first 4
SHARED = LIST_LEN - OWN
NEW_BLOCK = 9_000_000  # idents of articles added while the benchmark runs
SEED = REPO / "tests" / "fixtures" / "seed_article.txt"
PARAGRAPHS = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()
              if line.startswith("  ") and len(line.strip()) > 40]
HEADLINES = ["守土有责 坚决打好疫情防控阻击战", "我市召开经济运行分析会", "桥城新添一座城市书房",
             "小家电企业开拓海外市场", "杭州湾新区重大项目集中开工", "社区志愿者走进养老院"]
NAV = "".join(f'<a href="/col/col{1000 + i}/index.html">栏目{i}</a> | ' for i in range(12))
BASE_MODIFIED = datetime(2021, 12, 8, 10, 0, tzinfo=UTC)
ROBOTS = "User-agent: *\nDisallow: /search/\n"


def article_path(ident: int) -> str:
    return f"/system/2021/12/{article_day(ident):02d}/{ident:09d}.shtml"


def article_day(ident: int) -> int:
    # Added articles are dated 2021-12-08, the newest day before the tests' clock (tests.support.NOW).
    return 8 if ident % 10_000_000 >= NEW_BLOCK else 1 + ident % 8


def article_time(ident: int) -> str:
    return f"2021-12-{article_day(ident):02d} {8 + ident % 10:02d}:{ident % 60:02d}"


def headline(ident: int) -> str:
    return f"{HEADLINES[ident % len(HEADLINES)]}（{ident % 100000}）"


def article_html(ident: int, section_path: str) -> str:
    paras = "\n".join(f"<p>　　{PARAGRAPHS[(ident + i) % len(PARAGRAPHS)]}</p>" for i in range(5))
    related = "".join(f'<li><a href="{article_path(ident + i)}">{headline(ident + i)}</a></li>' for i in (1, 2, 3))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{headline(ident)}_慈溪新闻网</title>
<meta name="keywords" content="慈溪,新闻"></head><body>
<div class="top"><div class="nav"><a href="/">首页</a> | {NAV}</div></div>
<div class="weizhi">您当前的位置：<a href="/">首页</a> &gt; <a href="{section_path}">慈溪新闻</a></div>
<div class="main"><div class="heading"><h1>{headline(ident)}</h1></div>
<div class="source"><span class="left">{article_time(ident)}   稿源:慈溪新闻网-慈溪日报</span>
<span class="right"><a href="javascript:window.print()">[打印该文]</a></span></div>
<div id="Zoom">{paras}
<p>记者 熊洲 通讯员 王某</p></div>
<div class="bianji">责任编辑:范田圆 胡兴家</div>
<div class="dayin">[打印该文] [关闭窗口]</div>
<div class="box24"><h3>相关新闻</h3><ul>{related}</ul></div></div>
<div class="footer">Copyright(C) 2005-2024 慈溪新闻网 中国宁波网 版权所有</div></body></html>"""


def list_html(title: str, idents: list[int]) -> str:
    items = "\n".join(
        f'<li><a href="{article_path(i)}" target="_blank">{headline(i)}</a>'
        f'<span class="date">{article_time(i)[:10]}</span></li>' for i in idents)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_慈溪新闻网</title></head><body>
<div class="top"><div class="nav"><a href="/">首页</a> | {NAV}</div></div>
<div class="weizhi">您当前的位置：<a href="/">首页</a> &gt; {title}</div>
<div class="main"><div class="list"><ul>
{items}
</ul></div><div class="page">共1页</div></div>
<div class="footer">Copyright(C) 2005-2024 慈溪新闻网 中国宁波网 版权所有</div></body></html>"""


def host_name(h: int) -> str:
    return f"news{h}.bench.test"


def section_path(k: int) -> str:
    return f"/col/col{1000 + k}/index.html"


@dataclass
class ListPage:
    idents: list[int]
    version: int = 0


@dataclass
class NewsNetwork:
    """Section g lives on host g % hosts as that host's section g // hosts."""

    sections: int
    hosts: int
    lists: dict[tuple[str, str], ListPage] = field(default_factory=dict)
    articles: dict[str, set[int]] = field(default_factory=dict)
    upstream: Upstream = field(default_factory=Upstream)

    def __post_init__(self) -> None:
        per_host = [len(range(h, self.sections, self.hosts)) for h in range(self.hosts)]
        for g in range(self.sections):
            h, k = g % self.hosts, g // self.hosts
            own = [self._own(h, k, j) for j in range(OWN)]
            n = per_host[h]
            shared = [self._own(h, (k + 1) % n, j) for j in range(SHARED)] if n > 1 else []
            self.lists[(host_name(h), section_path(k))] = ListPage(sorted(own + shared, key=_newest_first))
            self.articles.setdefault(host_name(h), set()).update(own)
        self.upstream.route("/__bench/stats", self.stats)
        self.upstream.route("/__bench/add", self.add)
        self.upstream.route("/robots.txt", page(ROBOTS, content_type="text/plain"))
        self.upstream.fallback = by_pattern([
            (r"/col/[^/]+/index\.html", self.list_page),
            (r"/system/\d{4}/\d{2}/\d{2}/(?P<ident>\d+)\.shtml", self.article),
        ])

    @staticmethod
    def _own(h: int, k: int, j: int) -> int:
        return (h + 1) * 10_000_000 + k * OWN + j

    def add_new(self, every: int) -> list[str]:
        """One new article on top of every `every`-th section's list (the last one drops off)."""
        urls = []
        for g in range(0, self.sections, every):
            h, k = g % self.hosts, g // self.hosts
            listed = self.lists[(host_name(h), section_path(k))]
            ident = (h + 1) * 10_000_000 + NEW_BLOCK + k * 10 + listed.version
            listed.idents = [ident, *listed.idents][:LIST_LEN]
            listed.version += 1
            self.articles[host_name(h)].add(ident)
            urls.append(f"http://{host_name(h)}{article_path(ident)}")
        return urls

    def unique_articles(self) -> int:
        return sum(len(ids) for ids in self.articles.values())

    def summary(self) -> dict[str, object]:
        """The request log (control calls aside) summed up by kind."""
        counts: Counter[str] = Counter()
        sent: Counter[str] = Counter()
        article_hits: Counter[str] = Counter()
        for hit in self.upstream.hits:
            kind = _kind(hit)
            if kind is None:
                continue
            counts[kind] += 1
            sent[kind] += hit.body_bytes
            if kind == "article":
                article_hits[f"http://{hit.host}{hit.path}"] += 1
            if kind.startswith("list") and ("If-None-Match" in hit.headers or "If-Modified-Since" in hit.headers):
                counts["list_conditional"] += 1
        return {"counts": dict(counts), "bytes": dict(sent), "article_hits": dict(article_hits),
                "cpu_s": time.process_time(), "unique_articles": self.unique_articles()}

    async def stats(self, request: web.Request) -> web.StreamResponse:
        body = self.summary()
        if request.query.get("reset"):
            self.upstream.hits.clear()
        return web.json_response(body)

    async def add(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.add_new(int(request.query.get("every", "10"))))

    async def list_page(self, request: web.Request) -> web.StreamResponse:
        listed = self.lists.get((request.host.split(":")[0], request.path))
        if listed is None:
            return await not_found(request)
        column = request.path.split("/")[2]
        modified = format_datetime(BASE_MODIFIED + timedelta(hours=listed.version), usegmt=True)
        answer = page(list_html(f"栏目{column}", listed.idents))
        return await conditional(answer, etag=f'"{column}-v{listed.version}"', last_modified=modified)(request)

    async def article(self, request: web.Request, ident: str) -> web.StreamResponse:
        number = int(ident)
        if number not in self.articles.get(request.host.split(":")[0], ()) or request.path != article_path(number):
            return await not_found(request)
        return await page(article_html(number, section_path(0)))(request)


def _kind(hit: Hit) -> str | None:
    path = hit.path.split("?")[0]
    if path.startswith("/__bench/"):
        return None
    if hit.status == 404:
        return "not_found"
    if path == "/robots.txt":
        return "robots"
    if path.startswith("/col/"):
        return "list_304" if hit.status == 304 else "list_200"
    return "article"


def _newest_first(ident: int) -> tuple[int, int]:
    return (-article_day(ident), -ident)


async def serve(sections: int, hosts: int) -> None:
    network = NewsNetwork(sections, hosts)
    app = network.upstream.app()
    async with serving(app, access_log=False) as port:
        print(f"PORT {port}", flush=True)
        # The parent closes our stdin when it is done (or dies): that is the signal to stop.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sections", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(serve(args.sections, args.hosts))


if __name__ == "__main__":
    main()
