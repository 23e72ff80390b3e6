"""One `feedsvc refresh` of a site reads its home page once for all its `nav:` sections, and an
article once however many sections list it (issue 7 #20): an unreachable home page is one request,
not one per section."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedsvc.config import load_config
from feedsvc.fetch import Fetcher
from feedsvc.refresh import SectionRefresher
from feedsvc.store import open_store
from tests.hostile.cli_site import SITE, refresh_cli, write_config
from tests.support.upstream import RawUpstream, http_response

LABELS = ["要闻", "本地", "社会", "财经", "体育", "文化", "教育", "健康", "旅游"]
ARTICLE = "/news/2024/01/08/1.html"
ARTICLE_HTML = ("<html><head><title>两个栏目都列出的新闻</title></head><body><h1>两个栏目都列出的新闻</h1>"
                "<div id='content'><p>" + "正文内容。" * 40 + "</p></div></body></html>")


def nav_home() -> bytes:
    links = "".join(f"<a href='/s{i}/'>{label}</a>" for i, label in enumerate(LABELS))
    return http_response(200, f"<html><body><nav>{links}</nav></body></html>")


def listing(*paths: str) -> bytes:
    items = "".join(f"<li><a href='{path}'>栏目里的一条新闻，标题足够长 {n}</a></li>" for n, path in enumerate(paths))
    return http_response(200, f"<html><body><ul class='list'>{items}</ul></body></html>")


def nav_sections() -> dict[str, str]:
    return {f"s{i}": f"{{title: {label}, nav: {label}}}" for i, label in enumerate(LABELS)}


async def test_nine_nav_sections_read_the_home_page_once(tmp_path: Path) -> None:
    async with RawUpstream() as site:
        site.routes["/"] = nav_home()
        for i in range(len(LABELS)):
            site.routes[f"/s{i}/"] = listing(f"/news/2024/01/08/{i}.html")
            site.routes[f"/news/2024/01/08/{i}.html"] = http_response(200, ARTICLE_HTML)
        config = write_config(tmp_path, site.origin, sections=nav_sections(), site_extra="robots: false")
        code, out = await refresh_cli(config)
    assert code == 0, out
    assert site.paths.count("/") == 1
    assert sorted(p for p in site.paths if p.startswith("/s")) == [f"/s{i}/" for i in range(len(LABELS))]


async def test_an_unreachable_home_page_is_one_request_for_nine_nav_sections(tmp_path: Path) -> None:
    async with RawUpstream() as site:
        site.routes["/"] = http_response(503, "down")
        config = write_config(tmp_path, site.origin, sections=nav_sections(), site_extra="robots: false")
        code, out = await refresh_cli(config)
    assert code == 1, out
    assert site.paths == ["/"]
    errors = [line for line in out.splitlines() if line.startswith(f"{SITE}/s") and ": " in line]
    assert errors == [f"{SITE}/s{i}: HTTP 503 ({site.origin}/)" for i in range(len(LABELS))]


async def test_an_article_two_sections_list_is_fetched_once(tmp_path: Path) -> None:
    async with RawUpstream() as site:
        site.routes.update({"/a/": listing(ARTICLE), "/b/": listing(ARTICLE), ARTICLE: http_response(500, "oops")})
        sections = {"a": f'{{title: A, url: "{site.origin}/a/"}}', "b": f'{{title: B, url: "{site.origin}/b/"}}'}
        config = write_config(tmp_path, site.origin, sections=sections, site_extra="robots: false")
        code, out = await refresh_cli(config)
    assert code == 0, out
    assert site.paths.count(ARTICLE) == 1
    assert sorted(site.paths) == ["/a/", "/b/", ARTICLE]


async def test_a_section_run_again_by_the_same_service_retries_its_failed_article(tmp_path: Path) -> None:
    async with RawUpstream() as site:
        site.routes.update({"/a/": listing(ARTICLE), ARTICLE: http_response(500, "oops")})
        sections = {"a": f'{{title: A, url: "{site.origin}/a/"}}'}
        config = load_config(write_config(tmp_path, site.origin, sections=sections, site_extra="robots: false"))
        store = open_store(config.store.url)
        await store.open()
        try:
            async with Fetcher(config.fetch.plain()) as fetcher:
                refresher = SectionRefresher(fetcher, store)  # one refresher: the scheduler's runs, minutes apart
                (ref,) = config.section_refs()
                await refresher.refresh(ref)
                await refresher.refresh(ref)
        finally:
            await store.close()
    # Shared pages are for other sections: a section's next run asks again, it is not failed unasked.
    assert site.paths.count(ARTICLE) == 2


async def test_a_page_shared_between_sections_is_fetched_again_after_ten_minutes(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    async with RawUpstream() as site:
        site.routes.update({"/a/": listing(ARTICLE), "/b/": listing(ARTICLE), ARTICLE: http_response(500, "oops")})
        sections = {"a": f'{{title: A, url: "{site.origin}/a/"}}', "b": f'{{title: B, url: "{site.origin}/b/"}}'}
        config = load_config(write_config(tmp_path, site.origin, sections=sections, site_extra="robots: false"))
        store = open_store(config.store.url)
        await store.open()
        try:
            async with Fetcher(config.fetch.plain()) as fetcher:
                refresher = SectionRefresher(fetcher, store, clock=lambda: now[0])
                a, b = config.section_refs()
                await refresher.refresh(a)
                now[0] += timedelta(minutes=10, seconds=1)
                await refresher.refresh(b)
        finally:
            await store.close()
    assert site.paths.count(ARTICLE) == 2


async def test_sections_refreshed_at_once_as_the_scheduler_does_share_one_home_page_request(tmp_path: Path) -> None:
    async def slow_home(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)  # both sections ask while the first request is in flight
        writer.write(nav_home())
        await writer.drain()
        writer.close()

    async with RawUpstream() as site:
        site.scripts["/"] = slow_home
        for i in range(2):
            site.routes[f"/s{i}/"] = listing(f"/news/2024/01/08/{i}.html")
            site.routes[f"/news/2024/01/08/{i}.html"] = http_response(200, ARTICLE_HTML)
        sections = {name: spec for name, spec in list(nav_sections().items())[:2]}
        config = load_config(write_config(tmp_path, site.origin, sections=sections, site_extra="robots: false"))
        store = open_store(config.store.url)
        await store.open()
        try:
            async with Fetcher(config.fetch.plain()) as fetcher:
                refresher = SectionRefresher(fetcher, store)
                reports = await asyncio.gather(*(refresher.refresh(ref) for ref in config.section_refs()))
        finally:
            await store.close()
    assert [r.ok for r in reports] == [True, True], [r.error for r in reports]
    assert site.paths.count("/") == 1
