"""`feedsvc discover URL`: read a site's home page and the pages its navigation links to, and write
the config block an operator pastes under `sites:` (site, link_pattern, one section per label).

Reads pages with the section pipeline's own steps (`fetch_page`, `read_list_page`: robots honoured,
the heuristics with no rules), stores nothing. It follows the home page's host, its www twin and every
subdomain of its registrable domain (by the Public Suffix List: `news.cnnb.com.cn` for
`www.cnnb.com.cn`), since portals put their sections there; a section found there makes the block
allow `*.domain`. A URL that
looks like a section page rather than the home page (its navigation leads to the site's root) gets a
warning. Page text reaches the terminal only through `terminal.printable`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from aiohttp import abc as aiohttp_abc

from feedsvc.commands import EXIT_OK
from feedsvc.commands.demo import replica_dir, serve_replica
from feedsvc.commands.terminal import printable, say
from feedsvc.config import Defaults
from feedsvc.errors import ExtractError, FetchError, UsageError, one_line
from feedsvc.extract.discovery import (
    NavLink,
    common_url_pattern,
    nav_links,
    page_title,
    section_slug,
    site_name,
    site_slug,
)
from feedsvc.extract.links import find_nav_link
from feedsvc.extract.urls import host_of, is_site_root
from feedsvc.fetch import Fetcher, url_allowed
from feedsvc.model import FetchSettings, Origins, Tally
from feedsvc.pipeline import Scope, fetch_page, read_list_page
from feedsvc.public_suffix import is_address, is_public_suffix, registrable_domain

# Navigation pages read per run: enough for a portal's main menu (often 30-40 links, most on subdomains,
# each host with its own gap between requests), few enough to stay polite.
MAX_PAGES = 40
# A page listing this many article links has a list; fewer only count when they match the pattern
# the clear lists share (a small section of a small site), since one stray link proves nothing.
MIN_LINKS = 3

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Visit:
    """One navigation target: what it linked to, where it ended, the article links found there."""

    label: str
    url: str
    page_url: str | None = None
    links: tuple[str, ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class FoundSection:
    slug: str
    label: str
    url: str  # the list page (after redirects)
    by_nav: bool  # the label finds this page on the home page, so `nav:` works
    links: tuple[str, ...]


@dataclass(frozen=True)
class Discovery:
    url: str
    slug: str
    title: str
    home: str
    allowed_hosts: tuple[str, ...]
    link_pattern: str | None
    sections: tuple[FoundSection, ...]
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (label, why), as comments
    nav_count: int = 0
    pages_read: int = 0
    warnings: tuple[str, ...] = ()


def twin_host(host: str) -> str:
    """www.x.cn ↔ x.cn: sites redirect between the two, so both count as the home page's host."""
    return host.removeprefix("www.") if host.startswith("www.") else f"www.{host}"


def site_domain(url: str) -> str | None:
    """The registrable domain whose subdomains belong to the site at `url` (`cnnb.com.cn` for
    http://www.cnnb.com.cn/); None for an address or a name that is no registrable domain."""
    host = host_of(url)
    domain = registrable_domain(host)
    if not host or is_address(host) or "." not in domain or is_public_suffix(domain):
        return None
    return domain


def discovery_origins(url: str) -> Origins:
    """What discover may read: the home page's origin and host, its www twin, and (for a name under a
    registrable domain) every subdomain of that domain on the home page's port."""
    host = host_of(url)
    domain = site_domain(url)
    try:
        port = urlsplit(url.strip()).port
    except ValueError:
        port = None
    return Origins.of([host, twin_host(host)], urls=[url.strip()],
                      subdomains_of=[(domain, port)] if domain else ())


