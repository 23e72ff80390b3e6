"""The replica of www.cxnews.cn (seeds/, feedsvc.seed_site) and the shipped config.yaml that points at it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import lxml.html
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.config import Config, Rules, load_config
from feedsvc.extract.links import find_links, find_nav_link, next_page_url
from feedsvc.seed_site import load_manifest, replica_app
from tests.support import NOW, REPO

SEEDS = REPO / "seeds"
SEED_TEXT = REPO / "tests" / "fixtures" / "seed_article.txt"
SEED_PATH = "/system/2021/12/08/030312345.shtml"
HOME = "http://www.cxnews.cn/"
NAV_LABELS = ["首页", "慈溪新闻", "民e通", "桥城独家", "镇街部门", "外媒聚焦", "专题", "桥城评论", "微播报",
              "财经要闻", "社会生活", "桥城视频"]
BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "table", "br",
              "body", "html", "title", "head", "dl", "dt", "dd"}


async def client_for(seeds: Path) -> TestClient:
    client = TestClient(TestServer(replica_app(seeds), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def site():
    client = await client_for(SEEDS)
    try:
        yield client
    finally:
        await client.close()


async def page(client: TestClient, url: str) -> str:
    """GET an absolute www.cxnews.cn URL from the replica and decode it by its header charset."""
    path = re.sub(r"^https?://[^/]+", "", url) or "/"
    resp = await client.get(path)
    assert resp.status == 200, f"{url}: {resp.status}"
    return (await resp.read()).decode(resp.charset or "utf-8")


def visible_lines(html: str) -> list[str]:
    """The page's text as a browser lays it out: block elements break lines, inline ones do not."""
    root = lxml.html.fromstring(html)
    out: list[str] = []

    def walk(el) -> None:
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "head"):
            out.append(el.tail or "")
            return
        block = el.tag in BLOCK_TAGS
        if block:
            out.append("\n")
        out.append(el.text or "")
        for child in el:
            walk(child)
        if block:
            out.append("\n")
        out.append(el.tail or "")

    walk(root)
    lines = (re.sub(r"\s+", " ", line).strip() for line in "".join(out).split("\n"))
    return [line for line in lines if line]


# --- serving ------------------------------------------------------------------------------

async def test_home_and_articles_are_served_as_utf8_html(site):
    resp = await site.get("/")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "慈溪新闻网" in await resp.text()
    resp = await site.get(SEED_PATH + "?utm_source=wx")  # query strings are ignored, as on a static site
    assert resp.status == 200 and "守土有责" in await resp.text()
    head = await site.head("/cixi/index.shtml")
    assert head.status == 200 and head.headers["ETag"]


async def test_gbk_section_page_is_gbk_in_header_meta_and_bytes(site):
    resp = await site.get("/zhenjie/")
    assert resp.headers["Content-Type"] == "text/html; charset=gbk"
    raw = await resp.read()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert '<meta charset="gb2312"' in text and "镇街部门" in text and "24小时最新新闻" in text


async def test_robots_txt_disallows_search_only(site):
    resp = await site.get("/robots.txt")
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    body = await resp.text()
    assert "Disallow: /search/" in body and "Disallow: /system" not in body


async def test_conditional_get_answers_304_until_the_page_changes(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    client = await client_for(seeds)
    try:
        first = await client.get("/cixi/")
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'}, {"If-None-Match": "*"},
                        {"If-Modified-Since": modified}):
            resp = await client.get("/cixi/", headers=headers)
            assert resp.status == 304, headers
            assert await resp.read() == b""
            assert resp.headers["ETag"] == etag
        assert (await client.get("/cixi/", headers={"If-None-Match": '"other"'})).status == 200
        assert (await client.get("/cixi/", headers={"If-Modified-Since": "Mon, 06 Dec 2021 00:00:00 GMT"})).status == 200
        # If-None-Match wins over If-Modified-Since.
        both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
        assert (await client.get("/cixi/", headers=both)).status == 200

        listing = seeds / "site" / "cixi" / "index.shtml"
        listing.write_text(listing.read_text(encoding="utf-8").replace("周巷镇", "周巷"), encoding="utf-8")
        future = listing.stat().st_mtime + 60
        os.utime(listing, (future, future))
        changed = await client.get("/cixi/", headers={"If-None-Match": etag})
        assert changed.status == 200 and changed.headers["ETag"] != etag
        assert (await client.get("/cixi/", headers={"If-Modified-Since": modified})).status == 200
    finally:
        await client.close()


