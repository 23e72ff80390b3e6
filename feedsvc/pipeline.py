"""The section pipeline: list page(s) → article links → new articles → entries, for one section.

Fetch + extract only. What earlier runs left (a resolved nav URL, the list page's validators, the
articles already stored) is read through `Memory`; the outcome is a `SectionRun`, which the refresher
stores (refresh.py) and `feedsvc preview` prints with `NO_MEMORY`. Both run this same code, so a
preview cannot disagree with a refresh. `fetch_page`, `read_list_page` and `read_article` are the
steps, also used on their own by `feedsvc discover` and by the preview of one article URL.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from feedsvc.clock import Clock, utcnow
from feedsvc.config import SectionRef
from feedsvc.deferral import deferral_after, host_of, retry_after_of
from feedsvc.errors import ExtractError, FeedsvcError, FetchError, HTTPStatusError, OffSite, one_line
from feedsvc.extract.article import extract_article
from feedsvc.extract.links import find_links, find_nav_link, next_page_url
from feedsvc.fetch import Fetcher, url_allowed
from feedsvc.model import (
    Entry,
    FetchResult,
    ListedLink,
    Origins,
    RefreshReport,
    Rules,
    SectionState,
    Tally,
    Validators,
)
from feedsvc.recent_pages import RecentPages

log = logging.getLogger("feedsvc.pipeline")


@dataclass(frozen=True)
class Scope:
    """What fetching and reading one site's pages needs: the origins we may fetch, whether robots.txt
    is honoured, the rules that read the pages and the time zone their printed dates are in."""

    origins: Origins
    timezone: str
    robots: bool = True
    rules: Rules = Rules()

    @classmethod
    def of(cls, ref: SectionRef) -> Scope:
        """The scope of a section: its site's configured origins (a page never adds one)."""
        return cls(ref.site.origins(), ref.timezone, ref.site.robots, ref.rules)


async def fetch_page(
    fetcher: Fetcher, url: str, scope: Scope, tally: Tally, *, validators: Validators | None = None
) -> FetchResult:
    """One page of the site, counted in `tally` (a failed fetch too); FetchError when it cannot be had."""
    return await fetcher.get(url, allowed=scope.origins, robots=scope.robots, validators=validators, tally=tally)


async def read_list_page(
    fetcher: Fetcher, url: str, scope: Scope, tally: Tally, *, now: datetime,
    validators: Validators | None = None,
) -> tuple[FetchResult, list[ListedLink]]:
    """A list page and the article links on it (none when it is not modified)."""
    page = await fetch_page(fetcher, url, scope, tally, validators=validators)
    if page.not_modified:
        return page, []
    # Extraction is pure CPU work: in a worker thread it doesn't stall feeds served meanwhile.
    links = await asyncio.to_thread(
        find_links, page.text or "", page.url, scope.rules, timezone=scope.timezone, now=now)
    return page, links


async def read_article(
    fetcher: Fetcher, url: str, scope: Scope, tally: Tally, *, now: datetime, listed: ListedLink | None = None,
) -> tuple[FetchResult, Entry]:
    """An article page and its entry. The page is read at the address it landed on after redirects
    (its relative links resolve there); `listed` gives a page that prints no date the one beside its link."""
    page = await fetch_page(fetcher, url, scope, tally)
    return page, await article_entry(page, scope, now=now, listed=listed)


async def article_entry(page: FetchResult, scope: Scope, *, now: datetime, listed: ListedLink | None = None) -> Entry:
    """The entry an article page reads as under `scope`'s rules (ExtractError when it reads as none)."""
    return await asyncio.to_thread(
        extract_article, page.text or "", page.url, scope.rules, timezone=scope.timezone, now=now, listed=listed)


class Memory(Protocol):
    """What the pipeline reads of earlier runs; the store is one, `NO_MEMORY` remembers nothing."""

    async def section_state(self, site: str, section: str) -> SectionState: ...

    async def get_validators(self, url: str) -> Validators | None: ...

    async def known_urls(self, site: str, urls: Iterable[str], *, give_up_after: int | None = None) -> set[str]: ...


class NoMemory:
    """A memory of nothing: every section is new, as on its first refresh (`feedsvc preview`)."""

    async def section_state(self, site: str, section: str) -> SectionState:
        return SectionState(site=site, section=section)

    async def get_validators(self, url: str) -> Validators | None:
        return None

    async def known_urls(self, site: str, urls: Iterable[str], *, give_up_after: int | None = None) -> set[str]:
        return set()


NO_MEMORY = NoMemory()


