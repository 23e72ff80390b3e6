"""Hardening #10: one refresh of a section ends at its deadline (`section_deadline`), however slowly
its articles drip. What finished is stored; what did not is neither stored nor counted as failed, and
the list page's validators are not remembered, so the next run reads the list again and fetches the rest."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from feedsvc.cli import main
from feedsvc.config import load_config
from feedsvc.store import open_store
from tests.hostile.cli_site import run_cli
from tests.support.news_site import article_links, list_page, running_site
from tests.support.upstream import page, slow

LINKS = article_links("a", 4)  # in list order; the per-host limit of 2 fetches the first two first
FAST, DRIPPING = [path for path, _ in LINKS[:2]], [path for path, _ in LINKS[2:]]


async def drip(request: web.Request) -> web.StreamResponse:
    """An article that starts at once and then sends one byte every 0.1 s for a minute: no read
    timeout ever fires, only the total timeout (10 s here, and a retry) would end it."""
    resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
    await resp.prepare(request)
    await resp.write(b"<html><body>")
    for _ in range(600):
        await asyncio.sleep(0.1)
        await resp.write(b" ")
    return resp


def write_config(tmp_path: Path, port: int, deadline: str = "1s", rules: str = "") -> Path:
    origin = f"http://127.0.0.1:{port}"
    path = tmp_path / "config.yaml"
    path.write_text(f"""
store: {{url: "sqlite:///{tmp_path / 'feeds.db'}", max_age_days: 36500}}
fetch: {{connect_timeout: 1s, read_timeout: 1s, total_timeout: 10s, min_delay: 0.001s, retries: 1, backoff: 0.01s}}
defaults: {{section_deadline: {deadline}}}
sites:
  news:
    title: 测试新闻网
    home: {origin}/
    rules: {{title: "div.heading h1", published: "div.source span.left", body: "div#Zoom"{rules}}}
    sections:
      a: {{title: 要闻, url: "{origin}/a/"}}
""", encoding="utf-8")
    return path


async def stored_paths(config_path: Path) -> set[str]:
    store = open_store(load_config(str(config_path)).store.url)
    await store.open()
    try:
        return {urlsplit(entry.url).path for entry in await store.entries("news", "a")}
    finally:
        await store.close()


async def test_a_section_of_dripping_articles_ends_at_its_deadline_keeping_what_finished(tmp_path):
    async with running_site() as (site, port):
        site.links["a"] = LINKS
        for path in DRIPPING:
            site.upstream.route(path, drip)
        config = write_config(tmp_path, port)
        started = time.monotonic()
        code, out = await run_cli("refresh", "--config", str(config), "news/a")
        took = time.monotonic() - started
    assert code == 0, out
    assert 0.9 < took < 4, out  # 1 s deadline; without it, 2 x 10 s total timeouts per dripping article
    assert "news/a: section deadline reached; 2 articles left for the next run" in out
    assert await stored_paths(config) == set(FAST)  # the cut ones are not even partial entries


async def test_the_next_run_reads_the_list_again_and_fetches_what_the_deadline_cut(tmp_path):
    async with running_site() as (site, port):
        site.links["a"] = LINKS
        for path in DRIPPING:
            site.upstream.route(path, drip)
        config = write_config(tmp_path, port)
        started = time.monotonic()
        await run_cli("refresh", "--config", str(config), "news/a")
        assert time.monotonic() - started < 4  # cut by the deadline
        assert await stored_paths(config) == set(FAST)
        for path in DRIPPING:  # the site is quick again
            del site.upstream.routes[path]
        code, out = await run_cli("refresh", "--config", str(config), "news/a")
        second_list = [hit for hit in site.upstream.hits if hit.path == "/a/"][-1]
    assert code == 0, out
    # No validators were remembered from the cut run: a plain GET, answered 200, not a 304.
    assert "If-None-Match" not in second_list.headers and second_list.status == 200
    assert await stored_paths(config) == set(FAST) | set(DRIPPING)
    assert "deadline" not in out
    assert all(site.upstream.count(path) == 1 for path in FAST)  # finished ones are not fetched again


async def test_the_deadline_stops_reading_further_list_pages(tmp_path):
    async with running_site() as (site, port):
        for n in range(1, 11):  # ten slow list pages, each linking the next
            links = list_page(article_links("a", 10)[n - 1:n]).replace(
                "</ul>", f'</ul><a class="next" href="/a/{n + 1}.html">下一页</a>')
            site.upstream.route("/a/" if n == 1 else f"/a/{n}.html", slow(0.4, page(links)))
        config = write_config(tmp_path, port, rules=', next_page: "a.next", max_pages: 10')
        started = time.monotonic()
        code, out = await run_cli("refresh", "--config", str(config), "news/a")
        took = time.monotonic() - started
        pages_read = sum(1 for hit in site.upstream.hits if hit.path.startswith("/a/"))
    assert code == 0, out
    assert pages_read < 5 and took < 3, (pages_read, took)  # not all ten (4 s)
    assert "section deadline reached" in out


def test_a_section_deadline_is_set_per_section_over_site_over_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("""
defaults: {section_deadline: 2m}
sites:
  s:
    title: S
    home: http://s.example/
    section_deadline: 30s
    sections:
      a: {title: A, url: "http://s.example/a/", section_deadline: 10s}
      b: {title: B, url: "http://s.example/b/"}
  t:
    title: T
    home: http://t.example/
    sections: {c: {title: C, url: "http://t.example/c/"}}
""", encoding="utf-8")
    refs = load_config(str(path)).section_refs()
    assert [ref.deadline.total_seconds() for ref in refs] == [10, 30, 120]


def test_check_refuses_a_section_deadline_out_of_bounds_at_its_line(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("""defaults: {refresh: 15m}
sites:
  s:
    title: S
    home: http://s.example/
    section_deadline: 7h
    sections:
      a: {title: A, url: "http://s.example/a/"}
""", encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:6: sites.s.section_deadline: 7h is not a section deadline (use 1s to 6h)" in err
