"""`feedsvc preview`: show an operator what the configured rules (and the heuristics) extract.

Fetches with the real fetcher, extracts with the real extractor, stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import abc as aiohttp_abc

from feedsvc.clock import utcnow
from feedsvc.config import Config, Rules, SectionRef
from feedsvc.errors import FeedsvcError, NotFound, one_line
from feedsvc.extract.article import extract_article
from feedsvc.extract.links import find_links, find_nav_link, next_page_url
from feedsvc.fetch import Fetcher
from feedsvc.model import Entry
from feedsvc.refresh import site_hosts

Out = Callable[[str], None]


def _section_for(config: Config, target: str) -> tuple[SectionRef | None, str | None]:
    """`site/section` → that section; a URL → the section of a site whose hosts include it (or none)."""
    if target.startswith(("http://", "https://")):
        host = (urlsplit(target).hostname or "").lower()
        for ref in config.section_refs():
            if host in site_hosts(ref.site):
                return ref, target
        return None, target
    site, _, section = target.partition("/")
    if site not in config.sites or section not in config.sites[site].sections:
        known = ", ".join(f"{r.key}" for r in config.section_refs()) or "(none)"
        raise NotFound(f"unknown section {target!r}; configured: {known}")
    return config.section_ref(site, section), None


def show_entry(entry: Entry, out: Out) -> None:
    for name in ("url", "title", "subtitle", "published", "author", "source", "editor", "image"):
        value = getattr(entry, name)
        out(f"  {name:<10} {value.isoformat() if hasattr(value, 'isoformat') else value}")
    out(f"  {'summary':<10} {entry.summary[:120]}")
    out(f"  {'body':<10} {len(entry.content_html)} chars of HTML")


async def preview(
    config: Config, target: str, out: Out = print, *, resolver: aiohttp_abc.AbstractResolver | None = None,
    limit: int = 10,
) -> int:
    ref, url = _section_for(config, target)
    rules = ref.rules if ref else Rules()
    timezone = ref.timezone if ref else config.defaults.timezone
    hosts = site_hosts(ref.site) if ref else frozenset({(urlsplit(url or "").hostname or "").lower()})
    robots = ref.site.robots if ref else True
    async with Fetcher(config.fetch, resolver=resolver) as fetcher:
        try:
            if url is None and ref is not None:
                url = ref.url
                if url is None:
                    home = await fetcher.get(ref.site.home, allowed_hosts=hosts, robots=robots)
                    url = find_nav_link(home.text or "", home.url, ref.section.nav or "")
                    if not url:
                        out(f"error: navigation label {ref.section.nav!r} not found on {ref.site.home}")
                        return 1
                    out(f"nav label {ref.section.nav!r} → {url}")
                hosts = site_hosts(ref.site, [url])
                page = await fetcher.get(url, allowed_hosts=hosts, robots=robots)
                links = find_links(page.text or "", page.url, rules, timezone=timezone, now=utcnow())
                heuristic = find_links(page.text or "", page.url, Rules(), timezone=timezone, now=utcnow())
                out(f"list page {page.url} ({page.status}, {page.charset}, {page.bytes_read} bytes)")
                out(f"{len(links)} links by the configured rules, {len(heuristic)} by the heuristic alone")
                for link in links[:limit]:
                    when = link.published.isoformat() if link.published else "-"
                    out(f"  {when:<25} {link.text[:40]:<40} {link.url}")
                nxt = next_page_url(page.text or "", page.url, rules)
                if nxt:
                    out(f"next page: {nxt}")
                if not links:
                    out("error: no article links found")
                    return 1
                url = links[0].url
            assert url is not None
            article = await fetcher.get(url, allowed_hosts=hosts, robots=robots)
            entry = extract_article(article.text or "", article.url, rules, timezone=timezone, now=utcnow())
            out(f"article {article.url} ({article.status}, {article.charset})")
            show_entry(entry, out)
            return 0
        except FeedsvcError as exc:
            out(f"error: {one_line(exc)}")
            return 1