@dataclass
class SectionRun:
    """One pass of the pipeline over a section, filled in as it goes (a failure keeps what was found)."""

    ref: SectionRef
    started: datetime
    tally: Tally = field(default_factory=Tally)
    url: str | None = None  # the list page asked for: configured, remembered or resolved in this run
    resolved_url: str | None = None  # set when this run looked the nav label up on the home page
    pages: list[FetchResult] = field(default_factory=list)  # list pages read, first page first
    links: list[ListedLink] = field(default_factory=list)  # article links on the site's origins, page order
    offsite_skipped: int = 0
    known: set[str] = field(default_factory=set)  # listed links already stored: not fetched again
    new: list[ListedLink] = field(default_factory=list)  # links to fetch, now (up to max_new) or later
    entries: list[Entry] = field(default_factory=list)  # one per fetched link; partial when it failed
    problems: list[str] = field(default_factory=list)  # what went wrong without failing the section
    retry_after: float | None = None  # the longest Retry-After (seconds) a page of this run answered
    retry_host: str | None = None  # the host that answered it
    deadline_left: int = 0  # articles the section deadline cut off: not stored, fetched next run
    deadline_at: float = math.inf  # event-loop time the section's deadline falls at (set by the pipeline)

    @property
    def not_modified(self) -> bool:
        """The list page answered 304: nothing new, nothing parsed."""
        return bool(self.pages) and self.pages[0].not_modified

    @property
    def validators(self) -> dict[str, Validators]:
        """The list page's validators to remember. Only when this run took everything it listed: with
        articles left for later (failed or over max_new) the next run must see the list again."""
        if not self.pages or self.url is None:
            return {}
        first = self.pages[0]
        complete = not any(e.partial for e in self.entries) and len(self.entries) == len(self.new)
        kept = first.validators if complete else Validators()
        return {self.url: kept, first.url: kept}

    def report(self, finished: datetime, error: str | None = None) -> RefreshReport:
        """The run as a RefreshReport (`error` set: a failed run)."""
        failed = sum(1 for e in self.entries if e.partial)
        return RefreshReport(
            site=self.ref.site_name, section=self.ref.name, started=self.started, finished=finished,
            ok=error is None, error=error, list_not_modified=self.not_modified,
            links_found=len(self.links), new_links=len(self.new), articles_fetched=len(self.entries) - failed,
            articles_failed=failed, offsite_skipped=self.offsite_skipped,
            requests=self.tally.requests, bytes_read=self.tally.bytes_read,
            deferred_until=deferral_after(self.retry_after, finished), deferred_by=self.retry_host,
            deadline_left=self.deadline_left,
        )

    def heard(self, exc: BaseException) -> None:
        """Note a failure's Retry-After: the site's wish outlives this run (feedsvc.deferral)."""
        seconds = retry_after_of(exc)
        if seconds is not None and seconds > (self.retry_after or 0.0):
            self.retry_after = seconds
            self.retry_host = host_of(exc)


