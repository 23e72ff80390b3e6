"""Joins fetch → extract → store for one section. The only room that knows all three.

`refresh_section` never raises for a section's own failure: the error becomes data on the section
(store.record_attempt) and the section keeps serving its last good entries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from feedsvc.clock import Clock, utcnow
from feedsvc.config import SectionRef, Site
from feedsvc.errors import ExtractError, FeedsvcError, FetchError, HTTPStatusError, one_line
from feedsvc.extract.article import extract_article
from feedsvc.extract.links import find_links, find_nav_link, next_page_url
from feedsvc.fetch import Fetcher
from feedsvc.model import Entry, FetchResult, ListedLink, RefreshReport, Tally, Validators
from feedsvc.store import Store

log = logging.getLogger("feedsvc.refresh")

def site_hosts(site: Site, section_urls: Iterable[str] = ()) -> frozenset[str]:
    """Hosts that belong to a site: its home, its section URLs and its allowed_hosts."""
    hosts = {urlsplit(site.home).hostname or ""}
    hosts.update(urlsplit(u).hostname or "" for u in section_urls if u)
    hosts.update(h.lower() for h in site.allowed_hosts)
    for section in site.sections.values():
        if section.url:
            hosts.add(urlsplit(section.url).hostname or "")
    hosts.discard("")
    return frozenset(h.lower() for h in hosts)


class SectionRefresher:
    """Refreshes sections with one shared fetcher and store; `clock` is injectable for tests."""

    def __init__(self, fetcher: Fetcher, store: Store, *, clock: Clock = utcnow):
        self.fetcher = fetcher
        self.store = store
        self.clock = clock

    async def refresh(self, ref: SectionRef) -> RefreshReport:
        started = self.clock()
        tally = Tally()
        counts: dict[str, int] = {}
        try:
            report = await self._refresh(ref, started, tally, counts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one section's failure must never escape: it is stored as data
            if not isinstance(exc, FeedsvcError):
                log.exception("unexpected error refreshing %s", ref.key)
            report = RefreshReport(
                site=ref.site_name, section=ref.name, started=started, finished=self.clock(),
                ok=False, error=one_line(exc), requests=tally.requests, bytes_read=tally.bytes_read,
                **counts,
            )
            try:
                await self.store.record_attempt(report)
            except FeedsvcError as store_exc:
                log.error("%s: could not record failure: %s", ref.key, store_exc)
        return report

    async def _section_url(self, ref: SectionRef, tally: Tally, *, force: bool = False) -> str:
        """The list page URL; a nav label is resolved on the home page and remembered in the store."""
        if ref.url:
            return ref.url
        if not force:
            state = await self.store.section_state(ref.site_name, ref.name)
            if state.resolved_url:
                return state.resolved_url
        home = tally.add(await self.fetcher.get(
            ref.site.home, allowed_hosts=site_hosts(ref.site), robots=ref.site.robots))
        assert home.text is not None
        url = find_nav_link(home.text, home.url, ref.section.nav or "")
        if not url:
            raise ExtractError(f"navigation label {ref.section.nav!r} not found on {ref.site.home}")
        await self.store.set_resolved_url(ref.site_name, ref.name, url)
        return url

    async def _list_links(
        self, ref: SectionRef, url: str, tally: Tally, counts: dict[str, int]
    ) -> tuple[list[ListedLink], FetchResult]:
        """The site's article links on the list page (and its next pages), with the first page's
        result; no links when that page is not modified (304). ExtractError when it lists none."""
        hosts = site_hosts(ref.site, [url])
        validators = await self.store.get_validators(url)
        first = tally.add(await self.fetcher.get(
            url, allowed_hosts=hosts, robots=ref.site.robots, validators=validators))
        if first.not_modified:
            return [], first
        links: list[ListedLink] = []
        seen: set[str] = set()
        page, page_url, pages = first, first.url, 1
        while True:
            assert page.text is not None
            found = await asyncio.to_thread(
                find_links, page.text, page_url, ref.rules, timezone=ref.timezone, now=self.clock())
            for link in found:
                if link.url not in seen:
                    seen.add(link.url)
                    links.append(link)
            if pages >= ref.rules.max_pages:
                break
            nxt = await asyncio.to_thread(next_page_url, page.text, page_url, ref.rules)
            if not nxt or nxt in (page_url, url):
                break
            pages += 1
            try:
                page = tally.add(await self.fetcher.get(nxt, allowed_hosts=hosts, robots=ref.site.robots))
            except FetchError as exc:  # later pages are a bonus; page one decides the section's health
                log.warning("%s: next page %s: %s", ref.key, nxt, exc)
                break
            page_url = page.url
        on_site = [link for link in links if (urlsplit(link.url).hostname or "").lower() in hosts]
        counts["links_found"] = len(on_site)
        counts["offsite_skipped"] = len(links) - len(on_site)
        if not on_site:
            if ref.url is None and not links:
                raise ExtractError(f"no article links on {url} (navigation label {ref.section.nav!r})")
            raise ExtractError(f"no article links found on {url}")
        return on_site, first

    async def _article(
        self, ref: SectionRef, link: ListedLink, hosts: frozenset[str], tally: Tally
    ) -> Entry:
        """The parsed article, or a partial entry from the list link if it cannot be had now."""
        try:
            result = tally.add(await self.fetcher.get(link.url, allowed_hosts=hosts, robots=ref.site.robots))
            assert result.text is not None
            # Extraction is pure CPU work: in a worker thread it doesn't stall feeds served meanwhile.
            # The page is read at the address it landed on after redirects (its relative links resolve
            # there); `listed=link` gives a page that prints no date the one beside its link.
            entry = await asyncio.to_thread(
                extract_article, result.text, result.url, ref.rules,
                timezone=ref.timezone, now=self.clock(), listed=link)
            # The listed URL stays the id: it is what the next run's known_urls check looks for.
            return replace(entry, url=link.url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one bad article must not sink its section: keep the list link for now
            if isinstance(exc, FeedsvcError):
                log.warning("%s: article %s: %s", ref.key, link.url, exc)
            else:
                log.exception("%s: article %s: unexpected extraction error", ref.key, link.url)
            return Entry(url=link.url, title=link.text or link.url, published=link.published, partial=True)

    async def _refresh(
        self, ref: SectionRef, started: datetime, tally: Tally, counts: dict[str, int]
    ) -> RefreshReport:
        url = await self._section_url(ref, tally)
        try:
            on_site, first = await self._list_links(ref, url, tally, counts)
        except (HTTPStatusError, ExtractError) as exc:
            if ref.url or (isinstance(exc, HTTPStatusError) and exc.status not in (404, 410)):
                raise
            # A nav section whose remembered page is gone or lists no article any more: the site may
            # have moved it, so the label is looked up again, once (and the same page not asked twice).
            moved = await self._section_url(ref, tally, force=True)
            if moved == url:
                raise
            url = moved
            on_site, first = await self._list_links(ref, url, tally, counts)

        if first.not_modified:  # 304: nothing new, nothing parsed
            report = RefreshReport(
                site=ref.site_name, section=ref.name, started=started, finished=self.clock(), ok=True,
                list_not_modified=True, requests=tally.requests, bytes_read=tally.bytes_read)
            await self.store.record_attempt(report)
            return report

        hosts = site_hosts(ref.site, [url])
        # Stored articles are not fetched again; nor are ones that failed `article_attempts` refreshes
        # (they stay as their list link), or the list page could never be answered 304 again.
        known = await self.store.known_urls(
            ref.site_name, [link.url for link in on_site], give_up_after=ref.article_attempts)
        # A link dated before the rolling window would be dropped on arrival: don't fetch it at all.
        cutoff = self.clock() - timedelta(days=ref.max_age_days)
        new = [link for link in on_site if link.url not in known
               and (link.published is None or link.published >= cutoff)]
        todo = new[: ref.max_new]
        counts["new_links"] = len(new)
        entries = await asyncio.gather(*(self._article(ref, link, hosts, tally) for link in todo))
        failed = sum(1 for e in entries if e.partial)
        counts["articles_fetched"] = len(todo) - failed
        counts["articles_failed"] = failed

        # Remember the list page's validators only when this run took everything it listed: with
        # articles left for later (failed or over max_new) the next run must see the list again.
        complete = not failed and len(todo) == len(new)
        validators = {url: first.validators if complete else Validators()}
        if first.url != url:
            validators[first.url] = validators[url]
        report = RefreshReport(
            site=ref.site_name, section=ref.name, started=started, finished=self.clock(), ok=True,
            requests=tally.requests, bytes_read=tally.bytes_read, **counts)
        result = await self.store.upsert(
            ref.site_name, ref.name, list(entries), now=self.clock(),
            max_entries=ref.max_entries, max_age_days=ref.max_age_days,
            section_title=ref.section.title, validators=validators,
            also_list=[link.url for link in on_site if link.url in known], report=report,
        )
        return replace(report, inserted=result.inserted, updated=result.updated)