async def discover_site(
    url: str, fetch_settings: FetchSettings, *, resolver: aiohttp_abc.AbstractResolver | None = None,
    name: str | None = None, timezone: str = Defaults().timezone, max_pages: int = MAX_PAGES,
    progress: Progress | None = None,
) -> Discovery:
    """Read `url` and its navigation targets; FetchError when the home page cannot be read,
    ExtractError when no navigation page lists articles."""
    host = host_of(url)
    if urlsplit(url.strip()).scheme not in ("http", "https") or not host:
        raise UsageError(f"not an http(s) URL (e.g. http://www.example.cn/): {url!r}")
    scope = Scope(discovery_origins(url), timezone)
    tally = Tally()
    async with Fetcher(fetch_settings, resolver=resolver) as fetcher:
        home = await fetch_page(fetcher, url, scope, tally)
        html = home.text or ""
        navs = nav_links(html, home.url)
        if not navs:
            raise ExtractError(f"no navigation links found on {home.url} (looked in nav, menu and header areas)")
        skipped: list[tuple[str, str]] = []
        followed: list[NavLink] = []
        for nav in navs:
            if not url_allowed(nav.url, scope.origins):
                skipped.append((nav.label, f"{nav.url} not followed (host {host_of(nav.url)} is not the home page's "
                                           "nor one of its domain's)"))
            elif len(followed) >= max_pages:
                skipped.append((nav.label, f"{nav.url} not followed (read at most {max_pages} pages)"))
            else:
                followed.append(nav)
        # The address given counts, not where it redirected: a portal's root often lands on a deep path.
        warnings = [] if is_site_root(url) else section_page_warnings(home.url, navs)
        if progress is not None:
            progress(f"discover: {home.url}: {len(navs)} navigation links, reading {len(followed)} pages")
            for warning in warnings:
                progress(f"feedsvc: warning: {warning}")
        now = datetime.now(ZoneInfo(timezone))

        async def visit(nav: NavLink) -> Visit:
            try:
                page, found = await read_list_page(fetcher, nav.url, scope, tally, now=now)
            except FetchError as exc:
                return Visit(nav.label, nav.url, problem=f"could not read {nav.url}: {one_line(exc)}")
            return Visit(nav.label, nav.url, page.url, tuple(link.url for link in found))

        # The fetcher's per-host gate keeps this polite: at most its concurrency, its gap between requests.
        visits = await asyncio.gather(*(visit(nav) for nav in followed))
    found = _decide(url, home.url, html, name, list(visits), skipped, len(navs))
    return replace(found, warnings=tuple(warnings))


def section_page_warnings(page_url: str, navs: list[NavLink]) -> list[str]:
    """Why `page_url` looks like one section of a site rather than its home page: it is not the site's
    root and its navigation links to that root (首页)."""
    if is_site_root(page_url):
        return []
    hosts = {host_of(page_url), twin_host(host_of(page_url))}
    for nav in navs:
        if is_site_root(nav.url) and host_of(nav.url) in hosts:
            return [f"{page_url} looks like a section page, not the site's home page: its navigation links "
                    f"to {nav.url} ({nav.label}); for the whole site run `feedsvc discover {nav.url}`"]
    return []


def _decide(url: str, home_url: str, html: str, name: str | None, visits: list[Visit],
            skipped: list[tuple[str, str]], nav_count: int) -> Discovery:
    """Which visited pages become sections, their slugs, and the link_pattern they share."""
    lists: list[Visit] = []
    seen_pages: dict[str, str] = {}
    for v in visits:
        if v.problem:
            skipped.append((v.label, v.problem))
        elif v.page_url in seen_pages:
            skipped.append((v.label, f"{v.page_url} is the same page as {seen_pages[v.page_url]}"))
        else:
            seen_pages[v.page_url or ""] = v.label
            lists.append(v)
    strong = [v for v in lists if len(v.links) >= MIN_LINKS]
    pattern = common_url_pattern([link for v in strong for link in v.links])
    if pattern is not None:
        matcher = re.compile(pattern)
        # A pattern that also matches list pages would have refreshes treat sections as articles.
        if any(matcher.search(u) for u in [home_url, *seen_pages, *(v.url for v in visits)]):
            pattern = None
    chosen: list[Visit] = []
    for v in lists:
        if len(v.links) >= MIN_LINKS or (v.links and pattern and all(re.search(pattern, u) for u in v.links)):
            chosen.append(v)
        elif v.links:
            skipped.append((v.label, f"only {len(v.links)} article link{'s' if len(v.links) > 1 else ''} at "
                                     f"{v.page_url}, e.g. {v.links[0]}"))
        else:
            skipped.append((v.label, f"no article list found at {v.page_url}"))
    if not chosen:
        raise ExtractError(f"no section found: none of the {len(visits)} navigation pages read from {home_url} "
                           f"lists {MIN_LINKS} or more article links")
    sections = _name_sections(chosen, html, home_url)
    hosts = [host_of(home_url)]
    others = sorted({host_of(s.url) for s in sections} - set(hosts))
    domain = site_domain(home_url)
    # Sections on other subdomains: allow the domain's subdomains (articles live on yet others).
    if domain and any(h.endswith(f".{domain}") and h != twin_host(hosts[0]) for h in others):
        others = [h for h in others if not h.endswith(f".{domain}")] + [f"*.{domain}"]
    hosts += others
    return Discovery(
        url=url, slug=name or site_slug(host_of(home_url)) or "site",
        title=site_name(page_title(html)) or host_of(home_url), home=home_url, allowed_hosts=tuple(hosts),
        link_pattern=pattern, sections=tuple(sections), skipped=tuple(skipped), nav_count=nav_count,
        pages_read=len(visits),
    )