async def test_unknown_paths_404_and_directories_redirect(site):
    assert (await site.get("/nope.shtml")).status == 404
    assert (await site.get("/system/2026/01/22/031003014.shtml")).status == 404  # sidebar runs ahead
    assert (await site.get("/%2e%2e/manifest.yaml")).status == 404
    assert (await site.get("/../articles.yaml")).status == 404
    resp = await site.get("/cixi", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == "/cixi/"


def test_a_manifest_key_nothing_reads_is_refused(tmp_path):
    (tmp_path / "manifest.yaml").write_text(
        "default_charset: utf-8\nhost: www.cxnews.cn\npaths:\n  /a.shtml: {charset: gbk, pages: 2}\n",
        encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown key\(s\) host, paths\./a\.shtml\.pages"):
        replica_app(tmp_path)
    assert load_manifest(SEEDS)["paths"]["/zhenjie/index.shtml"] == {"charset": "gbk"}


# --- content --------------------------------------------------------------------------------

def test_site_files_are_what_build_site_writes():
    """seeds/site is generated; a hand edit there (or a stale build) is caught here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_site", SEEDS / "build_site.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    on_disk = {str(p.relative_to(SEEDS / "site")): p.read_bytes()
               for p in (SEEDS / "site").rglob("*") if p.is_file()}
    assert sorted(built) == sorted(on_disk)
    stale = [path for path, data in built.items() if on_disk[path] != data]
    assert not stale, f"rerun `python seeds/build_site.py`: {stale}"


def test_at_least_twelve_articles_in_two_layouts():
    pages = sorted((SEEDS / "site" / "system").rglob("*.shtml"))
    assert len(pages) >= 12
    texts = [p.read_text(encoding="utf-8") for p in pages]
    cnnb = [t for t in texts if '<div class="heading">' in t and '<span class="left">' in t and 'id="Zoom"' in t]
    table = [t for t in texts if '<td class="title"' in t and "来源：" in t and 'id="content"' in t]
    assert len(cnnb) >= 6 and len(table) >= 4 and len(cnnb) + len(table) == len(pages)
    assert all(re.search(r"2021年12月\d+日 \d\d:\d\d 来源：\S+ 作者：", t) for t in table)
    assert any("data-src=" in t for t in texts) and any("data-original=" in t for t in texts)
    assert any("<script" in t.split('id="Zoom"')[-1].split("责任编辑")[0] and "onclick=" in t for t in texts)


async def test_seed_article_is_the_seed_text_line_for_line(site):
    """The seed page shows exactly the seed's text, chrome included: nothing missing, nothing added."""
    lines = visible_lines(await page(site, HOME + SEED_PATH.lstrip("/")))
    wanted = [re.sub(r"\s+", " ", ln).strip() for ln in SEED_TEXT.read_text(encoding="utf-8").splitlines()]
    wanted = [ln for ln in wanted if ln]
    assert len(wanted) == 59
    assert lines == wanted


async def test_every_nav_label_resolves_to_a_list_page(site):
    home = await page(site, HOME)
    for label in NAV_LABELS:
        url = find_nav_link(home, HOME, label)
        assert url and url.startswith(HOME), label
        html = await page(site, url)
        assert "<html" in html


# --- the shipped config against the replica ---------------------------------------------------

def shipped() -> Config:
    return load_config(str(REPO / "config.yaml"))


def test_shipped_config_validates():
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config = Config.model_validate(data)
    site = config.sites["cxnews"]
    assert site.home == HOME and set(site.allowed_hosts) == {"www.cxnews.cn", "cxnews.cn"}
    navs = {name: s.nav for name, s in site.sections.items() if s.nav}
    assert navs == {"cixi": "慈溪新闻", "minetong": "民e通", "qiaocheng": "桥城独家", "zhenjie": "镇街部门",
                    "waimei": "外媒聚焦", "pinglun": "桥城评论", "caijing": "财经要闻", "shehui": "社会生活"}
    assert site.sections["latest"].url == HOME
    assert shipped().sites == config.sites


async def on_site_links(client: TestClient, url: str, rules: Rules) -> list[str]:
    html = await page(client, url)
    links = find_links(html, url, rules, timezone="Asia/Shanghai", now=NOW)
    return [link.url for link in links if link.url.startswith(HOME)]


async def test_every_section_list_yields_articles_by_rules_and_by_heuristic_alike(site):
    config = shipped()
    home = await page(site, HOME)
    for ref in config.section_refs():
        url = ref.url or find_nav_link(home, HOME, ref.section.nav or "")
        assert url, ref.key
        by_rules = await on_site_links(site, url, ref.rules)
        by_heuristic = await on_site_links(site, url, Rules())
        assert by_rules, f"{ref.key}: no links by the configured rules"
        assert by_heuristic, f"{ref.key}: no links by the heuristic"
        if url == HOME:
            # On the home page the heuristic takes every article block in page order (the focus headline
            # first); the rules take the 最新 block, which holds the same articles.
            assert sorted(by_rules) == sorted(by_heuristic), ref.key
        else:
            assert by_rules == by_heuristic, ref.key
        for link in by_rules:
            html = await page(site, link)  # every listed article exists
            assert "责任编辑" in html


async def test_list_dates_and_texts_come_through(site):
    ref = shipped().section_ref("cxnews", "minetong")
    html = await page(site, HOME + "minetong/index.shtml")
    links = find_links(html, HOME + "minetong/index.shtml", ref.rules, timezone=ref.timezone, now=NOW)
    assert links[0].text == "网友反映小区路灯不亮 街道:已全部修复"
    assert links[0].published and links[0].published.date().isoformat() == "2021-12-08"  # "[12-08]"
    zhenjie = find_links(await page(site, HOME + "zhenjie/"), HOME + "zhenjie/", ref.rules, now=NOW)
    assert zhenjie[0].published and zhenjie[0].published.day == 8  # 2021年12月08日, GBK page


async def test_paginated_section_and_latest(site):
    config = shipped()
    cixi = config.section_ref("cxnews", "cixi")
    first_url = find_nav_link(await page(site, HOME), HOME, "慈溪新闻")
    first = await page(site, first_url)
    second_url = next_page_url(first, first_url, cixi.rules)
    assert second_url == HOME + "cixi/index_2.shtml"
    assert cixi.rules.max_pages >= 2
    second = await page(site, second_url)
    assert next_page_url(second, second_url, cixi.rules) is None
    page_one = await on_site_links(site, first_url, cixi.rules)
    page_two = await on_site_links(site, second_url, cixi.rules)
    assert len(page_one) == 5 and len(page_two) >= 1 and not set(page_one) & set(page_two)

    latest = config.section_ref("cxnews", "latest")
    links = await on_site_links(site, HOME, latest.rules)
    assert len(links) == 12
    assert HOME + SEED_PATH.lstrip("/") in links


async def test_sidebars_are_off_topic_and_partly_off_site(site):
    html = await page(site, HOME + "waimei/index.shtml")
    root = lxml.html.fromstring(html)
    sidebar = [a.get("href") for a in root.cssselect("div.box24 a")]
    assert any("www.cnnb.com.cn" in h for h in sidebar) and any("www.cxnews.cn" in h for h in sidebar)
    assert root.cssselect("div.hot a"), "list pages carry a same-host 热点排行 box"
    offsite = [a.get("href") for a in root.cssselect("ul.list a") if "cnnb.com.cn" in a.get("href")]
    assert offsite, "外媒聚焦 lists one story on another host"
