"""Refresh pipeline against a misbehaving fixture site: every failure is stored as data, loses nothing,
and leaves other sections alone. Real fetcher, real extraction, real SQLite store; only the site is fake."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import timedelta, timezone

import feedparser
import pytest
from aiohttp.test_utils import TestClient, TestServer

from feedsvc.commands.preview import preview_run
from feedsvc.commands.refresh import refresh_once
from feedsvc.config import Config
from feedsvc.errors import one_line
from feedsvc.fetch import Fetcher
from feedsvc.fetch.resolver import StaticResolver
from feedsvc.refresh import SectionRefresher
from feedsvc.store import open_store
from feedsvc.web import make_app
from tests.support import NOW
from tests.support.news_site import ARTICLE, HOST, article_links, list_page, make_config
from tests.support.upstream import Upstream, page, redirect, running

SHANGHAI = timezone(timedelta(hours=8))


async def refresh(config: Config, port: int, section: str):
    store = open_store(config.store.url)
    await store.open()
    fetcher = Fetcher(config.fetch.plain(), resolver=StaticResolver({HOST: ("127.0.0.1", port)}))
    try:
        report = await SectionRefresher(fetcher, store, clock=lambda: NOW).refresh(config.section_ref("news", section))
        return report, await store.entries("news", section), await store.section_state("news", section)
    finally:
        await fetcher.close()
        await store.close()


async def test_first_refresh_fills_both_sections(site, tmp_path):
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    report, entries, state = await refresh(config, port, "a")
    assert report.ok, report.error
    assert report.inserted == 4 and report.articles_fetched == 4
    assert [e.title for e in entries][0].startswith("测试新闻标题")
    assert all(e.published and e.published.year == 2021 for e in entries)
    assert "第一段正文" in entries[0].content_html
    assert state.last_error is None and state.consecutive_failures == 0


async def test_nothing_new_sends_only_a_conditional_list_request(site, tmp_path):
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    await refresh(config, port, "a")
    fixture.hits.clear()
    report, entries, _ = await refresh(config, port, "a")
    assert report.ok and report.list_not_modified
    assert report.articles_fetched == 0  # (requests also counts robots.txt: each call here has a new Fetcher)
    assert fixture.hits == ["/a/"]
    assert len(entries) == 4


FAILURES = {
    "timeout": "timed out",
    "5xx": "502",
    "429": "429",
    "reset": "",
    "too-large": "",
    "redirect-loop": "redirect",
    "not-html": "",
    "undecodable": "",
    "empty": "",
    "malformed": "no article links",
    "offsite": "no article links",
    "vanished": "no article links",
}


@pytest.mark.parametrize("mode", sorted(FAILURES))
async def test_failing_section_keeps_entries_and_stores_error(site, tmp_path, mode):
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    for section in ("a", "b"):
        assert (await refresh(config, port, section))[0].ok
    _, before_a, _ = await refresh(config, port, "a")
    _, before_b, _ = await refresh(config, port, "b")

    fixture.modes["a"] = mode
    fixture.links["a"] = article_links("a", 6)  # new links exist, but the list page now fails
    report, after_a, state = await refresh(config, port, "a")
    assert not report.ok
    assert report.error and "\n" not in report.error and "Traceback" not in report.error
    assert FAILURES[mode].lower() in report.error.lower()
    assert [e.url for e in after_a] == [e.url for e in before_a]
    assert state.last_error == report.error and state.consecutive_failures == 1

    report_b, after_b, state_b = await refresh(config, port, "b")
    assert report_b.ok and state_b.last_error is None
    assert [e.url for e in after_b] == [e.url for e in before_b]

    fixture.modes["a"] = "ok"  # recovery: the error clears and the new links arrive
    report, recovered, state = await refresh(config, port, "a")
    assert report.ok and state.consecutive_failures == 0 and state.last_error is None
    assert len(recovered) == 6


async def test_robots_disallow_is_an_error_and_opt_out_is_honoured(site, tmp_path):
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    fixture.robots = "User-agent: *\nDisallow: /a/\n"
    report, entries, state = await refresh(config, port, "a")
    assert not report.ok and "robots" in report.error.lower()
    assert entries == [] and state.consecutive_failures == 1
    assert "/a/" not in fixture.hits

    data = config.model_dump()
    data["sites"]["news"]["robots"] = False
    data.pop("source_file", None)
    report, entries, _ = await refresh(Config.model_validate(data), port, "a")
    assert report.ok and len(entries) == 4


async def test_offsite_links_are_skipped_and_counted(site, tmp_path):
    fixture, port = site
    data = make_config(port, str(tmp_path / "f.db")).model_dump(exclude={"source_file"})
    data["sites"]["news"]["rules"]["links"] = "ul.list a"  # a selector that also catches the off-site link
    config = Config.model_validate(data)
    fixture.links["a"] = article_links("a", 2) + [("http://elsewhere.example/system/2021/12/01/1.shtml", "外站新闻标题一条")]
    report, entries, _ = await refresh(config, port, "a")
    assert report.ok
    assert report.offsite_skipped == 1 and len(entries) == 2
    assert all(HOST in e.url for e in entries)


async def test_failed_article_appears_with_list_text_and_is_retried(site, tmp_path):
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    missing = ("/system/2021/12/08/000000999.shtml", "暂时打不开的文章标题")
    fixture.links["a"] = article_links("a", 2) + [missing]
    fixture.broken_articles.add(missing[0])
    report, entries, _ = await refresh(config, port, "a")
    assert report.ok and report.articles_failed == 1
    partial = [e for e in entries if e.url.endswith("000000999.shtml")]
    assert partial and partial[0].title == missing[1] and partial[0].partial
    assert partial[0].published is not None and partial[0].published.astimezone(SHANGHAI).date().isoformat() == "2021-12-08"

    fixture.broken_articles.clear()
    fixture.hits.clear()
    report, entries, _ = await refresh(config, port, "a")
    assert report.ok and report.articles_fetched == 1
    healed = [e for e in entries if e.url.endswith("000000999.shtml")][0]
    assert not healed.partial and "第一段正文" in healed.content_html


def nav_config(port: int, db: str) -> Config:
    """The fixture config with section "a" found by its navigation label 要闻 instead of its URL."""
    data = make_config(port, db).model_dump(exclude={"source_file"})
    data["sites"]["news"]["sections"]["a"] = {"title": "要闻", "nav": "要闻"}
    return Config.model_validate(data)


async def test_nav_section_resolves_its_label_and_resolves_again_when_the_link_moves(site, tmp_path):
    fixture, port = site
    config = nav_config(port, str(tmp_path / "f.db"))
    report, entries, state = await refresh(config, port, "a")
    assert report.ok and len(entries) == 4
    assert state.resolved_url == f"http://{HOST}/a/"

    fixture.hits.clear()
    await refresh(config, port, "a")
    assert "/" not in fixture.hits, "a resolved label is remembered, not looked up every run"

    fixture.links["moved"] = article_links("a", 5)  # the site moves the section; the old URL is gone
    del fixture.links["a"]
    fixture.nav["要闻"] = "/moved/"
    report, entries, state = await refresh(config, port, "a")
    assert report.ok, report.error
    assert state.resolved_url == f"http://{HOST}/moved/" and len(entries) == 5

    fixture.nav.pop("要闻")
    del fixture.links["moved"]
    report, entries, state = await refresh(config, port, "a")
    assert not report.ok and "要闻" in report.error
    assert len(entries) == 5


async def test_nav_section_resolves_again_when_its_remembered_page_lists_nothing(site, tmp_path):
    # A portal that retires a section URL often keeps answering it with 200 and an empty list.
    fixture, port = site
    config = nav_config(port, str(tmp_path / "f.db"))
    report, entries, state = await refresh(config, port, "a")
    assert report.ok and state.resolved_url == f"http://{HOST}/a/"

    fixture.modes["a"] = "vanished"
    fixture.links["moved"] = article_links("a", 5)
    fixture.nav["要闻"] = "/moved/"
    report, entries, state = await refresh(config, port, "a")
    assert report.ok, report.error
    assert state.resolved_url == f"http://{HOST}/moved/" and len(entries) == 5

    # The label still leads to an empty list: the section fails, and that list is not asked for twice.
    fixture.modes["moved"] = "vanished"
    fixture.hits.clear()
    report, entries, state = await refresh(config, port, "a")
    assert not report.ok and "要闻" in report.error
    assert fixture.hits == ["/moved/", "/"]
    assert len(entries) == 5


async def test_a_failing_section_shows_its_error_and_keeps_serving_its_feed(site, tmp_path):
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    await refresh(config, port, "a")
    fixture.modes["a"] = "5xx"
    report, _, _ = await refresh(config, port, "a")

    store = open_store(config.store.url)
    await store.open()
    try:
        async with TestClient(TestServer(make_app(config, store), host="127.0.0.1")) as client:
            index = await (await client.get("/")).text()
            assert "failing" in index and html.escape(report.error) in index
            health = await (await client.get("/status.json")).json()
            assert health["sections"]["news/a"]["last_error"] == report.error
            assert health["sections"]["news/a"]["status"] == "failing"
            assert health["sections"]["news/b"]["status"] == "pending"
            feed = feedparser.parse(await (await client.get("/news/a.atom")).read())
            assert len(feed.entries) == 4 and not feed.bozo
    finally:
        await store.close()


async def test_max_new_caps_article_fetches_and_the_rest_come_next_run(site, tmp_path):
    fixture, port = site
    data = make_config(port, str(tmp_path / "f.db")).model_dump(exclude={"source_file"})
    data["sites"]["news"]["sections"]["a"]["max_new"] = 3
    config = Config.model_validate(data)
    fixture.links["a"] = article_links("a", 5)
    report, entries, _ = await refresh(config, port, "a")
    assert report.ok and report.articles_fetched == 3 and report.new_links == 5 and len(entries) == 3
    fixture.hits.clear()
    report, entries, _ = await refresh(config, port, "a")
    assert report.ok and report.articles_fetched == 2 and len(entries) == 5
    assert not report.list_not_modified, "with articles left over, the list must be read again in full"
    report, _, _ = await refresh(config, port, "a")
    assert report.list_not_modified and report.articles_fetched == 0


async def test_a_hanging_site_does_not_delay_another_site(site, tmp_path):
    fixture, port = site
    data = make_config(port, str(tmp_path / "f.db")).model_dump(exclude={"source_file"})
    slow = data["sites"]["news"]
    data["sites"]["other"] = {**slow, "home": "http://other.example/",
                              "sections": {"b": {"title": "社会", "url": "http://other.example/b/"}}}
    slow["sections"] = {"a": slow["sections"]["a"]}
    data["store"]["max_age_days"] = 36500  # the real clock orders the reports; the articles are from 2021
    config = Config.model_validate(data)
    fixture.modes["a"] = "timeout"
    resolver = StaticResolver({HOST: ("127.0.0.1", port), "other.example": ("127.0.0.1", port)})
    reports = {r.site: r for r in await refresh_once(config, config.section_refs(), resolver=resolver)}
    assert not reports["news"].ok and reports["other"].ok
    assert reports["other"].finished < reports["news"].finished


async def test_a_redirected_article_keeps_its_list_url_and_resolves_links_where_it_landed(tmp_path):
    # Portals move old articles and redirect: relative images must resolve against the page's real address.
    old, new = "/system/2021/12/08/000000777.shtml", "/new/2021/777.shtml"
    article_page = ARTICLE.format(title="迁移后的新闻稿件标题", day=8, minute=30).replace(
        "<p>全媒体记者 张三</p>", '<p><img src="pic/photo.jpg" width="600"></p><p>全媒体记者 张三</p>')

    upstream = Upstream(routes={"/a/": page(list_page([(old, "迁移后的新闻稿件标题")])),
                                old: redirect(new, 301), new: page(article_page)})
    async with running(upstream):
        report, entries, _ = await refresh(make_config(upstream.port, str(tmp_path / "f.db")), upstream.port, "a")
    assert report.ok and report.articles_fetched == 1, report.error
    (entry,) = entries
    assert entry.url == f"http://{HOST}{old}", "the id stays the listed URL, or every run would fetch it again"
    assert f'src="http://{HOST}/new/2021/pic/photo.jpg"' in entry.content_html
    assert entry.image == f"http://{HOST}/new/2021/pic/photo.jpg"


async def test_an_article_that_never_loads_is_given_up_after_its_attempts(site, tmp_path):
    fixture, port = site
    data = make_config(port, str(tmp_path / "f.db")).model_dump(exclude={"source_file"})
    data["defaults"]["article_attempts"] = 2
    config = Config.model_validate(data)
    broken = article_links("a", 1)[0][0]
    fixture.broken_articles.add(broken)
    for _ in range(2):
        report, entries, _ = await refresh(config, port, "a")
        assert report.ok and report.articles_failed == 1 and not report.list_not_modified
    fixture.hits.clear()
    report, entries, _ = await refresh(config, port, "a")
    assert report.ok and report.new_links == 0 and broken not in fixture.hits
    report, _, _ = await refresh(config, port, "a")
    assert report.list_not_modified, "given up: the list page is answered 304 again"
    assert [e.title for e in entries if e.url.endswith(broken)] == [article_links("a", 1)[0][1]]


# --- preview is the refresh pipeline with nothing stored ------------------------------------------


def comparable(entries) -> list:
    """Entries as the pipeline makes them: without what the store adds (first_seen, categories, updated)."""
    return sorted((replace(e, first_seen=None, categories=(), updated=None) for e in entries), key=lambda e: e.url)


async def preview_entries(config: Config, port: int, section: str):
    async with Fetcher(config.fetch.plain(), resolver=StaticResolver({HOST: ("127.0.0.1", port)})) as fetcher:
        run, error = await preview_run(fetcher, config.section_ref("news", section), clock=lambda: NOW)
    return run, error


@pytest.mark.parametrize("nav", [False, True], ids=["url", "nav"])
async def test_preview_shows_exactly_the_entries_a_refresh_stores(site, tmp_path, nav):
    fixture, port = site
    config = (nav_config if nav else make_config)(port, str(tmp_path / "f.db"))
    missing = ("/system/2021/12/08/000000999.shtml", "暂时打不开的文章标题")
    fixture.links["a"] = article_links("a", 3) + [missing]
    fixture.broken_articles.add(missing[0])  # a partial entry must agree too

    run, error = await preview_entries(config, port, "a")
    assert error is None
    assert not (tmp_path / "f.db").exists(), "a preview never opens the store"
    report, stored, state = await refresh(config, port, "a")
    assert report.ok and report.articles_failed == 1
    assert len(run.entries) == 4 and [e.partial for e in comparable(run.entries)].count(True) == 1
    assert comparable(run.entries) == comparable(stored)
    assert run.report(NOW).links_found == report.links_found and run.report(NOW).new_links == report.new_links
    assert (run.resolved_url is not None) == nav and state.resolved_url == run.resolved_url


async def test_preview_stores_nothing_and_reports_the_error_a_refresh_would_store(site, tmp_path):
    fixture, port = site
    config = make_config(port, str(tmp_path / "f.db"))
    run, error = await preview_entries(config, port, "a")
    assert error is None and run.entries
    assert not (tmp_path / "f.db").exists(), "a preview never opens the store"

    fixture.modes["a"] = "malformed"
    run, error = await preview_entries(config, port, "a")
    report, _, _ = await refresh(config, port, "a")
    assert error is not None and not report.ok and report.error == one_line(error)
    assert run.report(NOW, error=one_line(error)).links_found == report.links_found