class SectionPipeline:
    """Runs sections with one shared fetcher; `memory` is the store (refresh) or NO_MEMORY (preview).
    Home and article pages are shared between the sections it runs (`RecentPages`)."""

    def __init__(self, fetcher: Fetcher, memory: Memory = NO_MEMORY, *, clock: Clock = utcnow):
        self.fetcher = fetcher
        self.memory = memory
        self.clock = clock
        self.recent = RecentPages(clock)

    async def _shared_page(self, run: SectionRun, url: str, scope: Scope) -> FetchResult:
        """A home or article page, fetched once for every section that needs it within a run."""
        return await self.recent.get(url, scope.origins, scope.robots, run.ref.key,
                                     lambda: fetch_page(self.fetcher, url, scope, run.tally))

    async def run(self, run: SectionRun) -> None:
        """Fill `run`; a section's failure (no list page, no links) raises, with `run` kept as far as it got."""
        ref = run.ref
        run.deadline_at = asyncio.get_running_loop().time() + ref.deadline.total_seconds()
        url = await self._section_url(run)
        try:
            await self._list_links(run, url)
        except (HTTPStatusError, ExtractError) as exc:
            if ref.url or (isinstance(exc, HTTPStatusError) and exc.status not in (404, 410)):
                raise
            # A nav section whose remembered page is gone or lists no article any more: the site may
            # have moved it, so the label is looked up again, once (and the same page not asked twice).
            moved = await self._section_url(run, force=True)
            if moved == url:
                raise
            await self._list_links(run, moved)
        if run.not_modified:
            return
        assert run.url is not None
        # Stored articles are not fetched again; nor are ones that failed `article_attempts` refreshes
        # (they stay as their list link), or the list page could never be answered 304 again.
        run.known = await self.memory.known_urls(
            ref.site_name, [link.url for link in run.links], give_up_after=ref.article_attempts)
        # A link dated before the rolling window would be dropped on arrival: don't fetch it at all.
        cutoff = self.clock() - timedelta(days=ref.max_age_days)
        run.new = [link for link in run.links if link.url not in run.known
                   and (link.published is None or link.published >= cutoff)]
        scope = Scope.of(ref)
        todo = run.new[: ref.max_new]
        run.entries = await self._articles(run, todo, scope)

    async def _articles(self, run: SectionRun, todo: list[ListedLink], scope: Scope) -> list[Entry]:
        """The entries of the articles read by the section's deadline (event-loop time), in list order.

        Articles still loading then are cancelled and give no entry at all: not stored, not counted as
        failed, so the next run fetches them (and, with fewer entries than new links, re-reads the list
        page rather than remembering its validators)."""
        tasks = [asyncio.ensure_future(self._article(run, link, scope)) for link in todo]
        try:
            async with asyncio.timeout_at(run.deadline_at):
                await asyncio.gather(*tasks)
        except TimeoutError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # let the cancelled ones unwind
            run.deadline_left = sum(1 for task in tasks if task.cancelled())
            run.problems.append(
                f"section deadline of {run.ref.deadline.total_seconds():g}s reached: "
                f"{run.deadline_left} of {len(todo)} articles left for the next run")
        return [task.result() for task in tasks if not task.cancelled()]

    async def _section_url(self, run: SectionRun, *, force: bool = False) -> str:
        """The list page URL; a nav label is looked up on the home page (unless memory has it)."""
        ref = run.ref
        if ref.url:
            return ref.url
        scope = Scope.of(ref)
        if not force:
            state = await self.memory.section_state(ref.site_name, ref.name)
            # One remembered before origins were checked here may be off the site: looked up again.
            if state.resolved_url and url_allowed(state.resolved_url, scope.origins):
                return state.resolved_url
        home = await self._shared_page(run, ref.site.home, scope)
        url = find_nav_link(home.text or "", home.url, ref.section.nav or "")
        if not url:
            raise ExtractError(f"navigation label {ref.section.nav!r} not found on {ref.site.home}")
        if not url_allowed(url, scope.origins):
            # The home page decides where the label points, not which hosts we may fetch: never followed.
            raise OffSite(url, f"navigation label {ref.section.nav!r} on {home.url} leads off the site's origins "
                               f"({scope.origins}), not followed; add its host to allowed_hosts if the site lives there")
        run.resolved_url = url
        return url

    async def _list_links(self, run: SectionRun, url: str) -> None:
        """The site's article links on the list page and its next pages; ExtractError when it lists none."""
        ref = run.ref
        scope = Scope.of(ref)
        run.url = url
        validators = await self.memory.get_validators(url)
        first, found = await read_list_page(self.fetcher, url, scope, run.tally, now=self.clock(),
                                            validators=validators)
        run.pages = [first]
        if first.not_modified:
            return
        links: list[ListedLink] = []
        seen: set[str] = set()
        page = first
        while True:
            for link in found:
                if link.url not in seen:
                    seen.add(link.url)
                    links.append(link)
            if len(run.pages) >= ref.rules.max_pages:
                break
            if asyncio.get_running_loop().time() >= run.deadline_at:  # later pages are a bonus
                run.problems.append(f"section deadline reached after {len(run.pages)} list pages")
                break
            nxt = await asyncio.to_thread(next_page_url, page.text or "", page.url, ref.rules)
            if not nxt or nxt in (page.url, url):
                break
            try:
                page, found = await read_list_page(self.fetcher, nxt, scope, run.tally, now=self.clock())
            except FetchError as exc:  # later pages are a bonus; page one decides the section's health
                run.problems.append(f"next page {nxt}: {one_line(exc)}")
                break
            run.pages.append(page)
        run.links = [link for link in links if url_allowed(link.url, scope.origins)]
        run.offsite_skipped = len(links) - len(run.links)
        if not run.links:
            if ref.url is None and not links:
                raise ExtractError(f"no article links on {url} (navigation label {ref.section.nav!r})")
            raise ExtractError(f"no article links found on {url}")

    async def _article(self, run: SectionRun, link: ListedLink, scope: Scope) -> Entry:
        """The parsed article, or a partial entry from the list link if it cannot be had now."""
        try:
            page = await self._shared_page(run, link.url, scope)
            entry = await article_entry(page, scope, now=self.clock(), listed=link)
            # The listed URL stays the id: it is what the next run's known_urls check looks for.
            return replace(entry, url=link.url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one bad article must not sink its section: keep the list link for now
            if not isinstance(exc, FeedsvcError):
                log.exception("%s: article %s: unexpected extraction error", run.ref.key, link.url)
            run.problems.append(f"article {link.url}: {one_line(exc)}")
            run.heard(exc)
            return Entry(url=link.url, title=link.text or link.url, published=link.published, partial=True)
