"""`feedsvc refresh [SITE[/SECTION]]`: refresh sections once, now, and print a report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import abc as aiohttp_abc

from feedsvc.app import open_refresher
from feedsvc.clock import Clock, utcnow
from feedsvc.commands import EXIT_ERROR, EXIT_OK
from feedsvc.commands.terminal import say
from feedsvc.config import Config, SectionRef
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
    return "\n".join(lines)


def run(config: Config, target: str | None) -> int:
    refs = select_sections(config, target)
    started = utcnow()
    reports = asyncio.run(refresh_once(config, refs))
    for line in format_reports(reports).splitlines():  # errors quote pages and URLs: escaped
        say(line)
    elapsed = (utcnow() - started).total_seconds()
    failed = sum(1 for r in reports if not r.ok)
    say(f"{len(reports)} sections, {failed} failed, {elapsed:.1f}s")
    return EXIT_ERROR if failed else EXIT_OK
