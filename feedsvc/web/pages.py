"""The HTML pages people (not feed readers) open: the feed list at `/` and a section's page.

Both carry `<link rel="alternate">` tags, so a reader given the page URL discovers the feeds, and both
work without JavaScript. Pure: the handlers read the store and pass what it said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from feedsvc.config import SectionRef
from feedsvc.model import Feed, SectionState
from feedsvc.web.pages_parts import (
    Status,
    alternates,
    document,
    error_block,
    feed_urls,
    link,
    section_status,
    status_badge,
    subscribe_links,
    when,
    zone_label,
)

# A section page lists this many of the newest entries; the feeds carry them all.
PAGE_ENTRIES = 50


@dataclass(frozen=True)
class SectionSummary:
    """One section as the feed list shows it: its settings, its refresh state, what the store holds."""

    ref: SectionRef
    state: SectionState | None
    entries: int | None  # None when the store could not say
    updated: datetime | None  # when the feed last changed
    known: bool = True  # False: the store could not say how the section's refreshes went

    def status(self, now: datetime) -> Status:
        if not self.known:
            return Status("unknown", "the store cannot be read", None)
        return section_status(self.state, ZoneInfo(self.ref.timezone), now)


def _count(n: int | None) -> str:
    if n is None:
        return "entries unknown"
    return "1 entry" if n == 1 else f"{n} entries"


def _every(ref: SectionRef) -> str:
    minutes = round(ref.refresh.total_seconds() / 60)
    return f"refreshes every {minutes} min" if minutes < 120 or minutes % 60 else f"refreshes every {minutes // 60} h"


def _section_card(summary: SectionSummary, base: str, now: datetime) -> list[str]:
    ref = summary.ref
    zone = ZoneInfo(ref.timezone)
    status = summary.status(now)
    updated = f" · updated {when(summary.updated, zone)}" if summary.updated else ""
    return [
        f'<article class="card" id="{ref.site_name}-{ref.name}" lang="{escape(ref.language)}">',
        f'<div class="card-head"><h3><a href="/{ref.site_name}/{ref.name}">{escape(ref.section.title)}</a></h3>'
        f"{status_badge(status)}</div>",
        f'<p class="meta">{_count(summary.entries)}{updated} · {_every(ref)}</p>',
        f'<p class="meta">{status.detail}</p>',
        error_block(status),
        feed_urls(ref, base),
        subscribe_links(ref, base),
        "</article>",
    ]


def index_page(sections: Sequence[SectionSummary], *, base: str, now: datetime,
               problems: Sequence[str] = ()) -> bytes:
    """Every configured section, grouped by site: its status (and error), entry count, last update,
    feed URLs with copy buttons and subscribe links. `problems` (plain text: the store cannot be read,
    a config reload failed) are shown above all."""
    head: list[str] = []
    failing = sum(1 for s in sections if s.status(now).error)
    sites = list(dict.fromkeys(s.ref.site_name for s in sections))
    summary = f"{len(sites)} site{'s' * (len(sites) != 1)}, {len(sections)} feed{'s' * (len(sections) != 1)}"
    if failing:
        summary += f", {failing} failing"
    body = [
        "<header>", "<h1>feedsvc</h1>",
        f'<p class="lede">{summary} · <a href="/feeds.opml">all feeds as OPML</a> (one import subscribes a '
        "reader to every feed)</p>", "</header>", "<main>",
    ]
    body.extend(f'<p class="banner" role="alert">{escape(problem)}</p>' for problem in problems)
    if not sections:
        body.append("<p>No sites are configured.</p>")
    for site_name in sites:
        mine = [s for s in sections if s.ref.site_name == site_name]
        site = mine[0].ref.site
        body.append(f'<section lang="{escape(mine[0].ref.language)}">')
        body.append(f"<h2>{link(site.home, site.title)}</h2>")
        for summary_ in mine:
            head.extend(alternates(summary_.ref, f"{site.title} · {summary_.ref.section.title}"))
            body.extend(_section_card(summary_, base, now))
        body.append("</section>")
    body += ["</main>", _footer(sections)]
    return document("en", "feedsvc", head, body)


def _footer(sections: Sequence[SectionSummary]) -> str:
    zones = sorted({s.ref.timezone for s in sections})
    shown = ", ".join(escape(z) for z in zones) or "UTC"
    return (f'<footer><p>Times are shown in each site\'s zone ({shown}). Feeds: RSS 2.0, Atom 1.0, JSON Feed 1.1. '
            '<a href="/status.json">status as JSON</a></p></footer>')


def _entry(feed: Feed, zone: ZoneInfo, index: int) -> str:
    entry = feed.entries[index]
    meta = []
    if entry.published:
        meta.append(when(entry.published, zone))
    elif entry.first_seen:
        meta.append(f"no date on the page; first seen {when(entry.first_seen, zone)}")
    if entry.author:
        meta.append(f"by {escape(entry.author)}")
    if entry.source:
        meta.append(f"source: {escape(entry.source)}")
    if entry.partial:
        meta.append('<span class="partial">article not read yet: title from the list page</span>')
    summary = f'<p class="summary">{escape(entry.summary)}</p>' if entry.summary else ""
    return (f'<li class="entry"><article><h2>{link(entry.url, entry.title)}</h2>'
            f'<p class="meta">{" · ".join(meta)}</p>{summary}</article></li>')


def section_page(ref: SectionRef, feed: Feed, state: SectionState | None, *, base: str, now: datetime) -> bytes:
    """A section's newest entries (title linking to the original, time, author, source, summary), its
    status and last error, and its feed URLs with autodiscovery links for every format."""
    zone = ZoneInfo(ref.timezone)
    status = section_status(state, zone, now)
    shown = feed.entries[:PAGE_ENTRIES]
    updated = f" · updated {when(feed.updated, zone)}" if feed.updated else ""
    more = f" (the newest {len(shown)} shown; the feeds carry all)" if len(shown) < len(feed.entries) else ""
    body = [
        "<header>",
        f'<p class="crumbs"><a href="/">feedsvc</a> › {link(ref.site.home, ref.site.title, lang=ref.language)}</p>',
        f'<h1 lang="{escape(ref.language)}">{escape(ref.section.title)}</h1>',
    ]
    if ref.section.description:
        body.append(f'<p class="lede" lang="{escape(ref.language)}">{escape(ref.section.description)}</p>')
    body += [
        "</header>", "<main>", '<div class="card">',
        f'<div class="card-head">{status_badge(status)}<span class="meta">{_count(len(feed.entries))}{more}'
        f"{updated}</span></div>",
        f'<p class="meta">{status.detail} · {link(feed.link, "the section on the site")}</p>',
        error_block(status),
        feed_urls(ref, base),
        subscribe_links(ref, base),
        "</div>",
    ]
    if shown:
        body.append(f'<ol class="entries" lang="{escape(ref.language)}">')
        body.extend(_entry(feed, zone, i) for i in range(len(shown)))
        body.append("</ol>")
    else:
        body.append("<p>No entries yet.</p>")
    body.append("</main>")
    body.append(f"<footer><p>Times are {escape(ref.timezone)} ({zone_label(now.astimezone(zone).utcoffset())}). "
                '<a href="/">all feeds</a></p></footer>')
    return document("en", feed.title, alternates(ref, feed.title), body)
