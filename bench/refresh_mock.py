"""The mock news network of bench/refresh.py: H hosts in cnnb style, run as its own process.

    python bench/refresh_mock.py --sections 500 --hosts 5     (prints "PORT <n>", then serves)

Every host answers on one loopback port (the Host header picks the site). Section list pages
(/col/colNNNN/index.html) list 20 articles (/system/YYYY/MM/DD/NNNNNNNNN.shtml) with dates; each
section shares 4 of its articles with the next section of the same host. List pages carry an
ETag and Last-Modified and answer 304 to a matching conditional request. Requests and body
bytes are counted by kind; /__bench/stats reads (and resets) the counters and
/__bench/add?every=10 puts one new article on top of every 10th section. It runs apart from the
benchmark so its CPU time stays out of the figures measured there.
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
from pathlib import Path

from aiohttp import web

LIST_LEN = 20
OWN = 16  # articles only this section lists; the other 4 are the next section's first 4
SHARED = LIST_LEN - OWN
SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "000_d8a4aa2da7847d6f.txt"
FALLBACK = [
    "昨天上午,市委、市政府召开全市疫情防控工作视频会议,部署全市疫情防控工作,要求各地各部门守土有责、守土担责。",
    "会议指出,当前疫情防控形势严峻复杂,各地各部门要克服麻痹思想、侥幸心理和松劲心态,突出快准严细。",
    "会议要求,要从严从紧抓好重点人员排查管控,全面加强重点场所防控,做好物资保障和应急准备。",
    "全市各镇街道、各部门要压紧压实四方责任,切实把各项防控措施落实到位,守护好人民群众生命安全和身体健康。",
]
HEADLINES = ["守土有责 坚决打好疫情防控阻击战", "我市召开经济运行分析会", "桥城新添一座城市书房",
             "小家电企业开拓海外市场", "杭州湾新区重大项目集中开工", "社区志愿者走进养老院"]
NAV = "".join(f'<a href="/col/col{1000 + i}/index.html">栏目{i}</a> | ' for i in range(12))
BASE_MODIFIED = datetime(2021, 12, 8, 10, 0, tzinfo=UTC)


def seed_paragraphs() -> list[str]:
    try:
        lines = SEED.read_text(encoding="utf-8").splitlines()
    except OSError:
        return FALLBACK
    found = [line.strip() for line in lines if line.startswith("  ") and len(line.strip()) > 40]
    return found or FALLBACK


PARAGRAPHS = seed_paragraphs()


def article_path(ident: int) -> str:
    return f"/system/2021/12/{article_day(ident):02d}/{ident:09d}.shtml"


def article_day(ident: int) -> int:
    # New articles (the 9_000_000 block) are dated the day the benchmark's fixed clock stands on.
    return 9 if ident % 10_000_000 >= 9_000_000 else 1 + ident % 8


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
class MockNetwork:
    """Section g lives on host g % hosts as that host's section g // hosts."""

    sections: int
    hosts: int
    lists: dict[tuple[str, str], ListPage] = field(default_factory=dict)
    articles: dict[str, set[int]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    bytes_sent: Counter[str] = field(default_factory=Counter)
    article_hits: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        per_host = [len(range(h, self.sections, self.hosts)) for h in range(self.hosts)]
        for g in range(self.sections):
            h, k = g % self.hosts, g // self.hosts
            own = [self._own(h, k, j) for j in range(OWN)]
            n = per_host[h]
            shared = [self._own(h, (k + 1) % n, j) for j in range(SHARED)] if n > 1 else []
            self.lists[(host_name(h), section_path(k))] = ListPage(sorted(own + shared, key=_newest_first))
            self.articles.setdefault(host_name(h), set()).update(own)

    @staticmethod
    def _own(h: int, k: int, j: int) -> int:
        return (h + 1) * 10_000_000 + k * OWN + j

    def add_new(self, every: int) -> list[str]:
        """One new article on top of every `every`-th section's list (the last one drops off)."""
        urls = []
        for g in range(0, self.sections, every):
            h, k = g % self.hosts, g // self.hosts
            page = self.lists[(host_name(h), section_path(k))]
            ident = (h + 1) * 10_000_000 + 9_000_000 + k * 10 + page.version
            page.idents = [ident, *page.idents][:LIST_LEN]
            page.version += 1
            self.articles[host_name(h)].add(ident)
            urls.append(f"http://{host_name(h)}{article_path(ident)}")
        return urls

    def unique_articles(self) -> int:
        return sum(len(ids) for ids in self.articles.values())

    def _count(self, kind: str, body: bytes) -> None:
        self.counts[kind] += 1
        self.bytes_sent[kind] += len(body)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/__bench/stats", self.stats)
        app.router.add_post("/__bench/add", self.add)
        app.router.add_get("/robots.txt", self.robots)
        app.router.add_get("/col/{col}/index.html", self.list_page)
        app.router.add_get("/system/{y}/{m}/{d}/{ident}.shtml", self.article)
        return app

    async def stats(self, request: web.Request) -> web.Response:
        body = {"counts": dict(self.counts), "bytes": dict(self.bytes_sent),
                "article_hits": dict(self.article_hits), "cpu_s": time.process_time(),
                "unique_articles": self.unique_articles()}
        if request.query.get("reset"):
            self.counts.clear()
            self.bytes_sent.clear()
            self.article_hits.clear()
        return web.json_response(body)

    async def add(self, request: web.Request) -> web.Response:
        return web.json_response(self.add_new(int(request.query.get("every", "10"))))

    async def robots(self, request: web.Request) -> web.Response:
        body = b"User-agent: *\nDisallow: /search/\n"
        self._count("robots", body)
        return web.Response(body=body, content_type="text/plain")

    async def list_page(self, request: web.Request) -> web.Response:
        page = self.lists.get((request.host.split(":")[0], request.path))
        if page is None:
            self._count("not_found", b"")
            raise web.HTTPNotFound()
        etag = f'"{request.path.split("/")[2]}-v{page.version}"'
        modified = format_datetime(BASE_MODIFIED + timedelta(hours=page.version), usegmt=True)
        inm, ims = request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
        if inm or ims:
            self.counts["list_conditional"] += 1
            fresh = inm == etag if inm else ims == modified
            if fresh:
                self._count("list_304", b"")
                return web.Response(status=304, headers={"ETag": etag, "Last-Modified": modified})
        body = list_html(f"栏目{request.path.split('/')[2]}", page.idents).encode()
        self._count("list_200", body)
        return web.Response(body=body, content_type="text/html", charset="utf-8",
                            headers={"ETag": etag, "Last-Modified": modified})

    async def article(self, request: web.Request) -> web.Response:
        host = request.host.split(":")[0]
        ident = int(request.match_info["ident"])
        if ident not in self.articles.get(host, ()) or request.path != article_path(ident):
            self._count("not_found", b"")
            raise web.HTTPNotFound()
        self.article_hits[f"http://{host}{request.path}"] += 1
        body = article_html(ident, section_path(0)).encode()
        self._count("article", body)
        return web.Response(body=body, content_type="text/html", charset="utf-8")


def _newest_first(ident: int) -> tuple[int, int]:
    return (-article_day(ident), -ident)


async def serve(sections: int, hosts: int) -> None:
    runner = web.AppRunner(MockNetwork(sections, hosts).app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    try:
        # The parent closes our stdin when it is done (or dies): that is the signal to stop.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(serve(args.sections, args.hosts))


if __name__ == "__main__":
    main()
