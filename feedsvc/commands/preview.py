"""`feedsvc preview SITE/SECTION | URL`: show an operator what the configured rules (and the
heuristics) extract, storing nothing.

A section is previewed by the refresh's own section pipeline (feedsvc.pipeline) with nothing
remembered: nav resolution, list pages, host checks, article fetches and extraction are the same
code, so the entries shown are the ones a first refresh would store. An article URL is read by the
pipeline's article step with the rules of the section whose site it belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import abc as aiohttp_abc

from feedsvc.clock import Clock, utcnow
from feedsvc.commands import EXIT_ERROR, EXIT_OK
from feedsvc.commands.demo import replica_dir, serve_replica
from feedsvc.config import Config, SectionRef
from feedsvc.errors import FeedsvcError, one_line
from feedsvc.extract.links import find_links
from feedsvc.fetch import Fetcher
from feedsvc.model import Entry, Rules, Tally
from feedsvc.pipeline import NO_MEMORY, Scope, SectionPipeline, SectionRun, read_article

Out = Callable[[str], None]


def section_for(config: Config, target: str) -> tuple[SectionRef | None, str | None]:
    """`site/section` → that section; a URL → the section of a site whose hosts include it (or none)."""
    if target.startswith(("http://", "https://")):
        host = (urlsplit(target).hostname or "").lower()
        for ref in config.section_refs():
            if host in ref.site.hosts():
                return ref, target
        return None, target
    site, _, section = target.partition("/")
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
    config: Config, target: str, out: Out = print, *, resolver: aiohttp_abc.AbstractResolver | None = None,
    limit: int = 10, clock: Clock = utcnow,
) -> int:
    ref, url = section_for(config, target)
    async with Fetcher(config.fetch.plain(), resolver=resolver) as fetcher:
        if url is None:
            assert ref is not None
            run, error = await preview_run(fetcher, ref, clock=clock)
            show_run(run, out, limit=limit, now=clock)
            if error is not None:
                out(f"error: {one_line(error)}")
                return EXIT_ERROR
            if not run.entries and run.links and run.url:
                # Nothing a refresh would fetch (all too old, or 304): still show what the rules read.
                out("no article to fetch; reading the first listed one to show what the rules extract:")
                return await show_article(fetcher, run.links[0].url, Scope.of(ref, run.url), out, clock)
            return EXIT_OK
        scope = Scope.of(ref) if ref else Scope(frozenset({(urlsplit(url).hostname or "").lower()}),
                                                config.defaults.timezone)
        return await show_article(fetcher, url, scope, out, clock)


async def show_article(fetcher: Fetcher, url: str, scope: Scope, out: Out, clock: Clock) -> int:
    """One article read by the pipeline's article step, shown field by field."""
    try:
        page, entry = await read_article(fetcher, url, scope, Tally(), now=clock())
    except FeedsvcError as exc:
        out(f"error: {one_line(exc)}")
        return EXIT_ERROR
    out(f"article {page.url} ({page.status}, {page.charset})")
    show_entry(entry, out)
    return EXIT_OK


def run(config: Config, target: str, *, seeds: str | None = None) -> int:
    """`feedsvc preview`: `seeds` answers for the replica's hosts from the bundled replica."""

    async def main() -> int:
        if seeds is None:
            return await preview(config, target)
        async with serve_replica(replica_dir(seeds)) as (resolver, _):
            return await preview(config, target, resolver=resolver)

    return asyncio.run(main())
