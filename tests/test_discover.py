"""`feedsvc discover`: against the replica of www.cxnews.cn (in process and as a real subprocess), against a
small site of our own (what is skipped and why), and against nothing (one-line error, exit 1)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from aiohttp.test_utils import TestServer

from feedsvc.cli import main
from feedsvc.commands.discover import discover_site, discover_yaml
from feedsvc.commands.refresh import refresh_once
from feedsvc.config import Config, load_config
from feedsvc.errors import ExtractError
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.model import FetchSettings
from feedsvc.replica import replica_app
from feedsvc.store import open_store
from tests.support import NOW, REPO
from tests.support.upstream import Upstream, page, running

SEEDS = REPO / "seeds"
FAST = FetchSettings(min_delay=timedelta(seconds=0.001), backoff=timedelta(seconds=0.01))
SHIPPED_NAV = ["慈溪新闻", "民e通", "桥城独家", "镇街部门", "外媒聚焦", "桥城评论", "财经要闻", "社会生活"]


@pytest.fixture
async def replica() -> AsyncIterator[StaticResolver]:
    server = TestServer(replica_app(SEEDS), host="127.0.0.1")
    await server.start_server()
    try:
        yield StaticResolver({h: ("127.0.0.1", server.port) for h in ("www.cxnews.cn", "cxnews.cn")})
    finally:
        await server.close()


def as_config(block: str, tmp_path: Path) -> Config:
    """The printed block pasted under `sites:` of a config file, read by the real loader."""
    path = tmp_path / "config.yaml"
    path.write_text(
        f"store: {{url: 'sqlite:///{tmp_path / 'discovered.db'}'}}\n"
        "fetch: {min_delay: 0.001s}\n"
        f"sites:\n{block}", encoding="utf-8")
    return load_config(path)


def replica_article_urls() -> list[str]:
    """Every article of the replica, from its files: what the link_pattern must match."""
    site = SEEDS / "site"
    return sorted(f"http://www.cxnews.cn/{p.relative_to(site).as_posix()}" for p in (site / "system").rglob("*.shtml"))


def test_the_shipped_config_has_the_eight_nav_sections() -> None:
    shipped = load_config(REPO / "config.yaml")
    assert [s.nav for s in shipped.sites["cxnews"].sections.values() if s.nav] == SHIPPED_NAV


async def test_discover_the_replica_yields_a_loadable_config_that_refreshes(replica, tmp_path) -> None:
    block = await discover_yaml("http://www.cxnews.cn/", FAST, resolver=replica)
    config = as_config(block, tmp_path)
    site = config.sites["cxnews"]
    assert (site.title, site.home, site.allowed_hosts) == ("慈溪新闻网", "http://www.cxnews.cn/", ("www.cxnews.cn",))

    nav = {s.nav: (name, s) for name, s in site.sections.items() if s.nav}
    missing = [label for label in SHIPPED_NAV if label not in nav]
    assert not missing, f"{missing} not discovered:\n{block}"
    for label in SHIPPED_NAV:
        name, section = nav[label]
        assert section.title == label and section.url is None
    # Slugs come from the list pages' paths, as in the shipped config.
    assert {nav[label][0] for label in SHIPPED_NAV} == {
        "cixi", "minetong", "qiaocheng", "zhenjie", "waimei", "pinglun", "caijing", "shehui"}

    pattern = site.rules.link_pattern
    assert pattern is not None
    articles = replica_article_urls()
    assert len(articles) == 18
    assert all(re.search(pattern, url) for url in articles), pattern
    examples = re.findall(r"e\.g\. (\S+)", block)
    assert len(examples) >= len(SHIPPED_NAV) and all(re.search(pattern, url) for url in examples)
    assert not re.search(pattern, "http://www.cxnews.cn/cixi/index_2.shtml")

    # Hosts of the same site's domain are followed too (here the resolver knows none of them).
    assert "# 分类信息: could not read http://fenlei.cxnews.cn/" in block

    reports = await refresh_once(config, config.section_refs(), resolver=replica, clock=lambda: NOW)
    failed = [f"{r.site}/{r.section}: {r.error}" for r in reports if not r.ok]
    assert not failed, failed
    assert len(reports) == len(site.sections)
    store = open_store(config.store.url)
    await store.open()
    try:
        empty = [ref.key for ref in config.section_refs() if not await store.entries(ref.site_name, ref.name)]
    finally:
        await store.close()
    assert not empty, f"sections left empty: {empty}"


def test_discover_command_as_a_subprocess(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "feedsvc", "discover", "http://www.cxnews.cn/", "--seeds", "seeds"],
        cwd=REPO, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    config = as_config(result.stdout, tmp_path)
    sections = config.sites["cxnews"].sections
    assert [label for label in SHIPPED_NAV if label not in {s.nav for s in sections.values()}] == []
    pattern = config.sites["cxnews"].rules.link_pattern
    assert pattern and all(re.search(pattern, url) for url in replica_article_urls())


def test_discover_name_option_and_a_bad_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "http://www.cxnews.cn/", "--seeds", str(SEEDS), "--name", "cx-news"]) == 0
    out = capsys.readouterr().out
    assert list(yaml.safe_load(f"sites:\n{out}")["sites"]) == ["cx-news"]
    assert main(["discover", "http://www.cxnews.cn/", "--name", "慈溪"]) == 2
    assert "is not a URL-safe name" in capsys.readouterr().err


def test_discover_an_unreachable_site_says_so_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nothing listens on: bound, then released
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["discover", f"http://127.0.0.1:{port}/"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("feedsvc: error: cannot connect") and f"127.0.0.1:{port}" in lines[0]
    assert captured.out == "" and "Traceback" not in captured.err


def test_discover_a_url_that_is_not_http_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "www.cxnews.cn"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "feedsvc: error: not an http(s) URL (e.g. http://www.example.cn/): 'www.cxnews.cn'"]


# A small site of our own: what discover keeps, what it leaves as comments, and why.
def _list(*paths: str) -> str:
    items = "".join(f'<li><a href="{p}">第{i}条本地新闻标题在此</a><span>2024-05-0{i}</span></li>'
                    for i, p in enumerate(paths, 1))
    return f"<html><body><div class='main'><ul class='list'>{items}</ul></div></body></html>"


SMALL_HOME = """<html><head><title>示例新闻网_官方网站</title></head><body>
<div class="nav"><a href="/">首页</a> | <a href="/local/">本地</a> | <a href="/shehui/list.html">社会</a>
| <a href="/%E6%85%88%E5%96%84/">慈善</a> | <a href="/about/">专题</a> | <a href="/gone/">旧栏目</a>
| <a href="/private/">内部</a> | <a href="http://county.example.cn/">区县</a> | <a href="/about/">关于我们</a></div>
<div class="main"><p>欢迎</p></div></body></html>"""
SMALL_PAGES = {
    "/": SMALL_HOME,
    "/local/": _list(*(f"/news/2024/05/0{i}/100{i}.html" for i in range(1, 5))),
    "/shehui/list.html": _list("/news/2024/05/02/2002.html"),
    "/%E6%85%88%E5%96%84/": _list(*(f"/news/2024/05/0{i}/300{i}.html" for i in range(1, 4))),
    "/about/": "<html><body><div class='main'><p>关于我们</p></div></body></html>",
    "/private/": _list(*(f"/news/2024/05/0{i}/400{i}.html" for i in range(1, 5))),
    "/bare.html": "<html><body><p><a href='/local/'>本地</a></p></body></html>",  # linked from nowhere
}


@pytest.fixture
async def small_site() -> AsyncIterator[StaticResolver]:
    upstream = Upstream(routes={unquote(path): page(body) for path, body in SMALL_PAGES.items()})
    upstream.route("/robots.txt", page("User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    async with running(upstream):
        yield StaticResolver({"www.example.cn": ("127.0.0.1", upstream.port)})


async def test_discover_keeps_lists_and_explains_the_rest(small_site, tmp_path) -> None:
    found = await discover_site("http://www.example.cn/", FAST, resolver=small_site)
    assert (found.slug, found.title, found.link_pattern) == ("example", "示例新闻网", r"/news/\d{4}/\d{2}/\d{2}/\d+\.html$")
    # 社会 lists a single link, kept because it has the shape of the clear lists' links.
    assert [(s.slug, s.label, len(s.links)) for s in found.sections] == [
        ("local", "本地", 4), ("shehui", "社会", 1), ("section1", "慈善", 3)]
    why = dict(found.skipped)
    assert why["专题"] == "no article list found at http://www.example.cn/about/"
    assert "关于我们" not in why  # about the site: not even a candidate
    assert why["旧栏目"].startswith("could not read http://www.example.cn/gone/: HTTP 404")
    assert "disallowed by robots.txt" in why["内部"]
    assert why["区县"].startswith("could not read http://county.example.cn/")  # followed: same domain

    block = await discover_yaml("http://www.example.cn/", FAST, resolver=small_site)
    assert "      # 专题: no article list found at http://www.example.cn/about/\n" in block
    assert "      section1: {title: 慈善, nav: 慈善}\n" in block
    config = as_config(block, tmp_path)
    assert list(config.sites["example"].sections) == ["local", "shehui", "section1"]


async def test_discover_a_page_without_navigation(small_site) -> None:
    with pytest.raises(ExtractError, match="no navigation links found on http://www.example.cn/bare.html"):
        await discover_site("http://www.example.cn/bare.html", FAST, resolver=small_site)
