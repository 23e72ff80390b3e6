"""`feedsvc refresh [SITE[/SECTION]]`: refresh sections once, now, and print a report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from aiohttp import abc as aiohttp_abc

from feedsvc.app import open_refresher
from feedsvc.clock import Clock, utcnow
from feedsvc.commands import EXIT_ERROR, EXIT_OK
from feedsvc.commands.terminal import say
from feedsvc.config import Config, SectionRef
from feedsvc.deferral import deferred_until
from feedsvc.model import RefreshReport
from feedsvc.refresh import refresh_by_site


def select_sections(config: Config, target: str | None) -> list[SectionRef]:
    """`None` → all; `site` → its sections; `site/section` → that one. Unknown names raise NotFound."""
    if not target:
        return config.section_refs()
    site, _, section = target.partition("/")
    return config.lookup(site, section or None)


async def refresh_once(
    config: Config, refs: Sequence[SectionRef], *, resolver: aiohttp_abc.AbstractResolver | None = None,
    clock: Clock = utcnow,
) -> list[RefreshReport]:
    """Refresh the given sections now (sites in parallel, one site's sections one after another)."""
    async with open_refresher(config, resolver=resolver, clock=clock) as refresher:
        return await refresh_by_site(refresher, refs)


async def refresh_due(
    config: Config, refs: Sequence[SectionRef], *, force: bool = False,
    resolver: aiohttp_abc.AbstractResolver | None = None, clock: Clock = utcnow,
) -> tuple[list[RefreshReport], list[tuple[SectionRef, datetime]]]:
    """Like `refresh_once`, but sections a site's Retry-After still defers are left alone (unless
    `force`): the reports of the sections refreshed, and each skipped section with its deferral's end."""
    async with open_refresher(config, resolver=resolver, clock=clock) as refresher:
        skipped: list[tuple[SectionRef, datetime]] = []
        due: list[SectionRef] = []
        for ref in refs:
            until = None if force else deferred_until(
                await refresher.store.section_state(ref.site_name, ref.name), clock())
            if until is None:
                due.append(ref)
            else:
                skipped.append((ref, until))
        return await refresh_by_site(refresher, due), skipped


def format_reports(reports: Sequence[RefreshReport]) -> str:
    """A summary table for `feedsvc refresh`."""
    header = ("section", "status", "links", "new", "fetched", "failed", "requests", "KB", "seconds")
    rows = [header]
    for r in reports:
        status = "not modified" if r.list_not_modified else ("ok" if r.ok else "FAILED")
        rows.append((
            f"{r.site}/{r.section}", status, str(r.links_found), str(r.inserted), str(r.articles_fetched),
            str(r.articles_failed), str(r.requests), f"{r.bytes_read / 1024:.0f}",
            f"{(r.finished - r.started).total_seconds():.1f}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in reports:
        if not r.ok:
            lines.append(f"{r.site}/{r.section}: {r.error}")
        if r.deadline_left:
            lines.append(f"{r.site}/{r.section}: section deadline reached; {r.deadline_left} articles left "
                         "for the next run")
    return "\n".join(lines)


def run(config: Config, target: str | None, *, force: bool = False) -> int:
    refs = select_sections(config, target)
    started = utcnow()
    reports, skipped = asyncio.run(refresh_due(config, refs, force=force))
    for ref, until in skipped:  # not a failure: the site asked for the pause, and nothing was sent
        say(f"{ref.key}: deferred until {until.isoformat(timespec='seconds')} (the site's Retry-After); "
            "not refreshed (--force refreshes it now)")
    if reports:
        for line in format_reports(reports).splitlines():  # errors quote pages and URLs: escaped
            say(line)
    elapsed = (utcnow() - started).total_seconds()
    failed = sum(1 for r in reports if not r.ok)
    deferred = f", {len(skipped)} deferred" if skipped else ""
    say(f"{len(reports)} sections, {failed} failed{deferred}, {elapsed:.1f}s")
    return EXIT_ERROR if failed else EXIT_OK
