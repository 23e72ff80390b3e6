"""`feedsvc preview SITE/SECTION | URL`: show an operator what the configured rules (and the
heuristics) extract, storing nothing.

A section is previewed by the refresh's own section pipeline (feedsvc.pipeline) with nothing
remembered: nav resolution, list pages, origin checks, article fetches and extraction are the same
code, so the entries shown are the ones a first refresh would store. An article URL is read by the
pipeline's article step with the rules of the section whose site it belongs to; a URL that turns
out to be a list page (many article links, little text of its own) is said to be one, with its links.

Everything printed passes through `terminal.say`: page text never reaches the terminal raw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import abc as aiohttp_abc

from feedsvc.clock import Clock, utcnow
from feedsvc.commands import EXIT_OK
from feedsvc.commands.demo import replica_dir, serve_replica
from feedsvc.commands.terminal import say
from feedsvc.config import Config, SectionRef
from feedsvc.errors import ExtractError, FeedsvcError, UsageError
from feedsvc.extract.html import parse_html, select, text_of
from feedsvc.extract.links import find_links
from feedsvc.fetch import Fetcher, url_allowed
from feedsvc.model import Entry, FetchResult, ListedLink, Origins, Rules, Tally
from feedsvc.pipeline import NO_MEMORY, Scope, SectionPipeline, SectionRun, fetch_page, read_article

Out = Callable[[str], None]

# A page is a list, not an article, when it has at least this many article links and less text of
# its own than LIST_CHARS_PER_LINK per link, or when most of what reads as its body is link text.
LIST_MIN_LINKS = 3
LIST_CHARS_PER_LINK = 50


def section_for(config: Config, target: str) -> tuple[SectionRef | None, str | None]:
    """`site/section` → that section; a URL → the section of a site whose hosts include it (or none).
    NotFound for an unknown site or section, UsageError for a target that is neither."""
    if target.startswith(("http://", "https://")):
        host = (urlsplit(target).hostname or "").lower()
        for ref in config.section_refs():
            if host in ref.site.hosts() or ref.site.origins().covers_host(host):
                return ref, target
        return None, target
    site, _, section = target.partition("/")
    if not site or not section:
        raise UsageError(f"preview needs SITE/SECTION or an http(s) URL, not {target!r}")
    (ref,) = config.lookup(site, section)
    return ref, None


async def preview_run(
    fetcher: Fetcher, ref: SectionRef, *, clock: Clock = utcnow
) -> tuple[SectionRun, FeedsvcError | None]:
    """The section pipeline over `ref` with nothing remembered and nothing stored; the run as far as
    it got, and the error that stopped it (a refresh would store that error on the section)."""
    run = SectionRun(ref, started=clock())
    try:
        await SectionPipeline(fetcher, NO_MEMORY, clock=clock).run(run)
    except FeedsvcError as exc:
        return run, exc
    return run, None


def show_entry(entry: Entry, out: Out) -> None:
    for name in ("url", "title", "subtitle", "published", "author", "source", "editor", "image"):
        value = getattr(entry, name)
        out(f"  {name:<10} {value.isoformat() if hasattr(value, 'isoformat') else value}")
    out(f"  {'summary':<10} {entry.summary[:120]}")
    out(f"  {'body':<10} {len(entry.content_html)} chars of HTML")


def show_run(run: SectionRun, out: Out, *, limit: int, now: Clock) -> None:
    """What the pipeline found, in the order it found it."""
    ref = run.ref
    if run.resolved_url:
        out(f"nav label {ref.section.nav!r} → {run.resolved_url}")
    for page in run.pages:
        out(f"list page {page.url} ({page.status}, {page.charset}, {page.bytes_read} bytes)")
    if run.pages and run.pages[0].text is not None:
        first = run.pages[0]
        # For comparison only: what the heuristics alone would pick on the first page.
        heuristic = find_links(first.text or "", first.url, Rules(), timezone=ref.timezone, now=now())
        out(f"{len(run.links)} links by the configured rules, {len(heuristic)} by the heuristic alone"
            + (f", {run.offsite_skipped} off-site skipped" if run.offsite_skipped else ""))
    for link in run.links[:limit]:
        when = link.published.isoformat() if link.published else "-"
        out(f"  {when:<25} {link.text[:40]:<40} {link.url}")
    if len(run.links) > limit:
        out(f"  … and {len(run.links) - limit} more")
    if run.links:
        # Nothing is remembered in a preview, so every link counts as new: as on a first refresh.
        out(f"{len(run.new)} inside the {ref.max_age_days}-day window; "
            f"a first refresh fetches {len(run.entries)} of them now (max_new {ref.max_new})")
    for problem in run.problems:
        out(f"problem: {problem}")
    for index, entry in enumerate(run.entries):
        if index == 0:
            out(f"article {entry.url}{' (partial: the article could not be read)' if entry.partial else ''}")
            show_entry(entry, out)
        elif index < limit:
            when = entry.published.isoformat() if entry.published else "-"
            out(f"  {when:<25} {'(partial) ' if entry.partial else ''}{entry.title[:40]}  {entry.url}")
    if len(run.entries) > limit:
        out(f"  … and {len(run.entries) - limit} more")


async def preview(
    config: Config, target: str, out: Out = say, *, resolver: aiohttp_abc.AbstractResolver | None = None,
    limit: int = 10, clock: Clock = utcnow,
) -> int:
    ref, url = section_for(config, target)
    async with Fetcher(config.fetch.plain(), resolver=resolver) as fetcher:
        if url is None:
            assert ref is not None
            run, error = await preview_run(fetcher, ref, clock=clock)
            show_run(run, out, limit=limit, now=clock)
            if error is not None:
                raise error  # after what was found: the CLI prints it as its one error line (exit 1)
            if not run.entries and run.links and run.url:
                # Nothing a refresh would fetch (all too old, or 304): still show what the rules read.
                out("no article to fetch; reading the first listed one to show what the rules extract:")
                return await show_article(fetcher, run.links[0].url, Scope.of(ref), out, clock, limit)
            return EXIT_OK
        # A URL on no configured site: its own origin is the only one fetched.
        scope = Scope.of(ref) if ref else Scope(Origins.of(urls=[url]), config.defaults.timezone)
        return await show_article(fetcher, url, scope, out, clock, limit)


async def show_article(fetcher: Fetcher, url: str, scope: Scope, out: Out, clock: Clock, limit: int = 10) -> int:
    """One page read by the pipeline's article step, shown field by field; a page that reads as a list
    of articles is said to be one, with its links (a section's `url:`, not an article)."""
    now = clock()
    tally = Tally()
    entry: Entry | None
    try:
        page, entry = await read_article(fetcher, url, scope, tally, now=now)
    except ExtractError as exc:
        # No article in it: read it again as a list page would be, to tell the operator if it is one.
        page, entry = await fetch_page(fetcher, url, scope, tally), None
        links = await site_links(page, scope, now)
        if not list_page_signs(None, links):
            raise exc from None
    else:
        links = await site_links(page, scope, now)
    why = list_page_signs(entry, links)
    if why:
        out(f"{page.url} ({page.status}, {page.charset}) looks like a list page, not an article: {why}")
        for link in links[:limit]:
            when = link.published.isoformat() if link.published else "-"
            out(f"  {when:<25} {link.text[:40]:<40} {link.url}")
        if len(links) > limit:
            out(f"  … and {len(links) - limit} more")
        out("to follow it, give a section `url:` this address, then run `feedsvc preview SITE/SECTION`")
        if entry is None:
            return EXIT_OK
        out("read as an article anyway:")
    assert entry is not None
    out(f"article {page.url} ({page.status}, {page.charset})")
    show_entry(entry, out)
    return EXIT_OK


async def site_links(page: FetchResult, scope: Scope, now: datetime) -> list[ListedLink]:
    """The article links on `page` as a section's list page is read: the rules, the site's origins only."""
    found = await asyncio.to_thread(find_links, page.text or "", page.url, scope.rules, timezone=scope.timezone,
                                    now=now)
    return [link for link in found if url_allowed(link.url, scope.origins)]


def list_page_signs(entry: Entry | None, links: list[ListedLink]) -> str | None:
    """Why a page read as an article looks like a list page instead, or None when it does not."""
    if len(links) < LIST_MIN_LINKS:
        return None
    if entry is None:
        return f"{len(links)} article links and no article text"
    body, linked = _body_text(entry.content_html)
    if len(body) < LIST_CHARS_PER_LINK * len(links):
        return f"{len(links)} article links and only {len(body)} characters of article text"
    if linked * 2 >= len(body):
        return f"{len(links)} article links, and {linked} of its {len(body)} characters of text are links"
    return None


def _body_text(content_html: str) -> tuple[str, int]:
    """An entry's body as text, and how many of its characters are link text."""
    try:
        root = parse_html(content_html)
    except ExtractError:  # an empty body
        return "", 0
    return text_of(root), sum(len(text_of(a)) for a in select(root, "a[href]"))


def run(config: Config, target: str, *, seeds: str | None = None) -> int:
    """`feedsvc preview`: `seeds` answers for the replica's hosts from the bundled replica."""

    async def main() -> int:
        if seeds is None:
            return await preview(config, target)
        async with serve_replica(replica_dir(seeds)) as (resolver, _):
            return await preview(config, target, resolver=resolver)

    return asyncio.run(main())
