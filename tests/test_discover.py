"""`feedsvc discover`: against the replica of www.cxnews.cn (in process and as a real subprocess), against a
small site of our own (what is skipped and why), and against nothing (one-line error, exit 1)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import unquote

import pytest
import yaml
from aiohttp.test_utils import TestServer

from feedsvc.cli import main
from feedsvc.commands.discover import discover_site, discover_yaml
from feedsvc.commands.refresh import refresh_once
from feedsvc.config import Config, load_config
from feedsvc.errors import ExtractError
from feedsvc.extract.discovery import nav_links
from feedsvc.extract.links import find_links
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.model import FetchSettings, Rules
from feedsvc.seed_site import replica_app
from feedsvc.store import open_store
from tests.fixtures import subdomain_portal
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


# A portal with its sections on subdomains (tests/fixtures/subdomain_portal.py), through the CLI.
@pytest.fixture
async def portal_site() -> AsyncIterator[Upstream]:
    async with running(subdomain_portal.portal_upstream()) as upstream:
        yield upstream


@pytest.fixture
def portal(portal_site: Upstream) -> StaticResolver:
    return StaticResolver({host: ("127.0.0.1", portal_site.port) for host in subdomain_portal.HOSTS})


def run_cli(args: list[str], resolver: StaticResolver, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`feedsvc ARGS` in this process, every host name resolved to the fixture portal: DNS is the one edge
    faked (aiohttp's default resolver, which the CLI's connectors use, replaced by the tests' table)."""
    with mock.patch("aiohttp.connector.DefaultResolver", lambda *args, **kwargs: resolver):
        code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_discover_a_subdomain_portal_then_check_and_refresh_it(portal, portal_site, tmp_path, capsys) -> None:
    config_file = tmp_path / "config.yaml"
    # The fixture's articles are dated May 2024: kept however long ago that is.
    config_file.write_text(f"store: {{url: 'sqlite:///{tmp_path / 'portal.db'}', max_age_days: 36500}}\n"
                           "fetch: {min_delay: 0.001s, backoff: 0.01s, user_agent: portal-test/1}\nsites: {}\n",
                           encoding="utf-8")
    code, block, err = await asyncio.to_thread(
        run_cli, ["discover", "http://www.example.com.cn/", "--config", str(config_file)], portal, capsys)
    assert code == 0 and "Traceback" not in err, err
    # It read with the config's fetch: settings, on every host it followed.
    assert {hit.headers.get("User-Agent") for hit in portal_site.hits} == {"portal-test/1"}
    assert {hit.host for hit in portal_site.hits} == set(subdomain_portal.HOSTS)
    found = yaml.safe_load(f"sites:\n{block}")["sites"]["example"]
    # The main menu, behind a pasted special-topic page's stray </body></html>: every section, on its subdomain.
    assert [s["title"] for s in found["sections"].values()] == ["新闻", "宁波", "区县", "视频", "政务"], block
    assert found["allowed_hosts"] == ["www.example.com.cn", "*.example.com.cn"]
    for word in [*subdomain_portal.SERVICE, "登录", "注册", "支站", "两会专题"]:
        assert word not in block.replace("# ", "").split("sections:")[1], f"{word} taken for a section:\n{block}"
    # One pattern covering every article shape, and none of the list or service pages.
    pattern = found["rules"]["link_pattern"]
    articles = [url for kind in ("news", "nb", "qx", "video", "gov") for url in subdomain_portal.article_urls(kind)]
    assert all(re.search(pattern, url) for url in articles), pattern
    assert not any(re.search(pattern, f"http://{host}{path}") for host, path in subdomain_portal.PAGES
                   if f"http://{host}{path}" not in articles)
    # /news/ and /zwgk/ articles share one shape: the shape, not a list of their folders.
    assert "news" not in pattern and "zwgk" not in pattern

    # Pasted under sites:, the block is a config `feedsvc check` accepts and `feedsvc refresh` fills.
    config_file.write_text(config_file.read_text(encoding="utf-8").replace("sites: {}\n", f"sites:\n{block}"),
                           encoding="utf-8")
    code, out, err = await asyncio.to_thread(run_cli, ["check", "--config", str(config_file)], portal, capsys)
    assert code == 0, err
    code, out, err = await asyncio.to_thread(run_cli, ["refresh", "--config", str(config_file)], portal, capsys)
    assert code == 0, out + err
    config = load_config(config_file)
    store = open_store(config.store.url)
    await store.open()
    try:
        stored = {ref.name: [e.url for e in await store.entries(ref.site_name, ref.name)]
                  for ref in config.section_refs()}
    finally:
        await store.close()
    assert all(len(urls) == 6 for urls in stored.values()), (stored, out)
    assert sorted(url for urls in stored.values() for url in urls) == sorted(articles)


def test_a_home_page_section_without_rules_takes_every_article_block_and_no_navigation() -> None:
    home = subdomain_portal.HOME
    links = [link.url for link in find_links(home, "http://www.example.com.cn/", Rules())]
    blocks = [subdomain_portal.article_urls(kind)[:n] for kind, n in
              (("news", 4), ("nb", 4), ("qx", 4), ("video", 3), ("gov", 3))]
    assert links == [url for block in blocks for url in block]  # page order, the ranking's repeats once
    # The same page as a section's list page (not the site's root) still gives its one main list.
    assert len(find_links(home, "http://www.example.com.cn/news/", Rules())) < len(links)


def test_the_home_page_behind_a_stray_end_of_page_keeps_its_menu() -> None:
    navs = nav_links(subdomain_portal.HOME, "http://www.example.com.cn/")
    assert [n.label for n in navs] == ["新闻", "宁波", "区县", "视频", "政务"]
