"""Only the configured origins are fetched, whatever a page, a redirect or robots.txt says (issue 7
#1-#3). The site runs on a raw upstream on 127.0.0.1; "a host outside the config" is another raw
upstream, on 127.0.0.2 or on another port, whose request log must stay empty."""

from __future__ import annotations

from pathlib import Path

from feedsvc.config import load_config
from tests.hostile.cli_site import LIST_PATH, SECTION, SITE, news_site, refresh_cli, write_config
from tests.support.upstream import RawUpstream, http_response, raw_redirect

ARTICLE = "/news/2024/01/08/1.html"
LIST_HTML = f"<html><body><ul class='list'><li><a href='{ARTICLE}'>本地新闻一则，标题足够长</a></li></ul></body></html>"
ARTICLE_HTML = ("<html><head><title>本地新闻一则</title></head><body><h1>本地新闻一则</h1>"
                "<div id='content'><p>" + "正文内容。" * 40 + "</p></div></body></html>")
SECRET_LIST = "<html><body><ul><li><a href='/admin/secret.html'>内部资料，请勿外传的标题</a></li></ul></body></html>"


def error_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"{SITE}/{SECTION}: "))


async def test_a_nav_label_leading_off_the_site_fails_the_section_without_a_request_there(tmp_path: Path) -> None:
    async with RawUpstream() as site, RawUpstream("127.0.0.2") as outside:
        outside.routes.update({"/list": http_response(200, SECRET_LIST), "/admin/secret.html": http_response(200, "x")})
        site.routes["/"] = http_response(200, f"<html><body><nav><a href='{outside.origin}/list'>内网</a>"
                                              f"<a href='{LIST_PATH}'>要闻</a></nav></body></html>")
        config = write_config(tmp_path, site.origin, sections={SECTION: "{title: 内网, nav: 内网}"})
        code, out = await refresh_cli(config)
    assert code == 1, out
    assert error_line(out) == (
        f"{SITE}/{SECTION}: navigation label '内网' on {site.origin}/ leads off the site's origins (127.0.0.1, "
        f"http://127.0.0.1:{site.port}), not followed; add its host to allowed_hosts if the site lives there "
        f"({outside.origin}/list)")
    assert outside.requests == []


async def test_a_robots_txt_redirect_off_the_site_is_not_followed_and_means_no_rules(tmp_path: Path) -> None:
    async with RawUpstream() as site, RawUpstream("127.0.0.2") as outside:
        outside.routes["/robots.txt"] = http_response(200, "User-agent: *\nDisallow: /\n",
                                                      headers={"Content-Type": "text/plain"})
        site.routes.update(news_site(LIST_HTML, {ARTICLE: ARTICLE_HTML}))
        site.routes["/robots.txt"] = raw_redirect(f"{outside.origin}/robots.txt")
        code, out = await refresh_cli(write_config(tmp_path, site.origin))
    assert outside.requests == []
    # Unavailable (as a 4xx), not unreachable: the site is read as if it had no robots.txt.
    assert code == 0, out
    assert site.paths == ["/robots.txt", LIST_PATH, ARTICLE]


async def test_a_robots_txt_redirect_within_the_site_is_followed(tmp_path: Path) -> None:
    async with RawUpstream() as site:
        site.routes.update(news_site(LIST_HTML, {ARTICLE: ARTICLE_HTML}))
        site.routes["/robots.txt"] = raw_redirect("/real-robots.txt", 301)
        site.routes["/real-robots.txt"] = http_response(200, f"User-agent: *\nDisallow: {LIST_PATH}\n",
                                                        headers={"Content-Type": "text/plain"})
        code, out = await refresh_cli(write_config(tmp_path, site.origin))
    assert code == 1, out
    assert "disallowed by robots.txt" in error_line(out)
    assert site.paths == ["/robots.txt", "/real-robots.txt"]


async def test_a_redirect_to_another_port_of_the_site_host_is_refused(tmp_path: Path) -> None:
    async with RawUpstream() as site, RawUpstream() as other_port:
        other_port.routes[LIST_PATH] = http_response(200, LIST_HTML)
        site.routes[LIST_PATH] = raw_redirect(f"{other_port.origin}{LIST_PATH}")
        code, out = await refresh_cli(write_config(tmp_path, site.origin, site_extra="robots: false"))
    assert code == 1, out
    assert error_line(out) == (f"{SITE}/{SECTION}: redirected to {other_port.origin}, which is not one of the "
                               f"site's origins ({site.origin}{LIST_PATH})")
    assert other_port.requests == []


async def test_a_host_port_entry_in_allowed_hosts_admits_that_port(tmp_path: Path) -> None:
    async with RawUpstream() as site, RawUpstream() as other_port:
        other_port.routes.update(news_site(LIST_HTML, {ARTICLE: ARTICLE_HTML}))
        site.routes[LIST_PATH] = raw_redirect(f"{other_port.origin}{LIST_PATH}")
        config = write_config(tmp_path, site.origin,
                              site_extra=f"robots: false\nallowed_hosts: ['127.0.0.1:{other_port.port}']")
        code, out = await refresh_cli(config)
    assert code == 0, out
    assert other_port.paths == [LIST_PATH, ARTICLE]


async def test_article_links_to_another_port_are_skipped_as_off_site(tmp_path: Path) -> None:
    async with RawUpstream() as site, RawUpstream() as other_port:
        other_port.routes[ARTICLE] = http_response(200, ARTICLE_HTML)
        listing = LIST_HTML.replace("</ul>", f"<li><a href='{other_port.origin}{ARTICLE}'>别处的新闻，标题也足够长</a></li></ul>")
        site.routes.update(news_site(listing, {ARTICLE: ARTICLE_HTML}))
        code, out = await refresh_cli(write_config(tmp_path, site.origin, site_extra="robots: false"))
    assert code == 0, out
    assert other_port.requests == []
    assert site.paths == [LIST_PATH, ARTICLE]


def test_a_sites_origins_are_its_hosts_on_default_ports_its_urls_origins_and_its_host_port_entries(
    tmp_path: Path
) -> None:
    config = load_config(write_config(
        tmp_path, "http://127.0.0.1:8080", sections={"a": '{title: A, url: "https://news.s.example/a/"}'},
        site_extra="allowed_hosts: [img.s.example, news.s.example, '127.0.0.2:9090', '[::1]:8081']"))
    origins = config.sites[SITE].origins()
    # A host: http on 80 and https on 443; host:port: that port, http or https; else one exact origin.
    assert str(origins) == "127.0.0.1, http://127.0.0.1:8080, 127.0.0.2:9090, [::1]:8081, img.s.example, news.s.example"
    assert origins.allows("https", "127.0.0.1", 443) and not origins.allows("https", "127.0.0.1", 8080)
    assert origins.allows("https", "127.0.0.2", 9090) and not origins.allows("http", "127.0.0.2", 80)
    assert not origins.allows("http", "img.s.example", 443)