def _name_sections(chosen: list[Visit], html: str, home_url: str) -> list[FoundSection]:
    """Unique slugs from the list pages' paths (section1, section2… when a path gives none)."""
    used: set[str] = set()
    numbered = 0
    out = []
    for v in chosen:
        page_url = v.page_url or v.url
        slug = section_slug(v.url) or section_slug(page_url) or _subdomain_slug(page_url, home_url)
        if slug is None:
            numbered += 1
            slug = f"section{numbered}"
        base, n = slug, 1
        while slug in used:
            n += 1
            slug = f"{base[:60]}-{n}"
        used.add(slug)
        by_nav = find_nav_link(html, home_url, v.label) == v.url
        out.append(FoundSection(slug, v.label, page_url, by_nav, v.links))
    return out


def _subdomain_slug(url: str, home_url: str) -> str | None:
    """`news` for a section at http://news.example.com.cn/ (a portal's section on its own subdomain)."""
    host, home = host_of(url), host_of(home_url)
    if host in (home, twin_host(home)) or is_address(host):
        return None
    return section_slug(f"http://x/{host.split('.')[0]}/")


def _scalar(text: str) -> str:
    """A YAML scalar for block or flow context: plain when that reads back as the same string."""
    plain = (re.fullmatch(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}#'\"\n]*", text) and text == text.strip()
             and ": " not in text and not text.endswith(":"))
    try:
        if (plain and printable(text) == text and yaml.safe_load(text) == text
                and yaml.safe_load(f"{{k: {text}}}") == {"k": text}):
            return text
    except yaml.YAMLError:
        pass
    # A JSON string is a YAML double-quoted scalar; `printable` escapes what JSON leaves raw (C1
    # controls, bidi overrides) as \x9b / \u202e, escapes YAML's double quotes read back the same.
    return printable(json.dumps(text, ensure_ascii=False))


def _quoted_regex(pattern: str) -> str:
    # Single quotes: backslashes stay as they are, which is what a regex wants.
    return "'" + pattern.replace("'", "''") + "'"


def to_yaml(found: Discovery) -> str:
    """The site's config block, indented to paste under `sites:`; comments say what each line rests on."""
    out = [
        f"  # feedsvc discover {found.url}: {found.nav_count} navigation links, {found.pages_read} pages read, "
        f"{len(found.sections)} sections",
        *(f"  # warning: {warning}" for warning in found.warnings),
        "  # paste under `sites:` in config.yaml, then run `feedsvc check` and `feedsvc preview SITE/SECTION`",
        f"  {found.slug}:",
        f"    title: {_scalar(found.title)}",
        f"    home: {_scalar(found.home)}",
        f"    allowed_hosts: [{', '.join(_scalar(h) for h in found.allowed_hosts)}]",
    ]
    examples = [link for s in found.sections for link in s.links]
    if found.link_pattern:
        out += [
            "    rules:",
            f"      # the shape all {len(set(examples))} article URLs found below share",
            f"      link_pattern: {_quoted_regex(found.link_pattern)}",
        ]
    else:
        out.append("    # no link_pattern suggested: the article URLs found share no obvious shape")
    out.append("    sections:")
    for s in found.sections:
        count = f"{len(s.links)} article link{'s' if len(s.links) != 1 else ''}"
        out.append(f"      # {s.url}: {count}, e.g. {s.links[0]}")
        where = f"nav: {_scalar(s.label)}" if s.by_nav else f"url: {_scalar(s.url)}"
        out.append(f"      {s.slug}: {{title: {_scalar(s.label)}, {where}}}")
    for label, why in found.skipped:
        out.append(f"      # {label}: {why}")
    # Comments quote page text (labels, URLs, reasons): each line is made printable as a whole.
    return "\n".join(printable(line) for line in out) + "\n"


async def discover_yaml(url: str, fetch_settings: FetchSettings, *,
                        resolver: aiohttp_abc.AbstractResolver | None = None, name: str | None = None,
                        progress: Progress | None = None, timezone: str = Defaults().timezone) -> str:
    """discover_site, written out as the config block."""
    return to_yaml(await discover_site(url, fetch_settings, resolver=resolver, name=name, progress=progress,
                                       timezone=timezone))


def run(url: str, *, seeds: str | None = None, name: str | None = None,
        fetch_settings: FetchSettings | None = None, timezone: str | None = None) -> int:
    """Print a config block for the site at `url`; `seeds` answers from the replica. `fetch_settings`:
    the config's `fetch:` (user agent, timeouts, gap between requests...), else the defaults."""

    def progress(line: str) -> None:
        say(line, sys.stderr)

    async def main() -> str:
        if seeds is None:
            return await discover_yaml(url, fetch_settings or FetchSettings(), name=name, progress=progress,
                                       timezone=timezone or Defaults().timezone)
        async with serve_replica(replica_dir(seeds)) as (resolver, _):
            # Our own loopback server, as in demo: no need for the real site's gap between requests.
            fast = FetchSettings(min_delay=timedelta(seconds=0.01), backoff=timedelta(seconds=0.1))
            return await discover_yaml(url, fast, resolver=resolver, name=name, progress=progress)

    for line in asyncio.run(main()).splitlines():
        say(line)
    return EXIT_OK
